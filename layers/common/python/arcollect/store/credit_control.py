"""Credit holds and agency placements (arcollect/credit_control.py), each written in one transaction
with its timeline entry and its changes for the ERP, conditional on what it was decided from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arcollect.entities import Activity, Customer, Invoice, Payment
from arcollect.store import keys
from arcollect.store.base import Operation, commit, day, next_action, translated
from arcollect.store.customers import PROFILE_SK
from arcollect.store.invoices import invoice_as_read, payment_applied
from arcollect.store.models import CustomerItem, InvoiceItem, PaymentItem
from arcollect.store.payments import payment_from_item, payment_item
from arcollect.store.timeline import timeline_writes


def _flag_as(attribute: Any, on: bool) -> Any:
    """The condition that a flag stored only when set is ``on``."""
    return (attribute == True) if on else (attribute.does_not_exist() | (attribute == False))  # noqa: E712


def _placement_as(before: Invoice) -> Any:
    return (
        InvoiceItem.agency_placement.does_not_exist()
        if before.agency_placement is None
        else InvoiceItem.agency_placement == before.agency_placement
    )


class CreditControl:
    """The customer's credit hold and its invoices' agency placements."""

    @translated
    def set_credit_hold(self, before: Customer, after: Customer, activity: Activity) -> bool:
        """Put the customer on credit hold or lift it (since when, why), provided the hold is still as
        read; False when someone else decided meanwhile."""
        item = CustomerItem(keys.customer_pk(before.customer_id), PROFILE_SK)
        actions: list[Any] = (
            [
                CustomerItem.credit_hold.set(True),
                CustomerItem.credit_hold_since.set(day(after.credit_hold_since) or ""),
                CustomerItem.credit_hold_reason.set(after.credit_hold_reason or ""),
            ]
            if after.credit_hold
            else [
                CustomerItem.credit_hold.remove(),
                CustomerItem.credit_hold_since.remove(),
                CustomerItem.credit_hold_reason.remove(),
            ]
        )
        condition = CustomerItem.pk.exists() & _flag_as(CustomerItem.credit_hold, before.credit_hold)
        return commit(
            [("update_if", item, (actions, condition)), *timeline_writes(before.customer_id, activity)]
        )

    @translated
    def move_placement(self, pairs: Sequence[tuple[Invoice, Invoice]], activity: Activity) -> bool:
        """Place invoices with an agency or recall them (each as read and after), in one transaction
        with the timeline entry and its changes; False when an invoice changed meanwhile (paid,
        disputed, placed or recalled by someone else)."""
        operations: list[Operation] = []
        for before, after in pairs:
            actions: list[Any] = [
                InvoiceItem.agency.set(after.agency) if after.agency else InvoiceItem.agency.remove(),
                InvoiceItem.agency_placement.set(after.agency_placement)
                if after.agency_placement
                else InvoiceItem.agency_placement.remove(),
                InvoiceItem.agency_placed_on.set(after.agency_placed_on.isoformat())
                if after.agency_placed_on
                else InvoiceItem.agency_placed_on.remove(),
                *next_action(after.customer_id, after.next_action_at),
            ]
            operations.append(
                (
                    "update_if",
                    InvoiceItem(keys.customer_pk(before.customer_id), keys.invoice_sk(before.invoice_number)),
                    (actions, invoice_as_read(before) & _placement_as(before)),
                )
            )
        operations += timeline_writes(activity.customer_id, activity)
        return commit(operations)

    @translated
    def record_collection(
        self, payment: Payment, before: Invoice, after: Invoice, activity: Activity
    ) -> bool:
        """What the agency collected: the payment (once: its id is new), the invoice's open amount and
        status after it, the timeline entry and its change, in one transaction; False when the payment
        is recorded already or the invoice changed meanwhile (``payment_recorded`` tells which)."""
        return commit(
            [
                ("save_new", payment_item(payment), None),
                (
                    "update_if",
                    InvoiceItem(keys.customer_pk(before.customer_id), keys.invoice_sk(before.invoice_number)),
                    (payment_applied(after), invoice_as_read(before) & _placement_as(before)),
                ),
                *timeline_writes(before.customer_id, activity),
            ]
        )

    @translated
    def payment_recorded(self, customer_id: str, payment_id: str) -> Payment | None:
        try:
            item = PaymentItem.get(
                keys.customer_pk(customer_id), keys.payment_sk(payment_id), consistent_read=True
            )
        except PaymentItem.DoesNotExist:
            return None
        return payment_from_item(item)
