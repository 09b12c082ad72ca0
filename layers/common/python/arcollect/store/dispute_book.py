"""Disputes: opened (from the portal or by a collector), read, moved along their workflow with what the
resolution does to the invoice, and the department's notification."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.transactions import TransactWrite

from arcollect.entities import PLAN_PREFIX, Activity, Dispute, Invoice, InvoiceStatus, Task
from arcollect.plans import PlanStatus
from arcollect.store import keys
from arcollect.store.base import Operation, commit, transact_if, translated, update_if
from arcollect.store.disputes import dispute_from_item, dispute_item
from arcollect.store.invoices import credit_note_matched, dispute_resolved, invoice_as_read
from arcollect.store.keys import DISPUTE_PREFIX, dispute_sk
from arcollect.store.models import DisputeItem, InvoiceItem, PaymentPlanItem, TableItem
from arcollect.store.plan_book import PlanBook
from arcollect.store.tasks import task_item
from arcollect.store.timeline import timeline_items, timeline_writes


class DisputeBook:
    """Everything about disputes, for the portal and the workspace alike."""

    @translated
    def open_dispute(self, dispute: Dispute, task: Task, activity: Activity) -> bool:
        """The dispute, the invoice disputed and out of the sweep's index, the collector's task and the
        timeline entry, in one transaction; False when the invoice is no longer open and undisputed."""
        pk = keys.customer_pk(dispute.customer_id)
        # An invoice in a payment plan leaves it (arcollect/plans.with_withdrawal names the plan): the
        # plan's id comes off with the dispute, on condition it is still that plan's; an invoice read
        # outside any plan must still be outside one, else the timeline would not say it left.
        plan_id = activity.detail.get("plan_id")
        # The plan's last open invoice disputed: the plan is cancelled with it (nothing left to remind).
        emptied = PlanBook().emptied_by_dispute(dispute, plan_id) if plan_id else None
        leaves: list[Any] = [InvoiceItem.promise_id.remove(), InvoiceItem.promised_until.remove()]
        in_plan = (
            InvoiceItem.promise_id == plan_id if plan_id else ~InvoiceItem.promise_id.startswith(PLAN_PREFIX)
        )

        def write(transaction: TransactWrite) -> None:
            transaction.save(dispute_item(dispute), condition=TableItem.pk.does_not_exist())
            transaction.update(
                InvoiceItem(pk, keys.invoice_sk(dispute.invoice_number)),
                actions=[
                    InvoiceItem.disputed.set(True),
                    # Open until resolved here, whatever later ERP files say of disputed.
                    InvoiceItem.dispute_id.set(dispute.dispute_id),
                    TableItem.next_action_shard.remove(),
                    TableItem.next_action_at.remove(),
                    *(leaves if plan_id else []),
                ],
                # The domain's rule (disputes.why_not_disputable), as stored values: open, something
                # owed, not disputed. (Not imported: the dispute workflow loads with the first dispute.)
                condition=(InvoiceItem.status == InvoiceStatus.OPEN.value)
                & (InvoiceItem.open_amount > 0)
                & (InvoiceItem.disputed == False)  # noqa: E712 (a pynamodb condition)
                & in_plan,
            )
            transaction.save(task_item(task), condition=TableItem.pk.does_not_exist())
            for item in timeline_items(pk, activity):
                transaction.save(item)
            if emptied is not None:
                plan, cancelled = emptied
                transaction.update(
                    PaymentPlanItem(pk, keys.plan_sk(plan.plan_id)),
                    actions=[
                        PaymentPlanItem.status.set(PlanStatus.CANCELLED.value),
                        PaymentPlanItem.settled_at.set(dispute.created_at),
                    ],
                    condition=PaymentPlanItem.status == PlanStatus.OPEN.value,
                )
                for item in timeline_items(pk, cancelled):
                    transaction.save(item)

        return transact_if(write)

    @translated
    def dispute(self, customer_id: str, dispute_id: str) -> Dispute | None:
        """The customer's dispute, read consistently in the customer's own partition (another customer's
        dispute id finds nothing)."""
        try:
            item = DisputeItem.get(
                keys.customer_pk(customer_id), dispute_sk(dispute_id), consistent_read=True
            )
        except DisputeItem.DoesNotExist:
            return None
        return dispute_from_item(item) if item.customer_id == customer_id else None

    @translated
    def disputes(self, customer_id: str) -> list[Dispute]:
        items = DisputeItem.query(keys.customer_pk(customer_id), DisputeItem.sk.startswith(DISPUTE_PREFIX))
        return [dispute_from_item(item) for item in items]

    @translated
    def open_disputes(self) -> list[Dispute]:
        """Disputes not closed (a filtered scan: the dispute queue is a manager's page, not a hot path)."""
        return [dispute_from_item(item) for item in DisputeItem.scan(DisputeItem.status != "closed")]

    @translated
    def mark_notified(self, customer_id: str, dispute_id: str, at: datetime) -> None:
        item = DisputeItem(keys.customer_pk(customer_id), keys.dispute_sk(dispute_id))
        update_if(item, [DisputeItem.notified_at.set(at)], TableItem.pk.exists())

    @translated
    def move_dispute(
        self,
        dispute: Dispute,
        after: Dispute,
        invoice: Invoice | None,
        invoice_after: Invoice | None,
        activity: Activity,
        credit_note: tuple[Invoice, Invoice] | None = None,
    ) -> bool:
        """Move a dispute along its workflow, with what the resolution does to its invoice (disputed no
        more, credit off the open amount, back in the sweep's index), in one transaction conditional on
        the dispute's status and the invoice's open amount as read."""
        pk = keys.customer_pk(dispute.customer_id)
        actions: list[Any] = [DisputeItem.status.set(after.status)]
        for name in ("resolution_note", "credit_amount", "resolved_at", "closed_at"):
            value = getattr(after, name)
            if value is not None:
                actions.append(getattr(DisputeItem, name).set(value))
        operations: list[Operation] = [
            (
                "update_if",
                DisputeItem(pk, keys.dispute_sk(dispute.dispute_id)),
                (actions, DisputeItem.status == dispute.status),
            )
        ]
        if invoice is not None and invoice_after is not None:
            operations.append(
                (
                    "update_if",
                    InvoiceItem(pk, keys.invoice_sk(invoice.invoice_number)),
                    (dispute_resolved(invoice_after), invoice_as_read(invoice)),
                )
            )
        if credit_note is not None:
            # The ERP's credit note for the credit agreed: matched and closed in the same transaction.
            note, note_after = credit_note
            operations.append(
                (
                    "update_if",
                    InvoiceItem(pk, keys.invoice_sk(note.invoice_number)),
                    (credit_note_matched(note_after), invoice_as_read(note)),
                )
            )
        operations += timeline_writes(dispute.customer_id, activity)
        return commit(operations)
