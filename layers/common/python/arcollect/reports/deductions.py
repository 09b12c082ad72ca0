"""Deductions in the KPI report: what is open by reason and age, and what was resolved in the window by
outcome (credit or rebill), per currency. Written apart from the KPI engines (``kpis.py`` and the
warehouse): a deduction's figures come from the dispute records, which neither engine reads, and a
short list of them is computed in memory in any case.

``deduction_figures`` makes the ``deductions`` part of ``kpis.json``; ``deductions_sheet`` the
"Deductions" sheet of the workbook and ``deductions.csv``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from arcollect.deductions import is_deduction, outcome_of
from arcollect.entities import Dispute, Invoice
from arcollect.money import plain
from arcollect.reports.tables import COUNT, DAYS, MONEY, Block, Column, Sheet

# Age of an open deduction in days since it was coded, as collections teams report them.
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("over 90", 91, None),
)
SHEET = "Deductions"
CSV_NAME = "deductions.csv"


def age_bucket(days: int) -> str:
    for label, low, high in AGE_BUCKETS:
        if days >= low and (high is None or days <= high):
            return label
    return AGE_BUCKETS[0][0]


def deduction_figures(
    disputes: Iterable[Dispute], invoices: Iterable[Invoice], *, as_of: date, window_days: int
) -> dict[str, Any]:
    """``open``: the deductions coded by ``as_of`` and not resolved by then, per reason and currency:
    count, amount and the amount in each age bucket, and the oldest's age; ``resolved``: those resolved
    in the window ending on ``as_of``, per reason, currency and outcome: count and amount (the credit
    written off, or the residual rebilled). Amounts as plain decimals with their currency's decimals
    (``money.plain``: ``120.00`` EUR, ``15000`` JPY, ``1.250`` KWD; never rounded), rows sorted."""
    currency_of = {(i.customer_id, i.invoice_number): i.currency for i in invoices}
    window_start = as_of - timedelta(days=window_days)
    open_rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {
            "count": 0,
            "amount": Decimal(0),
            "oldest_days": 0,
            **{b: Decimal(0) for b, _, _ in AGE_BUCKETS},
        }
    )
    resolved_rows: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(
        lambda: {"count": 0, "amount": Decimal(0)}
    )
    for dispute in disputes:
        if not is_deduction(dispute.reason) or dispute.created_at.date() > as_of:
            continue
        currency = currency_of.get((dispute.customer_id, dispute.invoice_number), "")
        amount = dispute.amount or Decimal(0)
        resolved_on = dispute.resolved_at.date() if dispute.resolved_at else None
        if resolved_on is None or resolved_on > as_of:
            row = open_rows[(dispute.reason, currency)]
            age = (as_of - dispute.created_at.date()).days
            row["count"] += 1
            row["amount"] += amount
            row[age_bucket(age)] += amount
            row["oldest_days"] = max(row["oldest_days"], age)
        elif resolved_on > window_start:
            outcome = outcome_of(dispute.status)
            if outcome is None:  # closed after its resolution: the credit says which
                outcome_name = "credit" if dispute.credit_amount is not None else "rebill"
            else:
                outcome_name = outcome.value
            resolved = resolved_rows[(dispute.reason, currency, outcome_name)]
            resolved["count"] += 1
            resolved["amount"] += (
                dispute.credit_amount if outcome_name == "credit" and dispute.credit_amount else amount
            )
    return {
        "window_days": window_days,
        "open": [
            {"reason": reason, "currency": currency, **_texts(row, currency)}
            for (reason, currency), row in sorted(open_rows.items())
        ],
        "resolved": [
            {"reason": reason, "currency": currency, "outcome": outcome, **_texts(row, currency)}
            for (reason, currency, outcome), row in sorted(resolved_rows.items())
        ],
    }


def _texts(row: Mapping[str, Any], currency: str) -> dict[str, Any]:
    return {
        key: plain(value, currency) if isinstance(value, Decimal) else value for key, value in row.items()
    }


def deductions_sheet(part: Mapping[str, Any]) -> Sheet:
    """The "Deductions" sheet (and ``deductions.csv``) from the document's ``deductions`` part."""
    open_block = Block(
        (
            Column("Reason"),
            Column("Currency"),
            Column("Open", COUNT),
            Column("Amount", MONEY),
            *(Column(f"Aged {label} days", MONEY) for label, _, _ in AGE_BUCKETS),
            Column("Oldest (days)", DAYS),
        ),
        title="Open deductions by reason and age",
        currency_column=1,
    )
    for row in part.get("open") or ():
        open_block.rows.append(
            [
                str(row.get("reason", "")),
                str(row.get("currency", "")),
                int(row.get("count") or 0),
                Decimal(str(row.get("amount") or 0)),
                *(Decimal(str(row.get(label) or 0)) for label, _, _ in AGE_BUCKETS),
                Decimal(int(row.get("oldest_days") or 0)),
            ]
        )
    resolved_block = Block(
        (
            Column("Reason"),
            Column("Currency"),
            Column("Outcome"),
            Column("Resolved", COUNT),
            Column("Amount", MONEY),
        ),
        title=f"Resolved in the last {part.get('window_days', '')} days by outcome",
        currency_column=1,
    )
    for row in part.get("resolved") or ():
        resolved_block.rows.append(
            [
                str(row.get("reason", "")),
                str(row.get("currency", "")),
                str(row.get("outcome", "")),
                int(row.get("count") or 0),
                Decimal(str(row.get("amount") or 0)),
            ]
        )
    return Sheet(SHEET, CSV_NAME, [open_block, resolved_block], frozen_columns=2)
