"""The whole reply loop on a local stack started with an inbound domain (`arcollect local up -c
inboundDomain=replies.example.com`): the dunning tick's reminder in the local outbox says "reply to
reply+<token>@replies.example.com"; the customer's answer to that address, dropped with `arcollect inbox
drop`, is threaded by the address to its customer, as on AWS."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from arcollect.contract import HEADER_CUSTOMER
from arcollect_cli.generate import CUSTOMER_COLUMNS, INVOICE_COLUMNS
from tests.e2e.conftest import RunningStack, _clean_env, recent_send_morning, stop_stack

DOMAIN = "replies.example.com"
CUSTOMER = "Müller & Söhne, GmbH"
TICK_AT = recent_send_morning()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    workdir = tmp_path_factory.mktemp("inbound-stack")
    process = subprocess.Popen(
        [sys.executable, "-m", "arcollect_cli.main", "local", "up", "-c", f"inboundDomain={DOMAIN}"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_clean_env(),
    )
    outputs = workdir / ".local" / "outputs.json"
    deadline = time.monotonic() + 60
    while not outputs.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.send_signal(signal.SIGTERM)
            raise AssertionError(
                f"the local stack did not start: {process.stdout.read() if process.stdout else ''}"
            )
        time.sleep(0.1)
    running = RunningStack(workdir=workdir, outputs=json.loads(outputs.read_text()), process=process)
    yield running
    assert stop_stack(running) == 0


def test_a_reminders_reply_address_threads_the_answer_on_the_local_stack(stack: RunningStack) -> None:
    # Given a customer with an invoice a month late, and the dunning tick's reminder
    day = datetime.fromisoformat(TICK_AT.replace("Z", "+00:00")).date()
    customer = dict.fromkeys(CUSTOMER_COLUMNS, "")
    customer.update(
        customer_id=CUSTOMER, name="Müller & Söhne GmbH", email="kreditoren@mueller-soehne.example",
        country="DE", time_zone="Europe/Berlin", language="de",
    )  # fmt: skip
    invoice = dict.fromkeys(INVOICE_COLUMNS, "")
    invoice.update(
        customer_id=CUSTOMER, invoice_number="INV/2026/0042",
        invoice_date=(day - timedelta(days=60)).isoformat(),
        due_date=(day - timedelta(days=30)).isoformat(), amount="1250.00", currency="EUR",
        open_amount="1250.00", document_type="invoice",
    )  # fmt: skip
    for kind, row in (("customers", customer), ("invoices", invoice)):
        path = stack.workdir / f"{kind}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            writer.writeheader()
            writer.writerow(row)
        stack.json("ingest", str(path), "--kind", kind)
    stack.json("tick", "dunning", "--at", TICK_AT)
    outbox = Path(stack.outputs["Local"]["Outbox"])
    reminders = [
        m
        for m in (
            message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(outbox.glob("*.eml"))
        )
        if str(m[HEADER_CUSTOMER]) == CUSTOMER
    ]
    assert reminders, f"no reminder to {CUSTOMER} in {outbox}"
    reminder = reminders[0]
    assert isinstance(reminder, EmailMessage)
    [reply_to] = reminder["Reply-To"].addresses
    assert reply_to.domain == DOMAIN and reply_to.username.startswith("reply+")

    # When the customer answers it (from another address than the one on file, with no headers)
    answer = EmailMessage()
    answer["From"] = "Jürgen Müller <j.mueller@mueller-soehne.example>"
    answer["To"] = reply_to.addr_spec
    answer["Subject"] = "Re: " + str(reminder["Subject"])
    answer["Message-ID"] = "<answer-1@mueller-soehne.example>"
    answer.set_content("Die Rechnung INV/2026/0042 haben wir gestern überwiesen.")
    (stack.workdir / "answer.eml").write_bytes(answer.as_bytes())
    filed = stack.json("inbox", "drop", "answer.eml")

    # Then the reply address alone threads it to the customer, flagged as paid
    assert filed["customer_id"] == CUSTOMER, filed
    assert "says paid (überwiesen)" in filed["summary"], filed
    shown = stack.json("show", "customer", CUSTOMER)
    [entry] = [a for a in shown["timeline"] if a["kind"] == "reply_received"]
    assert entry["detail"]["threaded_by"] == "reply address"
    assert entry["detail"]["touch_id"] == str(reminder["X-Arcollect-Touch"])
