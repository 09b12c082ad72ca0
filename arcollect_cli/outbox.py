"""Reading the local stack's outbox: one ``.eml`` file per email SES accepted."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from arcollect.contract import HEADER_CUSTOMER, HEADER_INVOICES, HEADER_SENT_AT, HEADER_STEP


def read_outbox(outbox: Path) -> list[dict[str, Any]]:
    """Every sent email, oldest first by the function's "now" when it sent."""
    emails = [_summary(path) for path in sorted(outbox.glob("*.eml"))]
    return sorted(emails, key=lambda e: (e["sent_at"] or "", e["message_id"]))


# What the listing shows for a field an email does not carry: a team email (a collector's daily digest,
# a dispute notification) is about no one customer. Every email arcollect sends carries its send time
# (``arcollect.mailing.stamp_sent``); a message from elsewhere may not. JSON keeps them null.
ABSENT = "-"


def outbox_text(emails: list[dict[str, Any]]) -> str:
    """``arcollect outbox``: one line per email (sent at, customer, recipients, subject)."""
    return "\n".join(
        f"{e['sent_at'] or ABSENT}  {e['customer_id'] or ABSENT}  {', '.join(e['to']) or ABSENT}  "
        f"{e['subject'] or ABSENT}"
        for e in emails
    )


def sms_outbox_text(texts: list[dict[str, Any]]) -> str:
    """``arcollect outbox --sms``: one line per text (accepted at, customer, number, parts, body)."""
    return "\n".join(
        f"{t['accepted_at']}  {t['customer'] or ABSENT}  {t['to']}  {t['segments']} part(s) {t['encoding']}"
        f"  {t['body']}"
        for t in texts
    )


def _summary(path: Path) -> dict[str, Any]:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    text_part = message.get_body(preferencelist=("plain",))
    invoices = str(message.get(HEADER_INVOICES, "") or "")
    return {
        "message_id": path.stem,
        "sent_at": message.get(HEADER_SENT_AT),
        "to": [address.strip() for address in str(message.get("To", "")).split(",") if address.strip()],
        "subject": message.get("Subject"),
        "customer_id": message.get(HEADER_CUSTOMER),
        "step": message.get(HEADER_STEP),
        # A long header is folded at its commas: unfolding leaves a space after each.
        "invoice_numbers": [n.strip() for n in invoices.split(",") if n.strip()],
        "text": text_part.get_content() if text_part is not None else "",
        "file": str(path),
    }
