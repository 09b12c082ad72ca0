"""Making a customer's portal link from the CLI, with the stack's own signing key, and rotating it."""

from __future__ import annotations

from datetime import UTC, datetime

from arcollect.contract import Output
from arcollect.portal.links import DEFAULT_LINK_DAYS
from arcollect.portal.links import portal_link as signed_link
from arcollect.store.secrets import LinkKeys, link_signing_key, rotate_link_key
from arcollect_cli.target import Target


def portal_link(target: Target, customer_id: str, now: datetime | None = None) -> str:
    # The CLI is the one place "now" may be the wall clock: a person asked for a link now.
    return signed_link(
        target.output(Output.PORTAL_URL),
        customer_id,
        key=link_signing_key(target.output(Output.LINK_SECRET_ARN)),
        now=now or datetime.now(tz=UTC),
    )


def rotate_key(target: Target, grace_days: int = DEFAULT_LINK_DAYS, now: datetime | None = None) -> LinkKeys:
    """A new link-signing key for the stack; links signed with the old one keep opening for
    ``grace_days`` (a link's life: so no link already emailed breaks; 0 for a key that leaked)."""
    return rotate_link_key(
        target.output(Output.LINK_SECRET_ARN), now=now or datetime.now(tz=UTC), link_days=grace_days
    )
