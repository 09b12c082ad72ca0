"""Making a customer's portal link from the CLI, with the stack's own signing key."""

from __future__ import annotations

from datetime import UTC, datetime

from arcollect.contract import Output
from arcollect.portal.links import portal_link as signed_link
from arcollect.store.secrets import link_signing_key
from arcollect_cli.target import Target


def portal_link(target: Target, customer_id: str, now: datetime | None = None) -> str:
    # The CLI is the one place "now" may be the wall clock: a person asked for a link now.
    return signed_link(
        target.output(Output.PORTAL_URL),
        customer_id,
        key=link_signing_key(target.output(Output.LINK_SECRET_ARN)),
        now=now or datetime.now(tz=UTC),
    )
