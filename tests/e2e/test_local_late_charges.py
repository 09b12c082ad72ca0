"""Statutory late charges on the local stack, as a finance team meets them (issue 21, item 3): a policy
uploaded with `arcollect dunning policy upload` that charges one customer a fixed annual rate and the EU's
EUR 40 compensation; the letter the hourly tick posts and the portal page the customer opens show them,
worked out by hand, beside the amount due and never in it."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from arcollect.contract import DropPrefix
from tests.e2e.conftest import RunningStack, recent_send_morning
from tests.e2e.test_local_path import http_get, session_from_link

pytestmark = pytest.mark.e2e

CUSTOMER = "Dupont & Fils, SARL"
TICK_AT = recent_send_morning()
DAYS_LATE = 70
AMOUNT = Decimal("1234.56")
RATE = Decimal("9.5")  # percent a year, fixed


@pytest.fixture
def local_s3(local_stack: RunningStack) -> Iterator[Any]:
    saved = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = local_stack.outputs["Local"]["AwsEndpoint"]
    yield boto3.client("s3")
    if saved is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    else:
        os.environ["AWS_ENDPOINT_URL"] = saved


def test_an_uploaded_policy_s_charges_reach_the_letter_and_the_portal(
    local_stack: RunningStack, local_s3: Any, tmp_path: Path
) -> None:
    # Given the shipped policy with charges for one customer: 9.5% a year and the EU's EUR 40
    policy = tmp_path / "dunning-policy.yaml"
    source = (Path(__file__).parents[2] / "layers/common/python/arcollect/policies/default.yaml").read_text(
        encoding="utf-8"
    )
    policy.write_text(
        source
        + "\nlate_charges:\n  customers:\n"
        + f'    "{CUSTOMER}": {{interest: {{annual_rate: {RATE}}}, compensation: eu}}\n',
        encoding="utf-8",
    )
    local_stack.arcollect("dunning", "policy", "upload", str(policy))
    # And a customer in France with a postal address and no email, one invoice 70 days overdue
    due = (datetime.fromisoformat(TICK_AT.replace("Z", "+00:00")) - timedelta(days=DAYS_LATE)).date()
    files = {
        "customers": "customer_id;name;email;country;language;address_line1;postal_code;city\n"
        f'"{CUSTOMER}";"{CUSTOMER}";;FR;fr;12 rue de la Paix;75002;Paris\n',
        "invoices": "customer_id;invoice_number;invoice_date;due_date;amount;currency\n"
        f'"{CUSTOMER}";FAC/2026/0042;{due - timedelta(days=30):%d/%m/%Y};{due:%d/%m/%Y};1.234,56;EUR\n',
    }
    for kind, text in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        assert local_stack.json("ingest", str(path), "--kind", kind)["accepted"] == 1

    # When the hourly dunning tick posts the customer a letter
    local_stack.json("tick", "dunning", "--at", TICK_AT)

    # Then the letter shows the interest of 70 days at 9.5% on EUR 1,234.56 (actual/365: 1,234.56 x
    # 0.095 x 70 / 365 = 22.4923... = EUR 22.49) and the EUR 40 compensation, in French notation
    interest = (AMOUNT * RATE / 100 * DAYS_LATE / 365).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert interest == Decimal("22.49")
    bucket = local_stack.outputs["DropBucketName"]
    listed = local_s3.list_objects_v2(Bucket=bucket, Prefix=DropPrefix.LETTERS).get("Contents", [])
    [manifest_key] = [o["Key"] for o in listed if o["Key"].endswith(".json")]
    manifest = json.loads(local_s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    assert manifest["customer_id"] == CUSTOMER
    pdf = local_s3.get_object(Bucket=bucket, Key=manifest["file"])["Body"].read()
    from pypdf import PdfReader

    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    flat = text.replace("\u202f", " ").replace("\xa0", " ")
    assert "FAC/2026/0042" in flat, text
    assert "22,49 EUR" in flat and "40,00 EUR" in flat, text
    # (the amount due stays the invoice's: the charges are shown, not collected)
    assert "1 234,56 EUR" in flat, text

    # And the portal page the customer opens from a signed link shows them beside the amount due
    link = local_stack.arcollect("portal-link", CUSTOMER).stdout.strip()
    # (the link's landing page opens the account only on the customer's button, whose POST sets the
    # session cookie: Secure, so sent by hand over the local stack's plain http)
    cookie, account = session_from_link(link)
    status, _, page = http_get(account, cookie)
    assert status == 200, page[:500]
    flat_page = " ".join(page.replace("\u202f", " ").replace("\xa0", " ").replace("&nbsp;", " ").split())
    assert "FAC/2026/0042" in flat_page, flat_page[flat_page.find("<body") :][:1500]
    # (the portal's day is today in Paris, which may be later than the tick's: its own days, by hand)
    days = (datetime.now(ZoneInfo("Europe/Paris")).date() - due).days
    to_date = (AMOUNT * RATE / 100 * days / 365).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert f"{to_date + 40:,.2f} EUR statutory late-payment charges to date" in flat_page, flat_page
    assert f"{to_date:,.2f}" in flat_page and "40.00" in flat_page
    assert "<strong>1,234.56 EUR</strong> due" in flat_page
