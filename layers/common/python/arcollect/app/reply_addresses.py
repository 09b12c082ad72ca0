"""The reminders' reply addresses, wired for the dunning function: a fresh token per touch, registered
(with the reminder's own Message-ID) before the email goes out, and SES's Message-ID once it is sent, so
the inbox threads the reply by either (docs/inbox.md). Without an inbound domain, nothing: the owner's
mailbox stays the Reply-To."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from arcollect.dunning.emails import reminder_message_id
from arcollect.observability import logger
from arcollect.replies import new_token, reply_address, thread_key
from arcollect.store.errors import StoreError
from arcollect.store.inbox import ReplyBook


@dataclass(frozen=True)
class ReplyAddresses:
    book: ReplyBook
    inbound_domain: str | None
    sender: str

    def reply_to(self, customer_id: str, touch_id: str, now: datetime) -> str | None:
        """The touch's reply address, registered; None without an inbound domain."""
        if not self.inbound_domain:
            return None
        token = new_token()
        ours = thread_key(reminder_message_id(touch_id, customer_id, self.sender))
        self.book.register(token, customer_id, touch_id, [ours] if ours else [], now)
        return reply_address(token, self.inbound_domain)

    def threaded(self, customer_id: str, touch_id: str, message_id: str, now: datetime) -> None:
        """Remember SES's Message-ID of the sent reminder. The reminder is sent and recorded already:
        a failure here costs only this way of threading (the reply address still threads), so it is
        logged, not raised into the run."""
        key = thread_key(message_id)
        if not self.inbound_domain or not key:
            return
        try:
            self.book.thread_sent(key, customer_id, touch_id, now)
        except StoreError as error:
            logger.warning(
                "a sent reminder's Message-ID was not recorded for threading replies",
                extra={"customer_id": customer_id, "touch_id": touch_id, "error": str(error)},
            )
