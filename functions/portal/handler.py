"""Portal: API Gateway REST proxy -> here. Pages, the JSON API and the rules all live in arcollect.portal;
this module only wires the Portal to its AWS dependencies and hands every request to the resolver."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arcollect.observability import logger, metrics, tracer
from arcollect.portal.services import Portal
from arcollect.portal.web import build_app
from arcollect.settings import get_settings
from arcollect.store import bind_table
from arcollect.store.changes import ChangeObjects
from arcollect.store.mail import SesMailer
from arcollect.store.objects import ObjectStore
from arcollect.store.secrets import link_keys, link_signing_key

if TYPE_CHECKING:
    from arcollect.dunning.policy import PolicySet
    from arcollect.portal.web.staff import StaffConsole
    from arcollect.workspace.status import StatusBoard

settings = get_settings()
bind_table(settings.require("table_name"))
objects = ObjectStore()
# Each decision a customer or collector makes here goes to the ERP's change feed as it happens.
change_feed = ChangeObjects(settings.require("drop_bucket"))


def link_key() -> bytes:
    """The key new links are signed with (Secrets Manager is asked at most every few minutes)."""
    return link_signing_key(settings.require("link_secret_arn"))


def previous_link_keys(now: datetime) -> tuple[bytes, ...]:
    """The key a rotation replaced, while links signed with it can still be live."""
    return link_keys(settings.require("link_secret_arn")).verifying(now)[1:]


def policies() -> PolicySet:
    """The policy in force (promise limits, dispute routing): read when an action needs it."""
    from arcollect.dunning.policy import load_policies

    return load_policies(objects, settings.drop_bucket)


mailer = SesMailer(configuration_set=settings.require("ses_configuration_set"))


@lru_cache(maxsize=8)
def portal_at(base_url: str) -> Portal:
    """The Portal whose emailed links start with ``base_url``: PORTAL_BASE_URL when set, else the URL
    the request came in on (the portal function is not told its own URL: that would be circular)."""
    return Portal(
        link_key=link_key,
        previous_link_keys=previous_link_keys,
        policies=policies,
        mailer=mailer,
        sender=settings.require("sender_email"),
        portal_base_url=settings.portal_base_url or base_url,
        drop_bucket=settings.require("drop_bucket"),
        payment_url_template=settings.payment_url_template,
        link_days=settings.portal_link_days,
        change_feed=change_feed,
    )


def staff_console() -> StaffConsole | None:
    """The staff console under /staff when the stack has a staff user pool (else /staff answers 503)."""
    from arcollect.portal.web.staff import StaffConsole
    from arcollect.store.identity import CognitoDirectory
    from arcollect.store.portal import PortalObjects
    from arcollect.store.staff import StaffSessionStore
    from arcollect.workspace.services import Workspace

    if not settings.staff_user_pool_id:
        return None
    workspace = Workspace(
        policies=policies,
        mailer=mailer,
        sender=settings.require("sender_email"),
        reports=PortalObjects(),
        reports_bucket=settings.reports_bucket,
        change_feed=change_feed,
    )
    return StaffConsole(
        workspace=workspace,
        directory=CognitoDirectory(settings.staff_user_pool_id, settings.require("staff_client_id")),
        sessions=StaffSessionStore(),
        status=status_board(),
    )


def status_board() -> StatusBoard:
    """The managers' status page: the ERP feeds and the freshness hold, the dead-letter queues' depths
    and the newest report (the same facts as `arcollect status`)."""
    from arcollect.contract import parse_dead_letter_queues
    from arcollect.dunning.calendar import Calendar
    from arcollect.store.feeds import Feeds
    from arcollect.store.operations import QueueDepths, ReportIndex
    from arcollect.workspace.status import StatusBoard

    return StatusBoard(
        feeds=Feeds(),
        policies=policies,
        calendar=Calendar(),
        queues=QueueDepths(),
        dead_letter_queues=parse_dead_letter_queues(settings.dead_letter_queues),
        reports=ReportIndex(),
        reports_bucket=settings.reports_bucket,
    )


# The staff console is made on the first request under /staff, with the resolver that serves it.
app = build_app(portal_at, environment_name=settings.environment_name, staff=staff_console)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
