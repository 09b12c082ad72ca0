"""The collector workspace's operations, as the staff console calls them.

Every method takes the signed-in ``StaffUser`` as ``by`` (recorded on the timeline) and the request
time as ``now``; input errors raise WorkspaceInputError naming the field, missing things
WorkspaceNotFound, lost races WorkspaceConflict, manager-only calls by collectors NotAllowed.

``Workspace`` is the console's one entry: each use case lives in the module of its seam, on the
``Desk`` they share (``workspace/desk.py``): the worklist and working a task (``workspace/tasks.py``),
promises (``workspace/promises.py``), disputes (``workspace/dispute_cases.py``), cash application
(``workspace/cash_application.py``), holds and pauses (``workspace/holds.py``), reassignment
(``workspace/reassignment.py``), a collector's own tasks (``workspace/follow_ups.py``) and one-off
emails (``workspace/one_off.py``); the account view and the reports are read here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from arcollect.calendar import Calendar
from arcollect.changes import ChangeFeed
from arcollect.contract import ReportPrefix
from arcollect.credit_control import Placement
from arcollect.entities import Customer, Payment, Promise
from arcollect.mailing import Mailer
from arcollect.plans import PaymentPlan, RequestedInstalment
from arcollect.policy import PolicySet
from arcollect.replies import REPLY_KINDS, attachments_of
from arcollect.staff import StaffUser
from arcollect.store.touch_ledger import TouchLedger
from arcollect.store.workspace import ReportObjects, WorkspaceStore
from arcollect.workspace import (
    cash_application,
    dispute_cases,
    follow_ups,
    holds,
    one_off,
    promises,
    reassignment,
    tasks,
)
from arcollect.workspace import credit_control as credit_cases
from arcollect.workspace import deductions as deduction_cases
from arcollect.workspace import plans as plan_cases
from arcollect.workspace.desk import Desk, manager_only
from arcollect.workspace.model import (
    Account360,
    DisputeView,
    OutcomeReceipt,
    ReportLink,
    WorkItem,
    Workload,
    WorkspaceNotFound,
)
from arcollect.workspace.view import build_account

REPORT_LINK_LIFETIME = timedelta(minutes=15)


class Workspace:
    def __init__(
        self,
        *,
        policies: Callable[[], PolicySet],
        mailer: Mailer,
        sender: str,
        reports: ReportObjects | None = None,
        reports_bucket: str | None = None,
        store: WorkspaceStore | None = None,
        calendar: Calendar | None = None,
        change_feed: ChangeFeed | None = None,
        link_for: Callable[[str, datetime, str], str] | None = None,
        link_days: int = 30,
        touches: TouchLedger | None = None,
        drop_bucket: str | None = None,
    ) -> None:
        """``policies`` gives the dunning policy in force (its team, segments' collectors and dispute
        routing); ``mailer``/``sender`` send dispute notifications; ``reports`` lists and presigns;
        ``change_feed`` writes each decision's change for the ERP once it is committed; ``link_for``
        signs a customer's portal link for a collector's one-off emails (valid ``link_days``), whose
        sends go through the ``touches`` ledger."""
        self._desk = Desk(
            policies=policies,
            mailer=mailer,
            sender=sender,
            store=store or WorkspaceStore(),
            calendar=calendar or Calendar(),
            change_feed=change_feed,
            touches=touches or TouchLedger(),
            link_for=link_for,
            link_days=link_days,
        )
        self._reports = reports
        self._reports_bucket = reports_bucket
        # Where customers' replies keep their attachments (docs/inbox.md); ``reports`` presigns them.
        self._drop_bucket = drop_bucket

    # --- reading ------------------------------------------------------------------------------------

    def account(self, customer_id: str, *, now: datetime) -> Account360:
        items = self._desk.store.account(customer_id)
        if items.customer is None:
            raise WorkspaceNotFound(f"no customer {customer_id}")
        return build_account(
            items, now=now, today=self._desk.today(now, items.customer), policies=self._desk.policies()
        )

    def reply_attachment(self, customer_id: str, key: str, *, now: datetime) -> str:
        """A minutes-long link to an attachment one of the customer's filed replies lists (any other key,
        or another customer's, is WorkspaceNotFound)."""
        listed = {
            a["key"]: a["name"]
            for entry in self.account(customer_id, now=now).timeline
            if entry.kind in REPLY_KINDS
            for a in attachments_of(entry.detail)
        }
        if key not in listed or self._reports is None or not self._drop_bucket:
            raise WorkspaceNotFound(f"no attachment {key!r} of a reply from customer {customer_id}")
        return self._reports.presigned_get(
            self._drop_bucket, key, expires=REPORT_LINK_LIFETIME, filename=listed[key].replace('"', "")
        )

    def reports(self, by: StaffUser, *, now: datetime) -> list[ReportLink]:
        """The KPI reports in the reports bucket, newest first, with presigned links (managers only)."""
        manager_only(by)
        if self._reports is None or not self._reports_bucket:
            return []
        found = self._reports.list_keys(self._reports_bucket, ReportPrefix.KPI)
        links = [
            ReportLink(
                key=key,
                size=size,
                last_modified=modified,
                url=self._reports.presigned_get(
                    self._reports_bucket, key, expires=REPORT_LINK_LIFETIME, filename=key.rsplit("/", 1)[-1]
                ),
            )
            for key, size, modified in found
        ]
        return sorted(links, key=lambda link: (link.last_modified, link.key), reverse=True)

    # --- the use cases, each in its seam's module -------------------------------------------------

    def worklist(self, assignee: str, *, now: datetime, limit: int = 100) -> list[WorkItem]:
        return tasks.worklist(self._desk, assignee, now=now, limit=limit)

    def team_workload(self, by: StaffUser, *, now: datetime) -> list[Workload]:
        return tasks.team_workload(self._desk, by, now=now)

    def record_outcome(
        self,
        customer_id: str,
        task_id: str,
        *,
        outcome: str,
        note: str,
        by: StaffUser,
        now: datetime,
        promised_until: str | None = None,
        promise_amount: str | None = None,
        invoice_numbers: list[str] | None = None,
        dispute_reason: str | None = None,
    ) -> OutcomeReceipt:
        return tasks.record_outcome(
            self._desk,
            customer_id,
            task_id,
            outcome=outcome,
            note=note,
            by=by,
            now=now,
            promised_until=promised_until,
            promise_amount=promise_amount,
            invoice_numbers=invoice_numbers,
            dispute_reason=dispute_reason,
        )

    def add_note(self, customer_id: str, *, text: str, by: StaffUser, now: datetime) -> None:
        tasks.add_note(self._desk, customer_id, text=text, by=by, now=now)

    def take_promise(
        self,
        customer_id: str,
        *,
        invoice_numbers: list[str],
        amount: str,
        promised_until: str,
        by: StaffUser,
        now: datetime,
    ) -> Promise:
        return promises.take_promise(
            self._desk,
            customer_id,
            invoice_numbers=invoice_numbers,
            amount=amount,
            promised_until=promised_until,
            by=by,
            now=now,
        )

    def agree_plan(
        self,
        customer_id: str,
        *,
        invoice_numbers: Sequence[str],
        instalments: Sequence[RequestedInstalment] | None = None,
        count: str | int | None = None,
        first_due: str | None = None,
        every_days: str | int | None = None,
        by: StaffUser,
        now: datetime,
        replaces: str | None = None,
        reason: str | None = None,
    ) -> PaymentPlan:
        """A payment plan agreed with the customer, or renegotiated in place of ``replaces``
        (``workspace/plans.py``)."""
        return plan_cases.agree_plan(
            self._desk,
            customer_id,
            invoice_numbers=invoice_numbers,
            instalments=instalments,
            count=count,
            first_due=first_due,
            every_days=every_days,
            by=by,
            now=now,
            replaces=replaces,
            reason=reason,
        )

    def cancel_plan(
        self, customer_id: str, plan_id: str, *, reason: str, by: StaffUser, now: datetime
    ) -> PaymentPlan:
        """A payment plan cancelled: its invoices back to the regular reminders (``workspace/plans.py``)."""
        return plan_cases.cancel_plan(self._desk, customer_id, plan_id, reason=reason, by=by, now=now)

    def payment_plans(self, customer_id: str, *, now: datetime) -> list[plan_cases.PlanView]:
        """The customer's payment plans, newest first, with where each stands."""
        return plan_cases.plans_of(self._desk, customer_id, now=now)

    def log_dispute(
        self,
        customer_id: str,
        *,
        invoice_number: str,
        reason: str,
        comment: str,
        by: StaffUser,
        now: datetime,
    ) -> DisputeView:
        return dispute_cases.log_dispute(
            self._desk,
            customer_id,
            invoice_number=invoice_number,
            reason=reason,
            comment=comment,
            by=by,
            now=now,
        )

    def move_dispute(
        self,
        customer_id: str,
        dispute_id: str,
        *,
        status: str,
        note: str,
        by: StaffUser,
        now: datetime,
        credit_amount: str | None = None,
    ) -> DisputeView:
        return dispute_cases.move_dispute(
            self._desk,
            customer_id,
            dispute_id,
            status=status,
            note=note,
            by=by,
            now=now,
            credit_amount=credit_amount,
        )

    def disputes(self, *, now: datetime, include_closed: bool = False) -> list[DisputeView]:
        return dispute_cases.queue(self._desk, now=now, include_closed=include_closed)

    def create_task(
        self,
        customer_id: str,
        *,
        title: str,
        due_on: str,
        by: StaffUser,
        now: datetime,
        assignee: str = "",
        kind: str = "follow_up",
        note: str = "",
        invoice_numbers: Sequence[str] = (),
        key: str = "",
    ) -> follow_ups.NewTask:
        return follow_ups.create_task(
            self._desk,
            customer_id,
            title=title,
            due_on=due_on,
            by=by,
            now=now,
            assignee=assignee,
            kind=kind,
            note=note,
            invoice_numbers=invoice_numbers,
            key=key,
        )

    def send_one_off(
        self,
        customer_id: str,
        *,
        template: str,
        key: str,
        by: StaffUser,
        now: datetime,
        payment_id: str = "",
        portal_url: str = "",
    ) -> one_off.SendReceipt:
        return one_off.send_one_off(
            self._desk, customer_id, template=template, key=key, by=by, now=now, payment_id=payment_id,
            portal_url=portal_url,
        )  # fmt: skip

    def code_deduction(
        self,
        customer_id: str,
        *,
        invoice_number: str,
        reason: str,
        comment: str,
        by: StaffUser,
        now: datetime,
    ) -> DisputeView:
        return deduction_cases.code_deduction(
            self._desk, customer_id, invoice_number=invoice_number, reason=reason, comment=comment, by=by,
            now=now,
        )  # fmt: skip

    def resolve_deduction(
        self, customer_id: str, deduction_id: str, *, outcome: str, note: str, by: StaffUser, now: datetime
    ) -> DisputeView:
        return deduction_cases.resolve_deduction(
            self._desk, customer_id, deduction_id, outcome=outcome, note=note, by=by, now=now
        )

    def deductions(self, *, now: datetime, include_closed: bool = False) -> list[DisputeView]:
        return deduction_cases.queue(self._desk, now=now, include_closed=include_closed)

    def set_credit_hold(
        self, customer_id: str, *, hold: bool, reason: str, by: StaffUser, now: datetime
    ) -> Customer:
        return credit_cases.set_credit_hold(self._desk, customer_id, hold=hold, reason=reason, by=by, now=now)

    def place_with_agency(
        self,
        customer_id: str,
        *,
        agency: str,
        invoice_numbers: Sequence[str],
        note: str,
        by: StaffUser,
        now: datetime,
    ) -> credit_cases.PlacementReceipt:
        return credit_cases.place_with_agency(
            self._desk, customer_id, agency=agency, invoice_numbers=invoice_numbers, note=note, by=by, now=now
        )

    def export_handoff(
        self, customer_id: str, placement: str, *, by: StaffUser, now: datetime
    ) -> credit_cases.PlacementReceipt:
        return credit_cases.export_handoff(self._desk, customer_id, placement, by=by, now=now)

    def recall_from_agency(
        self, customer_id: str, placement: str, *, note: str, by: StaffUser, now: datetime
    ) -> Placement:
        return credit_cases.recall_from_agency(self._desk, customer_id, placement, note=note, by=by, now=now)

    def agency_collected(
        self,
        customer_id: str,
        placement: str,
        *,
        invoice_number: str,
        amount: str,
        reference: str,
        by: StaffUser,
        now: datetime,
    ) -> credit_cases.CollectionReceipt:
        return credit_cases.agency_collected(
            self._desk, customer_id, placement, invoice_number=invoice_number, amount=amount,
            reference=reference, by=by, now=now,
        )  # fmt: skip

    def apply_cash(
        self,
        customer_id: str,
        payment_id: str,
        *,
        allocations: Sequence[tuple[str, str]],
        by: StaffUser,
        now: datetime,
        note: str = "",
        unapplied: str | None = None,
    ) -> Payment:
        return cash_application.apply_cash(
            self._desk,
            customer_id,
            payment_id,
            allocations=allocations,
            by=by,
            now=now,
            note=note,
            unapplied=unapplied,
        )

    def pause(self, customer_id: str, *, until: str, reason: str, by: StaffUser, now: datetime) -> date:
        return holds.pause(self._desk, customer_id, until=until, reason=reason, by=by, now=now)

    def set_hold(self, customer_id: str, *, hold: bool, reason: str, by: StaffUser, now: datetime) -> None:
        holds.set_hold(self._desk, customer_id, hold=hold, reason=reason, by=by, now=now)

    def reassign_tasks(
        self, customer_tasks: Sequence[tuple[str, str]], *, to: str, by: StaffUser, now: datetime
    ) -> int:
        return reassignment.reassign_tasks(self._desk, customer_tasks, to=to, by=by, now=now)

    def reassign_account(
        self, customer_id: str, *, to: str, by: StaffUser, now: datetime, until: str = ""
    ) -> Customer:
        return reassignment.reassign_account(self._desk, customer_id, to=to, by=by, now=now, until=until)
