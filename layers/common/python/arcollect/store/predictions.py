"""The predictions' codec and their book: each open invoice's ``PayOutlook`` as the newest report run left
it, one item beside the invoice (``CUST#<id>`` / ``PRED#<number>``).

Its own item, not an attribute of the invoice: the invoice item is in the sweep's ``by_next_action``
index and written by ingest, the sweep and the portal; a daily rewrite of every open invoice's
prediction would rewrite the index's copies and race those writers. This item is in no index, is
written only by the reports run, and is read where a person looks: the worklist (``by_key``, one batch
read beside the task's invoices) and the customer's 360 (its partition's one query). Each expires
``KEPT_DAYS`` after its as-of day, so a schedule that stops leaves no prediction behind for long.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from arcollect.outlook import OutlookFactor, PayOutlook
from arcollect.store import keys
from arcollect.store.base import translated
from arcollect.store.models import PredictionItem, TableItem

KEPT_DAYS = 45


def prediction_item(outlook: PayOutlook) -> PredictionItem:
    kept_until = datetime.combine(outlook.as_of + timedelta(days=KEPT_DAYS), datetime.min.time(), UTC)
    return PredictionItem(
        keys.customer_pk(outlook.customer_id),
        keys.prediction_sk(outlook.invoice_number),
        customer_id=outlook.customer_id,
        invoice_number=outlook.invoice_number,
        as_of=outlook.as_of.isoformat(),
        due_date=outlook.due_date.isoformat(),
        pay_date=outlook.pay_date.isoformat(),
        low=outlook.low.isoformat(),
        high=outlook.high.isoformat(),
        probability_over_30_days_late=outlook.probability_over_30_days_late,
        factors=[{"name": f.name, "days": str(f.days), "text": f.text} for f in outlook.factors],
        basis=outlook.basis,
        fallback=outlook.fallback,
        expires_at=int(kept_until.timestamp()),
    )


def _factor(raw: Any) -> OutlookFactor:
    values = raw.as_dict() if hasattr(raw, "as_dict") else dict(raw)
    return OutlookFactor(
        str(values.get("name", "")), Decimal(str(values.get("days", "0"))), str(values.get("text", ""))
    )


def outlook_from_item(item: PredictionItem) -> PayOutlook:
    return PayOutlook(
        customer_id=item.customer_id,
        invoice_number=item.invoice_number,
        as_of=date.fromisoformat(item.as_of),
        due_date=date.fromisoformat(item.due_date),
        pay_date=date.fromisoformat(item.pay_date),
        low=date.fromisoformat(item.low),
        high=date.fromisoformat(item.high),
        probability_over_30_days_late=item.probability_over_30_days_late,
        factors=tuple(_factor(f) for f in item.factors or ()),
        basis=item.basis,
        fallback=bool(item.fallback),
    )


class PredictionBook:
    """Written by the reports run; read by the worklist and the 360."""

    @translated
    def keep(self, outlooks: Iterable[PayOutlook], stale: Iterable[tuple[str, str]] = ()) -> int:
        """Write ``outlooks`` (each replacing its invoice's earlier one) and delete the predictions of
        ``stale`` invoices (by customer and number: no longer open); how many were written."""
        written = 0
        with TableItem.batch_write() as batch:
            for outlook in outlooks:
                batch.save(prediction_item(outlook))
                written += 1
            for customer_id, number in stale:
                batch.delete(PredictionItem(keys.customer_pk(customer_id), keys.prediction_sk(number)))
        return written

    @translated
    def by_key(self, invoice_keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], PayOutlook]:
        """The predictions of these invoices (by customer and number) that the table holds."""
        wanted = {(keys.customer_pk(c), keys.prediction_sk(n)) for c, n in invoice_keys}
        if not wanted:
            return {}
        return {
            (item.customer_id, item.invoice_number): outlook_from_item(item)
            for item in PredictionItem.batch_get(wanted)
        }
