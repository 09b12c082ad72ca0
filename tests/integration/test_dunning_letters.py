"""Dunning letters through the dunning function against moto (issue 21, items 1 and 4): a final notice
a customer without a working email address gets by letter, handed to the print-and-mail service as a
PDF and its manifest in the drop bucket's outgoing/letters/, with the figures a reader checks; once,
whatever a retried tick or a crash between the steps does."""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from arcollect.dunning.delivery import Services
from arcollect.entities import Allocation, Payment
from arcollect.policy import parse_policy
from arcollect.store.changes import ChangeLog
from arcollect.store.letters import LETTERS_PREFIX, LetterObjects
from arcollect.store.repositories import Accounts, Customers
from tests.integration.dunning_world import Crash, Faults, FaultyLedger, FaultyStore, World, utc
from tests.integration.ingest_flow import ingest
from tests.unit.test_interest import STANDARD_EU

CUSTOMER = "Müller & Söhne, GmbH"
ADDRESS = ("Königsallee 12", "40212 Düsseldorf")
# A final notice 30 days after the due date, by email or else by letter; a reminder before it by email.
POLICY = f"""
segments:
  - {{name: everyone, policy: standard}}
policies:
  standard:
{STANDARD_EU}    steps:
      - {{id: reminder, trigger: {{days: 7}}, action: email, template: reminder}}
      - id: final_notice
        trigger: {{days: 30}}
        action: email
        template: final_notice
        channels: [email, letter]
"""
# The EU worked example (tests/unit/test_interest.py): EUR 10,000 due 31 May 2024, EUR 4,000 paid on
# 15 June, a EUR 1,000 credit note booked on 10 July; on 31 July: 61 days late, interest 135.86.
TICK = utc(2024, 7, 31, 7)  # 09:00 in Düsseldorf


def _letters() -> dict[str, bytes]:
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=os.environ["DROP_BUCKET"], Prefix=LETTERS_PREFIX).get("Contents", [])
    return {
        o["Key"]: s3.get_object(Bucket=os.environ["DROP_BUCKET"], Key=o["Key"])["Body"].read() for o in listed
    }


def _text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def _world(world: World, *, email: str = "", address: tuple[str, ...] = ADDRESS) -> World:
    world.customer(CUSTOMER, name=CUSTOMER, email=email, language="de-DE", postal_address=address)
    world.invoice(
        "INV/2026/0042",
        customer_id=CUSTOMER,
        invoice_date=date(2024, 5, 1),
        due_date=date(2024, 5, 31),
        amount="10000.00",
        open_amount="5000.00",
        steps_done=("reminder",),
        credit_match="CN/2026/0007",  # the credit agreed on it, booked as that credit note
    )
    world.invoice(
        "CN/2026/0007",
        customer_id=CUSTOMER,
        invoice_date=date(2024, 7, 10),
        due_date=date(2024, 7, 10),
        amount="1000.00",
        open_amount="0",
        status="closed",
        document_type="credit_note",
        credit_match="INV/2026/0042",
    )
    # An open credit note nobody matched yet: the letter asks for the net amount.
    world.invoice(
        "CN/2026/0009",
        customer_id=CUSTOMER,
        invoice_date=date(2024, 7, 20),
        due_date=date(2024, 7, 20),
        amount="65.44",
        document_type="credit_note",
    )
    Accounts().add_payments(
        [
            Payment(
                customer_id=CUSTOMER,
                payment_id="P/2024/0615",
                payment_date=date(2024, 6, 15),
                amount=Decimal(4000),
                currency="EUR",
                applied_amount=Decimal(4000),
                allocations=(Allocation("INV/2026/0042", Decimal(4000)),),
            )
        ]
    )
    return world


def _upload_policy() -> None:
    boto3.client("s3").put_object(
        Bucket=os.environ["DROP_BUCKET"], Key="config/dunning-policy.yaml", Body=POLICY.encode()
    )


def test_a_final_notice_goes_by_letter_with_its_manifest_figures_and_timeline(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a German customer without an email address, with a postal address, and the EU example
    _upload_policy()
    world = _world(World(through_handler=True))
    # When the hourly tick runs through the dunning function, and the same tick is retried
    first = world.tick(TICK)
    again = world.tick(TICK)
    later = world.tick(TICK + timedelta(hours=1))
    # Then one letter and its manifest are in outgoing/letters/<day>/
    objects = _letters()
    assert sorted(k.rsplit(".", 1)[1] for k in objects) == ["json", "pdf"], objects.keys()
    [manifest_key] = [k for k in objects if k.endswith(".json")]
    manifest = json.loads(objects[manifest_key])
    pdf = objects[manifest["file"]]
    assert manifest["file"].startswith(f"{LETTERS_PREFIX}2024-07-31/letter-")
    assert manifest["customer_id"] == CUSTOMER
    assert manifest["address"] == [CUSTOMER, *ADDRESS]
    assert manifest["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert manifest["pages"] >= 1 and manifest["invoices"] == ["INV/2026/0042"]
    assert (manifest["template"], manifest["language"]) == ("final_notice", "de")
    # And the letter shows the open item, the net amount, the statutory charges and the portal link
    text = _text(pdf)
    assert "INV/2026/0042" in text and "5.000,00 EUR" in text
    assert "CN/2026/0009" in text and "Zu zahlen 4.934,56 EUR" in text  # 5,000.00 - 65.44
    assert "135,86 EUR" in text and "40,00 EUR" in text  # interest.py's figures, as emailed
    assert os.environ["PORTAL_BASE_URL"] in text.replace(" ", "")
    # And it is on the timeline once, and the step is done
    letters = [a for a in world.timeline(CUSTOMER) if a.kind == "letter_sent"]
    assert [(a.detail["file"], a.detail["sha256"]) for a in letters] == [
        (manifest["file"], manifest["sha256"])
    ]
    assert "final_notice" in world.get("INV/2026/0042", CUSTOMER).steps_done
    assert first.report.outcomes["letter_posted"] == 1
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"LettersPosted"' in line]
    # The metric ops watch: published by the run that posted it, not by the two with none to count
    assert [m["LettersPosted"] for m in metrics] == [[1.0]]
    assert again.report.outcomes["letter_posted"] == 0 and later.report.outcomes["letter_posted"] == 0
    assert world.emails(CUSTOMER) == []
    # And the ERP's change feed gets the charges the letter listed, once, as with an emailed final notice
    booked = [(r["kind"], Decimal(r["amount"])) for r in ChangeLog().records_of(TICK.date())]
    assert sorted(booked) == [("late_compensation", Decimal(40)), ("late_interest", Decimal("135.86"))]


def test_no_email_and_no_postal_address_no_letter_but_a_task_with_the_reason(aws: None) -> None:
    _upload_policy()
    world = _world(World(through_handler=True), address=())
    result = world.tick(TICK)
    assert _letters() == {}
    assert result.report.outcomes["letter_posted"] == 0
    [task] = [t for t in world.tasks(CUSTOMER) if t.kind == "fix_contact"]
    assert "no channel reaches the customer" in task.title
    assert "letter: no postal address in the customer master" in task.title


def test_a_customer_with_email_gets_the_email_and_no_letter(aws: None) -> None:
    _upload_policy()
    world = _world(World(through_handler=True), email="ap@mueller.example")
    world.tick(TICK)
    assert _letters() == {}
    assert [e.step for e in world.emails(CUSTOMER)] == ["final_notice"]


# --- a crash between the steps -----------------------------------------------------------------------


class CrashingLedger(FaultyLedger):
    def complete_letter(self, *args: Any, **kwargs: Any) -> None:
        self.faults.maybe("before_complete_letter")
        super().complete_letter(*args, **kwargs)


@dataclass
class CrashingBox(LetterObjects):
    """The drop bucket's letters, with a crash after the PDF and before its manifest."""

    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        super().__init__(os.environ["DROP_BUCKET"])

    def post(self, day: date, letter_id: str, pdf: bytes, manifest: dict[str, Any]) -> str:
        if self.faults.at == "before_manifest" and self.faults.times > 0:
            self._objects.put_bytes(
                self.bucket, f"{LETTERS_PREFIX}{day}/{letter_id}.pdf", pdf, "application/pdf"
            )
            self.faults.maybe("before_manifest")
        return super().post(day, letter_id, pdf, manifest)


@dataclass
class LetterWorld(World):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.store = FaultyStore(self.faults, touches=CrashingLedger(self.faults))
        self.box = CrashingBox(faults=self.faults)

    def services(self, at: datetime | None = None) -> Services:
        from dataclasses import replace

        return replace(super().services(at), letters=self.box)


@pytest.mark.parametrize("boundary", ["before_complete_letter", "before_manifest"])
def test_a_crash_between_render_and_the_ledger_never_makes_two_letters(aws: None, boundary: str) -> None:
    # Given the customer to write to, and a process that dies at ``boundary`` once
    world = _world(LetterWorld(policies=parse_policy(POLICY, source="test"), faults=Faults(at=boundary)))
    # When the tick crashes there, a retry runs within the lease, and the next ticks run
    with pytest.raises(Crash):
        world.tick(TICK)
    within_lease = world.tick(TICK + timedelta(minutes=5))
    assert within_lease.report.outcomes["letter_in_flight"] == 1  # someone may be posting it: wait
    results = [world.tick(TICK + timedelta(hours=h)) for h in (1, 2, 3)]
    # Then exactly one letter was handed over (one manifest), recorded once on the timeline
    manifests = [k for k in _letters() if k.endswith(".json")]
    assert len(manifests) == 1
    letters = [a for a in world.timeline(CUSTOMER) if a.kind == "letter_sent"]
    assert len(letters) == 1
    assert "final_notice" in world.get("INV/2026/0042", CUSTOMER).steps_done
    outcomes = sum((r.report.outcomes for r in results), start=within_lease.report.outcomes)
    if boundary == "before_complete_letter":
        # The manifest was written: the letter was handed over, so it is recorded, never posted again.
        assert (outcomes["letter_completed_late"], outcomes["letter_posted"]) == (1, 0)
    else:
        # Only the PDF was written: nothing was handed over, so the letter is freed and posted once.
        assert (outcomes["letter_released"], outcomes["letter_posted"]) == (1, 1)


def test_the_customer_masters_address_columns_become_the_postal_address(s3: Any) -> None:
    # Given a customers file in the generic layout with the address columns (a UK and a German row)
    body = (
        "customer_id,name,email,country,language,address_line1,address_line2,postal_code,city\n"
        f'"{CUSTOMER}","{CUSTOMER}",,DE,de,Königsallee 12,,40212,Düsseldorf\n'
        '"Brennan & Sons, PC",Brennan & Sons,ap@brennan.example,GB,en,10 Downing St,Floor 2,SW1A 2AA,London\n'
    ).encode()
    # When it is ingested
    result = ingest("incoming/customers/master.csv", body)
    # Then no column was ignored and each customer's address is written as its country writes it
    assert result["ignored_columns"] == [] and result["accepted"] == 2
    mueller, brennan = (Customers().get(c) for c in (CUSTOMER, "Brennan & Sons, PC"))
    assert mueller is not None and mueller.postal_address == ADDRESS
    assert brennan is not None and brennan.postal_address == (
        "10 Downing St",
        "Floor 2",
        "LONDON",
        "SW1A 2AA",
    )


def test_letters_fetch_copies_handed_over_letters_only_and_checks_their_sha256(
    s3: Any, tmp_path: Any
) -> None:
    from arcollect_cli.letters import fetch
    from arcollect_cli.target import CliError

    # Given a letter handed over, and a PDF whose run died before its manifest
    box = LetterObjects(os.environ["DROP_BUCKET"])
    manifest = {"letter_id": "letter-1", "customer_id": CUSTOMER, "pages": 1, "file": "", "sha256": ""}
    pdf = b"%PDF-1.4 the letter"
    manifest.update(file=f"{LETTERS_PREFIX}2024-07-31/letter-1.pdf", sha256=hashlib.sha256(pdf).hexdigest())
    box.post(date(2024, 7, 31), "letter-1", pdf, manifest)
    s3.put_object(Bucket=os.environ["DROP_BUCKET"], Key=f"{LETTERS_PREFIX}2024-07-31/letter-2.pdf", Body=b"x")
    # When the letters are fetched, twice
    [first] = fetch(s3, os.environ["DROP_BUCKET"], tmp_path)
    [again] = fetch(s3, os.environ["DROP_BUCKET"], tmp_path)
    # Then the handed-over letter is copied with its manifest, once; the other is not
    assert (first.letter_id, first.status, again.status) == ("letter-1", "written", "unchanged")
    assert sorted(p.name for p in (tmp_path / "2024-07-31").iterdir()) == ["letter-1.json", "letter-1.pdf"]
    assert fetch(s3, os.environ["DROP_BUCKET"], tmp_path / "later", since=date(2024, 8, 1)) == []
    # And a PDF that is not the one its manifest names is refused, with where
    s3.put_object(Bucket=os.environ["DROP_BUCKET"], Key=manifest["file"], Body=b"%PDF-1.4 changed")
    with pytest.raises(CliError, match="does not match the SHA-256 its manifest"):
        fetch(s3, os.environ["DROP_BUCKET"], tmp_path / "other")


# The reminder by email, else letter too: a go-live statement standing in for it and the final notice
# goes by [email, letter].
GO_LIVE_POLICY = POLICY.replace(
    "{id: reminder, trigger: {days: 7}, action: email, template: reminder}",
    "{id: reminder, trigger: {days: 7}, action: email, template: reminder, channels: [email, letter]}",
)


def go_live(world: World, *, email: str = "") -> World:
    """A customer with a postal address (and ``email``) whose invoice, due 2024-05-31, the sweep first
    sees at TICK: a go-live's backlog, stood in for by one statement."""
    world.customer(CUSTOMER, name=CUSTOMER, email=email, language="de-DE", postal_address=ADDRESS)
    world.invoice(
        "INV/2024/0100",
        customer_id=CUSTOMER,
        invoice_date=date(2024, 5, 1),
        due_date=date(2024, 5, 31),
        amount="800.00",
        open_amount="800.00",
    )
    return world


def test_a_go_live_statement_by_letter_counts_for_the_steps_it_stands_in_for(aws: None) -> None:
    """A go-live's backlog, for a customer with a postal address and no email: one letter, the statement
    of overdue invoices, which records the steps it stands in for as taken (as its email does)."""
    boto3.client("s3").put_object(
        Bucket=os.environ["DROP_BUCKET"], Key="config/dunning-policy.yaml", Body=GO_LIVE_POLICY.encode()
    )
    world = go_live(World(through_handler=True))
    result = world.tick(TICK)
    assert result.report.outcomes["letter_posted"] == 1
    [manifest] = [json.loads(v) for k, v in _letters().items() if k.endswith(".json")]
    assert manifest["template"] == "overdue_statement"
    assert {"golive_statement", "reminder", "final_notice"} <= set(
        world.get("INV/2024/0100", CUSTOMER).steps_done
    )
    # And no later look posts the final notice it stood in for
    world.tick(TICK + timedelta(days=1))
    assert len(_letters()) == 2
