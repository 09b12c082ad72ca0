"""Payment plans in the KPI report: how many plans stand in each status, what is still open under the
active ones, the instalments due in the next four weeks, and the kept rate of the plans settled in the
window, per currency. Written apart from the KPI engines (``kpis.py`` and the warehouse), as the
deductions are: a plan's figures come from the plan records and where each stands (``plans.standing``),
which neither engine reads.

``plan_figures`` makes the ``payment_plans`` part of ``kpis.json``; ``plans_sheet`` the "Payment plans"
sheet of the workbook and ``payment-plans.csv``.

As of ``as_of``: a plan agreed after it is left out, a plan settled after it counts as active, and only
the payments dated by then count towards the instalments (the invoices are read as they are now)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from arcollect.entities import Invoice, Payment
from arcollect.money import plain
from arcollect.plans import PaymentPlan, PlanStatus, standing
from arcollect.reports.tables import COUNT, MONEY, SHARE, Block, Column, Sheet

SHEET = "Payment plans"
CSV_NAME = "payment-plans.csv"
# The horizon of "instalments due soon", as a collections team plans its cash: four weeks.
HORIZON_DAYS = 28
# The report's names of the statuses, in the order shown (an open plan is "active").
STATUSES: tuple[tuple[str, str], ...] = (
    (PlanStatus.OPEN.value, "active"),
    (PlanStatus.COMPLETED.value, "completed"),
    (PlanStatus.BROKEN.value, "broken"),
    (PlanStatus.CANCELLED.value, "cancelled"),
)
_LABEL = dict(STATUSES)
_SETTLED = (PlanStatus.COMPLETED.value, PlanStatus.BROKEN.value)


def plan_figures(
    plans: Iterable[PaymentPlan],
    invoices: Iterable[Invoice],
    payments: Iterable[Payment],
    *,
    as_of: date,
    window_days: int,
    grace_days: int,
) -> dict[str, Any]:
    """``by_status``: per status and currency, the plans and their agreed total; ``active``: per
    currency, the active plans, what is still open under them, and the instalments still to pay that fall
    due by ``as_of`` + 28 days (one already due and not yet broken counts too); ``settled``: per currency,
    the plans completed and broken in the window ending on ``as_of`` and the kept rate (completed over
    completed and broken; null without either). Amounts as plain decimals with their currency's
    decimals (``money.plain``: ``600.00`` EUR, ``50000`` JPY, ``1.250`` KWD; never rounded), rows
    sorted."""
    by_customer: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        by_customer[invoice.customer_id].append(invoice)
    paid: dict[str, list[Payment]] = defaultdict(list)
    for payment in payments:
        if payment.payment_date <= as_of:
            paid[payment.customer_id].append(payment)
    horizon = as_of + timedelta(days=HORIZON_DAYS)
    window_start = as_of - timedelta(days=window_days)
    statuses: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"count": 0, "amount": Decimal(0)})
    active: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"plans": 0, "open_amount": Decimal(0), "due_soon_count": 0, "due_soon_amount": Decimal(0)}
    )
    settled: dict[str, dict[str, int]] = defaultdict(lambda: {"completed": 0, "broken": 0})
    for plan in plans:
        if plan.created_at.date() > as_of:
            continue
        on = plan.settled_at.date() if plan.settled_at else None
        status = plan.status if on is None or on <= as_of else PlanStatus.OPEN.value
        row = statuses[(_LABEL.get(status, status), plan.currency)]
        row["count"] += 1
        row["amount"] += plan.total
        if status == PlanStatus.OPEN.value:
            state = standing(
                replace(plan, status=status),
                invoices=by_customer.get(plan.customer_id, ()),
                payments=paid.get(plan.customer_id, ()),
                today=as_of,
                grace_days=grace_days,
            )
            figures = active[plan.currency]
            figures["plans"] += 1
            figures["open_amount"] += sum((s.remaining for s in state.instalments), Decimal(0))
            for instalment in state.instalments:
                if not instalment.settled and instalment.instalment.due_date <= horizon:
                    figures["due_soon_count"] += 1
                    figures["due_soon_amount"] += instalment.remaining
        elif on is not None and window_start < on <= as_of and status in _SETTLED:
            settled[plan.currency][status] += 1
    order = {label: index for index, (_, label) in enumerate(STATUSES)}
    return {
        "window_days": window_days,
        "horizon_days": HORIZON_DAYS,
        "by_status": [
            {"status": status, "currency": currency, **_texts(row, currency)}
            for (status, currency), row in sorted(
                statuses.items(), key=lambda i: (order.get(i[0][0], 9), i[0])
            )
        ],
        "active": [
            {"currency": currency, **_texts(row, currency)} for currency, row in sorted(active.items())
        ],
        "settled": [
            {"currency": currency, **row, "kept_rate": _rate(row["completed"], row["broken"])}
            for currency, row in sorted(settled.items())
        ],
    }


def _rate(kept: int, broken: int) -> str | None:
    if not kept + broken:
        return None
    return f"{Decimal(kept) / Decimal(kept + broken):.4f}"


def _texts(row: Mapping[str, Any], currency: str) -> dict[str, Any]:
    return {
        key: plain(value, currency) if isinstance(value, Decimal) else value for key, value in row.items()
    }


def has_plans(part: Mapping[str, Any]) -> bool:
    """Whether the report shows the part (a table without plans shows nothing)."""
    return bool(part.get("by_status"))


def plans_sheet(part: Mapping[str, Any]) -> Sheet:
    """The "Payment plans" sheet (and ``payment-plans.csv``) from the document's ``payment_plans``."""
    status_block = Block(
        (Column("Status"), Column("Currency"), Column("Plans", COUNT), Column("Agreed total", MONEY)),
        title="Plans by status",
        currency_column=1,
    )
    for row in part.get("by_status") or ():
        status_block.rows.append(
            [
                str(row.get("status", "")),
                str(row.get("currency", "")),
                int(row.get("count") or 0),
                Decimal(str(row.get("amount") or 0)),
            ]
        )
    active_block = Block(
        (
            Column("Currency"),
            Column("Active plans", COUNT),
            Column("Open under plans", MONEY),
            Column(f"Instalments due in {part.get('horizon_days', HORIZON_DAYS)} days", COUNT),
            Column("Amount due in them", MONEY),
        ),
        title="Active plans",
        currency_column=0,
    )
    for row in part.get("active") or ():
        active_block.rows.append(
            [
                str(row.get("currency", "")),
                int(row.get("plans") or 0),
                Decimal(str(row.get("open_amount") or 0)),
                int(row.get("due_soon_count") or 0),
                Decimal(str(row.get("due_soon_amount") or 0)),
            ]
        )
    settled_block = Block(
        (
            Column("Currency"),
            Column("Completed", COUNT),
            Column("Broken", COUNT),
            Column("Kept rate", SHARE),
        ),
        title=f"Settled in the last {part.get('window_days', '')} days",
    )
    for row in part.get("settled") or ():
        rate = row.get("kept_rate")
        settled_block.rows.append(
            [
                str(row.get("currency", "")),
                int(row.get("completed") or 0),
                int(row.get("broken") or 0),
                Decimal(str(rate)) if rate is not None else None,
            ]
        )
    return Sheet(SHEET, CSV_NAME, [status_block, active_block, settled_block], frozen_columns=1)
