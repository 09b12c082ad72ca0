"""Reports: the daily tick writes the KPI JSON to its dated folder and to latest/."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from typing import Any

from arcollect.entities import Invoice
from arcollect.store.repositories import Invoices
from tests.integration.conftest import invoke, load_event

REPORTS = os.environ["REPORTS_BUCKET"]


def invoice(number: str, currency: str, open_amount: str, due: date, status: str = "open") -> Invoice:
    return Invoice(
        customer_id="C-1",
        invoice_number=number,
        currency=currency,
        amount=Decimal(open_amount),
        open_amount=Decimal(open_amount),
        invoice_date=date(2026, 9, 1),
        due_date=due,
        status=status,
    )


def test_the_daily_tick_writes_kpis_as_of_its_scheduled_day(s3: Any) -> None:
    # Given open invoices in two currencies, one of them past due, and a closed one
    repository = Invoices()
    repository.save(invoice("INV-1", "EUR", "100.10", date(2026, 12, 1)))
    repository.save(invoice("INV-2", "EUR", "50.05", date(2026, 11, 1)))
    repository.save(invoice("INV-3", "USD", "70.00", date(2026, 8, 1)))
    repository.save(invoice("INV-4", "USD", "999.00", date(2026, 8, 1), status="closed"))
    # When the reports schedule fires on 2026-11-23
    tick = dict(load_event("scheduler_tick.json"), time="2026-11-23T05:00:00Z")
    result = invoke("reports", tick)
    # Then kpis.json lands under kpi/2026-11-23/ and latest/, amounts exact, per currency
    assert result["written"] == ["kpi/2026-11-23/kpis.json", "latest/kpis.json"]
    for key in result["written"]:
        document = json.loads(s3.get_object(Bucket=REPORTS, Key=key)["Body"].read())
        assert document["as_of"] == "2026-11-23"
        eur = document["by_currency"]["EUR"]
        assert (eur["ar_total"], eur["ar_current"], eur["ar_past_due"]) == ("150.15", "100.10", "50.05")
        assert eur["aging"]["d1_30"] == "50.05"
        usd = document["by_currency"]["USD"]
        assert (usd["ar_total"], usd["open_invoices"]) == ("70.00", 1)
        assert usd["aging"]["d91_plus"] == "70.00"
