"""The synthetic company generator: files in the generic layout, coherent as of a date, reproducible.

The checks read the files the way ingest would, with their own parsing, rather than trusting the
generator's internals.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from arcollect_cli.generate import DEFAULT_AS_OF, generate_company, register

AS_OF = date(2026, 11, 2)
SEED = 7
CUSTOMERS = 200
MONTHS = 3
SIMULATE_DAYS = 30

CUSTOMER_HEADER = [
    "customer_id", "name", "email", "phone", "country", "time_zone", "language", "industry_code",
    "annual_sales", "customer_since", "owner", "tax_id", "credit_limit", "birthday_or_anniversary",
    "other_emails", "risk_class", "dunning_segment", "dunning_hold", "do_not_contact",
    "mobile", "address_line1", "address_line2", "postal_code", "city",
]  # fmt: skip
INVOICE_HEADER = [
    "customer_id", "invoice_number", "invoice_date", "due_date", "amount", "currency", "open_amount",
    "paid_date", "document_type", "disputed", "pay_url", "po_number", "description", "company_code",
]  # fmt: skip
PAYMENT_HEADER = [
    "customer_id",
    "payment_id",
    "payment_date",
    "amount",
    "currency",
    "invoice_number",
    "reference",
    "applied_amount",
]

COUNTRY_FACTS = {
    "US": ("USD", "en", {"America/New_York", "America/Chicago", "America/Los_Angeles"}, "US01"),
    "CA": ("CAD", "en", {"America/Toronto"}, "CA01"),
    "GB": ("GBP", "en", {"Europe/London"}, "GB01"),
    "DE": ("EUR", "de", {"Europe/Berlin"}, "EU01"),
    "FR": ("EUR", "fr", {"Europe/Paris"}, "EU01"),
    "ES": ("EUR", "es", {"Europe/Madrid"}, "EU01"),
    "NL": ("EUR", "nl", {"Europe/Amsterdam"}, "EU01"),
    "AU": ("AUD", "en", {"Australia/Sydney"}, "AU01"),
}
NAICS = {"236220", "423450", "541511", "621111", "445110", "332710", "484121"}
TERMS = {15, 30, 45, 60}
MONEY = re.compile(r"^\d+\.\d{2}$")
INVOICE_NUMBER = re.compile(r"^INV-\d{4}-\d{6,}$")


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def iso(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        return None


def money(text: str) -> Decimal | None:
    if not MONEY.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def invoice_problems(row: dict[str, str], customers: dict[str, dict[str, str]]) -> list[str]:
    """What ingest would reject in an invoice row: the names of the offending fields."""
    problems = []
    if not row["customer_id"] or row["customer_id"] not in customers:
        problems.append("customer_id")
    issued, due = iso(row["invoice_date"]), iso(row["due_date"])
    if issued is None:
        problems.append("invoice_date")
    if due is None:
        problems.append("due_date")
    if money(row["amount"]) is None:
        problems.append("amount")
    if row["currency"] not in {"USD", "GBP", "EUR", "CAD", "AUD"}:
        problems.append("currency")
    if issued and due and due < issued:
        problems.append("due_date")
    return problems


@dataclass(frozen=True)
class Company:
    out: Path
    manifest: dict[str, object]
    customers: dict[str, dict[str, str]]
    invoice_rows: list[dict[str, str]]  # every data row, in file order
    valid: dict[str, dict[str, str]]  # invoice_number -> row, the rows ingest can load
    bad_row_numbers: set[int]  # 1-based, the header being row 1
    history: list[dict[str, str]]
    later: dict[str, list[dict[str, str]]]  # payments file name -> rows
    sold: dict[str, list[dict[str, str]]]  # daily invoices file name -> rows


def load(out: Path) -> Company:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    _, customer_rows = read_csv(out / "customers.csv")
    customers = {row["customer_id"]: row for row in customer_rows}
    _, invoice_rows = read_csv(out / "invoices.csv")
    valid, bad = {}, set()
    for number, row in enumerate(invoice_rows, start=2):
        if invoice_problems(row, customers):
            bad.add(number)
        else:
            valid[row["invoice_number"]] = row
    _, history = read_csv(out / "payments" / "history.csv")
    later = {
        path.name: read_csv(path)[1]
        for path in sorted((out / "payments").glob("*.csv"))
        if path.stem[0].isdigit()
    }
    sold = {path.name: read_csv(path)[1] for path in sorted((out / "invoices").glob("*.csv"))}
    return Company(out, manifest, customers, invoice_rows, valid, bad, history, later, sold)


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Company:
    out = tmp_path_factory.mktemp("company")
    generate_company(CUSTOMERS, MONTHS, SEED, AS_OF, SIMULATE_DAYS, out)
    return load(out)


def invoices_only(company: Company) -> list[dict[str, str]]:
    return [row for row in company.valid.values() if row["document_type"] == "invoice"]


def files_under(out: Path) -> dict[str, bytes]:
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in sorted(out.rglob("*"))
        if path.is_file()
    }


# -- reproducibility ----------------------------------------------------------------------------------


def test_the_same_seed_gives_byte_identical_files_even_in_another_interpreter(
    company: Company, tmp_path: Path
) -> None:
    # Given the company generated in this process
    # When the same arguments run in a fresh interpreter with a different hash seed
    script = (
        "import sys; from datetime import date; from pathlib import Path;"
        "from arcollect_cli.generate import generate_company;"
        f"generate_company({CUSTOMERS}, {MONTHS}, {SEED}, date.fromisoformat('{AS_OF}'), {SIMULATE_DAYS},"
        " Path(sys.argv[1]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, env=env)
    # Then every file is the same, byte for byte
    again = files_under(tmp_path)
    assert again == files_under(company.out)
    assert len(again) > 5
    assert any(name.startswith("invoices/2") for name in again)


def test_a_different_seed_gives_a_different_company(company: Company, tmp_path: Path) -> None:
    # Given the same arguments but the seed
    generate_company(CUSTOMERS, MONTHS, SEED + 1, AS_OF, SIMULATE_DAYS, tmp_path)
    # Then neither the customers nor the invoices are the same
    for name in ("customers.csv", "invoices.csv", "payments/history.csv"):
        assert (tmp_path / name).read_bytes() != (company.out / name).read_bytes(), name


# -- layout -----------------------------------------------------------------------------------------


def test_every_file_has_exactly_the_generic_header(company: Company) -> None:
    # Given the generated files, Then each begins with its layout's header and uses ',' and '\n'
    assert read_csv(company.out / "customers.csv")[0] == CUSTOMER_HEADER
    assert read_csv(company.out / "invoices.csv")[0] == INVOICE_HEADER
    payment_files = sorted((company.out / "payments").glob("*.csv"))
    assert len(payment_files) > 10
    for path in payment_files:
        assert read_csv(path)[0] == PAYMENT_HEADER, path.name
    assert b"\r\n" not in (company.out / "invoices.csv").read_bytes()
    # And every row has as many cells as its header: a column added to the layout is written on each
    # row too (a short row once shifted nothing only because the missing cells were the last ones)
    for path in (company.out / "customers.csv", company.out / "invoices.csv", *payment_files):
        with path.open(encoding="utf-8", newline="") as handle:
            header, *rows = list(csv.reader(handle))
        assert {len(row) for row in rows} == {len(header)}, path.name


def test_customers_are_coherent_master_data(company: Company) -> None:
    # Given the customer master
    rows = list(company.customers.values())
    # Then ids run C-10001.., one per customer
    assert [row["customer_id"] for row in rows] == [f"C-{10_001 + n}" for n in range(CUSTOMERS)]
    for row in rows:
        _, language, zones, _ = COUNTRY_FACTS[row["country"]]
        # And country, language and time zone agree
        assert row["language"] == language and row["time_zone"] in zones, row
        assert row["industry_code"] in NAICS
        # And no generated mailbox can reach a real inbox
        assert re.fullmatch(r"[a-z0-9.]+@[a-z0-9-]+\.example", row["email"]), row["email"]
        assert row["owner"].endswith("@yourco.example")
        assert row["name"] and row["phone"] and row["tax_id"]
        assert money(row["annual_sales"]) and money(row["credit_limit"])
        since = iso(row["customer_since"])
        assert since is not None and since < AS_OF
        assert row["birthday_or_anniversary"] == since.strftime("%m-%d")
    # And the book spans several countries, industries and collectors
    assert len({row["country"] for row in rows}) >= 6
    assert len({row["industry_code"] for row in rows}) == len(NAICS)
    assert len({row["owner"] for row in rows}) >= 4


# -- invoices as of the date ----------------------------------------------------------------------------


def test_due_dates_follow_one_payment_term_per_customer(company: Company) -> None:
    # Given the valid invoice rows
    terms_of: dict[str, set[int]] = defaultdict(set)
    for row in company.valid.values():
        term = (date.fromisoformat(row["due_date"]) - date.fromisoformat(row["invoice_date"])).days
        # Then due date = invoice date + net 15, 30, 45 or 60
        assert term in TERMS, row
        terms_of[row["customer_id"]].add(term)
    # And a customer has one set of terms
    assert all(len(terms) == 1 for terms in terms_of.values())
    assert {term for terms in terms_of.values() for term in terms} == TERMS


def test_each_row_is_the_invoice_state_at_the_as_of_date(company: Company) -> None:
    window_start = date(2026, 8, 3)
    numbers = [row["invoice_number"] for row in company.invoice_rows]
    # Given every row, Then invoice numbers are unique and in the ERP's format
    assert len(set(numbers)) == len(numbers)
    assert all(INVOICE_NUMBER.match(n) for n in numbers)
    for row in company.valid.values():
        amount, open_amount = money(row["amount"]), money(row["open_amount"])
        issued = date.fromisoformat(row["invoice_date"])
        customer = company.customers[row["customer_id"]]
        currency, _, _, company_code = COUNTRY_FACTS[customer["country"]]
        # Then it was issued in the window, on a business day, in the customer's currency and company
        assert window_start <= issued <= AS_OF and issued.weekday() < 5, row
        assert row["currency"] == currency and row["company_code"] == company_code
        # And what is open is what has not been paid yet
        assert amount is not None and open_amount is not None
        assert Decimal(0) <= open_amount <= amount, row
        # And a paid date exists exactly when nothing is open, and lies between issue and as-of
        assert bool(row["paid_date"]) == (open_amount == 0), row
        if row["paid_date"]:
            assert issued <= date.fromisoformat(row["paid_date"]) <= AS_OF
        assert row["document_type"] in {"invoice", "credit_note"}
        assert row["disputed"] in {"yes", "no"}
        assert row["pay_url"] in ("", f"https://pay.yourco.example/i/{row['invoice_number']}")
    # And the file lists documents in the order they were issued
    dates = [row["invoice_date"] for row in company.valid.values()]
    assert dates == sorted(dates)


def test_disputed_invoices_are_open(company: Company) -> None:
    # Given the disputed invoices, Then none is settled: collections must wait for the dispute
    disputed = [row for row in invoices_only(company) if row["disputed"] == "yes"]
    assert disputed
    assert all(money(row["open_amount"]) for row in disputed)


def test_credit_notes_name_the_invoice_they_credit(company: Company) -> None:
    # Given the credit notes
    credits = [row for row in company.valid.values() if row["document_type"] == "credit_note"]
    assert credits
    for row in credits:
        # Then each is a positive amount that credits an earlier invoice of the same customer
        assert money(row["amount"]) and not row["pay_url"] and row["disputed"] == "no"
        credited = re.search(r"INV-\d{4}-\d{6,}", row["description"])
        assert credited, row
        original = next(r for r in company.invoice_rows if r["invoice_number"] == credited.group())
        assert original["customer_id"] == row["customer_id"]
        assert original["invoice_date"] < row["invoice_date"]


# -- deliberately bad rows ------------------------------------------------------------------------------


def test_the_manifest_lists_exactly_the_invalid_rows(company: Company) -> None:
    # Given the bad rows the manifest declares
    declared = company.manifest["bad_rows"]
    assert isinstance(declared, list)
    # Then they are exactly the rows a validator rejects, 1-based with the header as row 1
    assert {entry["row"] for entry in declared} == company.bad_row_numbers
    assert all(entry["path"] == "invoices.csv" for entry in declared)
    # And each reason names the field that is wrong
    for entry in declared:
        row = company.invoice_rows[entry["row"] - 2]
        problems = invoice_problems(row, company.customers)
        assert any(field in entry["reason"] for field in problems), (entry, problems)
    # And there are a few, of several kinds: about one row in 200
    assert 2 <= len(declared) <= max(2, len(company.invoice_rows) // 100)
    assert len({entry["reason"].split()[0] for entry in declared}) >= 3


def test_a_small_company_with_fifty_customers_still_has_two_bad_rows(tmp_path: Path) -> None:
    # Given the smallest book that must carry bad rows, over a single month
    manifest = generate_company(50, 1, 3, AS_OF, 5, tmp_path)
    # Then at least two rows are bad, and they are the invalid ones
    small = load(tmp_path)
    assert len(manifest.bad_rows) >= 2
    assert {bad.row for bad in manifest.bad_rows} == small.bad_row_numbers


# -- payments ---------------------------------------------------------------------------------------


def test_history_keeps_the_partial_payments_of_invoices_still_open(company: Company) -> None:
    # Given the invoices partly paid by the as-of date
    partly_paid = {
        row["invoice_number"]: money(row["amount"]) - money(row["open_amount"])  # type: ignore[operator]
        for row in invoices_only(company)
        if 0 < money(row["open_amount"]) < money(row["amount"])  # type: ignore[operator]
    }
    assert partly_paid
    # Then history.csv holds exactly their payments, all on or before the as-of date
    received: dict[str, Decimal] = defaultdict(Decimal)
    for payment in company.history:
        assert date.fromisoformat(payment["payment_date"]) <= AS_OF
        assert payment["currency"] == company.valid[payment["invoice_number"]]["currency"]
        received[payment["invoice_number"]] += Decimal(payment["amount"])
    assert received == partly_paid


def test_payments_after_the_as_of_date_pay_open_invoices_or_arrive_unapplied(company: Company) -> None:
    horizon = AS_OF + timedelta(days=SIMULATE_DAYS)
    # What each invoice still owes, and the day its row reached us: the as-of file, or the day it was issued
    owed = {
        n: money(row["open_amount"]) for n, row in company.valid.items() if row["document_type"] == "invoice"
    }
    arrived = {n: AS_OF for n in owed}
    issued_to = {n: row["customer_id"] for n, row in company.valid.items()}
    for name, rows in company.sold.items():
        for row in rows:
            if row["document_type"] == "invoice":
                owed[row["invoice_number"]] = money(row["amount"])
                arrived[row["invoice_number"]] = date.fromisoformat(name.removesuffix(".csv"))
                issued_to[row["invoice_number"]] = row["customer_id"]
    paid_later: dict[str, Decimal] = defaultdict(Decimal)
    ids = [p["payment_id"] for p in company.history]
    # Given one file per business day with cash after the as-of date, read day by day
    assert company.later
    for name, payments in company.later.items():
        day = date.fromisoformat(name.removesuffix(".csv"))
        # Then the day is after as-of, within the simulated days, a weekday, and the file is not empty
        assert AS_OF < day <= horizon and day.weekday() < 5 and payments
        for payment in payments:
            assert payment["payment_date"] == day.isoformat()
            assert money(payment["amount"])
            customer = company.customers[payment["customer_id"]]
            assert payment["currency"] == COUNTRY_FACTS[customer["country"]][0]
            ids.append(payment["payment_id"])
            number = payment["invoice_number"]
            if number:
                # And applied cash pays an invoice of that customer which has arrived by that day
                assert issued_to[number] == payment["customer_id"], payment
                assert arrived[number] <= day, payment
                paid_later[number] += Decimal(payment["amount"])
                # And never more than is still open on it after the payments before
                assert paid_later[number] <= owed[number], payment  # type: ignore[operator]
            else:
                # And unapplied cash carries a bank reference to match it by
                assert payment["reference"].strip()
    assert len(set(ids)) == len(ids)
    # And the invoices issued after as-of are paid too, some of them within the simulated days
    assert sum(1 for number in paid_later if arrived[number] > AS_OF) > 5


# -- invoices after the as-of date ------------------------------------------------------------------------


def business_days_after_as_of(days: int) -> list[date]:
    every = (AS_OF + timedelta(days=n) for n in range(1, days + 1))
    return [day for day in every if day.weekday() < 5]


def sold_rows(company: Company) -> list[tuple[date, dict[str, str]]]:
    return [
        (date.fromisoformat(name.removesuffix(".csv")), row)
        for name, rows in company.sold.items()
        for row in rows
    ]


def test_the_company_keeps_invoicing_every_business_day_of_the_simulation(company: Company) -> None:
    # Given the daily invoice files
    days = [date.fromisoformat(name.removesuffix(".csv")) for name in company.sold]
    # Then there is one for each business day after as-of within the simulated days, and no other
    assert days == business_days_after_as_of(SIMULATE_DAYS)
    for name, rows in company.sold.items():
        # And each has the generic header and carries that day's documents
        assert read_csv(company.out / "invoices" / name)[0] == INVOICE_HEADER
        assert rows and all(row["invoice_date"] == name.removesuffix(".csv") for row in rows)


def test_invoices_after_as_of_keep_the_rate_of_the_history(company: Company) -> None:
    # Given the documents issued per business day before and after as-of
    before = [d for d in (date(2026, 8, 3) + timedelta(days=n) for n in range(92)) if d.weekday() < 5]
    assert before[-1] == AS_OF
    per_day_before = len(company.invoice_rows) / len(before)
    per_day_after = sum(len(rows) for rows in company.sold.values()) / len(company.sold)
    # Then the company sells about as much after as-of as before
    assert 0.8 < per_day_after / per_day_before < 1.25, (per_day_before, per_day_after)
    # And to many of its customers, not a few
    assert len({row["customer_id"] for _, row in sold_rows(company)}) > CUSTOMERS / 2


def test_each_invoice_after_as_of_is_valid_and_in_its_state_when_issued(company: Company) -> None:
    # Given each customer's terms, as its invoices before as-of show them
    terms_of = {
        row["customer_id"]: (
            date.fromisoformat(row["due_date"]) - date.fromisoformat(row["invoice_date"])
        ).days
        for row in company.valid.values()
    }
    rows = sold_rows(company)
    assert rows
    for day, row in rows:
        customer = company.customers[row["customer_id"]]
        currency, _, _, company_code = COUNTRY_FACTS[customer["country"]]
        # Then it is a row ingest accepts, none deliberately bad
        assert invoice_problems(row, company.customers) == [], row
        assert INVOICE_NUMBER.match(row["invoice_number"]), row
        # And due = issue date + the customer's own terms, in its currency and company
        term = (date.fromisoformat(row["due_date"]) - day).days
        assert term in TERMS and term == terms_of.get(row["customer_id"], term), row
        assert row["currency"] == currency and row["company_code"] == company_code, row
        # And it shows the document as issued: all of it open, nothing paid yet
        assert money(row["open_amount"]) == money(row["amount"]) and money(row["amount"]), row
        assert row["paid_date"] == "", row
        assert row["document_type"] in {"invoice", "credit_note"} and row["disputed"] in {"yes", "no"}
        assert row["pay_url"] in ("", f"https://pay.yourco.example/i/{row['invoice_number']}")


def test_invoice_numbers_run_on_without_collisions(company: Company) -> None:
    # Given the numbers of the as-of file and of the daily files, in the order the files arrive
    before = [row["invoice_number"] for row in company.invoice_rows]
    after = [row["invoice_number"] for _, row in sold_rows(company)]
    # Then no number is given twice
    assert len(set(before + after)) == len(before) + len(after)
    # And the daily numbers continue the as-of file's sequence, one after the other
    sequence = [int(number.rsplit("-", 1)[1]) for number in after]
    assert sequence == list(range(max(int(n.rsplit("-", 1)[1]) for n in before) + 1, sequence[-1] + 1))


def test_numbering_restarts_with_the_new_year(tmp_path: Path) -> None:
    # Given a small company simulated across the turn of the year
    generate_company(40, 1, 11, AS_OF, 75, tmp_path)
    small = load(tmp_path)
    numbers = [row["invoice_number"] for _, row in sold_rows(small)]
    # Then the year in each number is the year of issue, and the new year starts again at 1
    for day, row in sold_rows(small):
        assert row["invoice_number"].startswith(f"INV-{day.year}-"), row
    assert "INV-2027-000001" in numbers
    assert len(set(numbers)) == len(numbers)


def test_a_few_invoices_after_as_of_are_credit_notes_or_disputed(company: Company) -> None:
    rows = sold_rows(company)
    invoices = [row for _, row in rows if row["document_type"] == "invoice"]
    credits = [(day, row) for day, row in rows if row["document_type"] == "credit_note"]
    # Given the documents issued after as-of, Then a few invoices are disputed
    assert 0 < sum(1 for row in invoices if row["disputed"] == "yes") < 0.1 * len(invoices)
    # And a few are credit notes, each crediting an invoice of the same customer that arrived before it
    assert 0 < len(credits) < 0.05 * len(rows)
    known = {row["invoice_number"]: (AS_OF, row) for row in company.valid.values()}
    known |= {row["invoice_number"]: (day, row) for day, row in rows}
    for day, row in credits:
        assert not row["pay_url"] and row["disputed"] == "no"
        credited = re.search(r"INV-\d{4}-\d{6,}", row["description"])
        assert credited, row
        arrived, original = known[credited.group()]
        assert original["customer_id"] == row["customer_id"] and original["document_type"] == "invoice"
        assert arrived < day


def test_the_as_of_files_do_not_depend_on_how_many_days_are_simulated(
    company: Company, tmp_path: Path
) -> None:
    # Given the same company generated with no simulated days
    manifest = generate_company(CUSTOMERS, MONTHS, SEED, AS_OF, 0, tmp_path)
    # Then its as-of files are the same, byte for byte, and nothing arrives later
    for name in ("customers.csv", "invoices.csv", "payments/history.csv"):
        assert (tmp_path / name).read_bytes() == (company.out / name).read_bytes(), name
    assert [f.path for f in manifest.files] == ["customers.csv", "invoices.csv", "payments/history.csv"]
    assert manifest.totals.invoices_after_as_of == 0


# -- the manifest -----------------------------------------------------------------------------------


def test_the_manifest_describes_the_files_written(company: Company) -> None:
    manifest = company.manifest
    # Given the manifest, Then it echoes the arguments
    assert (manifest["as_of"], manifest["seed"], manifest["customers"], manifest["months"]) == (
        AS_OF.isoformat(), SEED, CUSTOMERS, MONTHS,
    )  # fmt: skip
    assert manifest["simulate_days"] == SIMULATE_DAYS
    files = manifest["files"]
    assert isinstance(files, list)
    # And it lists every file written, with its data row count and the day the ERP sends it
    assert {f["path"] for f in files} | {"manifest.json"} == set(files_under(company.out))
    for entry in files:
        _, rows = read_csv(company.out / entry["path"])
        assert entry["rows"] == len(rows), entry
        if entry["path"].startswith("payments/2"):
            assert entry["kind"] == "payments" and entry["arrives_on"] == entry["path"][9:19]
        elif entry["path"].startswith("invoices/2"):
            assert entry["kind"] == "invoices" and entry["arrives_on"] == entry["path"][9:19]
        else:
            assert entry["arrives_on"] == AS_OF.isoformat()
    assert [f["kind"] for f in files[:3]] == ["customers", "invoices", "payments"]
    # And the files come in arrival order, a day's invoices before the cash that may pay them
    arrival = [(f["arrives_on"], f["kind"] != "invoices") for f in files[3:]]
    assert arrival == sorted(arrival)
    assert {f["path"] for f in files if f["kind"] == "invoices"} == {"invoices.csv"} | {
        f"invoices/{name}" for name in company.sold
    }
    # And its totals add up from the valid rows
    totals = manifest["totals"]
    assert isinstance(totals, dict)
    invoices = invoices_only(company)
    open_by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for row in invoices:
        open_by_currency[row["currency"]] += Decimal(row["open_amount"])
    assert totals["invoices"] == len(invoices)
    assert totals["open_invoices"] == sum(1 for row in invoices if Decimal(row["open_amount"]))
    assert {c: Decimal(a) for c, a in totals["open_amount_by_currency"].items()} == open_by_currency
    assert totals["payments_after_as_of"] == sum(len(rows) for rows in company.later.values())
    assert totals["invoices_after_as_of"] == sum(len(rows) for rows in company.sold.values()) > 0


# -- the mix ------------------------------------------------------------------------------------------


def test_the_book_mixes_good_and_slow_payers_disputes_credits_and_partials(company: Company) -> None:
    invoices = invoices_only(company)
    paid = [row for row in invoices if row["paid_date"]]
    lateness = Counter(
        "on time" if days <= 3 else "slow" if days >= 10 else "a little late"
        for days in (
            (date.fromisoformat(r["paid_date"]) - date.fromisoformat(r["due_date"])).days for r in paid
        )
    )
    later = [p for rows in company.later.values() for p in rows]
    # Given the book as of the date, Then most settled invoices were paid around the due date
    assert lateness["on time"] > len(paid) / 2
    # And a real share were paid 10 or more days late
    assert lateness["slow"] > len(paid) / 10
    # And some invoices are long overdue without a cent paid
    long_overdue = [
        r
        for r in invoices
        if r["open_amount"] == r["amount"] and (AS_OF - date.fromisoformat(r["due_date"])).days > 30
    ]
    assert len(long_overdue) > len(invoices) / 50
    # And there are a few disputes, credit notes, partial payments and unapplied receipts
    disputed = sum(1 for r in invoices if r["disputed"] == "yes")
    credits = sum(1 for r in company.valid.values() if r["document_type"] == "credit_note")
    assert 0.005 * len(invoices) < disputed < 0.1 * len(invoices)
    assert 0.002 * len(invoices) < credits < 0.05 * len(invoices)
    assert len({p["invoice_number"] for p in company.history}) >= 10
    assert 0 < sum(1 for p in later if not p["invoice_number"]) < len(later) / 5
    # And some invoices carry a payment link and some a PO number, but not all
    assert 0 < sum(1 for r in invoices if r["pay_url"]) < len(invoices)
    assert 0 < sum(1 for r in invoices if r["po_number"]) < len(invoices)


# -- the command ------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="arcollect")
    register(root.add_subparsers(dest="command", required=True))
    return root


def test_the_generate_command_writes_the_company_and_prints_a_line_per_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the command line of the brief
    args = parser().parse_args(
        ["generate", "--customers", "20", "--months", "2", "--seed", "3", "--out", str(tmp_path),
         "--as-of", "2026-03-31", "--simulate-days", "10"]
    )  # fmt: skip
    # When it runs
    code = args.func(args)
    # Then it succeeds and names each file written, and the manifest
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert manifest["as_of"] == "2026-03-31" and manifest["customers"] == 20
    assert len(lines) == len(manifest["files"]) + 1
    assert all(
        str(tmp_path / entry["path"]) in line for entry, line in zip(manifest["files"], lines, strict=False)
    )


def test_the_as_of_date_defaults_to_a_fixed_date_not_today() -> None:
    # Given no --as-of, Then the date is the fixed default: output never depends on the wall clock
    args = parser().parse_args(["generate", "--out", "x"])
    assert args.as_of == DEFAULT_AS_OF == date(2026, 11, 2)


@pytest.mark.parametrize("flag", [["--as-of", "02/11/2026"], ["--customers", "0"], ["--simulate-days", "-1"]])
def test_the_command_refuses_bad_arguments(flag: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # Given a bad value, Then argparse stops with a usage error
    with pytest.raises(SystemExit) as stopped:
        parser().parse_args(["generate", "--out", "x", *flag])
    assert stopped.value.code == 2
    capsys.readouterr()


def test_generating_again_into_the_same_folder_leaves_no_stale_payment_days(tmp_path: Path) -> None:
    # Given a company generated with 30 days of payments
    generate_company(30, 2, 5, AS_OF, 30, tmp_path)
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    # When it is generated again into the same folder with 5 days
    manifest = generate_company(30, 2, 5, AS_OF, 5, tmp_path)
    # Then only the files of the new manifest are left, and files it never wrote are untouched
    assert {f.path for f in manifest.files} | {"manifest.json", "notes.txt"} == set(files_under(tmp_path))
    assert max(f.arrives_on for f in manifest.files) <= AS_OF + timedelta(days=5)


def test_impossible_sizes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        generate_company(0, 3, 1, AS_OF, 5, tmp_path)
