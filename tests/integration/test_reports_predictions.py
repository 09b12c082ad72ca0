"""Reports: the scheduled run trains the pay-date model on the portfolio's history, keeps it as a
versioned artefact, scores every open invoice (the predictions table, the table's per-invoice items) and
bases the 13-week forecast on the predictions; with too little history, the customer-average rule."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from arcollect.entities import Invoice
from arcollect.store.predictions import PredictionBook
from arcollect.store.repositories import Invoices
from tests.integration.conftest import invoke, load_event

REPORTS = os.environ["REPORTS_BUCKET"]
# Every test on both engines: the Python reference and the SQL on DuckDB (held to it figure by figure).
pytestmark = pytest.mark.usefixtures("reports_engine")
AS_OF = date(2026, 11, 23)


def _invoice(
    customer: str, number: str, issued: date, paid_late: int | None, amount: str = "100.00"
) -> Invoice:
    due = issued + timedelta(days=30)
    paid = None if paid_late is None else due + timedelta(days=paid_late)
    closed = paid is not None and paid <= AS_OF
    return Invoice(
        customer_id=customer,
        invoice_number=number,
        currency="EUR",
        amount=Decimal(amount),
        open_amount=Decimal(0) if closed else Decimal(amount),
        invoice_date=issued,
        due_date=due,
        status="closed" if closed else "open",
        paid_date=paid if closed else None,
    )


def history() -> None:
    """Two customers paid monthly for a year: C-LATE about 40 days late, C-ONTIME about on time; each
    has invoices still open at the as-of day. C-NEW has one open invoice and no history."""
    repository = Invoices()
    start = date(2025, 9, 1)
    for month in range(12):
        issued = start + timedelta(days=30 * month)
        repository.save(_invoice("C-LATE", f"L-{month:02d}", issued, 38 + month % 5))
        repository.save(_invoice("C-ONTIME", f"T-{month:02d}", issued, month % 3 - 1))
    repository.save(_invoice("C-LATE", "L-OPEN", date(2026, 10, 1), None, "500.00"))
    repository.save(_invoice("C-ONTIME", "T-OPEN", date(2026, 11, 1), None, "300.00"))
    repository.save(_invoice("C-NEW", "N-OPEN", date(2026, 11, 10), None, "200.00"))


def tick() -> dict[str, Any]:
    return dict(load_event("scheduler_tick.json"), time=f"{AS_OF.isoformat()}T05:00:00Z")


def _json(s3: Any, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=REPORTS, Key=key)["Body"].read())


def test_the_run_trains_keeps_the_model_and_scores_every_open_invoice(s3: Any) -> None:
    history()
    result = invoke("reports", tick())
    # The model, versioned, under its as-of day and latest.json
    assert {"models/pay-date/2026-11-23.json", "models/pay-date/latest.json"} <= set(result["written"])
    model = s3.get_object(Bucket=REPORTS, Key="models/pay-date/2026-11-23.json")["Body"].read()
    assert json.loads(model)["version"] == 2 and json.loads(model)["trained_as_of"] == "2026-11-23"
    assert result["predictions"] == {"basis": "model", "invoices": 3, "kept": 3}
    # The predictions table in kpis.json: every open invoice, its interval, its chance, its factors
    document = _json(s3, "kpi/2026-11-23/kpis.json")
    table = document["predictions"]
    assert table["basis"] == "model" and table["model"]["key"] == "models/pay-date/2026-11-23.json"
    rows = {row["invoice_number"]: row for row in table["invoices"]}
    assert set(rows) == {"L-OPEN", "T-OPEN", "N-OPEN"}
    late, ontime = rows["L-OPEN"], rows["T-OPEN"]
    assert late["low"] <= late["pay_date"] <= late["high"]
    assert late["pay_date"] > ontime["pay_date"]  # the late payer's invoice, due earlier, comes later
    assert Decimal(late["probability_over_30_days_late"]) > Decimal(ontime["probability_over_30_days_late"])
    assert 1 <= len(late["factors"]) <= 3 and late["factors_text"]
    assert "customer paid its last" in late["factors_text"]
    assert rows["N-OPEN"]["fallback"] is True  # no history of its own: said so
    assert "no paid invoice of this customer yet" in rows["N-OPEN"]["factors_text"]
    assert late["open_amount"] == "500.00" and late["currency"] == "EUR"
    # The forecast stands on the predictions, with an 80% interval per week
    assert document["forecast_basis"]["basis"] == "predictions"
    weeks = document["forecast"]["EUR"]
    assert all(Decimal(w["low"]) <= Decimal(w["expected"]) <= Decimal(w["high"]) for w in weeks)
    amounts = [w[key] for w in weeks for key in ("expected", "low", "high")]
    assert "0.00" in amounts and all(len(a.partition(".")[2]) == 2 for a in amounts)  # to the cent
    expected_week = next(w for w in weeks if w["week_start"] <= late["pay_date"] <= w["week_end"])
    assert Decimal(expected_week["expected"]) >= Decimal("500.00")
    assert sum(Decimal(w["expected"]) for w in weeks) <= Decimal("1000.00")
    # The CSV and the workbook carry the table
    assert "kpi/2026-11-23/predictions.csv" in result["written"]
    body = s3.get_object(Bucket=REPORTS, Key="kpi/2026-11-23/predictions.csv")["Body"].read()
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header = next(line for line in lines if line and line[0] == "Customer number")
    assert {"Predicted pay date", "Low (80%)", "High (80%)", "P(> 30 days late)", "Top factors"} <= set(
        header
    )
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    workbook = s3.get_object(Bucket=REPORTS, Key="kpi/2026-11-23/kpi-report.xlsx")["Body"].read()
    assert "Predictions" in load_workbook(io.BytesIO(workbook)).sheetnames
    # Each open invoice's prediction is kept in the table for the worklist and the 360
    kept = PredictionBook().by_key([("C-LATE", "L-OPEN"), ("C-NEW", "N-OPEN")])
    assert kept[("C-LATE", "L-OPEN")].pay_date.isoformat() == late["pay_date"]
    assert kept[("C-LATE", "L-OPEN")].factors_text() == late["factors_text"]


def test_the_same_day_run_again_writes_the_same_bytes(s3: Any) -> None:
    history()
    invoke("reports", tick())
    first = {
        key: s3.get_object(Bucket=REPORTS, Key=key)["Body"].read()
        for key in (
            "models/pay-date/2026-11-23.json",
            "kpi/2026-11-23/kpis.json",
            "kpi/2026-11-23/predictions.csv",
        )
    }
    invoke("reports", tick())  # the table now holds the first run's predictions too
    for key, body in first.items():
        assert s3.get_object(Bucket=REPORTS, Key=key)["Body"].read() == body, key


def test_a_backfill_leaves_the_newer_predictions_in_the_table(s3: Any) -> None:
    history()
    invoke("reports", tick())
    backfill = invoke("reports", {"action": "run", "as_of": "2026-11-16", "cadence": "daily"})
    assert backfill["predictions"]["kept"] == 0
    assert PredictionBook().by_key([("C-LATE", "L-OPEN")])[("C-LATE", "L-OPEN")].as_of == AS_OF


def test_too_little_history_falls_back_to_the_customer_average_rule_and_says_so(s3: Any) -> None:
    repository = Invoices()
    repository.save(_invoice("C-1", "P-1", date(2026, 8, 1), 10))
    repository.save(_invoice("C-1", "O-1", date(2026, 11, 1), None))
    repository.save(_invoice("C-1", "O-OLD", date(2026, 6, 1), None, "250.00"))  # due 2026-07-01
    result = invoke("reports", tick())
    assert not any(key.startswith("models/") for key in result["written"])
    document = _json(s3, "kpi/2026-11-23/kpis.json")
    assert document["predictions"]["basis"] == "customer_average"
    assert "too little history" in document["predictions"]["note"]
    rows = {row["invoice_number"]: row for row in document["predictions"]["invoices"]}
    row = rows["O-1"]
    assert row["pay_date"] == "2026-12-11"  # due 2026-12-01 plus its 10 days late
    assert row["probability_over_30_days_late"] is None and row["fallback"] is True
    assert row["factors_text"] == (
        "customer paid its 1 invoice 10 days late on average (the customer-average rule) (+10 d)"
    )
    # Due long ago: expected the next day, and the move is a factor of its own, so the factors shown
    # add up to the days late shown (146 = 136 + 10)
    old = rows["O-OLD"]
    assert (old["pay_date"], old["days_late"]) == ("2026-11-24", 146)
    assert old["factors_text"] == (
        "still unpaid at 2026-11-23: not expected before the next day (+136 d); customer paid its 1 "
        "invoice 10 days late on average (the customer-average rule) (+10 d)"
    )
    assert [(f["name"], f["days"]) for f in old["factors"]] == [
        ("still_open", "136.0"),
        ("customer_average", "10.0"),
    ]
    # The forecast stands on the same rule and says so once, in the predictions' own words
    basis = document["forecast_basis"]
    assert basis["basis"] == "customer_average" and basis["note"] == document["predictions"]["note"]
    assert basis["note"].count("average days late") == 1 and "too little history" in basis["note"]
    weeks = document["forecast"]["EUR"]
    assert all("low" not in week for week in weeks)
    # Every week's amount to the cent, the empty ones too
    assert [week["expected"] for week in weeks[:3]] == ["250.00", "0.00", "100.00"]  # 11-24, 12-11
    assert all(len(week["expected"].partition(".")[2]) == 2 for week in weeks)


def test_an_invoice_the_erp_flags_as_disputed_is_predicted_as_disputed(s3: Any) -> None:
    """An invoice the ERP's file marks disputed (ingest keeps the flag while the file says so) counts
    as an open dispute in the run's predictions, and its factor says the ERP flags it."""
    history()
    Invoices().save(
        replace(_invoice("C-ONTIME", "T-DISP", date(2026, 11, 5), None), disputed=True, erp_disputed=True)
    )
    invoke("reports", tick())
    rows = {
        row["invoice_number"]: row for row in _json(s3, "kpi/2026-11-23/kpis.json")["predictions"]["invoices"]
    }
    disputed, plain = rows["T-DISP"], rows["T-OPEN"]
    assert [f["days"] for f in disputed["factors"] if f["name"] == "dispute"] == ["14.0"]
    assert (
        "the ERP flags this invoice as disputed: an open dispute (a rule, not learned) (+14 d)"
        in (disputed["factors_text"])
    )
    assert not any(f["name"] == "dispute" for f in plain["factors"])
    assert (
        PredictionBook().by_key([("C-ONTIME", "T-DISP")])[("C-ONTIME", "T-DISP")].factors_text()
        == (disputed["factors_text"])
    )


def test_a_partly_paid_invoice_is_predicted_not_learned_from(s3: Any) -> None:
    """An invoice whose file stated a paid date but an open amount left (ingest keeps the partial
    payment's day as its paid date): it is still owed, so it gets a prediction, and the model does not
    learn it as paid on that day."""
    history()
    partly = replace(
        _invoice("C-ONTIME", "T-PART/1", date(2026, 10, 1), None, "1000.00"),
        open_amount=Decimal("400.00"),
        paid_date=date(2026, 10, 15),
    )
    Invoices().save(partly)
    result = invoke("reports", tick())
    assert result["predictions"] == {"basis": "model", "invoices": 4, "kept": 4}
    rows = {
        row["invoice_number"]: row for row in _json(s3, "kpi/2026-11-23/kpis.json")["predictions"]["invoices"]
    }
    assert rows["T-PART/1"]["pay_date"] > AS_OF.isoformat()
    model = _json(s3, "models/pay-date/2026-11-23.json")
    assert model["examples"] == 24  # the 24 invoices paid in full, not the partly paid one
