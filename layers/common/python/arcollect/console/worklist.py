"""The staff console's lists: the worklist, finding a customer, the team (managers), the dispute
queue, the status page (managers) and the reports (managers)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from arcollect.console.common import DISPUTE_STATUS_LABELS, PREFIX, WORKLIST, StaffWeb
from arcollect.portal.web.render import REASON_LABELS
from arcollect.workspace.model import NotAllowed


def register(staff: StaffWeb) -> None:
    app = staff.web.app

    @app.get(WORKLIST, include_in_schema=False)
    def worklist() -> Response[str]:
        session = staff.require_session()
        asked = (staff.web.query("assignee") or "").strip()
        assignee = asked or session.user.username
        if assignee != session.user.username and not session.user.is_manager:
            raise NotAllowed("only managers see another collector's worklist")
        items = staff.workspace.worklist(assignee, now=staff.web.now())
        own = assignee == session.user.username
        return staff.html(
            "staff/worklist.html",
            session=session,
            nav="worklist",
            title="Your worklist" if own else f"Worklist of {assignee}",
            items=items,
            assignee=assignee,
            own=own,
        )

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
