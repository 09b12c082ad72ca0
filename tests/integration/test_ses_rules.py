"""SES's rules, met locally as on AWS: moto takes message tags, addresses, recipient counts and
configuration sets SES refuses; the local stack's SES (and every integration test's) refuses them with
SES's code. A reminder SES refuses for good makes one "fix and resend" task, is not tried again every
hour, pages ops through a metric, and goes once its data is fixed."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from arcollect.dunning.delivery import refused_task_id
from arcollect.store.mail import MessageRefused, SesMailer, customer_from_tags, customer_tags
from arcollect.store.repositories import Tasks
from arcollect_cli.lambda_runtime import load_handler
from arcollect_cli.local.emulator import enforce_ses_rules
from arcollect_cli.local.ses import MESSAGE_MAX_BYTES, send_email_refusal
from tests.integration.dunning_world import World, utc
from tests.integration.real_world import ACCOUNTS
from tests.integration.test_workspace import MANAGER, workspace

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "erp"
SENDER = "collections@seller.example"
CONFIGURATION_SET = "arcollect-test"


def _raw(to: str = "ap@customer.example") -> bytes:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = "Reminder"
    message.set_content("Please pay.")
    return message.as_bytes()


def _send(ses: Any, **changes: Any) -> None:
    request: dict[str, Any] = {
        "FromEmailAddress": SENDER,
        "Destination": {"ToAddresses": ["ap@customer.example"]},
        "Content": {"Raw": {"Data": _raw()}},
        "ConfigurationSetName": CONFIGURATION_SET,
        "EmailTags": [{"Name": "step", "Value": "due"}],
    }
    request.update(changes)
    ses.send_email(**request)


# What SES refuses (its code, the start of its message), each request moto alone takes.
REFUSED = {
    "a customer id as a tag value": (
        {"EmailTags": [{"Name": "customer_id", "Value": "Brennan & Sons, PC"}]},
        "BadRequestException",
        "Invalid tag value <Brennan & Sons, PC>",
    ),
    "a tag name with a space": (
        {"EmailTags": [{"Name": "customer id", "Value": "C-1"}]},
        "BadRequestException",
        "Invalid tag name",
    ),
    "a tag value of 256 characters": (
        {"EmailTags": [{"Name": "customer_id", "Value": "x" * 256}]},
        "BadRequestException",
        "Tag value cannot exceed 255 characters.",
    ),
    "51 message tags": (
        {"EmailTags": [{"Name": f"t{i}", "Value": "v"} for i in range(51)]},
        "BadRequestException",
        "The number of message tags cannot exceed 50.",
    ),
    "an accented local part": (
        {"Destination": {"ToAddresses": ["jürgen.müller@mueller-soen.example"]}},
        "BadRequestException",
        "Local address contains illegal character",
    ),
    "a domain without a dot": (
        {"Destination": {"ToAddresses": ["ap@localhost"]}},
        "BadRequestException",
        "Invalid email address",
    ),
    "a local part with two dots in a row": (
        {"Destination": {"ToAddresses": ["a..b@customer.example"]}},
        "BadRequestException",
        "Local address contains dot-dot",
    ),
    "a configuration set that does not exist": (
        {"ConfigurationSetName": "no-such-set"},
        "NotFoundException",
        "Configuration set <no-such-set> does not exist.",
    ),
}


@pytest.fixture
def plain_moto() -> Iterator[Any]:
    """moto's SES v2 as it comes, with the sender verified and the configuration set made."""
    with mock_aws():
        boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
        ses = boto3.client("sesv2")
        ses.create_configuration_set(ConfigurationSetName=CONFIGURATION_SET)
        yield ses


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_plain_moto_takes_what_the_local_ses_refuses_as_ses_does(plain_moto: Any, case: str) -> None:
    changes, code, message = REFUSED[case]
    # moto alone sends it: a test against it would pass and the reminder never go on AWS
    _send(plain_moto, **changes)
    undo = enforce_ses_rules()
    try:
        with pytest.raises(ClientError) as refused:
            _send(plain_moto, **changes)
    finally:
        undo()
    assert refused.value.response["Error"]["Code"] == code
    assert refused.value.response["Error"]["Message"].startswith(message)
    # And without the rules again, moto takes it again (each caller undoes its own)
    _send(plain_moto, **changes)


def test_a_message_over_40_mb_is_refused() -> None:
    request = {"FromEmailAddress": SENDER, "Destination": {"ToAddresses": ["ap@customer.example"]}}
    refusal = send_email_refusal(request, b"x" * (MESSAGE_MAX_BYTES + 1), [])
    assert refusal is not None and refusal.code == "MessageRejected"
    assert send_email_refusal(request, b"x" * 1000, []) is None


def test_more_than_50_recipients_and_malformed_addresses_in_the_raw_message_are_refused() -> None:
    # (moto refuses these too, with its own codes: the rules answer as SES v2 does)
    many = {
        "FromEmailAddress": SENDER,
        "Destination": {"ToAddresses": [f"ap{i}@c.example" for i in range(51)]},
    }
    refusal = send_email_refusal(many, None, [])
    assert refusal is not None and (refusal.code, refusal.message) == (
        "BadRequestException",
        "Recipient count exceeds 50.",
    )
    raw = send_email_refusal({"FromEmailAddress": SENDER}, _raw(to="Accounts <ap@exa mple.com>"), [])
    assert raw is not None and raw.message == "Domain contains control or whitespace"


def test_what_ses_takes_the_local_ses_takes(aws: None) -> None:
    ses = boto3.client("sesv2")
    _send(
        ses,
        ConfigurationSetName=os.environ["SES_CONFIGURATION_SET"],
        FromEmailAddress=os.environ["SENDER_EMAIL"],
        Destination={
            "ToAddresses": ['"Brennan, Accounts" <ap@brennan-sons.example>', "o'brien+ar@obrien.example"]
        },
        EmailTags=[
            {"Name": "ses:feedback-id-a", "Value": "reminders"},
            {"Name": "customer_id", "Value": "x" * 255},
        ],
    )


def _sample_customer_ids() -> list[str]:
    """Every customer id of the presets' sample exports, as ingest keeps them."""
    ids: set[str] = {account.customer_id for account in ACCOUNTS}
    for expected in SAMPLES.glob("*/expected.json"):
        for invoice in json.loads(expected.read_text()).get("invoices", []):
            ids.add(invoice["customer_id"])
    return sorted(ids)


def test_every_preset_sample_customer_id_reaches_ses_and_comes_back_from_its_events(aws: None) -> None:
    ids = _sample_customer_ids()
    assert "Riverside Dental, PC" in ids and "Brennan & Sons, PC" in ids
    mailer = SesMailer(configuration_set=os.environ["SES_CONFIGURATION_SET"])
    for customer_id in ids:
        tags = {**customer_tags(customer_id), "step": "due"}
        # SES takes the message (the local SES refuses what SES refuses)...
        mailer.send(sender=os.environ["SENDER_EMAIL"], to=["ap@customer.example"], raw=_raw(), tags=tags)
        # ...and its events, which carry every tag as a list, name the customer exactly
        assert customer_from_tags({name: [value] for name, value in tags.items()}) == customer_id


def test_the_mailer_tells_a_refusal_for_good_from_other_failures(aws: None) -> None:
    mailer = SesMailer(configuration_set=os.environ["SES_CONFIGURATION_SET"])
    with pytest.raises(MessageRefused) as refused:
        mailer.send(sender=os.environ["SENDER_EMAIL"], to=["ap@localhost"], raw=_raw("ap@localhost"), tags={})
    assert refused.value.code == "BadRequestException"
    assert refused.value.reason.startswith("Invalid email address")


# --- a reminder SES refuses, through the dunning function -----------------------------------------

MULLER = "Müller/Søn GmbH"


@pytest.fixture
def attempts(aws: None, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every reminder the dunning function handed SES (sent or refused), by its recipients (the
    collectors' daily digests left out)."""
    mailer = load_handler("dunning").app.mailer
    tried: list[list[str]] = []
    send = mailer.send

    def spy(*, sender: str, to: list[str], raw: bytes, tags: dict[str, str]) -> str:
        if not all(address.endswith("@seller.example") for address in to):
            tried.append(list(to))
        return send(sender=sender, to=to, raw=raw, tags=tags)

    monkeypatch.setattr(mailer, "send", spy)
    return tried


BAD_DOMAIN = "kreditoren@mueller_soen.example"


def _refused_world(email: str = BAD_DOMAIN) -> World:
    # Given a customer whose AP address has an underscore in its domain (ingest takes it; SES does not)
    world = World(through_handler=True)
    world.customer(MULLER, email=email, owner="dana@seller.example")
    world.invoice(
        "RE/2026/0815",
        customer_id=MULLER,
        invoice_date=date(2026, 10, 2),
        due_date=date(2026, 11, 1),
        steps_done=("outreach", "courtesy"),
    )
    return world


def test_a_reminder_ses_refuses_makes_one_task_and_is_not_tried_every_hour(
    attempts: list[list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    world = _refused_world()
    # When the sweep runs every hour for two days from the due reminder's morning
    world.run_every_hour(utc(2026, 11, 2, 7), utc(2026, 11, 4, 7))
    # Then SES was asked once, refused it, and nothing went
    assert attempts == [[BAD_DOMAIN]]
    assert world.emails(MULLER) == []
    # And one fix-and-resend task carries SES's reason, on the customer's owner's worklist
    [task] = [t for t in world.tasks(MULLER) if t.kind == "fix_and_resend"]
    assert task.detail["ses_code"] == "BadRequestException"
    assert task.detail["ses_reason"] == "Domain contains illegal character"
    assert task.assignee == "dana@seller.example" and "RE/2026/0815" in task.title
    # And the timeline says so
    [refused] = [a for a in world.timeline(MULLER) if a.kind == "email_refused"]
    assert "Domain contains illegal character" in refused.summary
    # And the function counted it in the metric ops are paged on
    metrics = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if "RemindersRefused" in line
    ]
    # (EMF writes a metric added more than once in one invocation as a list of values)
    values = [m["RemindersRefused"] for m in metrics]
    assert sum(sum(v) if isinstance(v, list) else v for v in values) == 1
    # And only the hour it happened published the count: CloudWatch bills a custom metric for every
    # hour it is published in, and the other 47 ticks had nothing to count
    assert len(metrics) == 1

    # When the ERP's customers file fixes the address
    world.change_customer(MULLER, email="kreditoren@mueller-soen.example")
    world.run_every_hour(utc(2026, 11, 4, 7), utc(2026, 11, 4, 10))
    # Then the reminder goes to the fixed address, once: the first tick in the send window sees the
    # fix and frees the refused email, the next one sends it
    [email] = world.emails(MULLER)
    assert email.to == ["kreditoren@mueller-soen.example"] and email.invoices == ["RE/2026/0815"]
    assert email.at == utc(2026, 11, 4, 9)


def test_closing_the_fix_and_resend_task_sends_the_reminder_again(attempts: list[list[str]]) -> None:
    world = _refused_world()
    world.run(utc(2026, 11, 2, 7), utc(2026, 11, 2, 12))
    [task] = [t for t in world.tasks(MULLER) if t.kind == "fix_and_resend"]
    assert len(attempts) == 1
    # When a collector closes the task (the address looked right to them: SES is asked again)
    workspace(world).record_outcome(
        MULLER, task.task_id, outcome="reached", note="", by=MANAGER, now=utc(2026, 11, 2, 12)
    )
    world.run_every_hour(utc(2026, 11, 2, 12), utc(2026, 11, 3, 12))
    # Then SES is asked once more, refuses again, and the same task is open again with its reason
    assert len(attempts) == 2
    [reopened] = [
        t for t in Tasks().for_customer(MULLER) if t.task_id == refused_task_id(task.detail["touch_id"])
    ]
    assert reopened.status == "open"


def test_a_reminder_that_cannot_be_written_is_refused_for_good_too(attempts: list[list[str]]) -> None:
    # Given an accented local part: the email standard cannot carry it without SMTPUTF8 (SES has none)
    world = _refused_world("jürgen.müller@mueller-soen.example")
    world.run_every_hour(utc(2026, 11, 2, 7), utc(2026, 11, 3, 7))
    # Then nothing reached SES, the step is not recorded as taken, and one task says why
    assert attempts == [] and world.emails(MULLER) == []
    assert "due" not in world.get("RE/2026/0815", MULLER).steps_done
    [task] = [t for t in world.tasks(MULLER) if t.kind == "fix_and_resend"]
    assert task.detail["ses_code"] == "MessageNotWritable"
    assert "non-ASCII" in task.detail["ses_reason"]
