"""Payment plans in the KPI report, through the reports function against moto (issue 20, item 3):
kpis.json's ``payment_plans`` part, the workbook's "Payment plans" sheet and payment-plans.csv."""

from __future__ import annotations

import json
import os
from io import BytesIO
from urllib.parse import quote

import boto3
from openpyxl import load_workbook

from tests.integration import test_payment_plans as agreed
from tests.integration.conftest import invoke, load_event
from tests.integration.dunning_world import World
from tests.integration.test_payment_plan_cancel import _json
from tests.integration.test_payment_plans import CONTROL, FIRST, THREE, Console, pay, plans

world = agreed.world
console = agreed.console


def test_the_report_shows_plans_by_status_what_is_open_under_them_and_the_instalments_due_soon(
    world: World, console: Console
) -> None:
    # Given Müller & Söhne's plan of 3 x 600.00 EUR with 250.00 paid towards its first instalment
    assert console.post_json(THREE).status == 201
    pay("ZE/2026/1126", "2026-11-26", "250.00")
    # And Brennan & Sons' plan of 2 x 600.00 EUR for INV/2026/0042, cancelled
    control = f"/staff/api/customers/{quote(CONTROL, safe='')}/payment-plans"
    made = _json(console, control, {"invoice_numbers": [FIRST], "count": 2, "first_due": "2026-12-10"})
    assert made.status == 201, made.text
    plan_id = json.loads(made.text)["plan_id"]
    assert _json(console, f"{control}/{plan_id}/cancel", {"reason": "paid in full instead"}).status == 200
    assert [p.status for p in plans()] == ["open"]
    # When the daily report runs on 2026-11-27
    result = invoke("reports", dict(load_event("scheduler_tick.json"), time="2026-11-27T05:00:00Z"))
    s3 = boto3.client("s3")
    bucket = os.environ["REPORTS_BUCKET"]
    document = json.loads(s3.get_object(Bucket=bucket, Key="latest/kpis.json")["Body"].read())
    # Then kpis.json counts the plans by status, what is open under the active one and what falls due
    part = document["payment_plans"]
    assert part["by_status"] == [
        {"status": "active", "currency": "EUR", "count": 1, "amount": "1800.00"},
        {"status": "cancelled", "currency": "EUR", "count": 1, "amount": "1200.00"},
    ]
    assert part["active"] == [
        {
            "currency": "EUR",
            "plans": 1,
            "open_amount": "1550.00",
            "due_soon_count": 1,
            "due_soon_amount": "350.00",
        }
    ]
    assert part["settled"] == []
    # And the workbook has the sheet, also written as payment-plans.csv
    assert "latest/payment-plans.csv" in result["written"]
    table = s3.get_object(Bucket=bucket, Key="latest/payment-plans.csv")["Body"].read().decode()
    assert "active,EUR,1,1800.00" in table.replace('"', "")
    assert "EUR,1,1550.00,1,350.00" in table.replace('"', "")
    [workbook_key] = [k for k in result["written"] if k.startswith("latest/") and k.endswith(".xlsx")]
    workbook = load_workbook(BytesIO(s3.get_object(Bucket=bucket, Key=workbook_key)["Body"].read()))
    assert "Payment plans" in workbook.sheetnames
