"""A reminder text on the local stack, as a finance team meets it (issue 21, item 2): a customer master
with a mobile number, a policy whose email steps text first, the hourly tick, the text in
.local/outbox/sms/ (`arcollect outbox --sms`), and the customer's STOP reply (`arcollect sms reply`)
opting the number out, so the next reminder goes by email."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from arcollect.policy import SHIPPED_POLICY
from tests.e2e.conftest import RunningStack, recent_send_morning

pytestmark = pytest.mark.e2e

CUSTOMER = "Müller & Söhne, GmbH"
MOBILE = "+4915123456789"
TICK_AT = recent_send_morning()


def test_a_text_lands_in_the_sms_outbox_and_a_stop_reply_opts_the_number_out(
    local_stack: RunningStack, tmp_path: Path
) -> None:
    # Given a policy whose email steps go by text first (then email), uploaded from a terminal
    policy = re.sub(
        r"(action: email, template: \w+)\}", r"\1, channels: [sms, email]}", SHIPPED_POLICY.read_text()
    )
    (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
    local_stack.arcollect("dunning", "policy", "upload", str(tmp_path / "policy.yaml"))
    # And a customer with a national mobile number (read as German by its country) and an email, whose
    # invoice became late yesterday
    due = (datetime.fromisoformat(TICK_AT.replace("Z", "+00:00")) - timedelta(days=1)).date()
    files = {
        "customers": "customer_id,name,email,country,language,mobile\n"
        f'"{CUSTOMER}","{CUSTOMER}",ap@mueller.example,DE,de,0151 2345 6789\n',
        "invoices": "customer_id,invoice_number,invoice_date,due_date,amount,currency\n"
        f'"{CUSTOMER}",INV/2026/0042,{due - timedelta(days=30)},{due},1234.56,EUR\n',
    }
    for kind, text in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        assert local_stack.json("ingest", str(path), "--kind", kind)["accepted"] == 1
    # When the hourly dunning tick runs
    assert local_stack.json("tick", "dunning", "--at", TICK_AT)["customers"] == 1
    # Then one text is in .local/outbox/sms/, as a JSON file, to the number in E.164, with a portal link
    outbox = Path(local_stack.outputs["Local"]["SmsOutbox"])
    assert outbox == local_stack.workdir / ".local" / "outbox" / "sms"
    (file,) = outbox.glob("*.json")
    text = json.loads(file.read_text(encoding="utf-8"))
    assert (text["to"], text["customer"], text["encoding"]) == (MOBILE, CUSTOMER, "GSM-7")
    assert 1 <= text["segments"] <= 2 and text["touch_id"]
    assert f"{local_stack.outputs['PortalUrl']}l/" in text["body"] and "STOP" in text["body"]
    # And `arcollect outbox --sms` lists it; no email carried the same step
    assert [t["message_id"] for t in local_stack.json("outbox", "--sms")] == [file.stem]
    assert local_stack.json("outbox") == []
    # When the customer replies STOP
    stop_at = TICK_AT.replace("T09:00:00Z", "T09:10:00Z")
    replied = local_stack.json("sms", "reply", "--from", MOBILE, "--at", stop_at, "STOP")
    # Then the customer is opted out, and its timeline says so
    assert replied["replies"][0]["customers"] == [CUSTOMER]
    shown = json.dumps(local_stack.json("show", "customer", CUSTOMER))
    assert "sms_opted_out" in shown and "sms_sent" in shown
    # When the customer replies START (issue 21: opting back in)
    start_at = TICK_AT.replace("T09:00:00Z", "T09:20:00Z")
    started = local_stack.json("sms", "reply", "--from", MOBILE, "--at", start_at, "START")
    # Then the customer may be texted again: the flag is cleared, with its own timeline entry
    assert started["replies"][0] == {
        "opt_out": False,
        "opt_in": True,
        "keyword": "START",
        "customers": [CUSTOMER],
    }
    shown = json.dumps(local_stack.json("show", "customer", CUSTOMER))
    assert "sms_opted_in" in shown
    # When the carrier says the text never reached the phone (`arcollect sms receipt`: the event AWS
    # sends to EventBridge, with the text's Context)
    receipt_at = TICK_AT.replace("T09:00:00Z", "T09:25:00Z")
    receipt = local_stack.json(
        "sms", "receipt", file.stem, "--status", "TEXT_UNREACHABLE", "--at", receipt_at
    )
    assert receipt["outcome"] == "undelivered"
    assert receipt["fell_back"] == [["INV/2026/0042", text["step"]]]
    # Then the next tick sends the step by email, the channel after sms, and the timeline says why
    local_stack.json("tick", "dunning", "--at", TICK_AT.replace("T09:00:00Z", "T09:30:00Z"))
    (email,) = local_stack.json("outbox")
    assert email["customer_id"] == CUSTOMER
    shown = json.dumps(local_stack.json("show", "customer", CUSTOMER), ensure_ascii=False)
    assert "sms_undelivered" in shown and "the phone was off or out of the network" in shown
    # And a message id the outbox does not have is refused, saying where to look
    refused = local_stack.arcollect(
        "sms", "receipt", "no-such-text", "--status", "TEXT_DELIVERED", "--at", receipt_at, check=False
    )
    assert refused.returncode != 0 and "arcollect outbox --sms --json" in refused.stderr
