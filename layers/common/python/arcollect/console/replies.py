"""A customer's replies on the 360 (docs/inbox.md): the timeline shows each with its flags and its
attachments; an attachment's link is this route, which answers 303 to a minutes-long presigned GET of
the file in the drop bucket, for an attachment one of the customer's filed replies lists and nothing
else (a key typed by hand is a 404)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from arcollect.console.common import PREFIX, StaffWeb
from arcollect.workspace.model import WorkspaceNotFound


def register(staff: StaffWeb) -> None:
    app = staff.web.app

    @app.get(f"{PREFIX}/customers/<customer_id>/reply-attachment", include_in_schema=False)
    def reply_attachment(customer_id: str) -> Response[str]:
        staff.require_session()
        key = staff.web.query("key") or ""
        if not key:
            raise WorkspaceNotFound("no attachment named: the link needs ?key=")
        url = staff.workspace.reply_attachment(customer_id, key, now=staff.web.now())
        return staff.web.redirect(url)
