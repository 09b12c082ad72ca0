"""The promise's codec: a ``Promise`` to its item and back."""

from __future__ import annotations

from datetime import datetime

from arcollect.entities import Promise
from arcollect.store import keys
from arcollect.store.models import PromiseItem


def promise_item(promise: Promise) -> PromiseItem:
    return PromiseItem(
        keys.customer_pk(promise.customer_id),
        keys.promise_sk(promise.promise_id),
        customer_id=promise.customer_id,
        promise_id=promise.promise_id,
        invoice_numbers=list(promise.invoice_numbers),
        promised_until=promise.promised_until.isoformat(),
        amount=promise.amount,
        currency=promise.currency,
        status=promise.status,
        created_at=promise.created_at,
        source=promise.source,
    )


def promise_from_item(item: PromiseItem) -> Promise:
    return Promise(
        customer_id=item.customer_id,
        promise_id=item.promise_id,
        invoice_numbers=tuple(str(n) for n in item.invoice_numbers),
        promised_until=datetime.fromisoformat(item.promised_until).date(),
        created_at=item.created_at,
        amount=item.amount,
        currency=item.currency,
        status=item.status,
        source=item.source or "portal",
        paid_amount=item.paid_amount,
        settled_at=item.settled_at,
    )
