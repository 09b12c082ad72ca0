"""A dunning letter on the local stack, as a finance team meets it (issue 21, item 1): a customer master
with a postal address and no email address, an invoice long overdue, the hourly tick, and the letter
with its manifest in the local drop bucket's outgoing/letters/, ready for the print-and-mail service."""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from arcollect.contract import DropPrefix
from tests.e2e.conftest import RunningStack, recent_send_morning

pytestmark = pytest.mark.e2e

CUSTOMER = "Müller & Söhne, GmbH"
TICK_AT = recent_send_morning()


@pytest.fixture
def local_s3(local_stack: RunningStack) -> Iterator[Any]:
    saved = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = local_stack.outputs["Local"]["AwsEndpoint"]
    yield boto3.client("s3")
    if saved is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    else:
        os.environ["AWS_ENDPOINT_URL"] = saved


def test_an_overdue_customer_without_email_gets_a_letter_in_outgoing_letters(
    local_stack: RunningStack, local_s3: Any, tmp_path: Path
) -> None:
    # Given a customer with a postal address and no email, and an invoice 70 days overdue (the shipped
    # final notice goes by email, else by letter; the first statement stands in for the steps missed)
    due = (datetime.fromisoformat(TICK_AT.replace("Z", "+00:00")) - timedelta(days=70)).date()
    files = {
        "customers": "customer_id,name,email,country,language,address_line1,postal_code,city\n"
        f'"{CUSTOMER}","{CUSTOMER}",,DE,de,Königsallee 12,40212,Düsseldorf\n',
        "invoices": "customer_id,invoice_number,invoice_date,due_date,amount,currency\n"
        f'"{CUSTOMER}",INV/2026/0042,{due - timedelta(days=30)},{due},1234.56,EUR\n',
    }
    for kind, text in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        assert local_stack.json("ingest", str(path), "--kind", kind)["accepted"] == 1
    # When the hourly dunning tick runs, and runs again for the same hour
    first = local_stack.json("tick", "dunning", "--at", TICK_AT)
    again = local_stack.json("tick", "dunning", "--at", TICK_AT)
    assert first["customers"] == 1 and again["duplicate"] is True
    # Then the local drop bucket holds one letter and its manifest under outgoing/letters/<day>/
    bucket = local_stack.outputs["DropBucketName"]
    listed = local_s3.list_objects_v2(Bucket=bucket, Prefix=DropPrefix.LETTERS).get("Contents", [])
    keys = sorted(o["Key"] for o in listed)
    assert [k.rsplit(".", 1)[1] for k in keys] == ["json", "pdf"], keys
    manifest = json.loads(local_s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read())
    pdf = local_s3.get_object(Bucket=bucket, Key=manifest["file"])["Body"].read()
    assert manifest["file"] == keys[1] and manifest["file"].startswith(f"{DropPrefix.LETTERS}{TICK_AT[:10]}/")
    assert manifest["address"] == [CUSTOMER, "Königsallee 12", "40212 Düsseldorf"]
    assert manifest["sha256"] == hashlib.sha256(pdf).hexdigest() and manifest["pages"] >= 1
    # And the letter is the customer's, in German, with the amount and the portal link
    from pypdf import PdfReader

    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "INV/2026/0042" in text and "1.234,56 EUR" in text and "/l/" in text.replace(" ", "")
    # And the customer's timeline says so
    shown = local_stack.json("show", "customer", CUSTOMER)
    assert "letter_sent" in json.dumps(shown)
    # And `arcollect letters fetch` copies the letter and its manifest into a folder, once
    folder = tmp_path / "print"
    [fetched] = local_stack.json("letters", "fetch", "--to", str(folder))
    assert (fetched["customer_id"], fetched["status"]) == (CUSTOMER, "written")
    day_folder = folder / TICK_AT[:10]
    assert sorted(p.suffix for p in day_folder.iterdir()) == [".json", ".pdf"]
    assert Path(fetched["pdf"]).read_bytes() == pdf
    [again] = local_stack.json("letters", "fetch", "--to", str(folder))
    assert again["status"] == "unchanged"
