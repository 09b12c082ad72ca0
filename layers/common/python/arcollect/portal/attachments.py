"""A dispute's attachment: the customer's browser posts the file straight to S3 under a pending key (a
presigned POST bound to the declared type and size), and the file becomes the dispute's attachment only
once checked: there, at most the declared size, and of the declared type by its content
(``portal.uploads``). A file that fails is deleted and the timeline says why."""

from __future__ import annotations

from datetime import datetime, timedelta

from arcollect.contract import attachment_keys
from arcollect.entities import Activity, Dispute
from arcollect.portal.access import NotFound
from arcollect.portal.inputs import ATTACHMENT_MAX_BYTES, PortalInputError
from arcollect.portal.timeline import KIND_ATTACHMENT, KIND_ATTACHMENT_REFUSED, new_id
from arcollect.portal.uploads import SNIFF_BYTES, TYPE_NAMES, content_problem, is_text
from arcollect.portal.views import AttachmentReceipt, attachment_receipt
from arcollect.store.portal import PortalObjects, PortalStore

UPLOAD_URL_LIFETIME = timedelta(minutes=15)


def pending_key(customer_id: str, dispute_id: str, file_name: str) -> str:
    """Where the file is uploaded to, before it is checked."""
    return attachment_keys(customer_id, dispute_id, file_name)[0]


class Attachments:
    """Dispute attachments in the drop bucket: constructed by ``self_service.Portal``."""

    def __init__(self, *, objects: PortalObjects, bucket: str, store: PortalStore) -> None:
        self._objects = objects
        self._bucket = bucket
        self._store = store

    def upload_form(self, key: str, *, content_type: str, size: int) -> tuple[str, dict[str, str]]:
        """The presigned POST (URL and form fields) for uploading the declared file to ``key``."""
        return self._objects.presigned_post(
            self._bucket, key, content_type=content_type, max_bytes=size, expires=UPLOAD_URL_LIFETIME
        )

    def confirm(self, customer_id: str, dispute_id: str, *, now: datetime) -> AttachmentReceipt:
        """Check the file uploaded for the customer's dispute and link it: it must be there, at most the
        declared size, and of the declared type by its content. A file that fails is deleted and the
        timeline says why (PortalInputError on "attachment"); a repeated confirmation answers the same
        receipt. Another customer's dispute id is NotFound."""
        dispute = self._store.dispute(customer_id, dispute_id)
        if dispute is None:
            raise NotFound(dispute_id)
        if dispute.attachment_key:
            return attachment_receipt(dispute)
        if not dispute.upload_key or not dispute.upload_type or not dispute.upload_size:
            raise PortalInputError(
                "attachment", f"dispute {dispute_id} is not waiting for a file: start a new upload"
            )
        pending = dispute.upload_key
        name = pending.rsplit("/", 1)[-1]
        final = attachment_keys(customer_id, dispute_id, name)[1]
        found = self._objects.stat(self._bucket, pending)
        if found is None:
            if self._objects.stat(self._bucket, final) is None:
                raise PortalInputError(
                    "attachment", f"we have not received {name} yet: upload it, then confirm again"
                )
            # Checked and moved by an earlier confirmation that stopped before linking it.
            moved = self._objects.stat(self._bucket, final)
            return self._link(dispute, final, moved[0] if moved else dispute.upload_size, now)
        size, version = found
        problem = self._upload_problem(dispute, pending, size, version)
        if problem:
            self._objects.delete(self._bucket, pending, version=version)
            self._store.refuse_upload(
                dispute,
                Activity(
                    customer_id=customer_id,
                    at=now,
                    activity_id=new_id(),
                    kind=KIND_ATTACHMENT_REFUSED,
                    summary=f"Attachment {name} to dispute {dispute_id} refused: {problem}",
                    detail={"dispute_id": dispute_id, "file": name, "reason": problem},
                ),
            )
            raise PortalInputError("attachment", f"{name} was not accepted: {problem}. It has been deleted.")
        self._objects.move(self._bucket, pending, final, version=version)
        return self._link(dispute, final, size, now)

    def _upload_problem(self, dispute: Dispute, key: str, size: int, version: str | None) -> str | None:
        declared_type = dispute.upload_type or ""
        declared_size = dispute.upload_size or 0
        if size <= 0:
            return "the file is empty"
        if size > min(declared_size, ATTACHMENT_MAX_BYTES):
            return f"it is {size} bytes, more than the {declared_size} declared"
        start = None if is_text(declared_type) else SNIFF_BYTES
        return content_problem(
            declared_type, self._objects.read(self._bucket, key, version=version, first=start)
        )

    def _link(self, dispute: Dispute, final: str, size: int, now: datetime) -> AttachmentReceipt:
        content_type = dispute.upload_type or ""
        name = final.rsplit("/", 1)[-1]
        linked = self._store.link_attachment(
            dispute,
            final,
            content_type,
            size,
            Activity(
                customer_id=dispute.customer_id,
                at=now,
                activity_id=new_id(),
                kind=KIND_ATTACHMENT,
                summary=f"Customer attached {name} ({TYPE_NAMES.get(content_type, content_type)}, "
                f"{size} bytes) to dispute {dispute.dispute_id}",
                detail={"dispute_id": dispute.dispute_id, "attachment": final, "size": str(size)},
            ),
        )
        if not linked:
            again = self._store.dispute(dispute.customer_id, dispute.dispute_id)
            if again is None or not again.attachment_key:
                raise PortalInputError(
                    "attachment", f"dispute {dispute.dispute_id} changed meanwhile: reload and try again"
                )
            return attachment_receipt(again)
        return AttachmentReceipt(dispute.dispute_id, name, content_type, size)
