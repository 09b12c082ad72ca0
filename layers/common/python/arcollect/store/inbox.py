"""The replies inbox's items: which reminder a reply address or a Message-ID was (written by dunning
when it sends), the customers an address belongs to, and each reply filed once with its timeline entry
and its task, in one transaction (``arcollect.inbox``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from arcollect.entities import Activity, Customer, Task
from arcollect.store import keys
from arcollect.store.base import Operation, commit, retention_expiry, transact, translated
from arcollect.store.customers import PROFILE_SK, customer_from_item
from arcollect.store.models import (
    CustomerItem,
    EmailLookupItem,
    InboundMessageItem,
    ReplyAddressItem,
    ReplyThreadItem,
)
from arcollect.store.tasks import task_item
from arcollect.store.timeline import timeline_writes

# A reminder's reply address and Message-IDs are kept as long as the timeline they thread into.


class ReplyBook:
    """Reply addresses and Message-IDs of the reminders sent, and the replies filed."""

    @translated
    def register(
        self, token: str, customer_id: str, touch_id: str, thread_keys: Sequence[str], at: datetime
    ) -> None:
        """Remember whose reminder the reply address ``token`` (and the Message-IDs) are: written before
        the reminder goes out, so that no reply can arrive before it. Saving again changes nothing."""
        expires = retention_expiry(at)
        operations: list[Operation] = [
            (
                "save",
                ReplyAddressItem(
                    keys.reply_address_pk(token),
                    keys.REPLY_ADDRESS_SK,
                    customer_id=customer_id,
                    touch_id=touch_id,
                    created_at=at,
                    expires_at=expires,
                ),
                None,
            ),
            *(("save", self._thread(k, customer_id, touch_id, at), None) for k in thread_keys),
        ]
        transact(operations, atomic=True)

    @translated
    def thread_sent(self, thread_key: str, customer_id: str, touch_id: str, at: datetime) -> None:
        """Remember the Message-ID SES gave a reminder (it replaces ours), which replies name."""
        self._thread(thread_key, customer_id, touch_id, at).save()

    @staticmethod
    def _thread(thread_key: str, customer_id: str, touch_id: str, at: datetime) -> ReplyThreadItem:
        return ReplyThreadItem(
            keys.reply_thread_pk(thread_key),
            keys.REPLY_THREAD_SK,
            customer_id=customer_id,
            touch_id=touch_id,
            expires_at=retention_expiry(at),
        )

    @translated
    def by_token(self, token: str) -> tuple[str, str] | None:
        """(customer id, touch id) of a reply address's token, or None for a token never given."""
        try:
            item = ReplyAddressItem.get(keys.reply_address_pk(token), keys.REPLY_ADDRESS_SK)
        except ReplyAddressItem.DoesNotExist:
            return None
        return item.customer_id, item.touch_id

    @translated
    def by_thread(self, thread_keys: Iterable[str]) -> tuple[str, str] | None:
        """(customer id, touch id) of the first of ``thread_keys`` that was a reminder, or None."""
        for thread_key in thread_keys:
            try:
                item = ReplyThreadItem.get(keys.reply_thread_pk(thread_key), keys.REPLY_THREAD_SK)
            except ReplyThreadItem.DoesNotExist:
                continue
            return item.customer_id, item.touch_id
        return None

    @translated
    def customers_of(self, address: str) -> list[str]:
        """The customers that have ``address`` on file (the portal's address lookup), sorted."""
        items = EmailLookupItem.query(keys.email_lookup_pk(address))
        return sorted({item.customer_id for item in items})

    @translated
    def customer(self, customer_id: str) -> Customer | None:
        try:
            return customer_from_item(CustomerItem.get(keys.customer_pk(customer_id), PROFILE_SK))
        except CustomerItem.DoesNotExist:
            return None

    @translated
    def filed(self, identity: str) -> tuple[str, str] | None:
        """(customer id, activity id) where the reply of ``identity`` was filed, or None."""
        try:
            item = InboundMessageItem.get(keys.inbound_message_pk(identity), keys.INBOUND_MESSAGE_SK)
        except InboundMessageItem.DoesNotExist:
            return None
        return item.customer_id, item.activity_id

    @translated
    def file(self, identity: str, key: str, activity: Activity, task: Task | None) -> bool:
        """File a reply once: its marker, its timeline entry and its task in one transaction. False when
        it was filed already (the same message delivered twice), and nothing is written."""
        marker = InboundMessageItem(
            keys.inbound_message_pk(identity),
            keys.INBOUND_MESSAGE_SK,
            key=key,
            customer_id=activity.customer_id,
            activity_id=activity.activity_id,
            at=activity.at,
            kind=activity.kind,
            summary=activity.summary,
            expires_at=retention_expiry(activity.at),
        )
        operations: list[Operation] = [
            ("save_new", marker, None),
            *timeline_writes(activity.customer_id, activity),
        ]
        if task is not None:
            operations.append(("save", task_item(task), None))
        return commit(operations)
