"""The precedence rules of an ERP row over what arcollect holds, one case each (ingest/precedence.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from arcollect.entities import Invoice
from arcollect.ingest.precedence import merge_invoice

D = Decimal


def row(
    open_amount: str | None = None, *, amount: str = "1000.00", paid: date | None = None, **extra: object
) -> Invoice:
    """An invoice as a mapped row says it: ``erp_open_amount`` None when the file states no open amount."""
    stated = None if open_amount is None else D(open_amount)
    return replace(
        Invoice(
            customer_id="Brennan & Sons, PC",
            invoice_number="INV/2026/00187",
            currency="EUR",
            amount=D(amount),
            open_amount=D(amount) if stated is None else stated,
            invoice_date=date(2026, 10, 1),
            due_date=date(2026, 10, 31),
            paid_date=paid,
            erp_open_amount=stated,
        ),
        **extra,  # type: ignore[arg-type]
    )


def test_a_new_invoice_without_an_open_amount_is_open_for_all_of_it() -> None:
    merged = merge_invoice(row(), None)
    assert (merged.invoice.open_amount, merged.invoice.status, merged.payment, merged.review) == (
        D("1000.00"),
        "open",
        None,
        None,
    )


def test_a_paid_date_without_an_open_amount_closes_it_with_a_dated_payment() -> None:
    # build_invoice reads "paid date, no open amount" as a stated open amount of 0
    merged = merge_invoice(row("0", paid=date(2026, 11, 3)), None)
    assert (merged.invoice.open_amount, merged.invoice.status) == (0, "closed")
    payment = merged.payment
    assert payment is not None
    assert (payment.payment_id, payment.amount, payment.payment_date) == (
        "PAIDDATE-INV/2026/00187",
        D("1000.00"),
        date(2026, 11, 3),
    )


def test_a_paid_date_with_a_partial_open_amount_records_the_part_paid_on_it() -> None:
    merged = merge_invoice(row("400.00", paid=date(2026, 11, 3)), None)
    assert merged.invoice.open_amount == D("400.00") and merged.invoice.is_open
    assert merged.payment is not None
    assert (merged.payment.payment_id, merged.payment.amount) == (
        "PAIDDATE-INV/2026/00187-2026-11-03",
        D("600.00"),
    )
    # The same row again records nothing more: the open amount is already what it says
    again = merge_invoice(row("400.00", paid=date(2026, 11, 3)), merged.invoice)
    assert again.payment is None and again.invoice.open_amount == D("400.00")


def test_a_file_without_an_open_amount_leaves_what_payments_established() -> None:
    # Given an invoice a payment brought down to 250 (its file never stated an open amount)
    paid_down = replace(merge_invoice(row(), None).invoice, open_amount=D("250.00"))
    # When the ERP sends its invoice list again, with no open_amount column
    merged = merge_invoice(row(), paid_down)
    # Then 250 is still what is open: the missing column is not "all of it"
    assert merged.invoice.open_amount == D("250.00") and merged.review is None


def test_a_stated_open_amount_above_what_payments_left_is_kept_lower_with_a_review() -> None:
    stated = merge_invoice(row("1000.00"), None).invoice
    paid_down = replace(stated, open_amount=D("250.00"))  # a payment of 750 recorded here since
    merged = merge_invoice(row("1000.00"), paid_down)
    assert merged.invoice.open_amount == D("250.00")
    assert merged.review is not None and "leave 250.00 EUR" in merged.review.reason
    # When the ERP has booked the payment, its word is taken and there is nothing to review
    caught_up = merge_invoice(row("250.00"), paid_down)
    assert (caught_up.invoice.open_amount, caught_up.review) == (D("250.00"), None)


def test_the_erps_own_word_moves_both_ways_when_nothing_was_recorded_here() -> None:
    first = merge_invoice(row("300.00"), None).invoice
    # A reversed payment in the ERP: more open again, nothing recorded here to contradict it
    reopened = merge_invoice(row("800.00"), first)
    assert (reopened.invoice.open_amount, reopened.review) == (D("800.00"), None)


def test_a_dispute_opened_here_survives_a_file_that_says_undisputed() -> None:
    held = replace(merge_invoice(row(), None).invoice, disputed=True, dispute_id="d-1")
    merged = merge_invoice(row(erp_disputed=False), held)
    assert merged.invoice.disputed and merged.invoice.dispute_id == "d-1"
    # The ERP's own flag counts too
    erp = merge_invoice(row(erp_disputed=True), merge_invoice(row(), None).invoice)
    assert erp.invoice.disputed and erp.invoice.dispute_id is None


def test_an_agreed_credit_stays_off_until_the_erp_shows_it_and_is_never_taken_twice() -> None:
    # Given 1000 stated by the ERP, and a credit of 200 agreed here: 800 asked
    stated = merge_invoice(row("1000.00"), None).invoice
    credited = replace(stated, open_amount=D("800.00"), credit_agreed=D("200.00"))
    # When the ERP's next file still says 1000 (it has not booked the credit note yet)
    lag = merge_invoice(row("1000.00"), credited)
    assert (lag.invoice.open_amount, lag.invoice.credit_agreed, lag.review) == (
        D("800.00"),
        D("200.00"),
        None,
    )
    # When it shows the credit (800 open), the credit is matched and cleared
    booked = merge_invoice(row("800.00"), lag.invoice)
    assert (booked.invoice.open_amount, booked.invoice.credit_agreed) == (D("800.00"), 0)
    # And the file after that says 800 again: still 800, not 600
    after = merge_invoice(row("800.00"), booked.invoice)
    assert after.invoice.open_amount == D("800.00")


def test_a_file_that_says_paid_while_a_decision_is_open_makes_a_review() -> None:
    promised = replace(merge_invoice(row("1000.00"), None).invoice, promise_id="p-1")
    merged = merge_invoice(row("0"), promised)
    assert merged.invoice.open_amount == 0 and merged.invoice.promise_id == "p-1"
    assert merged.review is not None and "a promise to pay" in merged.review.reason
    changed = merge_invoice(row("900.00", amount="900.00"), promised)
    assert changed.review is not None and "from 1000.00 to 900.00" in changed.review.reason


def note(open_amount: str = "200.00", **extra: object) -> Invoice:
    return row(
        open_amount, amount="200.00", invoice_number="CN/2026/0042", document_type="credit_note", **extra
    )


def test_a_credit_note_books_the_oldest_pending_credit_of_its_amount_and_currency() -> None:
    from arcollect import credits

    waiting = [
        row("800.00", invoice_number="B-2", credit_agreed=D(200), invoice_date=date(2026, 9, 1)),
        row("800.00", invoice_number="A-1", credit_agreed=D(200), invoice_date=date(2026, 9, 1)),
        row("800.00", invoice_number="OLD", credit_agreed=D(150), invoice_date=date(2026, 1, 1)),
        row("800.00", invoice_number="USD", credit_agreed=D(200), currency="USD"),
        row("800.00", invoice_number="DONE", credit_agreed=D(200), credit_match="CN-1"),
    ]
    target = credits.invoice_for_note(note(), waiting)
    assert target is not None and target.invoice_number == "A-1"
    closed, marked = credits.matched(note(), target)
    assert (closed.open_amount, closed.status, closed.credit_match) == (0, "closed", "A-1")
    assert marked.credit_match == "CN/2026/0042"
    assert credits.invoice_for_note(closed, waiting) is None  # matched once
    assert credits.note_for_invoice(waiting[0], [note("150.00"), note()]) == note()


def test_a_matched_credit_note_stays_closed_whatever_its_file_says() -> None:
    before = replace(note("0"), status="closed", credit_match="INV/2026/00187")
    merged = merge_invoice(note("200.00"), before)
    assert (merged.invoice.open_amount, merged.invoice.credit_match, merged.review) == (
        0,
        "INV/2026/00187",
        None,
    )
    changed = merge_invoice(
        row("250.00", amount="250.00", invoice_number="CN/2026/0042", document_type="credit_note"), before
    )
    assert changed.invoice.open_amount == 0 and changed.review is not None
    assert "INV/2026/00187" in changed.review.reason
