"""The domain rules of deductions and credit control, without AWS: what a short payment is, what an
agency can take, the placement id, the hand-off file, and the reports' figures (docs/deductions.md,
docs/holds.md)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from arcollect import credit_control, deductions
from arcollect.entities import Activity, Allocation, Customer, Dispute, DocumentType, Invoice, Payment
from arcollect.reports.credit_control import credit_control_figures
from arcollect.reports.deductions import age_bucket, deduction_figures

CUSTOMER = "Müller & Söhne, GmbH"
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


def invoice(
    number: str, amount: str = "1000.00", open_amount: str | None = None, **changes: object
) -> Invoice:
    return replace(
        Invoice(
            customer_id=CUSTOMER,
            invoice_number=number,
            currency="EUR",
            amount=Decimal(amount),
            open_amount=Decimal(open_amount if open_amount is not None else amount),
            invoice_date=date(2026, 10, 1),
            due_date=date(2026, 10, 31),
        ),
        **changes,  # type: ignore[arg-type]
    )


def payment(payment_id: str, *lines: tuple[str, str]) -> Payment:
    allocations = tuple(Allocation(number, Decimal(amount)) for number, amount in lines)
    total = sum((a.amount for a in allocations), Decimal(0))
    return Payment(
        CUSTOMER, payment_id, date(2026, 11, 20), total, "EUR", applied_amount=total, allocations=allocations
    )


# --- deductions ----------------------------------------------------------------------------------


def test_a_short_payment_is_an_invoice_a_payment_left_partly_open() -> None:
    short = invoice("INV/2026/0042", open_amount="120.00")
    paid = [payment("ZE/77", ("INV/2026/0042", "880.00"), ("INV/2026/0043", "250.00"))]
    assert deductions.paid_towards(short, paid) == (Decimal("880.00"), ("ZE/77",))
    assert deductions.why_not_deductible(short, paid) is None
    # The ERP's open amount below the amount says a payment arcollect has not seen was applied
    assert deductions.why_not_deductible(short, []) is None
    unpaid = invoice("INV/2026/0044")
    assert (
        deductions.why_not_deductible(unpaid, paid) == "was not paid short: no payment left part of it open"
    )
    assert "settled" in (
        deductions.why_not_deductible(invoice("X", open_amount="0", status="closed"), paid) or ""
    )
    assert "disputed" in (deductions.why_not_deductible(replace(short, disputed=True), paid) or "")
    assert "agency" in (deductions.why_not_deductible(replace(short, agency="Inkasso Nord"), paid) or "")
    note = invoice("GS/1", document_type=DocumentType.CREDIT_NOTE.value)
    assert "credit note" in (deductions.why_not_deductible(note, paid) or "")
    # Another currency's payment paid nothing towards it
    usd = replace(paid[0], currency="USD")
    assert deductions.paid_towards(short, [usd]) == (Decimal(0), ())


def test_a_deduction_is_a_dispute_with_a_deduction_reason_and_its_outcomes_are_resolutions() -> None:
    assert deductions.is_deduction("pricing") and not deductions.is_deduction("wrong_amount_or_price")
    assert deductions.outcome_of("resolved_credit") is deductions.DeductionOutcome.CREDIT
    assert deductions.outcome_of("resolved_valid") is deductions.DeductionOutcome.REBILL
    assert deductions.outcome_of("open") is None


def _deduction(dispute_id: str, reason: str, created: date, **changes: object) -> Dispute:
    made = Dispute(
        CUSTOMER,
        dispute_id,
        "INV/2026/0042",
        reason,
        "",
        datetime(created.year, created.month, created.day, 9, tzinfo=UTC),
        amount=Decimal("120.00"),
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def test_the_report_ages_open_deductions_and_counts_the_resolved_by_outcome() -> None:
    as_of = date(2026, 11, 30)
    disputes = [
        _deduction("a", "pricing", date(2026, 11, 20)),  # 10 days: 0-30
        _deduction("b", "pricing", date(2026, 8, 1)),  # 121 days: over 90
        _deduction(
            "c", "shortage", date(2026, 11, 1), status="resolved_credit", credit_amount=Decimal("120.00"),
            resolved_at=datetime(2026, 11, 25, tzinfo=UTC),
        ),
        _deduction(
            "d", "damage", date(2026, 11, 1), status="closed", resolved_at=datetime(2026, 11, 26, tzinfo=UTC)
        ),  # closed after a rebill (no credit)
        _deduction("e", "pricing", date(2026, 12, 5)),  # coded after the report's day: not counted
        replace(_deduction("f", "damaged_or_defective", date(2026, 11, 1))),  # a dispute, not a deduction
        # resolved after the as-of day: still open then
        _deduction(
            "g", "promotion", date(2026, 11, 1), status="resolved_valid",
            resolved_at=datetime(2026, 12, 2, tzinfo=UTC),
        ),
    ]  # fmt: skip
    figures = deduction_figures(disputes, [invoice("INV/2026/0042")], as_of=as_of, window_days=30)
    assert figures["open"] == [
        {"reason": "pricing", "currency": "EUR", "count": 2, "amount": "240.00", "0-30": "120.00",
         "31-60": "0.00", "61-90": "0.00", "over 90": "120.00", "oldest_days": 121},
        {"reason": "promotion", "currency": "EUR", "count": 1, "amount": "120.00", "0-30": "120.00",
         "31-60": "0.00", "61-90": "0.00", "over 90": "0.00", "oldest_days": 29},
    ]  # fmt: skip
    assert figures["resolved"] == [
        {"reason": "damage", "currency": "EUR", "outcome": "rebill", "count": 1, "amount": "120.00"},
        {"reason": "shortage", "currency": "EUR", "outcome": "credit", "count": 1, "amount": "120.00"},
    ]
    assert [age_bucket(d) for d in (0, 30, 31, 60, 61, 90, 91)] == [
        "0-30", "0-30", "31-60", "31-60", "61-90", "61-90", "over 90",
    ]  # fmt: skip


# --- credit control ------------------------------------------------------------------------------


def test_what_an_agency_can_take_and_the_placement_id() -> None:
    open_one = invoice("INV/2026/0042")
    assert credit_control.why_not_placeable(open_one) is None
    assert "credit note" in (
        credit_control.why_not_placeable(replace(open_one, document_type="credit_note")) or ""
    )
    assert "disputed" in (credit_control.why_not_placeable(replace(open_one, disputed=True)) or "")
    assert "already" in (credit_control.why_not_placeable(replace(open_one, agency="Inkasso Nord")) or "")
    # An invoice in a payment plan is not placed while the plan's reminders ask the customer to pay us;
    # one under a plain promise to pay can be (the placement is the collector's call)
    in_plan = replace(open_one, promise_id="plan-0123456789abcdef")
    assert "payment plan" in (credit_control.why_not_placeable(in_plan) or "")
    assert credit_control.why_not_placeable(replace(open_one, promise_id="P-42")) is None
    # The same customer, agency (whatever its case) and invoices (in any order): the same placement
    first = credit_control.placement_id(CUSTOMER, "Inkasso Nord", ["INV/2026/0044", "INV/2026/0042"])
    assert first == credit_control.placement_id(CUSTOMER, "INKASSO NORD", ["INV/2026/0042", "INV/2026/0044"])
    assert first != credit_control.placement_id(CUSTOMER, "Inkasso Süd", ["INV/2026/0042", "INV/2026/0044"])
    assert first.startswith("agy-") and len(first) == 20


def test_a_placement_closes_when_everything_placed_is_collected() -> None:
    placed = [
        credit_control.placed(invoice("A"), agency="X", placement="agy-1", on=date(2026, 11, 23)),
        credit_control.placed(
            invoice("B", open_amount="0", status="closed"), agency="X", placement="agy-1",
            on=date(2026, 11, 23),
        ),
    ]  # fmt: skip
    [open_placement] = credit_control.placements([*placed, invoice("C")])
    assert not open_placement.closed and open_placement.open_by_currency() == {"EUR": Decimal("1000.00")}
    settled = [replace(placed[0], open_amount=Decimal(0), status="closed"), placed[1]]
    [done] = credit_control.placements(settled)
    assert done.closed
    back = credit_control.recalled(placed[0], NOW)
    assert (back.agency, back.agency_placement, back.next_action_at) == (None, None, NOW)


def test_the_hand_off_lists_invoices_contacts_and_history_neutralised_with_a_manifest_of_digests() -> None:
    customer = Customer(
        CUSTOMER,
        "Müller & Söhne, GmbH",
        "ap@mueller.example",
        phone="+49 40 123",
        other_emails=("b@m.example",),
        postal_address=("Hafenstraße 1", "20457 Hamburg"),
    )
    placed = [invoice("INV/2026/0042", description='=HYPERLINK("x")'), invoice("INV/2026/0044", "400.00")]
    history = [
        Activity(CUSTOMER, datetime(2026, 11, 2, 9, tzinfo=UTC), "b", "email_sent", "Reminder sent"),
        Activity(CUSTOMER, datetime(2026, 11, 1, 9, tzinfo=UTC), "a", "note", "@call back"),
    ]
    files = credit_control.handoff_files(
        placement="agy-1", agency="Inkasso Nord", customer=customer, invoices=placed, history=history,
        placed_at=NOW, placed_by="morgan", note="ignored two reminders", today=date(2026, 11, 23),
    )  # fmt: skip
    assert list(files) == ["invoices.csv", "contacts.csv", "history.csv", "manifest.json"]

    def rows(name: str) -> list[dict[str, str]]:
        body = files[name][0]
        assert body.startswith("\ufeff".encode())  # Excel reads the accents
        return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))

    invoices = rows("invoices.csv")
    assert [(r["invoice_number"], r["open_amount"], r["days_past_due"]) for r in invoices] == [
        ("INV/2026/0042", "1000.00", "23"),
        ("INV/2026/0044", "400.00", "23"),
    ]
    assert invoices[0]["description"].startswith("'=")  # a formula never runs in the agency's spreadsheet
    [contact] = rows("contacts.csv")
    assert (contact["name"], contact["phone"], contact["other_emails"], contact["postal_address"]) == (
        "Müller & Söhne, GmbH", "'+49 40 123", "b@m.example", "Hafenstraße 1; 20457 Hamburg",
    )  # fmt: skip
    assert [r["summary"] for r in rows("history.csv")] == ["'@call back", "Reminder sent"]  # oldest first
    manifest = json.loads(files["manifest.json"][0])
    assert (manifest["placement_id"], manifest["open_amounts"], manifest["placed_by"]) == (
        "agy-1", {"EUR": "1400.00"}, "morgan",
    )  # fmt: skip
    for entry in manifest["files"]:
        assert entry["sha256"] == hashlib.sha256(files[entry["name"]][0]).hexdigest()
    assert credit_control.handoff_key("agy-1", "manifest.json") == "outgoing/agency/agy-1/manifest.json"


def test_the_report_counts_what_held_customers_owe_and_what_each_agency_holds() -> None:
    customers = {
        CUSTOMER: Customer(CUSTOMER, "M", "m@x.example", credit_hold=True),
        "Other": Customer("Other", "O", "o@x.example"),
    }
    invoices = [
        invoice("A"),
        invoice("GS", "50.00", document_type="credit_note"),  # netted
        invoice("B", "300.00", agency="Inkasso Nord"),
        invoice("C", "200.00", open_amount="0", status="closed", agency="Inkasso Nord"),
        replace(invoice("D", "70.00", agency="Inkasso Nord"), customer_id="Other", currency="USD"),
    ]
    figures = credit_control_figures(customers, invoices)
    assert figures["customers_on_hold"] == 1
    assert figures["on_hold"] == [{"currency": "EUR", "customers": 1, "open_amount": "1250.00"}]
    assert figures["with_agency"] == [
        {"agency": "Inkasso Nord", "currency": "EUR", "open_invoices": 1, "open_amount": "300.00",
         "collected_invoices": 1},
        {"agency": "Inkasso Nord", "currency": "USD", "open_invoices": 1, "open_amount": "70.00",
         "collected_invoices": 0},
    ]  # fmt: skip


def test_a_deductions_department_notice_says_what_was_kept_back() -> None:
    from email import message_from_bytes as parsed
    from email.policy import default

    import yaml

    from arcollect.disputes import notification
    from arcollect.policy import SHIPPED_POLICY, parse_policy

    # The shipped policy, with an address for billing (which takes pricing deductions)
    document = yaml.safe_load(SHIPPED_POLICY.read_text(encoding="utf-8"))
    document["disputes"]["departments"]["billing"]["email"] = "billing@seller.example"
    policies = parse_policy(yaml.safe_dump(document), source="test")
    customer = Customer(CUSTOMER, "Müller & Söhne, GmbH", "ap@mueller.example")
    short = invoice("INV/2026/0042", open_amount="120.00")
    deduction = _deduction("ded-1", "pricing", date(2026, 11, 23))
    found = notification(deduction, customer, short, policies=policies, sender="ar@seller.example")
    assert found is not None
    to, raw = found
    message = parsed(raw, policy=default)
    assert to == "billing@seller.example"
    # Sent by the request that opened it: at the deduction's creation, as every email says it
    assert message["X-Arcollect-Sent-At"] == "2026-11-23T09:00:00Z"
    assert message["Date"].datetime == deduction.created_at
    assert (
        message["Subject"]
        == "Deduction ded-1: Müller & Söhne, GmbH paid INV/2026/0042 short (pricing, 120.00 EUR)"
    )
    assert (
        "paid invoice INV/2026/0042 short: a deduction to decide (credit or rebill)"
        in message.get_body().get_content()  # type: ignore[union-attr]
    )
    dispute = replace(deduction, reason="wrong_amount_or_price")
    _, plain = notification(dispute, customer, short, policies=policies, sender="ar@seller.example") or (
        "",
        b"",
    )
    assert parsed(plain, policy=default)["Subject"].startswith("Dispute ded-1: ")
