"""Who may see which account: a signed link from an email opens a session for its customer, the session
lives server-side with an idle and an absolute limit, a customer can ask for a fresh link by address,
and links can be revoked. The customer id comes from here (the link, then the session), never from the
request; what is not the session customer's is ``NotFound``, as if it did not exist."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from arcollect.entities import Activity, Customer
from arcollect.portal.inputs import normalise_email
from arcollect.portal.link_email import FRESH_LINK_KIND, render_fresh_link
from arcollect.portal.links import LinkClaims, LinkInvalid, portal_link, read_token
from arcollect.portal.timeline import (
    KIND_FRESH_LINK,
    KIND_FRESH_LINK_FAILED,
    KIND_LINKS_REVOKED,
    KIND_PORTAL_OPENED,
    Outbox,
    new_id,
)
from arcollect.store.portal import PortalStore, StoredSession
from arcollect.store.portal import index_contacts as store_index_contacts

if TYPE_CHECKING:
    from arcollect.policy import PolicySet
    from arcollect.store.repositories import Activities

SESSION_IDLE_MINUTES = 30
SESSION_ABSOLUTE_HOURS = 8
# "Send me a fresh link": at most this many requests per address and per client per hour.
LINK_REQUESTS_PER_HOUR = 5


class LinkRevoked(ValueError):
    """The link was issued before the customer's links were revoked."""


class RateLimited(RuntimeError):
    """Too many requests of one kind from one client or for one address; try again later."""


class NotFound(LookupError):
    """No such invoice on this customer's account (also what another customer's invoice looks like)."""


@dataclass(frozen=True)
class Session:
    session_id: str
    customer_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # the absolute limit
    csrf_token: str


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class Access:
    """Links and sessions: constructed by ``self_service.Portal`` with the store it shares."""

    def __init__(
        self,
        *,
        link_key: Callable[[], bytes],
        previous_link_keys: Callable[[datetime], Sequence[bytes]],
        policies: Callable[[], PolicySet],
        outbox: Outbox,
        portal_base_url: str,
        link_days: int,
        store: PortalStore,
        activities: Activities,
    ) -> None:
        self._link_key = link_key
        # The key a rotation replaced still opens the links signed with it, while they can be live.
        self._previous_link_keys = previous_link_keys
        self._policies = policies
        self._outbox = outbox
        self._base_url = portal_base_url
        self._link_days = link_days
        self._store = store
        self._activities = activities

    def check_link(self, token: str, *, now: datetime) -> None:
        """Whether a link from an email would open a session, without opening one: reads only (no
        session, no timeline entry, no counter), so a mail scanner prefetching the link changes
        nothing. Raises what ``open_link`` raises."""
        self._link_claims(token, now)

    def _link_claims(self, token: str, now: datetime) -> LinkClaims:
        claims = read_token(token, key=self._link_key(), now=now, also=self._previous_link_keys(now))
        found = self._store.customer_and_links_valid_from(claims.customer_id)
        if found is None:
            raise LinkInvalid("this link is not valid")
        _, valid_from = found
        if claims.revoked_by(valid_from):
            raise LinkRevoked("this link has been replaced: ask for a fresh one")
        return claims

    def open_link(self, token: str, *, now: datetime) -> Session:
        """Exchange a link from an email for a new session (the landing page's POST, never the GET a
        scanner prefetches). Raises portal.links.LinkInvalid, LinkExpired, or LinkRevoked."""
        claims = self._link_claims(token, now)
        stored = StoredSession(
            session_id=secrets.token_urlsafe(32),
            customer_id=claims.customer_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=SESSION_ABSOLUTE_HOURS),
            csrf_token=secrets.token_urlsafe(32),
        )
        self._store.create_session(stored)
        self._activities.record(
            Activity(
                customer_id=claims.customer_id,
                at=now,
                activity_id=new_id(),
                kind=KIND_PORTAL_OPENED,
                summary="Customer opened the portal from a link",
                detail={"link_issued_at": claims.issued_at.isoformat()},
            )
        )
        return _session(stored)

    def resume(self, session_id: str, *, now: datetime) -> Session | None:
        """The live session (its last-seen time moved to ``now``), or None when unknown, idle for more
        than SESSION_IDLE_MINUTES or older than SESSION_ABSOLUTE_HOURS."""
        if not session_id or len(session_id) > 128:
            return None
        stored = self._store.session(session_id)
        if stored is None:
            return None
        idle = now - stored.last_seen_at > timedelta(minutes=SESSION_IDLE_MINUTES)
        if idle or now >= stored.expires_at:
            self._store.delete_session(session_id)
            return None
        if not self._store.touch_session(stored, now):
            return None
        return _session(replace(stored, last_seen_at=now))

    def end(self, session_id: str) -> None:
        if session_id and len(session_id) <= 128:
            self._store.delete_session(session_id)

    def request_link(self, email: str, *, now: datetime, client: str) -> None:
        """Email a fresh link to ``email`` if it is a customer's AP address on file; the same outcome
        either way. PortalInputError for a malformed address, RateLimited past the hourly limit."""
        address = normalise_email(email).lower()
        window = _hour(now)
        # The client's allowance first: a client over it never spends the address's, or anyone could
        # block a customer's own address for the hour from one machine.
        by_client = self._store.count("link_client", client or "unknown", window, timedelta(hours=1))
        if by_client > LINK_REQUESTS_PER_HOUR:
            raise RateLimited("too many link requests: try again in an hour")
        by_address = self._store.count("link_address", address, window, timedelta(hours=1))
        if by_address > LINK_REQUESTS_PER_HOUR:
            raise RateLimited("too many link requests: try again in an hour")
        for customer_id in self._store.customers_by_email(address):
            customer = self._store.customer(customer_id)
            if customer is None:
                continue
            on_file = next(
                (a for a in (customer.email, *customer.other_emails) if a and a.strip().lower() == address),
                None,
            )
            suppressed = {a.lower() for a in customer.suppressed_emails}
            if on_file is None or address in suppressed:
                continue  # a stale lookup, or an address SES told us not to mail
            self._send_fresh_link(customer, on_file.strip(), now)

    def _send_fresh_link(self, customer: Customer, to: str, now: datetime) -> None:
        touch_id = f"fresh-link-{new_id()}"
        link = portal_link(
            self._base_url, customer.customer_id, key=self._link_key(), now=now, days=self._link_days
        )
        message = render_fresh_link(
            customer,
            to=to,
            link=link,
            days=self._link_days,
            sender=self._outbox.sender,
            sender_name=self._policies().settings.sender_name,
            now=now,
            touch_id=touch_id,
        )
        self._outbox.send(
            customer,
            to,
            message,
            kind=FRESH_LINK_KIND,
            touch_id=touch_id,
            now=now,
            sent=(KIND_FRESH_LINK, f"Fresh portal link sent to {to} (on request)"),
            refused=(KIND_FRESH_LINK_FAILED, f"Fresh portal link to {to} was refused by the mail service"),
        )

    def revoke_links(self, customer_id: str, *, now: datetime) -> None:
        """Every link issued before ``now`` for this customer stops working, and its sessions end."""
        revoke_links(customer_id, now=now, store=self._store)


def _session(stored: StoredSession) -> Session:
    return Session(
        session_id=stored.session_id,
        customer_id=stored.customer_id,
        created_at=stored.created_at,
        last_seen_at=stored.last_seen_at,
        expires_at=stored.expires_at,
        csrf_token=stored.csrf_token,
    )


def revoke_links(customer_id: str, *, now: datetime, store: PortalStore) -> None:
    """Every link issued before ``now`` for this customer stops working, and its sessions end (also
    what `arcollect portal-revoke` runs, for a link that went to the wrong person)."""
    activity = Activity(
        customer_id=customer_id,
        at=now,
        activity_id=new_id(),
        kind=KIND_LINKS_REVOKED,
        summary="Portal links revoked: earlier links stop working and open sessions end",
    )
    if not store.revoke_links(customer_id, now, activity):
        raise NotFound(f"no customer {customer_id}")
    store.delete_customer_sessions(customer_id)


def index_contacts(customers: Iterable[Customer]) -> int:
    """Make ``customers``' AP addresses findable by "send me a fresh link" (ingest may call this
    after loading customers). See arcollect.store.portal for the lookup items."""
    return store_index_contacts(customers)
