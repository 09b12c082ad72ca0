"""The staff console's lists: the worklist (and a manager's bulk reassignment of its tasks), finding a
customer, the team (managers), the dispute queue, the status page (managers) and the reports
(managers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

from aws_lambda_powertools.event_handler import Response

from arcollect.console.common import DISPUTE_STATUS_LABELS, PREFIX, WORKLIST, StaffWeb, many, one
from arcollect.portal.web.render import REASON_LABELS
from arcollect.staff import StaffSession
from arcollect.workspace.model import NotAllowed, WorkspaceInputError

REASSIGNED = "The tasks were reassigned."


def _task_key(value: str) -> tuple[str, str]:
    """A ticked task's ``<customer id>/<task id>``, each part one path segment (quoted)."""
    customer_id, _, task_id = value.partition("/")
    if not customer_id or not task_id:
        raise WorkspaceInputError("tasks", "a selected task could not be read: reload the page")
    return unquote(customer_id), unquote(task_id)


def register(staff: StaffWeb) -> None:
    app = staff.web.app

    def worklist_page(
        session: StaffSession,
        assignee: str,
        status: int = 200,
        *,
        errors: Mapping[str, str] | None = None,
        typed: Mapping[str, Any] | None = None,
    ) -> Response[str]:
        if assignee != session.user.username and not session.user.is_manager:
            raise NotAllowed("only managers see another collector's worklist")
        items = staff.workspace.worklist(assignee, now=staff.web.now())
        own = assignee == session.user.username
        done = REASSIGNED if status == 200 and staff.web.query("done") == "reassigned" else None
        return staff.html(
            "staff/worklist.html",
            status,
            session=session,
            nav="worklist",
            title="Your worklist" if own else f"Worklist of {assignee}",
            items=items,
            assignee=assignee,
            own=own,
            done=done,
            errors=dict(errors or {}),
            typed=dict(typed or {}),
        )

    @app.get(WORKLIST, include_in_schema=False)
    def worklist() -> Response[str]:
        session = staff.require_session()
        asked = (staff.web.query("assignee") or "").strip()
        return worklist_page(session, asked or session.user.username)

    @app.post(f"{WORKLIST}/reassign", include_in_schema=False)
    def reassign() -> Response[str]:
        """A manager moves the tasks ticked on a worklist to another collector."""
        session = staff.require_manager()
        form = staff.checked_form(session)
        assignee = one(form, "assignee") or session.user.username
        chosen = many(form, "task")
        try:
            pairs = [_task_key(value) for value in chosen]
            staff.workspace.reassign_tasks(pairs, to=one(form, "to"), by=session.user, now=staff.web.now())
        except WorkspaceInputError as error:
            field = error.field if error.field in ("to", "tasks") else "tasks"
            typed = {"to": one(form, "to"), "tasks": set(chosen)}
            return worklist_page(
                session, assignee, 400, errors={f"reassign-{field}": error.message}, typed=typed
            )
        return staff.redirect(f"{WORKLIST}?assignee={quote(assignee, safe='')}&done=reassigned")

    @app.get(f"{PREFIX}/customers", include_in_schema=False)
    def find_customer() -> Response[str]:
        session = staff.require_session()
        customer_id = (staff.web.query("customer_id") or "").strip()
        if not customer_id:
            return staff.html(
                "staff/find.html",
                400,
                session=session,
                nav="worklist",
                title="Find a customer",
                errors={"customer_id": "Enter a customer id"},
            )
        return staff.redirect(staff.customer_path(customer_id))

    @app.get(f"{PREFIX}/team", include_in_schema=False)
    def team() -> Response[str]:
        session = staff.require_manager()
        workloads = staff.workspace.team_workload(session.user, now=staff.web.now())
        return staff.html("staff/team.html", session=session, nav="team", title="Team", workloads=workloads)

    @app.get(f"{PREFIX}/disputes", include_in_schema=False)
    def disputes() -> Response[str]:
        session = staff.require_session()
        include_closed = staff.web.query("closed") == "1"
        views = staff.workspace.disputes(now=staff.web.now(), include_closed=include_closed)
        return staff.html(
            "staff/disputes.html",
            session=session,
            nav="disputes",
            title="Dispute queue",
            disputes=views,
            include_closed=include_closed,
            status_labels=DISPUTE_STATUS_LABELS,
            reason_labels={reason.value: label for reason, label in REASON_LABELS.items()},
        )

    @app.get(f"{PREFIX}/status", include_in_schema=False)
    def status() -> Response[str]:
        session = staff.require_manager()
        board = staff.console.status
        if board is None:
            return staff.message(
                503,
                "Status not available",
                "This deployment does not configure the status page.",
                session=session,
                back=(WORKLIST, "Back to the worklist"),
            )
        facts = board.status(session.user, now=staff.web.now())
        return staff.html(
            "staff/status.html",
            session=session,
            nav="status",
            title="Status",
            facts=facts,
            document=facts.as_dict(),
        )

    @app.get(f"{PREFIX}/reports", include_in_schema=False)
    def reports() -> Response[str]:
        session = staff.require_manager()
        links = staff.workspace.reports(session.user, now=staff.web.now())
        return staff.html(
            "staff/reports.html", session=session, nav="reports", title="Reports", reports=links
        )
