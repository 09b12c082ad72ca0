"""Reports: the daily tick writes the KPI JSON to its dated folder and to latest/."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook

from arcollect.entities import Dispute, Invoice
from arcollect.store.repositories import Invoices
from tests.integration.conftest import invoke, load_event
from tests.integration.ses_faults import READ_TIMEOUT, THROTTLED, emitted_metric, ses_failing_once

REPORTS = os.environ["REPORTS_BUCKET"]
# Every test on both engines: the Python reference and the SQL on DuckDB (held to it figure by figure).
pytestmark = pytest.mark.usefixtures("reports_engine")


def invoice(
    number: str, currency: str, open_amount: str, due: date, status: str = "open", paid: date | None = None
) -> Invoice:
    return Invoice(
        customer_id="C-1",
        invoice_number=number,
        currency=currency,
        amount=Decimal(open_amount),
        open_amount=Decimal(open_amount),
        invoice_date=date(2026, 9, 1),
        due_date=due,
        status=status,
        paid_date=paid,
    )


def test_the_daily_tick_writes_kpis_as_of_its_scheduled_day(s3: Any) -> None:
    # Given open invoices in two currencies, one of them past due, and a closed one
    repository = Invoices()
    repository.save(invoice("INV-1", "EUR", "100.10", date(2026, 12, 1)))
    repository.save(invoice("INV-2", "EUR", "50.05", date(2026, 11, 1)))
    repository.save(invoice("INV-3", "USD", "70.00", date(2026, 8, 1)))
    # (paid on 2026-10-01: a report as of any later day has it closed)
    repository.save(
        invoice("INV-4", "USD", "999.00", date(2026, 8, 1), status="closed", paid=date(2026, 10, 1))
    )
    # When the reports schedule fires on 2026-11-23
    tick = dict(load_event("scheduler_tick.json"), time="2026-11-23T05:00:00Z")
    result = invoke("reports", tick)
    # Then kpis.json lands under kpi/2026-11-23/ and latest/, amounts exact, per currency
    assert {"kpi/2026-11-23/kpis.json", "latest/kpis.json"} <= set(result["written"])
    for name in ("kpi-report.xlsx", "summary.html", "summary.csv", "aging.csv", "forecast.csv"):
        assert f"kpi/2026-11-23/{name}" in result["written"] and f"latest/{name}" in result["written"]
    for key in ("kpi/2026-11-23/kpis.json", "latest/kpis.json"):
        document = json.loads(s3.get_object(Bucket=REPORTS, Key=key)["Body"].read())
        assert document["as_of"] == "2026-11-23"
        eur = document["by_currency"]["EUR"]
        assert (eur["ar_total"], eur["ar_current"], eur["ar_past_due"]) == ("150.15", "100.10", "50.05")
        assert eur["aging"]["d1_30"] == "50.05"
        usd = document["by_currency"]["USD"]
        assert (usd["ar_total"], usd["open_invoices"]) == ("70.00", 1)
        assert usd["aging"]["d91_plus"] == "70.00"


def test_the_monthly_tick_reports_the_month_that_ended_and_weekly_emails_the_manager(s3: Any) -> None:
    Invoices().save(invoice("INV-1", "EUR", "100.00", date(2026, 12, 1)))
    policy = shipped_policy_text().replace(
        "team:\n  collections-manager: {name: Collections Manager}",
        "team:\n  collections-manager: {name: Morgan, email: morgan@seller.example}",
    )
    s3.put_object(Bucket=os.environ["DROP_BUCKET"], Key="config/dunning-policy.yaml", Body=policy.encode())
    monthly = dict(
        load_event("scheduler_tick.json"), time="2026-12-01T05:00:00Z", detail={"cadence": "monthly"}
    )
    assert invoke("reports", monthly)["as_of"] == "2026-11-30"
    weekly = dict(
        load_event("scheduler_tick.json"), time="2026-11-23T05:00:00Z", detail={"cadence": "weekly"}
    )
    first = invoke("reports", weekly)
    again = invoke("reports", weekly)  # a repeated tick writes the same files, emails once
    assert first["emailed"] == ["morgan@seller.example"] and again["emailed"] == []
    assert first["written"] == again["written"]


def test_a_weekly_summary_that_failed_to_render_is_sent_by_the_retry(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The summary is rendered before it is claimed: a failure rendering it leaves nothing claimed, so
    the retried tick sends it (claimed first, it was lost: the retry found it "sent")."""
    from arcollect.reports import publish

    Invoices().save(invoice("INV-1", "EUR", "100.00", date(2026, 12, 1)))
    policy = shipped_policy_text().replace(
        "team:\n  collections-manager: {name: Collections Manager}",
        "team:\n  collections-manager: {name: Morgan, email: morgan@seller.example}",
    )
    s3.put_object(Bucket=os.environ["DROP_BUCKET"], Key="config/dunning-policy.yaml", Body=policy.encode())
    weekly = dict(
        load_event("scheduler_tick.json"), time="2026-11-23T05:00:00Z", detail={"cadence": "weekly"}
    )
    render = publish.weekly_summary_email

    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("template error")

    monkeypatch.setattr(publish, "weekly_summary_email", broken)
    with pytest.raises(RuntimeError, match="template error"):
        invoke("reports", weekly)
    monkeypatch.setattr(publish, "weekly_summary_email", render)
    assert invoke("reports", weekly)["emailed"] == ["morgan@seller.example"]
    assert invoke("reports", weekly)["emailed"] == []


def _weekly_world(s3: Any) -> dict[str, Any]:
    """A manager with an email, and the weekly tick of 2026-11-23 that emails them."""
    Invoices().save(invoice("INV-1", "EUR", "100.00", date(2026, 12, 1)))
    policy = shipped_policy_text().replace(
        "team:\n  collections-manager: {name: Collections Manager}",
        "team:\n  collections-manager: {name: Morgan, email: morgan@seller.example}",
    )
    s3.put_object(Bucket=os.environ["DROP_BUCKET"], Key="config/dunning-policy.yaml", Body=policy.encode())
    return dict(load_event("scheduler_tick.json"), time="2026-11-23T05:00:00Z", detail={"cadence": "weekly"})


def _summaries_sent() -> int:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_DEFAULT_REGION"]]
    return len([m for m in backend.sent_messages if "Accounts receivable KPIs as of" in m.raw_data])


def _summary_claim() -> Any:
    from arcollect.store import keys
    from arcollect.store.models import DigestItem

    try:
        return DigestItem.get(
            keys.digest_pk("2026-11-23"), "weekly-summary:collections-manager", consistent_read=True
        )
    except DigestItem.DoesNotExist:
        return None


def test_a_weekly_summary_ses_throttled_after_the_claim_is_sent_once_by_the_retry(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arcollect.store.mail import SendNotAccepted

    weekly = _weekly_world(s3)
    with monkeypatch.context() as patch:
        ses_failing_once(patch, THROTTLED, accepted=False)
        # SES certainly did not send it: the claim is released and the run fails, for its retry
        with pytest.raises(SendNotAccepted):
            invoke("reports", weekly)
    assert _summary_claim() is None and _summaries_sent() == 0
    assert invoke("reports", weekly)["emailed"] == ["morgan@seller.example"]
    assert invoke("reports", weekly)["emailed"] == []
    assert _summaries_sent() == 1
    claim = _summary_claim()
    assert claim.status == "sent" and claim.message_id


def test_a_weekly_summary_whose_ses_answer_was_lost_is_in_doubt_and_never_sent_again(
    s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    weekly = _weekly_world(s3)
    capsys.readouterr()
    with monkeypatch.context() as patch:
        ses_failing_once(patch, READ_TIMEOUT, accepted=True)
        first = invoke("reports", weekly)
    # The run does not fail (a retry could not send it anyway): it says so, in its result and metric
    assert first["emailed"] == [] and first["summary_in_doubt"] == ["collections-manager"]
    assert emitted_metric(capsys.readouterr().out, "SummariesInDoubt") == 1
    assert _summary_claim().status == "in_doubt"
    again = invoke("reports", weekly)
    assert again["emailed"] == [] and again["summary_in_doubt"] == []
    assert _summaries_sent() == 1


def test_a_crash_between_the_summarys_claim_and_ses_loses_it_and_the_retry_reports_it_in_doubt(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most once: the process died after claiming (before SES answered, or before SES was called: the
    retry cannot tell), so the summary is not sent again; the retry finds the claim unfinished and reports
    it in doubt. Without a lease it cannot tell a dead run from one still sending (a duplicate tick at the
    same moment), which would still complete or release the claim: only the report would be early."""
    from arcollect.store.digests import DigestLedger
    from tests.integration.dunning_world import Crash

    weekly = _weekly_world(s3)
    claim = DigestLedger.claim_digest

    def claim_then_die(self: DigestLedger, *args: Any, **kwargs: Any) -> Any:
        claim(self, *args, **kwargs)
        raise Crash("the process dies after the claim")

    with monkeypatch.context() as patch:
        patch.setattr(DigestLedger, "claim_digest", claim_then_die)
        with pytest.raises(Crash):
            invoke("reports", weekly)
    retried = invoke("reports", weekly)
    assert retried["emailed"] == [] and retried["summary_in_doubt"] == ["collections-manager"]
    assert _summary_claim().status == "in_doubt" and _summaries_sent() == 0


def test_a_run_on_demand_backfills_any_day_and_refuses_a_bad_one(s3: Any) -> None:
    Invoices().save(invoice("INV-1", "EUR", "100.00", date(2026, 10, 1)))
    result = invoke("reports", {"action": "run", "as_of": "2026-09-30", "cadence": "daily"})
    document = json.loads(s3.get_object(Bucket=REPORTS, Key="kpi/2026-09-30/kpis.json")["Body"].read())
    assert result["as_of"] == "2026-09-30" and document["by_currency"]["EUR"]["ar_current"] == "100.00"
    with pytest.raises(Exception, match="not a date"):
        invoke("reports", {"action": "run", "as_of": "30/09/2026"})


def shipped_policy_text() -> str:
    from arcollect.policy import SHIPPED_POLICY

    return SHIPPED_POLICY.read_text(encoding="utf-8")


# --- amounts in their currency's minor unit (ISO 4217, arcollect/money.py) ------------------------------


def _dinar_and_yen_world() -> None:
    """A customer billed in Kuwaiti dinar (three decimals) and one in yen (none), both on credit hold,
    each with an invoice under a payment plan, one placed with an agency and a short payment coded as a
    deduction."""
    from arcollect.plans import Instalment, PaymentPlan, agreed_activity
    from arcollect.store.disputes import dispute_item
    from arcollect.store.plan_book import PlanBook
    from tests.integration.dunning_world import World, utc

    world = World()
    for customer_id, currency, unit, plan_split, placed, short, reason in (
        ("C-KW", "KWD", "1.234", ("0.617", "0.617"), "0.750", "0.125", "damage"),
        ("C-JP", "JPY", "150000", ("50000", "50000", "50000"), "25000", "1500", "pricing"),
    ):
        world.customer(customer_id, credit_hold=True, credit_hold_reason="over limit")
        prefix = customer_id[2:]
        world.invoice(
            f"{prefix}-1", customer_id=customer_id, invoice_date=date(2026, 9, 1), due_date=date(2026, 10, 1),
            amount=unit, currency=currency,
        )  # fmt: skip
        world.invoice(
            f"{prefix}-2", customer_id=customer_id, invoice_date=date(2026, 7, 1), due_date=date(2026, 8, 1),
            amount=placed, currency=currency, agency="Inkasso Nord",
        )  # fmt: skip
        world.invoice(
            f"{prefix}-3", customer_id=customer_id, invoice_date=date(2026, 9, 15),
            due_date=date(2026, 10, 15), amount=short, currency=currency,
        )  # fmt: skip
        dispute_item(
            Dispute(
                customer_id=customer_id, dispute_id=f"D-{prefix}-3", invoice_number=f"{prefix}-3",
                reason=reason, comment="short paid", created_at=utc(2026, 11, 10, 9), amount=Decimal(short),
            )
        ).save()  # fmt: skip
        dues = (date(2026, 12, 1), date(2027, 1, 4), date(2027, 2, 1))
        plan = PaymentPlan(
            customer_id=customer_id, plan_id=f"plan-{prefix.lower()}", invoice_numbers=(f"{prefix}-1",),
            currency=currency, created_at=utc(2026, 11, 20, 10), source="cora",
            instalments=tuple(
                Instalment(n, due, Decimal(amount))
                for n, (due, amount) in enumerate(zip(dues, plan_split, strict=False), start=1)
            ),
        )  # fmt: skip
        assert PlanBook().make_plan(plan, utc(2026, 11, 28, 7), agreed_activity(plan, by="Cora"))


def _csv(s3: Any, name: str) -> str:
    return s3.get_object(Bucket=REPORTS, Key=f"latest/{name}")["Body"].read().decode("utf-8-sig")


def _reported(s3: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Given the dinar and yen customers, the daily report of 2026-11-23: the run's result, kpis.json."""
    _dinar_and_yen_world()
    result = invoke("reports", dict(load_event("scheduler_tick.json"), time="2026-11-23T05:00:00Z"))
    return result, json.loads(s3.get_object(Bucket=REPORTS, Key="latest/kpis.json")["Body"].read())


def test_credit_holds_and_agency_placements_keep_the_dinars_three_decimals_and_the_yens_none(
    s3: Any,
) -> None:
    _, document = _reported(s3)
    # kpis.json: 2.109 KWD (never "2.11"), 176500 JPY (never "176500.00")
    held = document["credit_control"]
    assert held["on_hold"] == [
        {"currency": "JPY", "customers": 1, "open_amount": "176500"},
        {"currency": "KWD", "customers": 1, "open_amount": "2.109"},
    ]
    assert [(row["currency"], row["open_amount"]) for row in held["with_agency"]] == [
        ("JPY", "25000"),
        ("KWD", "0.750"),
    ]
    # and credit-control.csv
    control = _csv(s3, "credit-control.csv")
    assert "\r\nJPY,1,176500\r\n" in control and "\r\nKWD,1,2.109\r\n" in control
    assert "Inkasso Nord,JPY,1,25000,0\r\n" in control and "Inkasso Nord,KWD,1,0.750,0\r\n" in control


def test_deductions_keep_the_dinars_three_decimals_and_the_yens_none(s3: Any) -> None:
    _, document = _reported(s3)
    # kpis.json: the amount and each age bucket, 0.125 KWD (never "0.13"), 1500 JPY (never "1500.00")
    deductions = document["deductions"]["open"]
    assert [(r["reason"], r["currency"], r["amount"], r["0-30"], r["31-60"]) for r in deductions] == [
        ("damage", "KWD", "0.125", "0.125", "0.000"),
        ("pricing", "JPY", "1500", "1500", "0"),
    ]
    # and deductions.csv
    table = _csv(s3, "deductions.csv")
    assert "damage,KWD,1,0.125,0.125,0.000,0.000,0.000,13\r\n" in table
    assert "pricing,JPY,1,1500,1500,0,0,0,13\r\n" in table


def test_payment_plans_keep_the_dinars_three_decimals_and_the_yens_none(s3: Any) -> None:
    _, document = _reported(s3)
    # kpis.json: agreed totals, what is open under the plans and due soon, 1.234 and 0.617 KWD, 150000 JPY
    plans = document["payment_plans"]
    assert plans["by_status"] == [
        {"status": "active", "currency": "JPY", "count": 1, "amount": "150000"},
        {"status": "active", "currency": "KWD", "count": 1, "amount": "1.234"},
    ]
    assert plans["active"] == [
        {"currency": "JPY", "plans": 1, "open_amount": "150000", "due_soon_count": 1,
         "due_soon_amount": "50000"},
        {"currency": "KWD", "plans": 1, "open_amount": "1.234", "due_soon_count": 1,
         "due_soon_amount": "0.617"},
    ]  # fmt: skip
    # and payment-plans.csv
    planned = _csv(s3, "payment-plans.csv")
    assert "active,JPY,1,150000\r\n" in planned and "active,KWD,1,1.234\r\n" in planned
    assert "JPY,1,150000,1,50000\r\n" in planned and "KWD,1,1.234,1,0.617\r\n" in planned


def test_the_workbook_and_the_page_show_amounts_with_their_currencys_decimals(s3: Any) -> None:
    result, _ = _reported(s3)
    # The workbook's amounts are numbers, shown with the currency's decimals: #,##0.000 KWD, #,##0 JPY
    [workbook_key] = [k for k in result["written"] if k.startswith("latest/") and k.endswith(".xlsx")]
    book = load_workbook(BytesIO(s3.get_object(Bucket=REPORTS, Key=workbook_key)["Body"].read()))
    summary = {row[0].value: row[1] for row in book["Summary"].iter_rows(min_row=2)}  # AR total
    assert (summary["KWD"].value, summary["KWD"].number_format) == (2.109, "#,##0.000")
    assert (summary["JPY"].value, summary["JPY"].number_format) == (176500, "#,##0")
    hold = {row[0].value: row[2] for row in book["Credit hold and agency"].iter_rows(min_row=3, max_row=4)}
    assert (hold["KWD"].value, hold["KWD"].number_format) == (2.109, "#,##0.000")
    assert (hold["JPY"].value, hold["JPY"].number_format) == (176500, "#,##0")
    # (summary.csv has them as kpis.json, exact)
    assert "\r\nKWD,2.109," in _csv(s3, "summary.csv") and "\r\nJPY,176500," in _csv(s3, "summary.csv")
    # The page's tables write them as the reminders do: 176,500 JPY, never 176,500.00; 2.109 KWD, never
    # 2.11 (the forecast's chart too, below)
    page = s3.get_object(Bucket=REPORTS, Key="latest/summary.html")["Body"].read().decode()
    assert '<td class="num">176,500</td>' in page and '<td class="num">2.109</td>' in page
    assert "176,500.00</td>" not in page and "2.11</td>" not in page


def test_the_forecast_keeps_the_dinars_three_decimals_and_the_yens_none(s3: Any) -> None:
    result, document = _reported(s3)
    # kpis.json: every week with its currency's decimals, the empty ones too: 176500 and 0 JPY (never
    # "176500.00" nor "0.00"), 2.109 and 0.000 KWD (never "2.11"); all overdue, so all in week 1
    forecast = document["forecast"]
    assert [week["expected"] for week in forecast["JPY"]] == ["176500"] + ["0"] * 12
    assert [week["expected"] for week in forecast["KWD"]] == ["2.109"] + ["0.000"] * 12
    # forecast.csv: as kpis.json
    table = _csv(s3, "forecast.csv")
    assert "\r\nJPY,2026-11-24,2026-11-30,176500\r\nJPY,2026-12-01,2026-12-07,0\r\n" in table
    assert "\r\nKWD,2026-11-24,2026-11-30,2.109\r\nKWD,2026-12-01,2026-12-07,0.000\r\n" in table
    # The workbook's Forecast sheet: numbers shown with their row's currency's decimals
    [workbook_key] = [k for k in result["written"] if k.startswith("latest/") and k.endswith(".xlsx")]
    book = load_workbook(BytesIO(s3.get_object(Bucket=REPORTS, Key=workbook_key)["Body"].read()))
    rows = book["Forecast"].iter_rows(min_row=3)  # under its title and header
    weeks = [(row[0].value, row[3].value, row[3].number_format) for row in rows]
    assert weeks[0] == ("JPY", 176500, "#,##0") and weeks[1] == ("JPY", 0, "#,##0")
    assert weeks[13] == ("KWD", 2.109, "#,##0.000") and weeks[14] == ("KWD", 0, "#,##0.000")
    # summary.html: the forecast chart's bars as the reminders write them: 176,500 JPY, 2.109 KWD
    page = s3.get_object(Bucket=REPORTS, Key="latest/summary.html")["Body"].read().decode()
    assert "<title>11-24: 176,500</title>" in page and "<title>12-01: 0</title>" in page
    assert "<title>11-24: 2.109</title>" in page and "<title>12-01: 0.000</title>" in page
    assert "176,500.00" not in page and "2.11<" not in page
