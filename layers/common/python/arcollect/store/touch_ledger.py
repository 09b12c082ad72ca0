"""The dunning touches' ledger: the writes that make a touch happen once.

- a task touch is one transaction: the task, a ledger item per (invoice, step), and each invoice's
  state, conditional on the invoice still being remindable and the customer reachable
  (``arcollect.reminders``);
- an email touch is reserved in one transaction before SES is called (an email item for the whole
  message, a ledger item per (invoice, step), the same conditions on each invoice and on the customer's
  hold flags: that is the fresh-state check, done by DynamoDB at the moment of reservation), and
  completed in another after SES accepted it (message id, invoice state, the customer's last email,
  the timeline entry). SES refusing the message for good keeps the touches reserved, marked refused
  with SES's reason, until it may be resent; SES refusing to send at all (the account) releases the
  reservation. A crash between SES accepting and the completion leaves the email item reserved
  without a message id: it is never sent again automatically; the next run reports it for review, and
  SES's own send event completes it when it arrives (the message carries the touch id as a tag).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from arcollect.clock import format_instant
from arcollect.entities import Activity, Customer, Task, TaskStatus
from arcollect.reminders import Reach
from arcollect.store import keys
from arcollect.store.base import (
    TRANSACTION_ITEMS,
    Operation,
    cancellation_reasons,
    commit,
    connection,
    transact,
    translated,
    update_if,
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
from arcollect.store.customers import PROFILE_SK
from arcollect.store.errors import StoreError
from arcollect.store.invoices import invoice_key
from arcollect.store.keys import email_sk, ledger_sk
from arcollect.store.models import (
    CustomerItem,
    EmailTouchItem,
    InvoiceItem,
    SendLedgerItem,
    TableItem,
    TaskItem,
)
from arcollect.store.tasks import task_item
from arcollect.store.timeline import timeline_writes
from arcollect.store.touches import (
    EmailTouchRecord,
    InvoiceState,
    Refusal,
    Reservation,
    claim_touches,
    email_item,
    email_record,
    fallback_marks,
    ledger_item,
    reachable_condition,
    remindable_condition,
    sent,
    state_actions,
)


class StaleCustomer(StoreError):
    """The customer's profile changed under a plan made from an older copy: plan again from a read."""


class TouchLedger:
    """Email and task touches of the dunning engine, each at most once per (invoice, step)."""

    @translated
    def email_touch(self, customer_id: str, touch_id: str) -> EmailTouchRecord | None:
        try:
            item = EmailTouchItem.get(keys.customer_pk(customer_id), email_sk(touch_id), consistent_read=True)
        except EmailTouchItem.DoesNotExist:
            return None
        return email_record(item)

    @translated
    def ledger_touch(self, customer_id: str, invoice_number: str, step: str) -> str | None:
        """The touch id an existing (invoice, step) reservation went out with; None if there is none."""
        try:
            item = SendLedgerItem.get(
                keys.customer_pk(customer_id), ledger_sk(invoice_number, step), consistent_read=True
            )
        except SendLedgerItem.DoesNotExist:
            return None
        return item.touch_id or ""

    # --- email touches --------------------------------------------------------------------------

    @translated
    def reserve_email(
        self,
        customer_id: str,
        touch_id: str,
        step: str,
        touches: Sequence[tuple[str, str]],
        recipients: Sequence[str],
        promises: dict[str, str],
        at: datetime,
        expected: Customer | None = None,
        clock_at: datetime | None = None,
    ) -> Reservation:
        """Reserve the touches of one email, conditional on fresh state. ``at`` is the sweep's tick,
        ``clock_at`` the wall-clock time (the lease runs on it).

        A touch whose invoice changed (paid, disputed, promised) or that exists already is refused and
        the rest is tried again, so one paid invoice does not hold back the others. ``promises`` maps an
        invoice to the promise its touch is about (a missed-promise reminder). An email of more invoices
        than one transaction holds (a go-live statement of a large backlog) is still one email, reserved
        in steps (``store/claims.py``); a touch held by a claim its run left behind is taken over."""
        customer_check = (
            CustomerItem,
            keys.customer_pk(customer_id),
            PROFILE_SK,
            reachable_condition(expected),
            "customer",
        )
        if 2 * len(touches) + 2 > TRANSACTION_ITEMS:
            claim = email_item(customer_id, touch_id, step, (), recipients, at, clock_at)
            claim.status = CLAIMING
            return reserve_in_steps(
                StagedMessage(
                    customer_id=customer_id,
                    touch_id=touch_id,
                    model=EmailTouchItem,
                    item=claim,
                    checks=(customer_check,),
                    # A resumed claim goes to the addresses of the run that closes it, and its send's
                    # lease starts when it may be sent.
                    closing=(
                        EmailTouchItem.recipients.set(cast(Any, list(recipients))),
                        EmailTouchItem.reserved_by_clock.set(clock_at or at),
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
                    model, pk, sk, condition, _ = customer_check
                    transaction.condition_check(model, pk, sk, condition=condition)
                    transaction.save(
                        email_item(customer_id, touch_id, step, remaining, recipients, at, clock_at),
                        condition=TableItem.pk.does_not_exist(),
                    )
                    claim_touches(transaction, customer_id, remaining, promises, at, touch_id)
            except TransactWriteError as error:
                reasons = cancellation_reasons(error)
                if not reasons:
                    raise
                # pynamodb sends a transaction's condition checks first, then its puts (whatever the
                # order of the calls above), and the reasons come in that order: the customer check,
                # one check per invoice, the email item, one ledger item per invoice.
                count = len(remaining)
                if reasons[0] == "ConditionalCheckFailed":
                    # On hold or do-not-contact since the engine read the profile, or the snapshot
                    # the plan came from is out of date: nothing goes out on this plan.
                    refused += [Refusal(n, s, "customer") for n, s in remaining]
                    return Reservation((), tuple(refused))
                if reasons[1 + count] == "ConditionalCheckFailed":
                    # The same email was reserved before: a repeated run. Its record tells the story.
                    refused += [Refusal(n, s, "touched") for n, s in remaining]
                    return Reservation((), tuple(refused))
                still: list[tuple[str, str]] = []
                touched: list[tuple[str, str]] = []
                for index, (number, touch_step) in enumerate(remaining):
                    check, ledger = reasons[1 + index], reasons[2 + count + index]
                    if ledger == "ConditionalCheckFailed":
                        touched.append((number, touch_step))
                    elif check == "ConditionalCheckFailed":
                        refused.append(Refusal(number, touch_step, "changed"))
                    else:
                        still.append((number, touch_step))
                if len(still) == len(remaining):
                    raise  # not a condition of ours (a conflict, throttling): let the caller retry
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
    def complete_email(
        self,
        customer_id: str,
        touch_id: str,
        message_id: str,
        states: Sequence[InvoiceState],
        activity: Activity,
        at: datetime,
    ) -> None:
        """Record what SES accepted: the message id on the email and its ledger items, each invoice's
        state, the customer's last email, the timeline; in one transaction when it fits."""
        touches = [(state.invoice_number, step) for state in states for step in state.steps]
        operations = sent(customer_id, touch_id, message_id, touches, at)
        operations += [
            (
                "update",
                CustomerItem(keys.customer_pk(customer_id), PROFILE_SK),
                [CustomerItem.last_emailed_at.set(format_instant(at))],
            ),
            *timeline_writes(customer_id, activity),
            *(
                (
                    "update",
                    InvoiceItem(*invoice_key(customer_id, state.invoice_number)),
                    state_actions(customer_id, state, at),
                )
                for state in states
            ),
        ]
        transact(operations)

    @translated
    def complete_letter(
        self,
        customer_id: str,
        touch_id: str,
        letter_id: str,
        states: Sequence[InvoiceState],
        activity: Activity,
        at: datetime,
    ) -> None:
        """Record a letter handed to the print-and-mail service (its PDF and manifest written), reserved
        like an email (``reserve_email``): the letter id on its touches, each invoice's state and the
        timeline, in one transaction. The customer's last email does not move: a letter is no email."""
        touches = [(state.invoice_number, step) for state in states for step in state.steps]
        transact(
            [
                *sent(customer_id, touch_id, letter_id, touches, at),
                *timeline_writes(customer_id, activity),
                *(
                    (
                        "update",
                        InvoiceItem(*invoice_key(customer_id, state.invoice_number)),
                        state_actions(customer_id, state, at),
                    )
                    for state in states
                ),
            ]
        )

    @translated
    def release_email(self, customer_id: str, touch_id: str, touches: Sequence[tuple[str, str]]) -> None:
        """Undo a reservation whose send definitely failed, so a later run may try again. One
        transaction when it fits; beyond that the ledger items go first and the email item last, so a
        crash in between leaves the email's record (the next release finishes it), never a ledger item
        naming an email that is gone (which would hold its invoice's step for ever)."""
        if len(touches) + 1 > TRANSACTION_ITEMS:
            # Reserved in steps (``store/claims.py``): given up first, so no run sends it or takes it
            # for in doubt while its touches are freed, a transaction at a time.
            give_up(EmailTouchItem, customer_id, touch_id, (RESERVED, REFUSED))
            return
        message = EmailTouchItem(keys.customer_pk(customer_id), email_sk(touch_id))
        transact(release_operations(customer_id, touches, message), condition=never_sent(touch_id))

    @translated
    def reserve_one_off(
        self,
        customer_id: str,
        touch_id: str,
        kind: str,
        recipients: Sequence[str],
        at: datetime,
        clock_at: datetime | None = None,
    ) -> str:
        """Reserve a one-off email a person sends (a collector's statement, portal link or payment
        confirmation): its email item alone, since it takes no invoice's dunning step, conditional on the
        customer being reachable by a person (``Reach.PERSONAL``: not do-not-contact). Completed,
        released and refused like a reminder (``complete_email`` with no states, ``release_email`` with
        no touches, ``refuse_email``). Returns ``reserved``; ``touched`` when an email with this touch
        id exists (the same request again: its record says what came of it); ``customer`` when the
        customer is do-not-contact (or gone)."""
        operations: list[Operation] = [
            (
                "check",
                (CustomerItem, keys.customer_pk(customer_id), PROFILE_SK),
                reachable_condition(None, Reach.PERSONAL),
            ),
            ("save_new", email_item(customer_id, touch_id, kind, (), recipients, at, clock_at), None),
        ]
        try:
            transact(operations, atomic=True)
        except TransactWriteError as error:
            reasons = cancellation_reasons(error)
            # The condition check first, then the put (the order pynamodb sends them in).
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                return "touched"
            if reasons[:1] == ["ConditionalCheckFailed"]:
                return "customer"
            raise
        return "reserved"

    @translated
    def refuse_email(
        self,
        customer_id: str,
        touch_id: str,
        reason: str,
        at: datetime,
        task: Task | None,
        activity: Activity,
    ) -> bool:
        """Record SES's permanent refusal of a reserved email, in one transaction: the email keeps its
        touches reserved (no run sends it again) with the reason; its fix-and-resend ``task`` is
        written open (made, or opened again when the email was refused before); the timeline says so.
        A one-off email has no ``task``: the person who sent it is told there and then.
        False when the refusal was recorded already (the email is no longer merely reserved)."""
        pk = keys.customer_pk(customer_id)
        operations: list[Operation] = [
            (
                "update_if",
                EmailTouchItem(pk, email_sk(touch_id)),
                (
                    [
                        EmailTouchItem.status.set("refused"),
                        EmailTouchItem.refusal.set(reason),
                        EmailTouchItem.refused_at.set(at),
                    ],
                    (EmailTouchItem.status == "reserved") & EmailTouchItem.message_id.does_not_exist(),
                ),
            ),
            *((("save", task_item(task), None),) if task is not None else ()),
            *timeline_writes(customer_id, activity),
        ]
        return commit(operations)

    @translated
    def resend_requested(self, customer_id: str, task_id: str, since: datetime) -> bool:
        """Whether someone closed the fix-and-resend task ``task_id`` at or after ``since``."""
        try:
            item = TaskItem.get(keys.customer_pk(customer_id), keys.task_sk(task_id), consistent_read=True)
        except TaskItem.DoesNotExist:
            return False
        return item.status == TaskStatus.DONE and item.closed_at is not None and item.closed_at >= since

    @translated
    def mark_in_doubt(self, customer_id: str, touch_id: str) -> bool:
        """Flag a reservation that outlived its lease without a message id; True the first time."""
        item = EmailTouchItem(keys.customer_pk(customer_id), email_sk(touch_id))
        return update_if(
            item,
            [EmailTouchItem.status.set("in_doubt")],
            (EmailTouchItem.status == "reserved") & EmailTouchItem.message_id.does_not_exist(),
        )

    @translated
    def settle_touches(self, customer_id: str, states: Sequence[InvoiceState], at: datetime) -> None:
        """Mark touches done on their invoices without sending anything: an email SES accepted whose
        completion was lost, or one in doubt (never to be resent; a person reviews it)."""
        operations: list[Operation] = [
            (
                "update",
                InvoiceItem(*invoice_key(customer_id, s.invoice_number)),
                state_actions(customer_id, s, at),
            )
            for s in states
        ]
        if operations:
            transact(operations)

    @translated
    def complete_from_ses(self, customer_id: str, touch_id: str, message_id: str, at: datetime) -> bool:
        """SES's send event for a reservation we never completed: record the message id now."""
        record = self.email_touch(customer_id, touch_id)
        if record is None or record.message_id:
            return False
        operations = sent(customer_id, touch_id, message_id, record.touches, at)
        transact(operations)
        return True

    @translated
    def mark_bounced(self, customer_id: str, touch_id: str, at: datetime) -> tuple[tuple[str, str], ...]:
        """SES's permanent bounce of the email ``touch_id`` to every recipient: the email's item and each
        of its invoices say so (the step joins the invoice's ``bounced_steps``; the invoice is due at
        ``at``, so the next tick sends the step by its next channel). One transaction, conditional on the
        email not being marked yet: a duplicate SES event changes nothing and returns ()."""
        pk = keys.customer_pk(customer_id)
        for _ in range(3):
            try:
                item = EmailTouchItem.get(pk, email_sk(touch_id), consistent_read=True)
            except EmailTouchItem.DoesNotExist:
                return ()
            record = email_record(item)
            if item.bounced_at is not None or not record.touches:
                return ()
            touches, marks = fallback_marks(customer_id, record.touches, at)
            mark: Operation = (
                "update_if",
                EmailTouchItem(pk, email_sk(touch_id)),
                ([EmailTouchItem.bounced_at.set(at)], EmailTouchItem.bounced_at.does_not_exist()),
            )
            if len(marks) + 1 > TRANSACTION_ITEMS:
                # An email of more invoices than one transaction holds: its invoices' marks first (each
                # the same whatever number of times it is written), the email's last, conditional, so
                # a repeated event reports nothing and a crash in between is finished by the retry.
                transact(marks)
                return touches if commit([mark]) else ()
            if commit([mark, *marks]):
                return touches
            # The email was marked meanwhile (a duplicate event in parallel) or an invoice went: again.
        return ()

    # --- task touches ---------------------------------------------------------------------------

    @staticmethod
    def task_parts(states: Sequence[InvoiceState]) -> list[list[InvoiceState]]:
        """``states`` in parts whose task each fits one transaction (``create_task``: the customer's
        check and the task, then per invoice a ledger item per step and its update): a task is created
        with its touches atomically, so one task of more invoices than that becomes several, each its
        own task, created once (a crash between two leaves each invoice in exactly one of them)."""
        parts: list[list[InvoiceState]] = [[]]
        room = TRANSACTION_ITEMS - 2
        for state in states:
            writes = len(state.steps) + 1
            if writes > room and parts[-1]:
                parts.append([])
                room = TRANSACTION_ITEMS - 2
            parts[-1].append(state)
            room -= writes
        return parts

    @translated
    def create_task(
        self,
        task: Task,
        states: Sequence[InvoiceState],
        promises: dict[str, str],
        at: datetime,
        expected: Customer | None = None,
        reach: Reach = Reach.DUNNING,
    ) -> tuple[bool, tuple[str, ...]]:
        """Create a dunning task with its touches in one transaction; returns (created, refused invoices).

        An invoice that changed since it was read is left out and the rest tried again; a task that
        exists already (a repeated run) is not created twice."""
        remaining = list(states)
        refused: list[str] = []
        while True:
            profile = (CustomerItem, keys.customer_pk(task.customer_id), PROFILE_SK)
            operations: list[Operation] = [
                ("check", profile, reachable_condition(expected, reach)),
                ("save_new", task_item(task), None),
            ]
            for state in remaining:
                for step in state.steps:
                    operations.append(
                        (
                            "save_new",
                            ledger_item(task.customer_id, state.invoice_number, step, at, task.task_id),
                            None,
                        )
                    )
                operations.append(
                    (
                        "update_if",
                        InvoiceItem(*invoice_key(task.customer_id, state.invoice_number)),
                        (
                            state_actions(task.customer_id, state, at),
                            remindable_condition(state.steps[0], promises.get(state.invoice_number)),
                        ),
                    )
                )
            try:
                transact(operations, atomic=True)
            except TransactWriteError as error:
                reasons = cancellation_reasons(error)
                if not reasons:
                    raise
                if reasons[0] == "ConditionalCheckFailed":
                    if expected is not None:
                        raise StaleCustomer(task.customer_id) from error
                    # On hold (or do-not-contact, for a call) since the profile was read: not now.
                    return False, tuple(s.invoice_number for s in remaining)
                if reasons[1] == "ConditionalCheckFailed":
                    return False, tuple(refused)
                # pynamodb sends the condition checks first, then the puts, then the updates: the
                # customer check, the task, every state's ledger items (in order), then one invoice
                # update per state (in order).
                failed_invoices: set[str] = set()
                position = 2
                updates = 2 + sum(len(state.steps) for state in remaining)
                for index, state in enumerate(remaining):
                    span = len(state.steps)
                    ledgers = reasons[position : position + span]
                    if "ConditionalCheckFailed" in [*ledgers, reasons[updates + index]]:
                        failed_invoices.add(state.invoice_number)
                    position += span
                if not failed_invoices:
                    raise
                refused += sorted(failed_invoices)
                remaining = [s for s in remaining if s.invoice_number not in failed_invoices]
                if states and not remaining:
                    return False, tuple(refused)
                continue
            return True, tuple(refused)
