"""The reminder texts' ledger: a text goes once per (invoice, step), as an email does.

A text touch is reserved in one transaction before SendTextMessage is called: the text's item
(``TEXT#<touch id>``), the (invoice, step) ledger items the email touches use too (``SEND#...``: one
channel carries a step's touch, whichever it is), each invoice still remindable, the customer still
reachable by text (no hold, not do-not-contact, not opted out, the same mobile) and the number not on
our copy of the opt-out list (``SMS#<number>`` / ``OPTOUT``). It is completed in another transaction
once the service accepted it (message id, each invoice's state, the timeline, and the number's pointer
to the customer, which an inbound STOP follows). The service refusing it for good keeps it reserved
with the reason; the service sending nothing at all releases it; a text whose answer was lost stays
reserved and is never sent again (as ``touch_ledger`` does for emails).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from arcollect.entities import Activity, Customer
from arcollect.store import keys
from arcollect.store.base import (
    TRANSACTION_ITEMS,
    Operation,
    cancellation_reasons,
    commit,
    connection,
    put_once,
    retention_expiry,
    transact,
    translated,
)
from arcollect.store.claims import (
    CLAIMING,
    REFUSED,
    RESERVED,
    StagedMessage,
    give_up,
    never_sent,
    release_operations,
    reserve_in_steps,
    take_over,
)
from arcollect.store.customers import PROFILE_SK, customer_from_item
from arcollect.store.invoices import invoice_key
from arcollect.store.keys import ledger_sk, text_sk
from arcollect.store.models import (
    CustomerItem,
    InvoiceItem,
    SendLedgerItem,
    SmsNumberItem,
    TableItem,
    TextTouchItem,
)
from arcollect.store.timeline import record_once, timeline_writes
from arcollect.store.touches import (
    InvoiceState,
    Refusal,
    Reservation,
    claim_touches,
    fallback_marks,
    reachable_condition,
    state_actions,
    touch_text,
)

OPT_OUT_SK = "OPTOUT"


def number_pk(number: str) -> str:
    """A mobile number's partition: its opt-out, and the customers texted at it."""
    return f"SMS#{number}"


@dataclass(frozen=True)
class TextDraft:
    """A text as it is reserved: where it goes and what it says, with its encoding and parts."""

    to: str
    body: str
    encoding: str
    parts: int


@dataclass(frozen=True)
class TextTouchRecord:
    customer_id: str
    touch_id: str
    step: str
    touches: tuple[tuple[str, str], ...]
    to: str
    body: str
    encoding: str
    parts: int
    reserved_at: datetime
    message_id: str | None
    status: str
    refusal: str | None = None


def _record(item: TextTouchItem) -> TextTouchRecord:
    return TextTouchRecord(
        customer_id=item.customer_id,
        touch_id=item.touch_id,
        step=item.step,
        touches=tuple((str(n), str(s)) for n, s in (json.loads(str(text)) for text in item.touches)),
        to=item.to,
        body=item.body,
        encoding=item.encoding,
        parts=int(item.parts),
        reserved_at=item.reserved_at,
        message_id=item.message_id,
        status=item.status,
        refusal=item.refusal,
    )


def _textable(customer: Customer, expected: Customer | None) -> Any:
    """The customer check of a text: reachable (no hold, not do-not-contact), not opted out, and its
    mobile the one the text is for."""
    condition = reachable_condition(expected)
    condition &= CustomerItem.sms_opted_out.does_not_exist() | (CustomerItem.sms_opted_out == False)  # noqa: E712
    if customer.mobile is None:
        return condition & CustomerItem.mobile.does_not_exist()
    return condition & (CustomerItem.mobile == customer.mobile)


class TextLedger:
    """Reminder texts of the dunning engine, each at most once per (invoice, step)."""

    @translated
    def text_touch(self, customer_id: str, touch_id: str) -> TextTouchRecord | None:
        try:
            item = TextTouchItem.get(keys.customer_pk(customer_id), text_sk(touch_id), consistent_read=True)
        except TextTouchItem.DoesNotExist:
            return None
        return _record(item)

    @translated
    def reserve_text(
        self,
        customer: Customer,
        touch_id: str,
        step: str,
        touches: Sequence[tuple[str, str]],
        draft: TextDraft,
        promises: dict[str, str],
        at: datetime,
        expected: Customer | None = None,
        clock_at: datetime | None = None,
    ) -> Reservation:
        """Reserve one text's touches, conditional on fresh state (see the module): in one transaction,
        or in steps when they do not fit one (``store/claims.py``, as an email's). A touch whose invoice
        changed or that exists already is refused and the rest tried again (a touch held by a claim its
        run left behind is taken over); the customer or the number refused refuses them all (reason
        ``customer`` or ``opted_out``)."""
        customer_id = customer.customer_id
        checks = (
            (
                CustomerItem,
                keys.customer_pk(customer_id),
                PROFILE_SK,
                _textable(customer, expected),
                "customer",
            ),
            (SmsNumberItem, number_pk(draft.to), OPT_OUT_SK, TableItem.pk.does_not_exist(), "opted_out"),
        )
        if 2 * len(touches) + 3 > TRANSACTION_ITEMS:
            claim = _text_item(customer_id, touch_id, step, (), draft, at, clock_at)
            claim.status = CLAIMING
            return reserve_in_steps(
                StagedMessage(
                    customer_id=customer_id,
                    touch_id=touch_id,
                    model=TextTouchItem,
                    item=claim,
                    checks=checks,
                    closing=(
                        TextTouchItem.to.set(draft.to),
                        TextTouchItem.body.set(draft.body),
                        TextTouchItem.encoding.set(draft.encoding),
                        TextTouchItem.parts.set(draft.parts),
                        TextTouchItem.reserved_by_clock.set(clock_at or at),
                    ),
                    promises=promises,
                    at=at,
                    clock_at=clock_at,
                ),
                touches,
            )
        remaining = list(touches)
        refused: list[Refusal] = []
        taken_over: set[tuple[str, str]] = set()
        while remaining:
            try:
                with TransactWrite(connection=connection()) as transaction:
                    for model, pk, sk, condition, _ in checks:
                        transaction.condition_check(model, pk, sk, condition=condition)
                    transaction.save(
                        _text_item(customer_id, touch_id, step, remaining, draft, at, clock_at),
                        condition=TableItem.pk.does_not_exist(),
                    )
                    claim_touches(transaction, customer_id, remaining, promises, at, touch_id)
            except TransactWriteError as error:
                reasons = cancellation_reasons(error)
                if not reasons:
                    raise
                # pynamodb sends the condition checks first (the customer, the number, one per invoice),
                # then the puts (the text, one ledger item per invoice).
                count = len(remaining)
                if reasons[0] == "ConditionalCheckFailed":
                    return Reservation((), (*refused, *(Refusal(n, s, "customer") for n, s in remaining)))
                if reasons[1] == "ConditionalCheckFailed":
                    return Reservation((), (*refused, *(Refusal(n, s, "opted_out") for n, s in remaining)))
                if reasons[2 + count] == "ConditionalCheckFailed":
                    return Reservation((), (*refused, *(Refusal(n, s, "touched") for n, s in remaining)))
                still: list[tuple[str, str]] = []
                touched: list[tuple[str, str]] = []
                for index, (number, touch_step) in enumerate(remaining):
                    check, ledger = reasons[2 + index], reasons[3 + count + index]
                    if ledger == "ConditionalCheckFailed":
                        touched.append((number, touch_step))
                    elif check == "ConditionalCheckFailed":
                        refused.append(Refusal(number, touch_step, "changed"))
                    else:
                        still.append((number, touch_step))
                if len(still) == len(remaining):
                    raise  # not a condition of ours (a conflict, throttling): the caller retries
                # A touch held by a bigger message's claim that its run left behind is freed, once.
                freed = take_over(
                    customer_id,
                    touches=[t for t in touched if t not in taken_over],
                    touch_id=touch_id,
                    clock_at=clock_at,
                )
                taken_over |= set(touched)
                refused += [Refusal(n, s, "touched") for n, s in touched if (n, s) not in freed]
                remaining = [t for t in remaining if t in still or t in freed]
                continue
            return Reservation(tuple(remaining), tuple(refused))
        return Reservation((), tuple(refused))

    @translated
    def complete_text(
        self,
        customer_id: str,
        touch_id: str,
        message_id: str,
        to: str,
        states: Sequence[InvoiceState],
        activity: Activity,
        at: datetime,
    ) -> None:
        """Record what the service accepted, in one transaction when it fits: the message id on the text
        and its ledger items, each invoice's state, the number's pointer to the customer, the timeline."""
        pk = keys.customer_pk(customer_id)
        record = self.text_touch(customer_id, touch_id)
        touches = record.touches if record is not None else ()
        operations: list[Operation] = [
            (
                "update",
                TextTouchItem(pk, text_sk(touch_id)),
                [
                    TextTouchItem.message_id.set(message_id),
                    TextTouchItem.sent_at.set(at),
                    TextTouchItem.status.set("sent"),
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
            ("save", SmsNumberItem(number_pk(to), pk, number=to, customer_id=customer_id), None),
            *timeline_writes(customer_id, activity),
            *(
                (
                    "update",
                    InvoiceItem(*invoice_key(customer_id, s.invoice_number)),
                    state_actions(customer_id, s, at),
                )
                for s in states
            ),
        ]
        transact(operations)

    @translated
    def release_text(self, customer_id: str, touch_id: str, touches: Sequence[tuple[str, str]]) -> None:
        """Undo a reservation whose send definitely failed, so a later run may try again (ledger items
        first, the text last, as ``TouchLedger.release_email``)."""
        if len(touches) + 1 > TRANSACTION_ITEMS:
            # Reserved in steps (``store/claims.py``): given up first, so no run sends it or takes it
            # for in doubt while its touches are freed, a transaction at a time.
            give_up(TextTouchItem, customer_id, touch_id, (RESERVED, REFUSED))
            return
        message = TextTouchItem(keys.customer_pk(customer_id), text_sk(touch_id))
        transact(release_operations(customer_id, touches, message), condition=never_sent(touch_id))

    @translated
    def refuse_text(self, customer_id: str, touch_id: str, reason: str, activity: Activity) -> bool:
        """Record the service's refusal for good of a reserved text (its touches stay reserved: no run
        sends it again until it is released) with the timeline entry; False when recorded already."""
        pk = keys.customer_pk(customer_id)
        operations: list[Operation] = [
            (
                "update_if",
                TextTouchItem(pk, text_sk(touch_id)),
                (
                    [TextTouchItem.status.set("refused"), TextTouchItem.refusal.set(reason)],
                    (TextTouchItem.status == "reserved") & TextTouchItem.message_id.does_not_exist(),
                ),
            ),
            *timeline_writes(customer_id, activity),
        ]
        return commit(operations)

    # --- delivery receipts ----------------------------------------------------------------------------

    @translated
    def mark_delivered(self, customer_id: str, touch_id: str, at: datetime, activity: Activity) -> bool:
        """The carrier's receipt that the text arrived: on the text and the timeline, once (a repeated
        receipt, or one after a final failure, changes nothing); False when nothing changed."""
        operations: list[Operation] = [
            (
                "update_if",
                TextTouchItem(keys.customer_pk(customer_id), text_sk(touch_id)),
                (
                    [TextTouchItem.delivered_at.set(at)],
                    (TextTouchItem.status == "sent")
                    & TextTouchItem.delivered_at.does_not_exist()
                    & TextTouchItem.undelivered_at.does_not_exist(),
                ),
            ),
            *timeline_writes(customer_id, activity),
        ]
        return commit(operations)

    @translated
    def mark_undelivered(
        self,
        customer_id: str,
        touch_id: str,
        reason: str,
        at: datetime,
        activity: Activity,
        marker: str,
    ) -> tuple[tuple[str, str], ...]:
        """The carrier's final receipt that the text did not arrive, in one transaction, once (a
        duplicate receipt changes nothing and returns ()): the text says so and why; each of its
        invoices still there gets ``<step><marker>`` in its ``bounced_steps`` and is due at ``at``, so
        the next tick sends the step by its next channel; the timeline says so."""
        pk = keys.customer_pk(customer_id)
        for _ in range(3):
            record = self.text_touch(customer_id, touch_id)
            if record is None or record.status != "sent" or not record.touches:
                return ()
            touches, marks = fallback_marks(customer_id, record.touches, at, marker)
            operations: list[Operation] = [
                (
                    "update_if",
                    TextTouchItem(pk, text_sk(touch_id)),
                    (
                        [TextTouchItem.undelivered_at.set(at), TextTouchItem.undelivered_reason.set(reason)],
                        TextTouchItem.undelivered_at.does_not_exist(),
                    ),
                ),
                *timeline_writes(customer_id, activity),
            ]
            if len(operations) + len(marks) > TRANSACTION_ITEMS:
                # A text of more invoices than one transaction holds: the marks first (each the same
                # however often written), the text's last, conditional (as ``mark_bounced``).
                transact(marks)
                return touches if commit(operations) else ()
            if commit([*operations, *marks]):
                return touches
            # Marked meanwhile (a duplicate receipt in parallel), or an invoice went: read it again.
        return ()

    @translated
    def mark_unusable(self, customer_id: str, number: str) -> bool:
        """The carrier says ``number`` cannot receive texts: the customer's profile remembers it, so no
        later step texts it while the customer master gives that number. False when it did already."""
        return self._update_profile(customer_id, {"sms_undeliverable": number})

    # --- opt-outs -----------------------------------------------------------------------------------

    @translated
    def opted_out(self, number: str) -> bool:
        """Whether ``number`` is on our copy of the opt-out list."""
        try:
            SmsNumberItem.get(number_pk(number), OPT_OUT_SK, consistent_read=True)
        except SmsNumberItem.DoesNotExist:
            return False
        return True

    @translated
    def customers_at(self, number: str) -> list[str]:
        """The customers texted at ``number`` (a reply from it is theirs)."""
        return sorted(
            str(item.customer_id)
            for item in SmsNumberItem.query(
                number_pk(number), SmsNumberItem.sk.startswith("CUST#"), consistent_read=True
            )
            if item.customer_id
        )

    @translated
    def opt_out(
        self, number: str, keyword: str, at: datetime, activity_for: Any, also: Sequence[str] = ()
    ) -> list[str]:
        """Put ``number`` on the opt-out list (once: a repeated reply changes nothing) and mark every
        customer texted at it (and ``also``: a customer whose text to it was refused) opted out, each
        with its timeline entry (``activity_for(customer_id)``). Returns the customers marked now."""
        put = SmsNumberItem(number_pk(number), OPT_OUT_SK, number=number, opted_out_at=at, keyword=keyword)
        put_once(put)  # False: on the list already (a repeated reply); its customers are marked below
        marked = []
        for customer_id in sorted({*self.customers_at(number), *also}):
            if self._mark_opted_out(customer_id, number, activity_for(customer_id)):
                marked.append(customer_id)
        return marked

    @translated
    def opt_in(self, number: str, at: datetime, activity_for: Any) -> list[str]:
        """Take ``number`` off our opt-out list and make every customer texted at it textable again,
        each with its timeline entry (``activity_for(customer_id)``). Returns the customers changed now
        (a repeated reply changes nothing)."""
        del at  # the entry carries the time
        SmsNumberItem(number_pk(number), OPT_OUT_SK).delete()  # a number not on the list: nothing to do
        return [
            customer_id
            for customer_id in self.customers_at(number)
            if self._mark_opted_out(customer_id, number, activity_for(customer_id), opted_out=False)
        ]

    @translated
    def record_reply(self, number: str, activity_for: Any) -> list[str]:
        """A reply from ``number`` on the timeline of every customer texted at it, once each (the
        activity's id is the inbound message's: SNS delivering it twice writes it once)."""
        customers = self.customers_at(number)
        for customer_id in customers:
            record_once(keys.customer_pk(customer_id), activity_for(customer_id))
        return customers

    def _mark_opted_out(
        self, customer_id: str, number: str, activity: Activity, *, opted_out: bool = True
    ) -> bool:
        del number  # the entry names it
        return self._update_profile(customer_id, {"sms_opted_out": opted_out}, activity)

    def _update_profile(
        self, customer_id: str, changes: dict[str, Any], activity: Activity | None = None
    ) -> bool:
        """The dunning function's own fields of the customer's profile (``changes``), with the timeline
        entry, in one write conditional on the profile being the one read; False when they are set
        already. The fingerprint moves with them, so the profile copies beside the invoices are stale."""
        for _ in range(3):
            try:
                item = CustomerItem.get(keys.customer_pk(customer_id), PROFILE_SK, consistent_read=True)
            except CustomerItem.DoesNotExist:
                return False
            customer = customer_from_item(item)
            if all(getattr(customer, name) == value for name, value in changes.items()):
                return False
            changed = replace(customer, **changes)
            unchanged = (
                CustomerItem.fingerprint.does_not_exist()
                if item.fingerprint is None
                else CustomerItem.fingerprint == item.fingerprint
            )
            if commit(
                [
                    (
                        "update_if",
                        CustomerItem(keys.customer_pk(customer_id), PROFILE_SK),
                        (
                            [
                                *(getattr(CustomerItem, name).set(value) for name, value in changes.items()),
                                CustomerItem.fingerprint.set(changed.fingerprint),
                            ],
                            unchanged,
                        ),
                    ),
                    *(timeline_writes(customer_id, activity) if activity is not None else ()),
                ]
            ):
                return True
        return False


def _text_item(
    customer_id: str,
    touch_id: str,
    step: str,
    touches: Sequence[tuple[str, str]],
    draft: TextDraft,
    at: datetime,
    clock_at: datetime | None,
) -> TextTouchItem:
    return TextTouchItem(
        keys.customer_pk(customer_id),
        text_sk(touch_id),
        customer_id=customer_id,
        touch_id=touch_id,
        step=step,
        touches=[touch_text(n, s) for n, s in touches],
        to=draft.to,
        body=draft.body,
        encoding=draft.encoding,
        parts=draft.parts,
        reserved_at=at,
        reserved_by_clock=clock_at or at,
        expires_at=retention_expiry(at),
    )


__all__ = ["TextDraft", "TextLedger", "TextTouchRecord"]
