"""The dunning touches' codec: an email touch's item to its record, the ledger item of one (invoice,
step), what a touch writes on its invoice, and the conditions a touch is written under, made from the
domain's requirements (``arcollect.reminders``: which invoices are remindable, whether the customer may
be reached and the profile copy is current)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arcollect.clock import format_instant
from arcollect.entities import Customer
from arcollect.reminders import InvoiceRequirement, ProfileRequirement, Reach, reachable, remindable
from arcollect.store import keys
from arcollect.store.base import Operation, next_action, retention_expiry
from arcollect.store.customers import last_emailed
from arcollect.store.invoices import invoice_key
from arcollect.store.keys import email_sk, ledger_sk
from arcollect.store.models import CustomerItem, EmailTouchItem, InvoiceItem, SendLedgerItem, TableItem


@dataclass(frozen=True)
class Refusal:
    """Why a touch could not be reserved: the invoice changed, or the touch exists already."""

    invoice_number: str
    step: str
    reason: str  # "changed" | "touched" | "customer"


@dataclass(frozen=True)
class Reservation:
    reserved: tuple[tuple[str, str], ...]
    refused: tuple[Refusal, ...]


# A message reserved in steps (``store/claims.py``) is ``claiming`` until all its touches are claimed
# and ``abandoned`` while it is given up: in neither has it been sent, or may it be.
CLAIMING = "claiming"
ABANDONED = "abandoned"


@dataclass(frozen=True)
class EmailTouchRecord:
    customer_id: str
    touch_id: str
    step: str
    touches: tuple[tuple[str, str], ...]
    reserved_at: datetime
    message_id: str | None
    status: str
    recipients: tuple[str, ...] = ()
    # The wall-clock time it was reserved (None: reserved before this was kept; the tick time stands in).
    reserved_by_clock: datetime | None = None
    refusal: str | None = None
    refused_at: datetime | None = None

    @property
    def unsent_claim(self) -> bool:
        """Still being claimed in steps, or given up: nothing was sent, so it is never in doubt."""
        return self.status in (CLAIMING, ABANDONED)


@dataclass(frozen=True)
class InvoiceState:
    """What a touch does to its invoice: the step joins steps_done, the next look moves."""

    invoice_number: str
    steps: tuple[str, ...]
    next_action_at: datetime | None
    clear_promise: bool = False
    # The profile the decision was made with, kept beside the invoice for the next sweep.
    customer_snapshot: str | None = None


def touch_text(invoice_number: str, step: str) -> str:
    # JSON, because invoice numbers and step ids may both hold any separator we could pick.
    return json.dumps([invoice_number, step])


def _split(text: str) -> tuple[str, str]:
    number, step = json.loads(text)
    return str(number), str(step)


def email_record(item: EmailTouchItem) -> EmailTouchRecord:
    return EmailTouchRecord(
        customer_id=item.customer_id,
        touch_id=item.touch_id,
        step=item.step,
        touches=tuple(_split(str(text)) for text in item.touches),
        reserved_at=item.reserved_at,
        message_id=item.message_id,
        status=item.status,
        recipients=tuple(str(address) for address in item.recipients or ()),
        reserved_by_clock=item.reserved_by_clock,
        refusal=item.refusal,
        refused_at=item.refused_at,
    )


def email_item(
    customer_id: str,
    touch_id: str,
    step: str,
    touches: Sequence[tuple[str, str]],
    recipients: Sequence[str],
    at: datetime,
    clock_at: datetime | None,
) -> EmailTouchItem:
    """A reminder email as reserved (``at``: the sweep's tick; ``clock_at``: the wall clock)."""
    return EmailTouchItem(
        keys.customer_pk(customer_id),
        email_sk(touch_id),
        customer_id=customer_id,
        touch_id=touch_id,
        step=step,
        touches=[touch_text(n, s) for n, s in touches],
        recipients=list(recipients),
        reserved_at=at,
        reserved_by_clock=clock_at or at,
        expires_at=retention_expiry(at),
    )


def ledger_item(customer_id: str, number: str, step: str, at: datetime, touch_id: str) -> SendLedgerItem:
    return SendLedgerItem(
        keys.customer_pk(customer_id),
        ledger_sk(number, step),
        customer_id=customer_id,
        invoice_number=number,
        step=step,
        reserved_at=at,
        touch_id=touch_id,
        expires_at=retention_expiry(at),
    )


def state_actions(customer_id: str, state: InvoiceState, at: datetime) -> list[Any]:
    """What a touch writes on its invoice: the steps done, the last touch, the next look (and the
    profile copy), the promise cleared when the touch ends it."""
    actions: list[Any] = [
        InvoiceItem.steps_done.add(set(state.steps)),
        InvoiceItem.last_touch_at.set(format_instant(at)),
        *next_action(customer_id, state.next_action_at),
    ]
    if state.customer_snapshot is not None:
        actions.append(InvoiceItem.customer_snapshot.set(state.customer_snapshot))
    if state.clear_promise:
        actions += [InvoiceItem.promised_until.remove(), InvoiceItem.promise_id.remove()]
    return actions


def sent(
    customer_id: str, touch_id: str, message_id: str, touches: Sequence[tuple[str, str]], at: datetime
) -> list[Operation]:
    """The writes that record an email SES accepted: its message id on the email and on each touch."""
    pk = keys.customer_pk(customer_id)
    return [
        (
            "update",
            EmailTouchItem(pk, email_sk(touch_id)),
            [
                EmailTouchItem.message_id.set(message_id),
                EmailTouchItem.sent_at.set(at),
                EmailTouchItem.status.set("sent"),
            ],
        ),
        *(
            (
                "update",
                SendLedgerItem(pk, ledger_sk(number, step)),
                [SendLedgerItem.message_id.set(message_id), SendLedgerItem.sent_at.set(at)],
            )
            for number, step in touches
        ),
    ]


def invoice_condition(required: InvoiceRequirement) -> Any:
    """The DynamoDB condition that an invoice item is as ``required``."""
    condition = (InvoiceItem.status == required.status) & (InvoiceItem.disputed == required.disputed)
    if required.owes:
        condition &= InvoiceItem.open_amount > 0
    condition &= ~InvoiceItem.steps_done.contains(required.step_not_taken)
    # Never on an invoice placed with a collection agency (arcollect/credit_control.py) meanwhile.
    condition &= InvoiceItem.agency.does_not_exist()
    if required.promise_id:
        return condition & (InvoiceItem.promise_id == required.promise_id)
    return condition & InvoiceItem.promise_id.does_not_exist()


def _unset_or_false(attribute: Any) -> Any:
    return attribute.does_not_exist() | (attribute == False)  # noqa: E712 (a pynamodb condition)


def profile_condition(required: ProfileRequirement) -> Any:
    """The DynamoDB condition that the customer's profile item is as ``required``."""
    condition = CustomerItem.pk.exists()
    if required.no_hold:
        condition &= _unset_or_false(CustomerItem.dunning_hold)
        condition &= _unset_or_false(CustomerItem.collector_hold)
    if required.contactable:
        condition &= _unset_or_false(CustomerItem.do_not_contact)
    if required.copy is None:
        return condition
    condition &= CustomerItem.fingerprint == required.copy.fingerprint
    if required.copy.last_emailed_at is None:
        return condition & CustomerItem.last_emailed_at.does_not_exist()
    return condition & (CustomerItem.last_emailed_at == last_emailed(required.copy.last_emailed_at))


def claim_touches(
    transaction: Any,
    customer_id: str,
    touches: Sequence[tuple[str, str]],
    promises: dict[str, str],
    at: datetime,
    touch_id: str,
) -> None:
    """A message's (invoice, step) touches in its reservation's transaction, whatever the channel: each
    invoice still remindable for its step (``remindable_condition``), each step's ledger item written
    once. pynamodb sends the checks before the puts, which is the order the callers read refusals in."""
    for number, step in touches:
        pk, sk = invoice_key(customer_id, number)
        transaction.condition_check(
            InvoiceItem, pk, sk, condition=remindable_condition(step, promises.get(number))
        )
        transaction.save(
            ledger_item(customer_id, number, step, at, touch_id), condition=TableItem.pk.does_not_exist()
        )


def remindable_condition(step: str, promise_id: str | None) -> Any:
    """The fresh-state check of a touch of ``step`` on an invoice (``reminders.remindable``)."""
    return invoice_condition(remindable(step, promise_id))


def reachable_condition(expected: Customer | None, reach: Reach = Reach.CONTACT) -> Any:
    """The customer check of a touch (``reminders.reachable``)."""
    return profile_condition(reachable(reach, expected))


def fallback_marks(
    customer_id: str, touches: Sequence[tuple[str, str]], at: datetime, marker: str = ""
) -> tuple[tuple[tuple[str, str], ...], list[Operation]]:
    """A message that did not reach the customer (an email bounced, a text not delivered): of its
    ``touches``, those whose invoice is still there (one deleted since, a reload, is left alone: an
    update would create it), and each invoice's update: the step (with ``marker``: which channel
    failed) joins its ``bounced_steps`` and the invoice is due at ``at``, so the next tick sends the
    step by the channel after the failed one."""
    numbers = {number for number, _ in touches}
    present = {
        invoice.invoice_number
        for invoice in InvoiceItem.batch_get(
            [invoice_key(customer_id, n) for n in numbers], consistent_read=True
        )
    }
    kept = tuple((n, s) for n, s in touches if n in present)
    operations: list[Operation] = [
        (
            "update_if",
            InvoiceItem(*invoice_key(customer_id, number)),
            (
                [
                    InvoiceItem.bounced_steps.add({s + marker for n, s in kept if n == number}),
                    *next_action(customer_id, at),
                ],
                InvoiceItem.pk.exists(),
            ),
        )
        for number in dict.fromkeys(n for n, _ in kept)
    ]
    return kept, operations
