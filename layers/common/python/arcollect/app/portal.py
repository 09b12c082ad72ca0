"""The portal function's wiring (functions/portal/handler.py): ``build_portal`` makes its AWS
dependencies once per container and the web app (the pages and the JSON API from arcollect.portal, the
staff console from arcollect.console) that every request is handed to. The staff console, its workspace
and the status page are made on the first request under /staff, so a customer's cold start does not
import them."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from arcollect.contract import FunctionName
from arcollect.portal.self_service import Portal
from arcollect.portal.web import build_app
from arcollect.settings import Settings
from arcollect.store import bind_table
from arcollect.store.changes import ChangeObjects
from arcollect.store.mail import SesMailer
from arcollect.store.objects import ObjectStore
from arcollect.store.secrets import link_keys, link_signing_key

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from arcollect.console import StaffConsole
    from arcollect.policy import PolicySet
    from arcollect.portal.web.app import PortalApp
    from arcollect.workspace.status import StatusBoard


class PortalFunction:
    """The portal function: its AWS dependencies, the Portal they make, and the web app serving it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.objects = ObjectStore()
        # Each decision a customer or collector makes here goes to the ERP's change feed as it happens.
        self.change_feed = ChangeObjects(settings.require("drop_bucket"))
        self.mailer = SesMailer(configuration_set=settings.require("ses_configuration_set"))
        self.portal_at = lru_cache(maxsize=8)(self._portal_at)
        # The staff console is made on the first request under /staff, with the resolver that serves it.
        self.web: PortalApp = build_app(
            self.portal_at, environment_name=settings.environment_name, staff=self.staff_console
        )

    def resolve(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """One API Gateway request, served by the page, API route or staff route it asks for."""
        return self.web.resolve(event, context)

    def link_key(self) -> bytes:
        """The key new links are signed with (Secrets Manager is asked at most every few minutes)."""
        return link_signing_key(self.settings.require("link_secret_arn"))

    def previous_link_keys(self, now: datetime) -> tuple[bytes, ...]:
        """The key a rotation replaced, while links signed with it can still be live."""
        return link_keys(self.settings.require("link_secret_arn")).verifying(now)[1:]

    def policies(self) -> PolicySet:
        """The policy in force (promise limits, dispute routing): read when an action needs it."""
        from arcollect.policy import load_policies

        return load_policies(self.objects, self.settings.drop_bucket)

    def _portal_at(self, base_url: str) -> Portal:
        """The Portal whose emailed links start with ``base_url``: PORTAL_BASE_URL when set, else the URL
        the request came in on (the portal function is not told its own URL: that would be circular)."""
        settings = self.settings
        return Portal(
            link_key=self.link_key,
            previous_link_keys=self.previous_link_keys,
            policies=self.policies,
            mailer=self.mailer,
            sender=settings.require("sender_email"),
            portal_base_url=settings.portal_base_url or base_url,
            drop_bucket=settings.require("drop_bucket"),
            payment_url_template=settings.payment_url_template,
            link_days=settings.portal_link_days,
            change_feed=self.change_feed,
        )

    def staff_console(self) -> StaffConsole | None:
        """The staff console under /staff when the stack has a staff user pool (else /staff answers 503)."""
        from arcollect.console import StaffConsole
        from arcollect.store.identity import CognitoDirectory
        from arcollect.store.portal import PortalObjects
        from arcollect.store.staff import StaffSessionStore
        from arcollect.workspace.services import Workspace

        settings = self.settings
        if not settings.staff_user_pool_id:
            return None
        workspace = Workspace(
            policies=self.policies,
            mailer=self.mailer,
            sender=settings.require("sender_email"),
            reports=PortalObjects(),
            reports_bucket=settings.reports_bucket,
            change_feed=self.change_feed,
            link_for=self.staff_link,
            link_days=settings.portal_link_days,
            drop_bucket=settings.drop_bucket,
        )
        return StaffConsole(
            workspace=workspace,
            directory=CognitoDirectory(settings.staff_user_pool_id, settings.require("staff_client_id")),
            sessions=StaffSessionStore(),
            status=self.status_board(),
        )

    def staff_link(self, customer_id: str, now: datetime, portal_url: str) -> str:
        """A customer's portal link in a collector's one-off email: under PORTAL_BASE_URL when the stack
        sets it, else the portal's URL the console's request came in on (the same API serves both)."""
        from arcollect.portal.links import portal_link

        settings = self.settings
        base = settings.portal_base_url or portal_url
        return portal_link(base, customer_id, key=self.link_key(), now=now, days=settings.portal_link_days)

    def status_board(self) -> StatusBoard:
        """The managers' status page: the ERP feeds and the freshness hold, the dead-letter queues' depths
        and the newest report (the same facts as `arcollect status`)."""
        from arcollect.calendar import Calendar
        from arcollect.contract import parse_dead_letter_queues
        from arcollect.store.feeds import Feeds
        from arcollect.store.operations import QueueDepths, ReportIndex
        from arcollect.workspace.status import StatusBoard

        return StatusBoard(
            feeds=Feeds(),
            policies=self.policies,
            calendar=Calendar(),
            queues=QueueDepths(),
            dead_letter_queues=parse_dead_letter_queues(self.settings.dead_letter_queues),
            reports=ReportIndex(),
            reports_bucket=self.settings.reports_bucket,
        )


def build_portal(settings: Settings) -> PortalFunction:
    """The portal function, once per container: settings checked, table bound, clients made."""
    settings.checked(FunctionName.PORTAL)
    bind_table(settings.require("table_name"))
    return PortalFunction(settings)
