"""Promises to pay: made (their invoices paused), settled kept or broken (counted on the customer),
and the payments that were made towards them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from arcollect.changes import Change
from arcollect.entities import Activity, Payment, Promise
from arcollect.store import keys
from arcollect.store.base import commit, next_action, translated, update_if
from arcollect.store.customers import PROFILE_SK
from arcollect.store.invoices import invoice_key
from arcollect.store.models import CustomerItem, InvoiceItem, PaymentItem, PromiseItem
from arcollect.store.payments import payment_from_item
from arcollect.store.promises import promise_from_item, promise_item
from arcollect.store.timeline import change_item, timeline_writes


class PromiseBook:
    """Everything about promises to pay, for the portal, the sweep and collectors alike."""

    @translated
    def make_promise(
        self, promise: Promise, next_action_at: datetime, activity: Activity | None = None
    ) -> bool:
        """Record a promise to pay and pause its invoices until the promised date plus grace, with its
        timeline entry (and the change feed's record it carries) when given. False: a promise with its
        id exists."""
        return commit(
            [
                ("save_new", promise_item(promise), None),
                *(
                    (
                        "update",
                        InvoiceItem(*invoice_key(promise.customer_id, number)),
                        [
                            InvoiceItem.promised_until.set(promise.promised_until.isoformat()),
                            InvoiceItem.promise_id.set(promise.promise_id),
                            *next_action(promise.customer_id, next_action_at),
                        ],
                    )
                    for number in promise.invoice_numbers
                ),
                *(timeline_writes(promise.customer_id, activity) if activity is not None else []),
            ]
        )

    @translated
    def promise(self, customer_id: str, promise_id: str) -> Promise | None:
        """One promise, read consistently (what settling it is about to be based on)."""
        try:
            item = PromiseItem.get(
                keys.customer_pk(customer_id), keys.promise_sk(promise_id), consistent_read=True
            )
        except PromiseItem.DoesNotExist:
            return None
        return promise_from_item(item)

    @translated
    def promises(self, customer_id: str) -> list[Promise]:
        items = PromiseItem.query(
            keys.customer_pk(customer_id), PromiseItem.sk.startswith(keys.promise_sk(""))
        )
        return [promise_from_item(item) for item in items]

    @translated
    def promise_status(self, customer_id: str, promise_id: str) -> str | None:
        try:
            return str(PromiseItem.get(keys.customer_pk(customer_id), keys.promise_sk(promise_id)).status)
        except PromiseItem.DoesNotExist:
            return None

    @translated
    def payments(self, customer_id: str) -> list[Payment]:
        """The customer's payments (what was paid towards its promises)."""
        items = PaymentItem.query(keys.customer_pk(customer_id), PaymentItem.sk.startswith("PAY#"))
        return [payment_from_item(item) for item in items]

    @translated
    def promise_broken(self, customer_id: str, promise_id: str, at: datetime) -> None:
        item = PromiseItem(keys.customer_pk(customer_id), keys.promise_sk(promise_id))
        update_if(
            item,
            [PromiseItem.status.set("broken"), PromiseItem.broken_at.set(at)],
            PromiseItem.status == "open",
        )

    @translated
    def clear_promise(self, customer_id: str, invoice_number: str, promise_id: str) -> None:
        """The promise is broken and reminded: the invoice goes back to the regular steps."""
        item = InvoiceItem(*invoice_key(customer_id, invoice_number))
        update_if(
            item,
            [InvoiceItem.promised_until.remove(), InvoiceItem.promise_id.remove()],
            InvoiceItem.promise_id == promise_id,
        )

    @translated
    def settle_promise(
        self,
        promise: Promise,
        status: str,
        paid: Decimal,
        at: datetime,
        release: Sequence[str],
        changes: Sequence[Change] = (),
    ) -> bool:
        """Mark an open promise kept or broken with what was paid towards it, count it on the customer
        (the kept rate feeds risk) and, when kept, take the pause off ``release`` (its invoices), all at
        once, with the ERP's ``changes``. False: it was settled already (a repeated run)."""
        pk = keys.customer_pk(promise.customer_id)
        counter = CustomerItem.promises_kept if status == "kept" else CustomerItem.promises_broken
        settled = [
            PromiseItem.status.set(status),
            PromiseItem.paid_amount.set(paid),
            PromiseItem.settled_at.set(at),
            *([PromiseItem.broken_at.set(at)] if status == "broken" else []),
        ]
        released = [InvoiceItem.promised_until.remove(), InvoiceItem.promise_id.remove()]
        return commit(
            [
                (
                    "update_if",
                    PromiseItem(pk, keys.promise_sk(promise.promise_id)),
                    (settled, PromiseItem.status == "open"),
                ),
                ("update", CustomerItem(pk, PROFILE_SK), [counter.add(1)]),
                *(
                    (
                        "update_if",
                        InvoiceItem(pk, keys.invoice_sk(number)),
                        (released, InvoiceItem.promise_id == promise.promise_id),
                    )
                    for number in release
                ),
                *(("save", change_item(change), None) for change in changes),
            ]
        )
