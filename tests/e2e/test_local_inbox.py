"""Customers' replies through the running local stack, from a terminal: `arcollect inbox drop FILE.eml`
writes the message where SES would (inbox/ in the drop bucket), the bucket's notification takes it to
the ingest function, and the command says where it was filed. The same message twice is filed once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningStack

INBOX = Path(__file__).resolve().parent.parent / "data" / "inbox"
CUSTOMER = "Müller & Söhne, GmbH"


@pytest.fixture(scope="module")
def workdir(local_stack: RunningStack) -> Path:
    for message in INBOX.glob("*.eml"):
        shutil.copy(message, local_stack.workdir / message.name)
    (local_stack.workdir / "customers.csv").write_text(
        f'customer_id,name,email,country\n"{CUSTOMER}","{CUSTOMER}",ap@mueller.example,DE\n',
        encoding="utf-8",
    )
    result = local_stack.json("ingest", "customers.csv", "--kind", "customers")
    assert result["accepted"] == 1, result
    return local_stack.workdir


def test_a_reply_dropped_from_a_terminal_is_threaded_by_its_sender_and_filed_once(
    local_stack: RunningStack, workdir: Path
) -> None:
    # When the finance team drops a customer's "paid yesterday" reply (no reply address configured
    # locally: the sender's address finds the customer)
    first = local_stack.json("inbox", "drop", "paid_remittance.eml")
    # Then it is filed in that customer's timeline, flagged, and a second delivery changes nothing
    assert first["customer_id"] == CUSTOMER
    assert first["kind"] == "reply_received"
    assert "says paid (paid, bank transfer, remittance)" in first["summary"]
    assert first["duplicate"] is False
    again = local_stack.json("inbox", "drop", "paid_remittance.eml")
    assert again["duplicate"] is True
    assert again["activity_id"] == first["activity_id"]
    shown = local_stack.json("show", "customer", CUSTOMER)
    text = str(shown)
    assert text.count(first["activity_id"]) >= 1


def test_an_unknown_reply_and_a_non_email_are_said_plainly(local_stack: RunningStack, workdir: Path) -> None:
    unknown = local_stack.json("inbox", "drop", "unknown_token.eml")
    assert unknown["customer_id"] == "~unthreaded-replies"
    (workdir / "empty.eml").write_bytes(b"")
    refused = local_stack.arcollect("inbox", "drop", "empty.eml", check=False)
    assert refused.returncode != 0
    assert "empty" in refused.stderr
