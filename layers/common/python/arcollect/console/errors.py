"""What the staff console answers when a route gives up (sign-in needed, an expired form, managers
only, not found, a conflict, refused input), and for a path under /staff that no route serves."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response

from arcollect.console.common import (
    COOKIE_NAME,
    SIGN_IN,
    WORKLIST,
    StaffCsrfRejected,
    StaffSignInNeeded,
    StaffWeb,
    cookie_value,
    safe_next,
)
from arcollect.portal.web.common import Web, staff_message
from arcollect.workspace.model import NotAllowed, WorkspaceConflict, WorkspaceInputError, WorkspaceNotFound


def register(staff: StaffWeb) -> None:
    handles: Any = staff.web.app.exception_handler

    def sign_in_needed(error: StaffSignInNeeded) -> Response[Any]:
        target = SIGN_IN
        if error.next_path and safe_next(error.next_path):
            target = f"{SIGN_IN}?next={quote(error.next_path, safe='')}"
        elif cookie_value(staff.event, COOKIE_NAME):
            target = f"{SIGN_IN}?reason=ended"
        return staff.redirect(target, cookies=[staff.cleared(COOKIE_NAME)])

    def csrf_rejected(_: StaffCsrfRejected) -> Response[Any]:
        return staff.message(
            403,
            "This form has expired",
            "For your security we could not accept this form. Go back, reload the page and try again.",
            session=staff.session(),
            back=(WORKLIST, "Back to your worklist"),
        )

    def not_allowed(error: NotAllowed) -> Response[Any]:
        # A page is for managers, or a decision is theirs (a credit above the collectors' limit): say which.
        why = str(error) if str(error) not in {"", "managers only"} else ""
        return staff.message(
            403,
            "Managers only",
            f"{why[:1].upper()}{why[1:]}."
            if why
            else "This page is for managers. Your account is in the collector group.",
            session=staff.session(),
            back=(WORKLIST, "Back to your worklist"),
        )

    def not_found(error: WorkspaceNotFound) -> Response[Any]:
        return staff.message(
            404,
            "Not found",
            str(error) or "There is no such customer, task or dispute.",
            session=staff.session(),
            back=(WORKLIST, "Back to your worklist"),
        )

    def conflict(error: WorkspaceConflict) -> Response[Any]:
        return staff.message(
            409,
            "Someone changed this first",
            str(error) or "It was changed while you were looking at it.",
            "Reload the page to see the current state, then try again.",
            session=staff.session(),
            back=(WORKLIST, "Back to your worklist"),
        )

    def input_error(error: WorkspaceInputError) -> Response[Any]:
        # The 360 forms re-render themselves; this is for any other input the workspace refused.
        return staff.message(
            400,
            "That could not be done",
            f"{error.field}: {error.message}",
            session=staff.session(),
            back=(WORKLIST, "Back to your worklist"),
        )

    handles(StaffSignInNeeded)(sign_in_needed)
    handles(StaffCsrfRejected)(csrf_rejected)
    handles(NotAllowed)(not_allowed)
    handles(WorkspaceNotFound)(not_found)
    handles(WorkspaceConflict)(conflict)
    handles(WorkspaceInputError)(input_error)


def not_found_page(web: Web) -> Response[str]:
    """What a path under /staff that no route serves answers: 404."""
    return staff_message(
        web,
        404,
        "Page not found",
        f"There is no page at {web.event.path}.",
        back=(WORKLIST, "Go to your worklist"),
    )
