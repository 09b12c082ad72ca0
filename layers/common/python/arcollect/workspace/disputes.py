"""What a collector types to move a dispute (``arcollect.disputes`` holds the workflow): the status
wanted, whether the move is allowed, and the credit amount."""

from __future__ import annotations

from decimal import Decimal

from arcollect.disputes import DISPUTE_TRANSITIONS, DisputeStatus
from arcollect.money import finer_than_unit, grouped, unit_refusal
from arcollect.workspace.model import WorkspaceInputError


def parse_status(text: str) -> DisputeStatus:
    try:
        return DisputeStatus(text.strip())
    except ValueError:
        allowed = ", ".join(status.value for status in DisputeStatus)
        raise WorkspaceInputError("status", f"{text!r} is not a dispute status ({allowed})") from None


def check_transition(current: str, wanted: DisputeStatus) -> None:
    try:
        now = DisputeStatus(current)
    except ValueError:
        now = DisputeStatus.OPEN
    allowed = DISPUTE_TRANSITIONS[now]
    if wanted not in allowed:
        moves = ", ".join(status.value for status in allowed) or "none: it is closed"
        raise WorkspaceInputError("status", f"a dispute that is {now.value} can move to {moves}")


def parse_credit(
    text: str | None, status: DisputeStatus, open_amount: Decimal, currency: str
) -> Decimal | None:
    """A credit amount is required for (and only for) resolved_credit: above 0, at most the open amount,
    at most ``currency``'s decimals (ISO 4217's minor unit: 2 for EUR, none for JPY, 3 for KWD)."""
    if status is not DisputeStatus.RESOLVED_CREDIT:
        if text and text.strip():
            raise WorkspaceInputError(
                "credit_amount", "a credit amount goes with 'resolved with credit' only"
            )
        return None
    cleaned = (text or "").strip().replace(",", "")
    try:
        amount = Decimal(cleaned)
    except ArithmeticError:
        raise WorkspaceInputError("credit_amount", f"{text!r} is not an amount (e.g. 120.50)") from None
    if not amount.is_finite() or amount <= 0:
        raise WorkspaceInputError("credit_amount", "the credit must be more than 0")
    if finer_than_unit(amount, currency):
        raise WorkspaceInputError("credit_amount", unit_refusal(amount, currency))
    if amount > open_amount:
        raise WorkspaceInputError(
            "credit_amount",
            f"the credit is more than the invoice's open amount ({grouped(open_amount, currency)})",
        )
    return amount
