"""Payment plans: agreed (their invoices carry the plan where a promise would be), moved on to the next
instalment, and settled completed or broken, each with its timeline entry and the ERP's change."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pynamodb.expressions.update import Action

from arcollect.entities import Activity, Dispute, InvoiceStatus, Payment
from arcollect.plans import Instalment, PaymentPlan, PlanStatus, cancelled_activity
from arcollect.store import keys
from arcollect.store.base import Operation, commit, next_action, translated, update_if
from arcollect.store.customers import PROFILE_SK
from arcollect.store.models import CustomerItem, InvoiceItem, PaymentItem, PaymentPlanItem
from arcollect.store.payments import payment_from_item
from arcollect.store.timeline import timeline_writes


def plan_item(plan: PaymentPlan) -> PaymentPlanItem:
    return PaymentPlanItem(
        keys.customer_pk(plan.customer_id),
        keys.plan_sk(plan.plan_id),
        customer_id=plan.customer_id,
        plan_id=plan.plan_id,
        invoice_numbers=list(plan.invoice_numbers),
        currency=plan.currency,
        instalments=json.dumps(
            [
                {"number": i.number, "due_date": i.due_date.isoformat(), "amount": str(i.amount)}
                for i in plan.instalments
            ]
        ),
        status=plan.status,
        created_at=plan.created_at,
        source=plan.source,
        settled_at=plan.settled_at,
        missed_instalment=plan.missed_instalment,
    )


def plan_from_item(item: PaymentPlanItem) -> PaymentPlan:
    return PaymentPlan(
        customer_id=item.customer_id,
        plan_id=item.plan_id,
        invoice_numbers=tuple(str(n) for n in item.invoice_numbers),
        currency=item.currency,
        instalments=tuple(
            Instalment(int(raw["number"]), date.fromisoformat(raw["due_date"]), Decimal(raw["amount"]))
            for raw in json.loads(item.instalments)
        ),
        created_at=item.created_at,
        source=item.source,
        status=item.status,
        settled_at=item.settled_at,
        missed_instalment=int(item.missed_instalment) if item.missed_instalment is not None else None,
    )


def _free() -> Any:
    """An invoice a new plan may take: there, and without a promise, plan or dispute."""
    return (
        InvoiceItem.pk.exists()
        & InvoiceItem.promise_id.does_not_exist()
        & InvoiceItem.dispute_id.does_not_exist()
    )


class PlanBook:
    """Everything about payment plans, for the staff console, the portal and the sweep alike."""

    @translated
    def make_plan(self, plan: PaymentPlan, next_action_at: datetime, activity: Activity) -> bool:
        """Record the plan, mark its invoices (the plan's id and its first instalment's due date where a
        promise's would be, their next look at its first reminder) and its timeline entry with the
        ERP's change, at once. False: the plan exists (a retry), or one of its invoices got a promise,
        plan or dispute meanwhile; ``plan`` tells them apart."""
        pk = keys.customer_pk(plan.customer_id)
        free = (
            InvoiceItem.pk.exists()
            & InvoiceItem.promise_id.does_not_exist()
            & InvoiceItem.dispute_id.does_not_exist()
        )
        return commit(
            [
                ("save_new", plan_item(plan), None),
                *(
                    (
                        "update_if",
                        InvoiceItem(pk, keys.invoice_sk(number)),
                        (
                            [
                                InvoiceItem.promised_until.set(plan.instalments[0].due_date.isoformat()),
                                InvoiceItem.promise_id.set(plan.plan_id),
                                *next_action(plan.customer_id, next_action_at),
                            ],
                            free,
                        ),
                    )
                    for number in plan.invoice_numbers
                ),
                *timeline_writes(plan.customer_id, activity),
            ]
        )

    @translated
    def cancel_plan(
        self,
        plan: PaymentPlan,
        at: datetime,
        marked: Sequence[str],
        activity: Activity,
        *,
        replacement: tuple[PaymentPlan, datetime, Activity] | None = None,
    ) -> bool:
        """Call ``plan`` off (an open one is marked cancelled; a broken one keeps its status, its invoices
        are what is given up) with its timeline entry and change, at once. Its invoices still carrying its
        id (``marked``) are released into the regular reminders from ``at``; with ``replacement`` (the
        new plan, its first look, its entry: a renegotiation) the new plan is made in the same transaction
        and takes over the invoices it covers. False: the plan moved meanwhile, an invoice left it, or an
        invoice of the new plan is no longer free (``plan`` tells a retry apart)."""
        pk = keys.customer_pk(plan.customer_id)
        new, look, new_activity = replacement if replacement else (None, None, None)
        taken = set(new.invoice_numbers) if new else set()
        status = (
            [PaymentPlanItem.status.set(PlanStatus.CANCELLED.value), PaymentPlanItem.settled_at.set(at)]
            if plan.status == PlanStatus.OPEN.value
            else [PaymentPlanItem.status.set(plan.status)]
        )
        operations: list[Operation] = [
            (
                "update_if",
                PaymentPlanItem(pk, keys.plan_sk(plan.plan_id)),
                (status, PaymentPlanItem.status == plan.status),
            ),
            *timeline_writes(plan.customer_id, activity),
        ]
        for number in marked:
            item = InvoiceItem(pk, keys.invoice_sk(number))
            if number in taken:
                continue  # the new plan's own update below (one write per item in a transaction)
            operations.append(
                (
                    "update_if",
                    item,
                    (
                        [
                            InvoiceItem.promised_until.remove(),
                            InvoiceItem.promise_id.remove(),
                            *next_action(plan.customer_id, at),
                        ],
                        InvoiceItem.promise_id == plan.plan_id,
                    ),
                )
            )
        if new is not None and look is not None and new_activity is not None:
            operations.append(("save_new", plan_item(new), None))
            for number in new.invoice_numbers:
                ours = InvoiceItem.promise_id == plan.plan_id if number in marked else _free()
                operations.append(
                    (
                        "update_if",
                        InvoiceItem(pk, keys.invoice_sk(number)),
                        (
                            [
                                InvoiceItem.promised_until.set(new.instalments[0].due_date.isoformat()),
                                InvoiceItem.promise_id.set(new.plan_id),
                                *next_action(new.customer_id, look),
                            ],
                            InvoiceItem.pk.exists() & InvoiceItem.dispute_id.does_not_exist() & ours,
                        ),
                    )
                )
            operations.extend(timeline_writes(new.customer_id, new_activity))
        return commit(operations)

    @translated
    def emptied_by_dispute(self, dispute: Dispute, plan_id: str) -> tuple[PaymentPlan, Activity] | None:
        """The open plan ``plan_id`` and the timeline entry that cancels it when ``dispute`` takes out
        its last open invoice (nothing is left in it to remind or pay); None while another stays in it."""
        plan = self.plan(dispute.customer_id, plan_id)
        if plan is None or plan.status != PlanStatus.OPEN.value:
            return None
        for number in plan.invoice_numbers:
            if number == dispute.invoice_number:
                continue
            try:
                item = InvoiceItem.get(
                    keys.customer_pk(plan.customer_id), keys.invoice_sk(number), consistent_read=True
                )
            except InvoiceItem.DoesNotExist:
                continue
            if item.promise_id == plan_id and item.status == InvoiceStatus.OPEN.value and not item.disputed:
                return None
        reason = f"its last open invoice, {dispute.invoice_number}, is disputed: nothing is left in it to pay"
        activity = cancelled_activity(
            plan, at=dispute.created_at, by=dispute.opened_by, by_name="arcollect", reason=reason, released=()
        )
        return plan, activity

    @translated
    def plan(self, customer_id: str, plan_id: str) -> PaymentPlan | None:
        """One plan, read consistently (what settling it is about to be based on)."""
        try:
            item = PaymentPlanItem.get(
                keys.customer_pk(customer_id), keys.plan_sk(plan_id), consistent_read=True
            )
        except PaymentPlanItem.DoesNotExist:
            return None
        return plan_from_item(item)

    @translated
    def plans(self, customer_id: str) -> list[PaymentPlan]:
        """The customer's plans, oldest first."""
        items = PaymentPlanItem.query(
            keys.customer_pk(customer_id), PaymentPlanItem.sk.startswith(keys.plan_sk(""))
        )
        return sorted((plan_from_item(item) for item in items), key=lambda p: (p.created_at, p.plan_id))

    @translated
    def payments(self, customer_id: str) -> list[Payment]:
        """The customer's payments (what is applied to the plans' instalments)."""
        items = PaymentItem.query(keys.customer_pk(customer_id), PaymentItem.sk.startswith("PAY#"))
        return [payment_from_item(item) for item in items]

    @translated
    def move_to(self, plan: PaymentPlan, due_date: date, numbers: Sequence[str]) -> None:
        """The current instalment is now the one due on ``due_date``: its invoices say so (the pause
        the engine reads ends there plus grace)."""
        pk = keys.customer_pk(plan.customer_id)
        for number in numbers:
            # Refused: the invoice left the plan meanwhile, nothing to move.
            update_if(
                InvoiceItem(pk, keys.invoice_sk(number)),
                [InvoiceItem.promised_until.set(due_date.isoformat())],
                InvoiceItem.promise_id == plan.plan_id,
            )

    @translated
    def settle_plan(
        self,
        plan: PaymentPlan,
        status: PlanStatus,
        at: datetime,
        numbers: Sequence[str],
        activity: Activity,
        *,
        missed: tuple[int, date] | None = None,
    ) -> bool:
        """Mark the open plan completed or broken with its timeline entry and change, counted on the
        customer as a promise kept or broken, at once. Completed:
        its invoices (``numbers``) are released. Broken (``missed``: the instalment and its due date):
        they keep the plan's id with the missed instalment's date, which the engine reads as a broken
        promise (the missed-promise email and call, then the regular steps). False: settled already."""
        pk = keys.customer_pk(plan.customer_id)
        settled = [
            PaymentPlanItem.status.set(status.value),
            PaymentPlanItem.settled_at.set(at),
            *([PaymentPlanItem.missed_instalment.set(missed[0])] if missed else []),
        ]
        on_invoice: list[Action]
        if status is PlanStatus.COMPLETED:
            on_invoice = [InvoiceItem.promised_until.remove(), InvoiceItem.promise_id.remove()]
        else:
            assert missed is not None
            on_invoice = [InvoiceItem.promised_until.set(missed[1].isoformat())]
        # Counted on the customer as a promise kept or broken: the kept rate feeds the risk class.
        kept = status is PlanStatus.COMPLETED
        counter = CustomerItem.promises_kept if kept else CustomerItem.promises_broken
        return commit(
            [
                (
                    "update_if",
                    PaymentPlanItem(pk, keys.plan_sk(plan.plan_id)),
                    (settled, PaymentPlanItem.status == PlanStatus.OPEN.value),
                ),
                ("update", CustomerItem(pk, PROFILE_SK), [counter.add(1)]),
                *(
                    (
                        "update_if",
                        InvoiceItem(pk, keys.invoice_sk(number)),
                        (on_invoice, InvoiceItem.promise_id == plan.plan_id),
                    )
                    for number in numbers
                ),
                *timeline_writes(plan.customer_id, activity),
            ]
        )
