"""The cash-application rules (arcollect/cash.py): which invoices a payment names, how its money is
spread over them, what a remittance's lines pay, what is suggested for cash nothing took, and what a
collector's decision may do."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from arcollect import cash
from arcollect.entities import Allocation, DocumentType, Invoice, Payment, TaskKind

CUSTOMER = "Société Générale & Fils, S.A."
NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)


def invoice(number: str, amount: str, due: date, **changes: Any) -> Invoice:
    return Invoice(
        customer_id=CUSTOMER,
        invoice_number=number,
        currency=changes.pop("currency", "EUR"),
        amount=Decimal(amount),
        open_amount=Decimal(changes.pop("open_amount", amount)),
        invoice_date=changes.pop("invoice_date", date(2026, 9, 1)),
        due_date=due,
        **changes,
    )


def payment(amount: str, **changes: Any) -> Payment:
    return Payment(
        customer_id=CUSTOMER,
        payment_id=changes.pop("payment_id", "PAY/2026/0001"),
        payment_date=date(2026, 11, 20),
        amount=Decimal(amount),
        currency=changes.pop("currency", "EUR"),
        invoice_number=changes.pop("invoice_number", None),
        reference=changes.pop("reference", None),
        applied_amount=Decimal(0),
        unapplied_amount=Decimal(amount),
        **changes,
    )


def book(*invoices: Invoice) -> dict[str, Invoice]:
    return {i.invoice_number: i for i in invoices}


BOOK = book(
    invoice("INV/2026/00187", "1000.00", date(2026, 10, 31)),
    invoice("INV/2026/00188", "250.00", date(2026, 10, 1)),
    invoice("INV/2026/00189", "400.00", date(2026, 11, 15)),
    invoice("SO-2026/0042 A", "120.00", date(2026, 10, 20)),
    invoice("INV#1042,B", "80.00", date(2026, 10, 25)),
    invoice("INV-10", "10.00", date(2026, 10, 25)),
    invoice("INV-100", "100.00", date(2026, 10, 26)),
)


# --- finding invoice numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("INV/2026/00187", ["INV/2026/00187"]),
        # a number holding a comma or a space is one number when the customer has it
        ("INV#1042,B", ["INV#1042,B"]),
        ("SO-2026/0042 A", ["SO-2026/0042 A"]),
        # lists: ; , line breaks and spaces separate; numbers with spaces and commas are found whole
        ("INV/2026/00187; INV/2026/00188", ["INV/2026/00187", "INV/2026/00188"]),
        (
            "INV/2026/00187,INV/2026/00188\nINV/2026/00189",
            ["INV/2026/00187", "INV/2026/00188", "INV/2026/00189"],
        ),
        ("SO-2026/0042 A, INV#1042,B", ["SO-2026/0042 A", "INV#1042,B"]),
        ("INV-10 INV-100", ["INV-10", "INV-100"]),
        # text that names no document is one unknown number: never guessed apart
        ("INV-999; INV-998", ["INV-999; INV-998"]),
        ("", []),
        (None, []),
    ],
)
def test_an_invoice_number_cell_names_one_number_or_a_list(cell: str | None, expected: list[str]) -> None:
    assert cash.numbers_in_cell(cell, BOOK.keys()) == expected


def test_a_reference_is_searched_for_whole_invoice_numbers() -> None:
    text = "Remittance for INV/2026/00187 and INV/2026/00188. Thank you! (SO-2026/0042 A)"
    assert cash.numbers_in(text, BOOK.keys()) == ["INV/2026/00187", "INV/2026/00188", "SO-2026/0042 A"]
    # A number is found only whole: INV-10 is not inside INV-100, nor 1,042.50 split at its comma
    assert cash.numbers_in("paid INV-100: 1,042.50 EUR", BOOK.keys()) == ["INV-100"]
    assert cash.numbers_in("INV/2026/001870", BOOK.keys()) == []


# --- applying a payment -------------------------------------------------------------------------------


def test_a_payment_naming_three_invoices_settles_them_oldest_due_first() -> None:
    # Listed newest first, and short by 50: the oldest two are paid in full, the newest in part
    planned = cash.plan(
        payment("1600.00", invoice_number="INV/2026/00189; INV/2026/00187; INV/2026/00188"), BOOK
    )
    assert planned.payment.allocations == (
        Allocation("INV/2026/00188", Decimal("250.00")),
        Allocation("INV/2026/00187", Decimal("1000.00")),
        Allocation("INV/2026/00189", Decimal("350.00")),
    )
    assert (planned.payment.applied_amount, planned.payment.unapplied_amount) == (1600, 0)
    assert planned.payment.applied_to is None  # several invoices: ``allocations`` says which
    after = {a.invoice_number: a for _, a in planned.settles}
    assert after["INV/2026/00188"].status == "closed" and after["INV/2026/00188"].paid_date == date(
        2026, 11, 20
    )
    assert (after["INV/2026/00189"].status, after["INV/2026/00189"].open_amount) == ("open", 50)
    assert planned.note == ""


def test_oldest_due_first_then_invoice_date_then_number() -> None:
    same_due = book(
        invoice("B-2", "10.00", date(2026, 10, 1), invoice_date=date(2026, 9, 2)),
        invoice("B-1", "10.00", date(2026, 10, 1), invoice_date=date(2026, 9, 2)),
        invoice("A-9", "10.00", date(2026, 10, 1), invoice_date=date(2026, 9, 3)),
    )
    planned = cash.plan(payment("25.00", invoice_number="A-9 B-2 B-1"), same_due)
    assert [(a.invoice_number, a.amount) for a in planned.payment.allocations] == [
        ("B-1", 10),
        ("B-2", 10),
        ("A-9", 5),
    ]


def test_an_overpayment_keeps_the_rest_unapplied_and_says_why() -> None:
    planned = cash.plan(payment("300.00", invoice_number="INV/2026/00188"), BOOK)
    assert (planned.payment.applied_to, planned.payment.applied_amount, planned.payment.unapplied_amount) == (
        "INV/2026/00188",
        250,
        50,
    )
    assert planned.note == "kept unapplied: 50.00 EUR more than the invoices it names had open"
    unknown = cash.plan(payment("300.00", invoice_number="INV-999"), BOOK)
    assert unknown.note == "kept unapplied: no invoice of this customer matches invoice_number or reference"


def test_the_reference_is_searched_only_when_invoice_number_names_no_open_invoice() -> None:
    closed = {**BOOK, "INV-100": replace(BOOK["INV-100"], open_amount=Decimal(0), status="closed")}
    planned = cash.plan(
        payment("250.00", invoice_number="INV-100", reference="Remittance for INV/2026/00188."), closed
    )
    assert planned.payment.applied_to == "INV/2026/00188"
    named = cash.plan(payment("250.00", invoice_number="INV-10", reference="INV/2026/00188"), BOOK)
    assert [a.invoice_number for a in named.payment.allocations] == ["INV-10"]


def test_documents_that_cannot_take_money_are_named_in_the_note() -> None:
    documents = {
        **BOOK,
        "CN-1": invoice("CN-1", "50.00", date(2026, 10, 1), document_type=DocumentType.CREDIT_NOTE.value),
        "USD-1": invoice("USD-1", "50.00", date(2026, 10, 1), currency="USD"),
    }
    planned = cash.plan(payment("50.00", invoice_number="CN-1; USD-1"), documents)
    assert planned.payment.unapplied_amount == 50
    assert planned.note == "kept unapplied: CN-1 is a credit_note; invoice USD-1 is in USD"


def test_remittance_lines_pay_their_own_invoices_and_never_spill_over() -> None:
    lines = (
        Allocation("INV/2026/00187", Decimal("1000.00")),
        Allocation("INV/2026/00189", Decimal("500.00")),  # 400 open: 100 stays unapplied
        Allocation("INV-404", Decimal("30.00")),  # no such invoice: stays unapplied
    )
    planned = cash.plan(payment("1600.00", remittance=lines), BOOK)
    assert [(a.invoice_number, a.amount) for a in planned.payment.allocations] == [
        ("INV/2026/00187", 1000),
        ("INV/2026/00189", 400),
    ]
    assert planned.payment.unapplied_amount == 200  # 100 + 30 + the 70 no line names
    assert "no invoice INV-404 on this customer's account (30.00 EUR)" in planned.note
    assert "the line for INV/2026/00189 pays 500.00; 400.00 of it was open" in planned.note


def test_one_payment_is_applied_to_at_most_one_transactions_worth_of_invoices() -> None:
    planned = cash.plan(
        payment("1650.00", invoice_number="INV/2026/00187 INV/2026/00188 INV/2026/00189"), BOOK, limit=2
    )
    assert [a.invoice_number for a in planned.payment.allocations] == ["INV/2026/00188", "INV/2026/00187"]
    assert planned.payment.unapplied_amount == 400
    assert "more than 2 invoices named" in planned.note


# --- the lines of one payment ------------------------------------------------------------------------


def line(amount: str, invoice_number: str | None, applied: str | None = None, **changes: Any) -> Payment:
    row = payment(amount, invoice_number=invoice_number, **changes)
    return replace(
        row,
        remittance=cash.line_remittance(invoice_number, row.reference, Decimal(applied) if applied else None),
    )


def test_lines_with_applied_amounts_make_one_payment_of_the_total() -> None:
    paid = cash.from_lines(
        [
            line("1650.00", "INV/2026/00187", "1000.00"),
            line("1650.00", "INV/2026/00188", "250.00"),
            line("1650.00", "INV/2026/00189", "400.00"),
        ]
    )
    assert (paid.amount, paid.unapplied_amount, paid.invoice_number) == (1650, 1650, None)
    assert [a.invoice_number for a in paid.remittance] == [
        "INV/2026/00187",
        "INV/2026/00188",
        "INV/2026/00189",
    ]
    planned = cash.plan(paid, BOOK)
    assert (planned.payment.applied_amount, planned.payment.unapplied_amount) == (1650, 0)


def test_lines_without_applied_amounts_each_pay_their_amount() -> None:
    paid = cash.from_lines(
        [line("1000.00", "INV/2026/00187"), line("250.00", None, reference="INV/2026/00188")]
    )
    assert paid.amount == 1250
    assert paid.remittance == (
        Allocation("INV/2026/00187", Decimal("1000.00")),
        Allocation("INV/2026/00188", Decimal("250.00")),
    )
    assert cash.from_lines([line("5.00", "INV-10")]) == line("5.00", "INV-10")  # one line: as it is


@pytest.mark.parametrize(
    ("lines", "field", "at", "words"),
    [
        (
            [line("1000.00", "INV/2026/00187", "800.00"), line("1000.00", "INV/2026/00188", "250.00")],
            "applied_amount",
            1,
            "the lines apply 1050.00, more than the payment's amount 1000.00",
        ),
        (
            [line("1000.00", "INV/2026/00187", "800.00"), line("1000.00", "INV/2026/00188")],
            "applied_amount",
            1,
            "is empty while other lines of the payment give the part they pay",
        ),
        (
            [line("1000.00", "INV/2026/00187", "800.00"), line("900.00", "INV/2026/00188", "100.00")],
            "amount",
            1,
            "amount is the payment's total on every line",
        ),
        (
            [line("10.00", "INV/2026/00187"), line("10.00", "INV/2026/00188", currency="USD")],
            "currency",
            1,
            "differs from the payment's first line",
        ),
    ],
)
def test_lines_that_do_not_make_one_payment_are_refused_naming_the_line_and_field(
    lines: list[Payment], field: str, at: int, words: str
) -> None:
    with pytest.raises(cash.RemittanceProblem) as raised:
        cash.from_lines(lines)
    assert (raised.value.field, raised.value.line) == (field, at)
    assert words in raised.value.message


# --- suggestions and the task ---------------------------------------------------------------------------


def test_the_exact_amount_comes_first_then_sums_then_the_reference_then_the_oldest() -> None:
    suggestions = cash.suggest(Decimal("250.00"), "EUR", None, BOOK.values())
    assert suggestions[0].invoice_numbers == ("INV/2026/00188",)
    assert suggestions[0].why == "the exact amount"
    sums = cash.suggest(Decimal("1250.00"), "EUR", None, BOOK.values())
    assert ("INV/2026/00188", "INV/2026/00187") in [s.invoice_numbers for s in sums]
    three = cash.suggest(Decimal("1130.00"), "EUR", None, BOOK.values())
    assert sorted(three[0].invoice_numbers) == ["INV-10", "INV/2026/00187", "SO-2026/0042 A"]
    assert three[0].why == "3 invoices that add up to the amount"
    # A reference that resembles a number (a typo, a missing prefix) suggests it
    typo = cash.suggest(Decimal("77.00"), "EUR", "payment inv 2026 00189 thx", BOOK.values())
    assert typo[0].invoice_numbers == ("INV/2026/00189",)
    assert typo[0].why == "the reference resembles it"
    # Otherwise the oldest the money covers in turn
    oldest = cash.suggest(Decimal("300.00"), "EUR", None, BOOK.values())
    assert oldest[-1].invoice_numbers == ("INV/2026/00188", "SO-2026/0042 A")
    assert oldest[-1].amounts == (Decimal("250.00"), Decimal("50.00"))
    assert oldest[-1].why == "the oldest first"


def test_only_open_invoices_of_the_currency_are_suggested() -> None:
    documents = [
        invoice("USD-1", "250.00", date(2026, 9, 1), currency="USD"),
        invoice("CN-1", "250.00", date(2026, 9, 1), document_type=DocumentType.CREDIT_NOTE.value),
        invoice("PAID-1", "250.00", date(2026, 9, 1), open_amount="0", status="closed"),
    ]
    assert cash.suggest(Decimal("250.00"), "EUR", None, documents) == ()
    assert len(cash.suggest(Decimal("1.00"), "EUR", None, BOOK.values())) <= cash.MAX_SUGGESTIONS


def test_cash_nothing_took_makes_one_task_per_payment_with_its_suggestions() -> None:
    planned = cash.plan(payment("250.00", reference="see remittance advice"), BOOK)
    task = cash.apply_cash_task(
        planned.payment, BOOK.values(), now=NOW, assignee="dana", source="incoming/p.csv"
    )
    assert (task.task_id, task.kind, task.assignee) == (
        "apply-cash-PAY/2026/0001",
        TaskKind.APPLY_CASH,
        "dana",
    )
    assert task.title == "Apply 250.00 EUR of payment PAY/2026/0001: no open invoice took it"
    assert task.detail["suggestions"].startswith("INV/2026/00188 (the exact amount)")
    assert task.detail["unapplied_amount"] == "250.00"
    assert cash.apply_cash_task_id("PAY/2026/0001") == task.task_id  # a file sent again adds none


# --- a collector's decision --------------------------------------------------------------------------


def test_a_decision_settles_invoices_and_adds_to_what_was_applied() -> None:
    planned = cash.plan(payment("1500.00", invoice_number="INV/2026/00188"), BOOK)
    after, settles = cash.decided(
        planned.payment, [("INV/2026/00187", Decimal("1000.00")), ("SO-2026/0042 A", Decimal("20.00"))], BOOK
    )
    assert after.allocations == (
        Allocation("INV/2026/00188", Decimal("250.00")),
        Allocation("INV/2026/00187", Decimal("1000.00")),
        Allocation("SO-2026/0042 A", Decimal("20.00")),
    )
    assert (after.applied_amount, after.unapplied_amount) == (1270, 230)
    assert [(a.invoice_number, a.status, a.open_amount) for _, a in settles] == [
        ("INV/2026/00187", "closed", 0),
        ("SO-2026/0042 A", "open", 100),
    ]


@pytest.mark.parametrize(
    ("requested", "words"),
    [
        ([], "give an amount for at least one invoice"),
        (
            [("INV/2026/00188", Decimal("260.00"))],
            "260.00 is more than invoice INV/2026/00188 has open (250.00)",
        ),
        ([("INV-404", Decimal("1.00"))], "no invoice INV-404 on this customer's account"),
        ([("INV-10", Decimal("1.00")), ("INV-10", Decimal("2.00"))], "an invoice is named twice"),
        (
            [("INV/2026/00187", Decimal("1000.00")), ("INV/2026/00188", Decimal("250.00"))],
            "1,250.00 is more than payment PAY/2026/0001 has unapplied (300.00 EUR)",
        ),
    ],
)
def test_a_decision_that_cannot_be_made_is_refused_with_why(
    requested: list[tuple[str, Decimal]], words: str
) -> None:
    with pytest.raises(cash.CashApplicationError) as raised:
        cash.decided(payment("300.00"), requested, BOOK)
    assert raised.value.field == "allocations"
    assert words in raised.value.message


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("1,234.50", Decimal("1234.50")), (" 12 ", Decimal("12")), ("0.5", Decimal("0.5"))],
)
def test_amounts_typed_in_the_console(typed: str, expected: Decimal) -> None:
    assert cash.parse_amount(typed, "allocations", "EUR") == expected


def test_the_console_reads_a_decimal_comma_as_every_form_does() -> None:
    """ "1250,50" applied 125050 EUR of cash (the commas were dropped): it is 1250.50, as the portal and the
    console's other forms read it; "1,500" KWD is refused as two amounts."""
    assert cash.parse_amount("1250,50", "allocations", "EUR") == Decimal("1250.50")
    with pytest.raises(cash.CashApplicationError) as raised:
        cash.parse_amount("1,500", "allocations", "KWD")
    assert raised.value.field == "allocations" and "could be read two ways" in raised.value.message


@pytest.mark.parametrize("typed", ["abc", "0", "-5", "1.234", "NaN", "Infinity"])
def test_amounts_the_console_refuses(typed: str) -> None:
    with pytest.raises(cash.CashApplicationError):
        cash.parse_amount(typed, "allocations", "EUR")


@pytest.mark.parametrize(
    ("typed", "currency", "expected"),
    [
        ("150,000", "JPY", Decimal("150000")),
        ("1.234", "KWD", Decimal("1.234")),
        ("1.2", "KWD", Decimal("1.2")),
    ],
)
def test_an_amount_has_up_to_its_currencys_decimals(typed: str, currency: str, expected: Decimal) -> None:
    assert cash.parse_amount(typed, "allocations", currency) == expected


@pytest.mark.parametrize(
    ("typed", "currency", "why"),
    [
        ("100.5", "JPY", "100.5 has decimal places, and JPY has none (its smallest unit is 1)"),
        ("1.2345", "KWD", "1.2345 has more decimal places than KWD's 3 (its smallest unit is 0.001)"),
        ("10.005", "EUR", "10.005 has more decimal places than EUR's 2 (its smallest unit is 0.01)"),
    ],
)
def test_an_amount_finer_than_its_currencys_unit_is_refused_saying_so(
    typed: str, currency: str, why: str
) -> None:
    with pytest.raises(cash.CashApplicationError) as raised:
        cash.parse_amount(typed, "allocations", currency)
    assert (raised.value.field, raised.value.message) == ("allocations", why)
