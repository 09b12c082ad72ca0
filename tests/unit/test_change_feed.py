"""The ERP change feed's records and files (arcollect/changes.py), without AWS: stable ids, the CSV and
JSON Lines forms, formula neutralising, awkward ids, the daily files and the roll-up."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arcollect import changes
from arcollect.cells import neutralise
from arcollect.changes import COLUMNS, Change, ChangeKind, ChangeRecordError
from arcollect.entities import Customer, Promise

AT = datetime(2026, 11, 10, 9, 30, tzinfo=UTC)
AWKWARD = 'Brennan & Sons, "PC" / Zürich'


def dispute(customer_id: str = "C-1", dispute_id: str = "D-1", **changed: object) -> Change:
    arguments: dict[str, object] = {
        "customer_id": customer_id,
        "dispute_id": dispute_id,
        "invoice_number": "INV/2026/00187",
        "open_amount": Decimal("1000"),
        "currency": "EUR",
        "reason": "wrong_amount_or_price",
        "comment": "price list of March",
        "opened_by": "portal",
        "at": AT,
    }
    arguments.update(changed)
    return changes.dispute_opened(**arguments)  # type: ignore[arg-type]


def parsed(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))


# --- the stable id ----------------------------------------------------------------------------------


def test_the_same_decision_always_gets_the_same_id_and_another_one_another() -> None:
    # Given the same dispute described twice (a retried request)
    first, again = dispute(), dispute()
    # Then the id is the same, 20 characters of A-Z and 0-9 (a Business Central Code[20])
    assert first.change_id == again.change_id
    assert re.fullmatch(r"[A-Z0-9]{20}", first.change_id)
    # And another dispute, customer or kind gets another id
    others = {
        dispute(dispute_id="D-2").change_id,
        dispute(customer_id="C-2").change_id,
        changes.change_id(ChangeKind.DISPUTE_RESOLVED, "C-1", ("D-1",)),
    }
    assert first.change_id not in others and len(others) == 3


def test_the_id_does_not_depend_on_when_or_what_else_was_recorded() -> None:
    # A retry a minute later with another comment is still the same decision
    later = dispute(at=datetime(2026, 11, 10, 9, 31, tzinfo=UTC), comment="typo fixed")
    assert later.change_id == dispute().change_id


def test_key_parts_cannot_be_shifted_into_each_other() -> None:
    assert changes.change_id("k", "C-1", ("a", "bc")) != changes.change_id("k", "C-1", ("ab", "c"))
    assert changes.change_id("k", "C-1x", ("a",)) != changes.change_id("k", "C-1", ("xa",))


# --- the record --------------------------------------------------------------------------------------


def test_a_record_has_every_column_in_order_with_plain_amounts_and_utc_instants() -> None:
    record = dispute(at=datetime(2026, 11, 10, 10, 30, tzinfo=UTC).astimezone()).record()
    assert tuple(record) == COLUMNS
    assert record["schema_version"] == "1"
    assert record["occurred_at"] == "2026-11-10T10:30:00Z"
    assert record["amount"] == "1000.00"
    assert record["reference"] == "D-1"
    assert record["promised_date"] == ""


@pytest.mark.parametrize(
    ("amount", "text"), [("1000", "1000.00"), ("120.5", "120.50"), ("0.125", "0.125"), ("7E+2", "700.00")]
)
def test_amounts_are_plain_decimals_with_at_least_two_places(amount: str, text: str) -> None:
    assert dispute(open_amount=Decimal(amount)).record()["amount"] == text


def test_a_promise_lists_its_invoices_its_amount_and_date() -> None:
    promise = Promise(
        customer_id="C-1",
        promise_id="portal-1",
        invoice_numbers=("INV-1", "INV-2"),
        promised_until=date(2026, 11, 20),
        created_at=AT,
        amount=Decimal("250.00"),
        currency="EUR",
    )
    made = changes.promise_made(promise).record()
    assert (made["kind"], made["invoice_number"], made["amount"], made["promised_date"]) == (
        "promise_made",
        "INV-1;INV-2",
        "250.00",
        "2026-11-20",
    )
    assert made["actor"] == "portal"
    kept = changes.promise_settled(promise, kept=True, paid=Decimal("250"), at=AT)
    broken = changes.promise_settled(promise, kept=False, paid=Decimal("0"), at=AT)
    assert (kept.kind, broken.kind) == (ChangeKind.PROMISE_KEPT, ChangeKind.PROMISE_BROKEN)
    assert kept.record()["note"] == "paid towards it: 250.00 EUR"
    assert len({made["change_id"], kept.change_id, broken.change_id}) == 3


def test_a_credit_resolution_is_also_a_credit_to_book_unless_the_erp_booked_it() -> None:
    arguments: dict[str, object] = {
        "customer_id": "C-1",
        "dispute_id": "D-1",
        "invoice_number": "INV-1",
        "dispute_reason": "wrong_amount_or_price",
        "currency": "EUR",
        "note": "agreed on the phone",
        "by": "dana",
        "at": AT,
    }
    [valid] = changes.dispute_resolved(credit=None, **arguments)  # type: ignore[arg-type]
    assert (valid.kind, valid.record()["reason"], valid.amount) == (
        ChangeKind.DISPUTE_RESOLVED,
        "valid",
        None,
    )
    resolved, agreed = changes.dispute_resolved(credit=Decimal("120.50"), **arguments)  # type: ignore[arg-type]
    assert (resolved.record()["reason"], agreed.kind, agreed.record()["amount"]) == (
        "credit",
        ChangeKind.CREDIT_AGREED,
        "120.50",
    )
    assert agreed.record()["reason"] == "wrong_amount_or_price"
    # The ERP's own credit note was matched to it: booking it again would count the credit twice
    [only] = changes.dispute_resolved(credit=Decimal("120.50"), erp_credit_note="CN-9", **arguments)  # type: ignore[arg-type]
    assert only.kind is ChangeKind.DISPUTE_RESOLVED and "CN-9" in only.note


def test_contact_changes_carry_every_current_detail_and_name_those_that_changed() -> None:
    after = Customer(
        customer_id="C-1",
        name="Acme",
        email="ap@acme.example",
        other_emails=("billing@acme.example", "cfo@acme.example"),
        phone="+49 30 1234",
        language="de",
    )
    record = changes.contact_changed(after, changed=["phone"], activity_id="A-1", at=AT).record()
    assert (record["email"], record["other_emails"], record["phone"], record["language"]) == (
        "ap@acme.example",
        "billing@acme.example;cfo@acme.example",
        "+49 30 1234",
        "de",
    )
    assert record["reason"] == "phone"


def test_a_bounce_is_one_change_per_message_and_address() -> None:
    def bounced(address: str, message: str = "M-1") -> Change:
        return changes.email_bounced(
            customer_id="C-1", message_id=message, address=address, bounce_type="Permanent/General", at=AT
        )

    assert bounced("AP@acme.example").change_id == bounced("ap@acme.example").change_id
    assert bounced("ap@acme.example").change_id != bounced("cfo@acme.example").change_id
    assert bounced("ap@acme.example").change_id != bounced("ap@acme.example", "M-2").change_id


def test_only_credit_holds_and_agency_referrals_are_collector_decisions() -> None:
    decided = changes.collector_decision(
        ChangeKind.CREDIT_HOLD,
        customer_id="C-1",
        task_id="T-1",
        attempt=1,
        invoice_numbers=["INV-1"],
        note="",
        by="dana",
        at=AT,
    )
    assert decided.record()["reference"] == "T-1"
    with pytest.raises(ValueError, match="not a collector's decision"):
        changes.collector_decision(
            ChangeKind.PROMISE_MADE,
            customer_id="C-1",
            task_id="T-1",
            attempt=1,
            invoice_numbers=[],
            note="",
            by="dana",
            at=AT,
        )


# --- CSV and JSON Lines -----------------------------------------------------------------------------


def test_csv_quotes_awkward_ids_and_keeps_them_exact() -> None:
    # Given ids with commas, quotes, accents, & and / (and a note over two lines)
    change = dispute(customer_id=AWKWARD, invoice_number='RE 2026/001, Teil "A"', comment="line 1\nline 2")
    body = changes.csv_bytes([change.record()])
    # Then the CSV is UTF-8 without a byte-order mark, CRLF, with the header first
    assert not body.startswith(b"\xef\xbb\xbf")
    assert body.startswith(b"change_id,schema_version,kind,occurred_at,customer_id,")
    assert b"\r\n" in body
    [row] = parsed(body)
    assert (row["customer_id"], row["invoice_number"], row["note"]) == (
        AWKWARD,
        'RE 2026/001, Teil "A"',
        "line 1\nline 2",
    )


@pytest.mark.parametrize("formula", ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_neutralises_text_that_a_spreadsheet_would_run(formula: str) -> None:
    change = dispute(customer_id=formula, invoice_number=formula, comment=formula, opened_by=formula)
    [row] = parsed(changes.csv_bytes([change.record()]))
    for column in ("customer_id", "invoice_number", "note", "actor"):
        assert row[column] == "'" + formula, column
    # The columns arcollect writes itself are never altered
    assert row["amount"] == "1000.00" and row["change_id"] == change.change_id
    # JSON Lines, read by programs, keeps the exact values
    document = json.loads(changes.jsonl_bytes([change.record()]))
    assert document["customer_id"] == formula


def test_jsonl_has_the_same_fields_null_for_none_and_round_trips() -> None:
    record = dispute(customer_id=AWKWARD).record()
    line = changes.json_line(record)
    document = json.loads(line)
    assert list(document) == list(COLUMNS)
    assert document["schema_version"] == 1 and document["promised_date"] is None
    assert "Zürich" in line, "UTF-8, not escaped"
    assert changes.record_from_json(line) == record


@given(st.text(min_size=1, max_size=40), st.text(max_size=80))
def test_any_text_survives_both_forms(customer_id: str, note: str) -> None:
    record = dispute(customer_id=customer_id, comment=note).record()
    [row] = parsed(changes.csv_bytes([record]))
    assert row["customer_id"] == neutralise(customer_id) and row["note"] == neutralise(note)
    assert changes.record_from_json(changes.json_line(record)) == record


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json", "not JSON"),
        ("[1]", "JSON object"),
        ('{"change_id": "X"}', "needs"),
        ('{"note": [1]}', "text"),
    ],
)
def test_a_broken_record_is_refused_with_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ChangeRecordError, match=problem):
        changes.record_from_json(text)


# --- the day's files --------------------------------------------------------------------------------


def day_of_changes() -> list[Change]:
    return [
        dispute(dispute_id="D-2", at=datetime(2026, 11, 10, 15, tzinfo=UTC)),
        dispute(dispute_id="D-1"),
        changes.email_bounced(
            customer_id="C-3",
            message_id="M-1",
            address="ap@c3.example",
            bounce_type="Permanent/General",
            at=AT,
        ),
    ]


def test_the_days_files_are_sorted_deduplicated_and_the_same_bytes_whatever_the_order() -> None:
    records = [c.record() for c in day_of_changes()]
    files = changes.day_files(date(2026, 11, 10), records)
    # Twice the same change (a retried write) and another order: the same bytes
    again = changes.day_files(date(2026, 11, 10), [*reversed(records), records[0]])
    assert files == again
    assert sorted(files) == [
        "2026-11-10.csv",
        "2026-11-10.jsonl",
        "2026-11-10/dispute_opened.csv",
        "2026-11-10/email_bounced.csv",
    ]
    rows = parsed(files["2026-11-10.csv"][0])
    assert [(r["occurred_at"], r["reference"]) for r in rows][-1] == ("2026-11-10T15:00:00Z", "D-2")
    assert [r["occurred_at"] for r in rows] == sorted(r["occurred_at"] for r in rows)
    assert len(files["2026-11-10.jsonl"][0].splitlines()) == 3
    assert [r["kind"] for r in parsed(files["2026-11-10/email_bounced.csv"][0])] == ["email_bounced"]
    assert files["2026-11-10.jsonl"][1] == "application/x-ndjson"


def test_a_day_without_changes_is_a_header_and_an_empty_file() -> None:
    files = changes.day_files(date(2026, 11, 11), [])
    assert files == {
        "2026-11-11.csv": ((",".join(COLUMNS) + "\r\n").encode(), "text/csv; charset=utf-8"),
        "2026-11-11.jsonl": (b"", "application/x-ndjson"),
    }


def test_a_change_object_is_its_days_key_and_one_json_line() -> None:
    change = dispute(customer_id=AWKWARD)
    assert changes.change_key(change) == f"outgoing/changes/2026-11-10/{change.change_id}.json"
    body = changes.change_object(change)
    assert body.endswith(b"\n") and body.count(b"\n") == 1
    assert changes.record_from_json(body.decode()) == change.record()


def test_a_daily_run_writes_the_day_before_and_once_more_the_day_before_that() -> None:
    assert changes.days_to_roll_up(date(2026, 11, 12)) == (date(2026, 11, 11), date(2026, 11, 10))


def test_roll_up_writes_the_days_files_from_the_log() -> None:
    class Log:
        def records_of(self, day: date) -> list[dict[str, str]]:
            return [c.record() for c in day_of_changes() if c.day == day]

    class Files:
        def __init__(self) -> None:
            self.put: dict[str, bytes] = {}

        def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
            assert bucket == "drop"
            self.put[key] = body

    files = Files()
    written = changes.roll_up(date(2026, 11, 10), log=Log(), files=files, bucket="drop")
    assert set(written) == set(files.put)
    assert "outgoing/daily/2026-11-10.csv" in files.put
    assert files.put["outgoing/daily/2026-11-10.jsonl"] == changes.jsonl_bytes(
        changes.ordered(c.record() for c in day_of_changes())
    )


def test_publish_without_a_feed_does_nothing_and_with_one_hands_over_the_changes() -> None:
    handed: list[Change] = []

    class Feed:
        def publish(self, published: object) -> None:
            handed.extend(published)  # type: ignore[call-overload]

    changes.publish(None, day_of_changes())
    changes.publish(Feed(), [])
    assert handed == []
    changes.publish(Feed(), day_of_changes())
    assert handed == day_of_changes()
