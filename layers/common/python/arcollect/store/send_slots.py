"""The send-slot records' codec and book: per customer, reminders sent and responded to per local hour,
and the portfolio's, as the newest report run counted them (``CUST#<id>`` / ``SENDSLOT``).

Its own item, like the predictions (store/predictions.py): written only by the reports run, which reads
the whole table anyway, in no index, and read by the sweep with one GetItem only when the policy learns
send times and the customer's plan has an email to send or to wait for. Each expires ``KEPT_DAYS``
after its as-of day.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from arcollect.send_times import SendRecord, SlotStats
from arcollect.store import keys
from arcollect.store.base import translated
from arcollect.store.models import SendSlotItem, TableItem

KEPT_DAYS = 45


def _encode(record: Mapping[int, SlotStats]) -> str:
    return json.dumps(
        {str(h): [s.sent, s.responded] for h, s in sorted(record.items())}, separators=(",", ":")
    )


def _decode(text: str) -> dict[int, SlotStats]:
    return {int(h): SlotStats(int(pair[0]), int(pair[1])) for h, pair in json.loads(text or "{}").items()}


def send_slot_item(customer_id: str, as_of: date, record: SendRecord) -> SendSlotItem:
    kept_until = datetime.combine(as_of + timedelta(days=KEPT_DAYS), datetime.min.time(), UTC)
    return SendSlotItem(
        keys.customer_pk(customer_id),
        keys.SEND_SLOTS_SK,
        customer_id=customer_id,
        as_of=as_of.isoformat(),
        own=_encode(record.own),
        portfolio=_encode(record.portfolio),
        expires_at=int(kept_until.timestamp()),
    )


def record_from_item(item: SendSlotItem) -> SendRecord:
    return SendRecord(own=_decode(item.own), portfolio=_decode(item.portfolio))


class SendSlotBook:
    """Written by the reports run; read by the dunning sweep."""

    @translated
    def keep_send_slots(self, records: Mapping[str, SendRecord], as_of: date) -> int:
        with TableItem.batch_write() as batch:
            for customer_id, record in sorted(records.items()):
                batch.save(send_slot_item(customer_id, as_of, record))
        return len(records)

    @translated
    def send_record(self, customer_id: str) -> SendRecord | None:
        try:
            item = TableItem.get(keys.customer_pk(customer_id), keys.SEND_SLOTS_SK)
        except DoesNotExist:
            return None
        return record_from_item(item) if isinstance(item, SendSlotItem) else None
