"""Credit holds and agency placements in the KPI report: what is owed by customers on credit hold, and
what is with each collection agency, per currency (arcollect/credit_control.py). Both are states the
team decided and the table holds now, not history: the figures are those of the run's day (a backfilled
report shows today's holds and placements), written apart from the KPI engines like the deductions.

``credit_control_figures`` makes the ``credit_control`` part of ``kpis.json``; ``credit_control_sheet``
the "Credit hold and agency" sheet of the workbook and ``credit-control.csv``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from arcollect.entities import Customer, Invoice
from arcollect.money import plain
from arcollect.reports.tables import COUNT, MONEY, Block, Column, Sheet

SHEET = "Credit hold and agency"
CSV_NAME = "credit-control.csv"


def credit_control_figures(customers: Mapping[str, Customer], invoices: Iterable[Invoice]) -> dict[str, Any]:
    """``on_hold``: per currency, the customers on credit hold with something open and what they owe
    (credit notes netted); ``with_agency``: per agency and currency, the open invoices placed and their
    open amount, and those placed that were collected in full (closed). Amounts as plain decimals with
    their currency's decimals (``money.plain``: ``1250.00`` EUR, ``150000`` JPY, ``1.250`` KWD; never
    rounded)."""
    held = {cid for cid, customer in customers.items() if customer.credit_hold}
    hold_rows: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"customers": set(), "open_amount": Decimal(0)}
    )
    agency_rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"open_invoices": 0, "open_amount": Decimal(0), "collected_invoices": 0}
    )
    for invoice in invoices:
        if invoice.customer_id in held and invoice.is_open:
            row = hold_rows[invoice.currency]
            row["customers"].add(invoice.customer_id)
            row["open_amount"] += invoice.signed_open_amount
        if invoice.agency:
            line = agency_rows[(invoice.agency, invoice.currency)]
            if invoice.is_open:
                line["open_invoices"] += 1
                line["open_amount"] += invoice.open_amount
            else:
                line["collected_invoices"] += 1
    return {
        "customers_on_hold": len(held),
        "on_hold": [
            {
                "currency": currency,
                "customers": len(row["customers"]),
                "open_amount": plain(row["open_amount"], currency),
            }
            for currency, row in sorted(hold_rows.items())
        ],
        "with_agency": [
            {
                "agency": agency,
                "currency": currency,
                "open_invoices": row["open_invoices"],
                "open_amount": plain(row["open_amount"], currency),
                "collected_invoices": row["collected_invoices"],
            }
            for (agency, currency), row in sorted(agency_rows.items())
        ],
    }


def credit_control_sheet(part: Mapping[str, Any]) -> Sheet:
    """The "Credit hold and agency" sheet (and ``credit-control.csv``) from the ``credit_control`` part."""
    hold = Block(
        (Column("Currency"), Column("Customers on credit hold", COUNT), Column("Open amount", MONEY)),
        title=f"On credit hold ({part.get('customers_on_hold', 0)} customers)",
        currency_column=0,
    )
    for row in part.get("on_hold") or ():
        hold.rows.append([str(row["currency"]), int(row["customers"]), Decimal(str(row["open_amount"]))])
    agency = Block(
        (
            Column("Agency"),
            Column("Currency"),
            Column("Open invoices", COUNT),
            Column("Open amount", MONEY),
            Column("Collected invoices", COUNT),
        ),
        title="With a collection agency",
        currency_column=1,
    )
    for row in part.get("with_agency") or ():
        agency.rows.append(
            [
                str(row["agency"]),
                str(row["currency"]),
                int(row["open_invoices"]),
                Decimal(str(row["open_amount"])),
                int(row["collected_invoices"]),
            ]
        )
    return Sheet(SHEET, CSV_NAME, [hold, agency], frozen_columns=1)
