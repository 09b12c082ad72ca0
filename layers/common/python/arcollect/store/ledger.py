"""The send ledger and the sweep's read path: what makes a touch happen once.

A touch is reserved with a conditional write before SES is called and completed with SES's message id
after. A crash between the two leaves a reservation without a message id: it is never sent again
automatically, and it is visible for review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DeleteError

from arcollect.clock import format_instant
from arcollect.store import keys
from arcollect.store.models import InvoiceItem, TableItem
from arcollect.store.repositories import _put_once, _translated


class SendLedgerItem(TableItem, discriminator="send"):
    customer_id = UnicodeAttribute()
    invoice_number = UnicodeAttribute()
    step = UnicodeAttribute()
    reserved_at = UTCDateTimeAttribute()
    message_id = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)


def _send_sk(invoice_number: str, step: str) -> str:
    return f"SEND#{invoice_number}#{step}"


@dataclass(frozen=True)
class DueInvoiceKey:
    customer_id: str
    invoice_number: str


class SendLedger:
    @_translated
    def reserve(self, customer_id: str, invoice_number: str, step: str, at: datetime) -> bool:
        """Reserve the (invoice, step) touch; False if it was reserved before (sent or in doubt)."""
        return _put_once(
            SendLedgerItem(
                keys.customer_pk(customer_id),
                _send_sk(invoice_number, step),
                customer_id=customer_id,
                invoice_number=invoice_number,
                step=step,
                reserved_at=at,
            )
        )

    @_translated
    def complete(
        self, customer_id: str, invoice_number: str, step: str, message_id: str, at: datetime
    ) -> None:
        item = SendLedgerItem(keys.customer_pk(customer_id), _send_sk(invoice_number, step))
        item.update(actions=[SendLedgerItem.message_id.set(message_id), SendLedgerItem.sent_at.set(at)])

    @_translated
    def release(self, customer_id: str, invoice_number: str, step: str) -> None:
        """Undo a reservation whose send definitely failed, so a later run may try again."""
        item = SendLedgerItem(keys.customer_pk(customer_id), _send_sk(invoice_number, step))
        try:
            item.delete(condition=SendLedgerItem.message_id.does_not_exist())
        except DeleteError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise


class DueInvoices:
    """Invoices whose next action is due, read from the sparse, sharded index only."""

    @_translated
    def due(self, now: datetime) -> list[DueInvoiceKey]:
        cutoff = format_instant(now)
        found: list[DueInvoiceKey] = []
        for shard in keys.all_next_action_shards():
            for item in TableItem.by_next_action.query(shard, TableItem.next_action_at <= cutoff):
                if isinstance(item, InvoiceItem):
                    found.append(DueInvoiceKey(item.customer_id, item.invoice_number))
        return found

    @_translated
    def clear(self, customer_id: str, invoice_number: str) -> None:
        """Take an invoice out of the sweep's index (nothing more is due for it)."""
        item = InvoiceItem(keys.customer_pk(customer_id), keys.invoice_sk(invoice_number))
        item.update(actions=[InvoiceItem.next_action_shard.remove(), InvoiceItem.next_action_at.remove()])
