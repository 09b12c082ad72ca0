"""The ERP change feed on the local stack, as an ERP administrator meets it: a customer disputes an invoice
in the portal over HTTP, `arcollect changes fetch` shows the day so far as partial files, the reports
function's daily tick writes the day, and the next fetch copies the final files (and again: nothing)."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunningStack
from tests.e2e.test_local_path import http_get, session_from_link

pytestmark = pytest.mark.e2e

CUSTOMER = "Brennan & Sons, PC"
CUSTOMERS = f'customer_id,name,email,country\n"{CUSTOMER}",Brennan & Sons,ap@brennan.example,DE\n'
INVOICES = (
    "customer_id,invoice_number,invoice_date,due_date,amount,currency\n"
    f'"{CUSTOMER}",INV/2026/001,2026-01-05,2026-02-04,1000.00,EUR\n'
)


def post_json(url: str, cookie: str, csrf: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 (the local stack's own http URL)
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Cookie": cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return response.status, json.loads(response.read())


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def test_a_portal_dispute_reaches_the_fetched_change_feed_partial_then_final(
    local_stack: RunningStack, tmp_path: Path
) -> None:
    # Given a customer and an invoice loaded through the drop bucket
    for kind, text in (("customers", CUSTOMERS), ("invoices", INVOICES)):
        path = tmp_path / f"{kind}.csv"
        path.write_text(text)
        assert local_stack.json("ingest", str(path), "--kind", kind)["accepted"] == 1
    # When the customer opens a portal link and disputes the invoice over HTTP
    link = local_stack.arcollect("portal-link", CUSTOMER).stdout.strip()
    cookie, _ = session_from_link(link)
    portal = local_stack.outputs["PortalUrl"]
    account = json.loads(http_get(portal + "api/v1/account", cookie)[2])
    status, dispute = post_json(
        portal + "api/v1/disputes",
        cookie,
        account["csrf_token"],
        {"invoice_number": "INV/2026/001", "reason": "wrong_amount_or_price", "comment": "=SUM(A1) is wrong"},
    )
    assert status == 201
    # Then the day so far is fetched as partial files, built from the change's own object
    feed = tmp_path / "feed"
    partial = local_stack.json("changes", "fetch", "--to", str(feed))
    [day] = {item["day"] for item in partial}
    assert all(not item["final"] for item in partial)
    [row] = rows(feed / f"{day}.partial.csv")
    assert (row["kind"], row["customer_id"], row["invoice_number"], row["reference"]) == (
        "dispute_opened",
        CUSTOMER,
        "INV/2026/001",
        dispute["dispute_id"],
    )
    assert row["note"] == "'=SUM(A1) is wrong", "the CSV cell is neutralised"
    # When the reports function's daily schedule fires the next morning
    next_morning = f"{date.fromisoformat(day) + timedelta(days=1)}T05:00:00Z"
    tick = local_stack.json("tick", "reports", "--at", next_morning)
    assert f"outgoing/daily/{day}.csv" in tick["change_feed"]
    # Then the next fetch copies the final day and removes the partial one
    final = local_stack.json("changes", "fetch", "--to", str(feed))
    assert (day, True, "written") in {(i["day"], i["final"], i["status"]) for i in final}
    # (with the day before, written again by the same tick in case a change reached it late: empty)
    before = date.fromisoformat(day) - timedelta(days=1)
    assert rows(feed / f"{before}.csv") == [] and (feed / f"{before}.jsonl").read_bytes() == b""
    assert not (feed / f"{day}.partial.csv").exists()
    assert rows(feed / f"{day}.csv") == [row]
    assert rows(feed / day / "dispute_opened.csv") == [row]
    [line] = (feed / f"{day}.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["note"] == "=SUM(A1) is wrong", "JSON Lines keep the exact text"
    # And fetching again changes nothing
    again = local_stack.json("changes", "fetch", "--to", str(feed))
    assert {i["status"] for i in again} == {"unchanged"}
    text = local_stack.arcollect("changes", "fetch", "--to", str(feed), "--since", day).stdout
    assert f"unchanged {feed / day}.csv" in " ".join(text.split())
