"""A synthetic B2B company for ``arcollect generate``: its customer master, invoices and incoming cash as
ERP files in the generic column layout, with a manifest saying what is in them.

The files show the ledger *as of* one date (``customers.csv``, ``invoices.csv``, ``payments/history.csv``)
and then what arrives day by day after it: the invoices and credit notes issued each business day
(``invoices/YYYY-MM-DD.csv``, as issued) and the cash received (``payments/YYYY-MM-DD.csv``), so the local
stack can replay weeks of collections of a company that keeps selling. Everything derives from the seed,
never from the wall clock: the same arguments give byte-identical files.

Money is kept in integer cents while simulating (exact, and fast over hundreds of thousands of rows) and
becomes ``Decimal`` when written; every currency generated here has two minor digits.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import heapq
import json
import random
import re
import unicodedata
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO, TypeVar

from faker import Faker

from arcollect.entities import DropKind
from arcollect.ingest.schema import generic_columns

# An explicit, fixed as-of date: generated data must never depend on when it was generated.
DEFAULT_AS_OF = date(2026, 11, 2)
DEFAULT_CUSTOMERS = 200
DEFAULT_MONTHS = 3
DEFAULT_SEED = 7
DEFAULT_SIMULATE_DAYS = 60

# The files are written in the generic layout, so its column lists are the headers.
CUSTOMER_COLUMNS = tuple(column for part in generic_columns(DropKind.CUSTOMERS) for column in part)
INVOICE_COLUMNS = tuple(column for part in generic_columns(DropKind.INVOICES) for column in part)
PAYMENT_COLUMNS = tuple(column for part in generic_columns(DropKind.PAYMENTS) for column in part)

CUSTOMERS_FILE = "customers.csv"
INVOICES_FILE = "invoices.csv"
PAYMENTS_DIR = "payments"
INVOICES_DIR = "invoices"
HISTORY_FILE = f"{PAYMENTS_DIR}/history.csv"
MANIFEST_FILE = "manifest.json"

PAYMENT_TERMS = (15, 30, 45, 60)
PAY_URL_BASE = "https://pay.yourco.example/i/"

# About one invoice row in 200 is mangled the way ERP exports get mangled, so ingest has rejects to explain.
BAD_ROW_RATE = Decimal("0.005")
MIN_BAD_ROWS_FROM = 50  # customers; from this size on at least MIN_BAD_ROWS bad rows are guaranteed
MIN_BAD_ROWS = 2

_DAY = timedelta(days=1)
_T = TypeVar("_T")


# -- the manifest ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestFile:
    """One file written: where it is (relative to the output folder), what it holds, when the ERP sends it."""

    path: str
    kind: str
    rows: int
    arrives_on: date


@dataclass(frozen=True)
class BadRow:
    """A row written invalid on purpose: ``row`` is 1-based with the header as row 1."""

    path: str
    row: int
    reason: str


@dataclass(frozen=True)
class Totals:
    """What the valid rows of the as-of files add up to, for checking what ingest and reports make of them.

    ``invoices`` and ``open_invoices`` count valid ``invoice`` documents (credit notes and bad rows apart);
    ``open_amount_by_currency`` sums their open amounts, gross of open credit notes, which
    ``open_credit_by_currency`` sums separately. ``payments_after_as_of`` counts the rows of the daily
    payment files, ``invoices_after_as_of`` those of the daily invoice files (invoices and credit notes).
    """

    invoices: int
    open_invoices: int
    open_amount_by_currency: dict[str, Decimal]
    payments_after_as_of: int
    credit_notes: int
    open_credit_by_currency: dict[str, Decimal]
    invoices_after_as_of: int = 0


@dataclass(frozen=True)
class Manifest:
    """What ``generate_company`` wrote: parameters, files in arrival order, deliberate bad rows, totals."""

    as_of: date
    seed: int
    customers: int
    months: int
    simulate_days: int
    files: list[ManifestFile]
    bad_rows: list[BadRow]
    totals: Totals

    def to_json(self) -> dict[str, Any]:
        """The manifest as written to ``manifest.json``: dates ISO, amounts as decimal strings."""
        return {
            "as_of": self.as_of.isoformat(),
            "seed": self.seed,
            "customers": self.customers,
            "months": self.months,
            "simulate_days": self.simulate_days,
            "files": [
                {"path": f.path, "kind": f.kind, "rows": f.rows, "arrives_on": f.arrives_on.isoformat()}
                for f in self.files
            ],
            "bad_rows": [{"path": b.path, "row": b.row, "reason": b.reason} for b in self.bad_rows],
            "totals": {
                "invoices": self.totals.invoices,
                "open_invoices": self.totals.open_invoices,
                "open_amount_by_currency": {
                    c: str(a) for c, a in self.totals.open_amount_by_currency.items()
                },
                "payments_after_as_of": self.totals.payments_after_as_of,
                "credit_notes": self.totals.credit_notes,
                "open_credit_by_currency": {
                    c: str(a) for c, a in self.totals.open_credit_by_currency.items()
                },
                "invoices_after_as_of": self.totals.invoices_after_as_of,
            },
        }


# -- the company's market ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Country:
    code: str
    faker_locale: str
    time_zones: tuple[str, ...]  # repeated entries weight the draw
    language: str
    currency: str
    company_code: str
    legal_forms: tuple[str, ...]
    tax_id_pattern: str  # '#' is a digit
    terms_weights: tuple[int, int, int, int]  # for PAYMENT_TERMS
    owners: tuple[str, ...]  # the collectors whose portfolio covers the country
    transfer: str  # how cash arrives, as it shows on the bank statement
    weight: int


_NORTH_AMERICA = ("alex@yourco.example", "jordan@yourco.example", "sam@yourco.example")
# A table reads better one country to a line than one field to a line.
# fmt: off
_COUNTRIES = (
    _Country("US", "en_US", ("America/New_York",) * 3 + ("America/Chicago",) * 2 + ("America/Los_Angeles",),
             "en", "USD", "US01", ("Inc.", "LLC", "Corp.", "Co."), "##-#######", (2, 12, 3, 3),
             _NORTH_AMERICA, "ACH", 40),
    _Country("CA", "en_CA", ("America/Toronto",), "en", "CAD", "CA01", ("Inc.", "Ltd.", "Corp."),
             "#########RT0001", (2, 12, 3, 3), _NORTH_AMERICA, "EFT", 8),
    _Country("GB", "en_GB", ("Europe/London",), "en", "GBP", "GB01", ("Ltd", "PLC", "LLP"), "GB#########",
             (1, 14, 2, 3), ("priya@yourco.example",), "BACS", 12),
    _Country("DE", "de_DE", ("Europe/Berlin",), "de", "EUR", "EU01", ("GmbH", "AG", "GmbH & Co. KG", "KG"),
             "DE#########", (1, 10, 2, 7), ("maria@yourco.example",), "SEPA", 12),
    _Country("FR", "fr_FR", ("Europe/Paris",), "fr", "EUR", "EU01", ("SARL", "SAS", "SA"), "FR###########",
             (1, 8, 3, 8), ("maria@yourco.example",), "SEPA", 10),
    _Country("ES", "es_ES", ("Europe/Madrid",), "es", "EUR", "EU01", ("S.L.", "S.A."), "ESB########",
             (1, 8, 2, 9), ("maria@yourco.example",), "SEPA", 6),
    _Country("NL", "nl_NL", ("Europe/Amsterdam",), "nl", "EUR", "EU01", ("B.V.", "N.V."), "NL#########B01",
             (1, 14, 2, 3), ("priya@yourco.example",), "SEPA", 6),
    _Country("AU", "en_AU", ("Australia/Sydney",), "en", "AUD", "AU01", ("Pty Ltd", "Ltd"), "## ### ### ###",
             (2, 12, 3, 3), ("sam@yourco.example",), "EFT", 6),
)
# fmt: on

# Where the accounts-payable mailbox usually is, in the customer's language.
_AP_MAILBOXES = {
    "en": ("ap", "accounts.payable", "invoices", "billing"),
    "de": ("buchhaltung", "rechnungen", "kreditoren"),
    "fr": ("comptabilite", "factures", "fournisseurs"),
    "es": ("contabilidad", "facturas", "proveedores"),
    "nl": ("administratie", "facturen", "crediteuren"),
}


@dataclass(frozen=True)
class _Industry:
    naics: str
    trade: dict[str, str]  # the word in a company's name that says its trade, by language
    invoice_range: tuple[int, int]  # a typical invoice for a mid-size account, whole currency units
    lines: tuple[str, ...]  # what we bill them for; {month} is the billing month
    weight: int


# fmt: off
_INDUSTRIES = (
    _Industry("236220",
              {"en": "Construction", "de": "Bau", "fr": "Construction", "es": "Construcciones", "nl": "Bouw"},
              (4_000, 60_000),
              ("Site safety equipment", "Scaffolding rental - {month}", "Temporary power hookup"), 14),
    _Industry("423450",
              {"en": "Medical Supply", "de": "Medizintechnik", "fr": "Médical", "es": "Suministros Médicos",
               "nl": "Medische Groothandel"},
              (800, 15_000),
              ("Nitrile examination gloves", "Sterile packaging film", "Cold-chain shipping boxes"), 14),
    _Industry("541511",
              {"en": "Software", "de": "Software", "fr": "Informatique", "es": "Software", "nl": "Software"},
              (2_500, 35_000),
              ("Managed hosting - {month}", "Developer workstation leases - {month}", "Network switches"),
              16),
    _Industry("621111",
              {"en": "Medical Group", "de": "Praxisgemeinschaft", "fr": "Cabinet Médical", "es": "Clínica",
               "nl": "Huisartsenpraktijk"},
              (150, 2_500),
              ("Clinical consumables", "Practice IT support - {month}", "Autoclave service"), 14),
    _Industry("445110",
              {"en": "Foods", "de": "Lebensmittel", "fr": "Alimentation", "es": "Alimentación",
               "nl": "Supermarkt"},
              (500, 12_000),
              ("Refrigeration maintenance - {month}", "Shelf labels and POS supplies", "Shopping carts"), 14),
    _Industry("332710",
              {"en": "Machining", "de": "Zerspanungstechnik", "fr": "Usinage", "es": "Mecanizados",
               "nl": "Verspaning"},
              (1_000, 25_000),
              ("Carbide cutting inserts", "Coolant concentrate, 200 l drums", "CNC spindle repair"), 14),
    _Industry("484121",
              {"en": "Freight", "de": "Spedition", "fr": "Transports", "es": "Transportes",
               "nl": "Transport"},
              (800, 6_000),
              ("Fleet telematics - {month}", "Trailer tyres", "Pallet wrap and straps"), 14),
)
# fmt: on


@dataclass(frozen=True)
class _SizeBand:
    annual_sales: tuple[int, int]
    invoices_per_month: tuple[int, int]
    amount_scale: tuple[int, int]  # numerator, denominator applied to an industry's invoice range
    weight: int


_SIZE_BANDS = (
    _SizeBand((500_000, 5_000_000), (0, 2), (1, 2), 55),
    _SizeBand((5_000_000, 50_000_000), (1, 4), (1, 1), 35),
    _SizeBand((50_000_000, 750_000_000), (3, 8), (5, 2), 10),
)


class Behaviour(StrEnum):
    """How a customer pays: what the dunning policy is there to change."""

    PROMPT = "prompt"  # around the due date
    SLOW = "slow"  # 10 to 60 days late
    INSTALMENTS = "instalments"  # often in two or three partial payments
    VERY_LATE = "very_late"  # two to five months late, a quarter never
    DELINQUENT = "delinquent"  # paid slowly, then stopped paying at all


_BEHAVIOUR_WEIGHTS = {
    Behaviour.PROMPT: 50,
    Behaviour.SLOW: 27,
    Behaviour.INSTALMENTS: 9,
    Behaviour.VERY_LATE: 9,
    Behaviour.DELINQUENT: 5,
}

_CREDIT_REASONS = ("returned goods", "price adjustment", "damaged in transit", "volume rebate")


@dataclass(frozen=True)
class _Account:
    index: int
    customer_id: str
    name: str
    country: _Country
    industry: _Industry
    size: _SizeBand
    terms: int
    behaviour: Behaviour
    since: date
    pays_online: bool
    blanket_po: str  # one PO for every order; empty when each order has its own or none is required
    requires_po: bool
    stopped_paying_on: date | None


@dataclass(slots=True)
class _Document:
    """An invoice or credit note waiting for its number, which is given in date order across customers."""

    account: _Account
    kind: str
    cents: int
    po_number: str
    description: str
    bad: str = ""  # the kind of damage done to its row, for the few deliberately bad ones
    credits: str = ""  # the invoice a credit note credits


@dataclass
class _Outcome:
    """Running totals while the rows stream out."""

    invoices: int = 0
    open_invoices: int = 0
    open_cents: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    credit_notes: int = 0
    open_credit_cents: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bad_rows: list[BadRow] = field(default_factory=list)
    # Credit notes the as-of invoices lead to within the simulated days: (issued on, invoice, its number).
    credits_after_as_of: list[tuple[date, _Document, str]] = field(default_factory=list)


class _Numbering:
    """The ERP's invoice numbers, given in date order: they run on from before the window (from a first
    number drawn by the caller) and a new year restarts them at 1."""

    def __init__(self, first: int) -> None:
        self._first = first
        self._next: dict[int, int] = {}

    def take(self, issued: date) -> str:
        sequence = self._next.get(issued.year, self._first if not self._next else 1)
        self._next[issued.year] = sequence + 1
        return f"INV-{issued.year}-{sequence:06d}"


# -- small helpers ----------------------------------------------------------------------------------


def _money(cents: int) -> str:
    return str(Decimal(cents).scaleb(-2))


def _add_months(day: date, months: int) -> date:
    years, month0 = divmod(day.month - 1 + months, 12)
    year = day.year + years
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def _business_day(day: date) -> date:
    """The day itself, or the Monday after: banks credit no cash and ERPs bill no one on weekends."""
    weekday = day.weekday()
    return day + timedelta(days=7 - weekday) if weekday >= 5 else day


def _digits(rng: random.Random, pattern: str) -> str:
    return "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in pattern)


def _weighted(rng: random.Random, options: Iterable[tuple[_T, int]]) -> _T:
    pairs = list(options)
    return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]


def _stream(seed: int, purpose: str) -> random.Random:
    """A random stream of its own per purpose, so that changing how one thing is drawn leaves the others as
    they were. Reproducibility is the point here, not secrecy."""
    return random.Random(f"{seed}:{purpose}")  # noqa: S311


_TRANSLITERATE = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "ł": "l", "œ": "oe"})


def _slug(text: str, separator: str = "-") -> str:
    """ASCII words of a name, for mail domains and bank references (which rarely carry accents)."""
    ascii_text = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE)).encode("ascii", "ignore")
    return separator.join(re.findall(r"[a-z0-9]+", ascii_text.decode().lower()))


# -- customers --------------------------------------------------------------------------------------


def _open_accounts(count: int, seed: int, as_of: date, window_start: date, out: TextIO) -> list[_Account]:
    """Invent the customer master, writing customers.csv as it goes."""
    rng = _stream(seed, "customers")
    fakers: dict[str, Faker] = {}
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CUSTOMER_COLUMNS)
    accounts: list[_Account] = []
    for index in range(count):
        country = _weighted(rng, ((c, c.weight) for c in _COUNTRIES))
        fake = fakers.get(country.faker_locale)
        if fake is None:
            # One seeded Faker per locale: a customer's name depends only on the seed and its position.
            fake = fakers[country.faker_locale] = Faker(country.faker_locale)
            fake.seed_instance(f"{seed}:{country.faker_locale}")
        industry = _weighted(rng, ((i, i.weight) for i in _INDUSTRIES))
        size = _weighted(rng, ((s, s.weight) for s in _SIZE_BANDS))
        behaviour = _weighted(rng, _BEHAVIOUR_WEIGHTS.items())
        terms = _weighted(rng, zip(PAYMENT_TERMS, country.terms_weights, strict=True))

        family = fake.last_name()
        if rng.random() < 0.25:
            family = f"{family} & {fake.last_name()}"
        trade = industry.trade[country.language] if rng.random() < 0.7 else ""
        if not trade:
            core = family
        elif country.language in ("fr", "es"):
            core = f"{trade} {family}"
        else:
            core = f"{family} {trade}"
        name = f"{core} {rng.choice(country.legal_forms)}"
        # Reserved .example domains: a generated customer must never be a deliverable address.
        domain = f"{_slug(core) or f'customer{index}'}.example"
        if rng.random() < 0.75:
            mailbox = rng.choice(_AP_MAILBOXES[country.language])
        else:
            mailbox = _slug(f"{fake.first_name()} {fake.last_name()}", ".")
        phone = fake.phone_number()

        if rng.random() < 0.08:
            # A recently won account: its first invoices fall inside the generated window.
            since = as_of - timedelta(days=rng.randint(14, max(15, (as_of - window_start).days)))
        else:
            since = as_of - timedelta(days=rng.randint(180, 20 * 365))
        sales_low, sales_high = size.annual_sales
        annual_sales = rng.randint(sales_low // 10_000, sales_high // 10_000) * 10_000
        low, high = industry.invoice_range
        scale, per = size.amount_scale
        monthly_billing = (low + high) * scale // (2 * per) * max(1, sum(size.invoices_per_month) // 2)
        credit_limit = -(-monthly_billing * (terms + 30) // 30 // 5_000) * 5_000
        requires_po = rng.random() < 0.55
        blanket_po = f"PO-{rng.randint(100_000, 999_999)}" if requires_po and rng.random() < 0.25 else ""
        stopped = None
        if behaviour is Behaviour.DELINQUENT:
            stopped = as_of - timedelta(days=rng.randint(20, (as_of - window_start).days + 60))
        account = _Account(
            index=index,
            customer_id=f"C-{10_001 + index}",
            name=name,
            country=country,
            industry=industry,
            size=size,
            terms=terms,
            behaviour=behaviour,
            since=since,
            pays_online=rng.random() < 0.65,
            blanket_po=blanket_po,
            requires_po=requires_po,
            stopped_paying_on=stopped,
        )
        accounts.append(account)
        writer.writerow(
            (
                account.customer_id,
                name,
                f"{mailbox}@{domain}",
                phone,
                country.code,
                rng.choice(country.time_zones),
                country.language,
                industry.naics,
                _money(annual_sales * 100),
                since.isoformat(),
                rng.choice(country.owners),
                _digits(rng, country.tax_id_pattern),
                _money(max(5_000, credit_limit) * 100),
                since.strftime("%m-%d"),
                # A second AP address for every fifth customer (from the index: no extra random draw,
                # so the rest of the company stays the same); no risk class, segment, hold or block.
                f"accounts@{domain}" if index % 5 == 0 else "",
                "",
                "",
                "",
                "",
                # No mobile number and no postal address: the shipped policy texts no one, and a letter
                # goes only where email cannot, which every generated customer has.
                "",
                "",
                "",
                "",
                "",
            )
        )
    return accounts


# -- when cash comes in ------------------------------------------------------------------------------


def _settlement(
    account: _Account, issued: date, due: date, cents: int, disputed: bool, rng: random.Random
) -> list[tuple[date, int]]:
    """Every payment the invoice will ever receive, by date; a shortfall stays open for good."""

    def on(offset: int) -> date:
        return _business_day(max(issued + _DAY, due + timedelta(days=offset)))

    behaviour = account.behaviour
    if disputed:
        # A disputed invoice waits for its resolution; some customers pay the part they do not contest.
        if rng.random() < 0.35:
            return [(on(rng.randint(0, 20)), cents * rng.randint(50, 90) // 100)]
        return []
    if behaviour is Behaviour.INSTALMENTS and rng.random() < 0.6:
        parts = rng.randint(2, 3)
        first = cents * rng.randint(30, 60) // 100
        rest = cents - first
        payments = [(on(rng.randint(0, 20)), first)]
        for part in range(1, parts):
            amount = rest // (parts - 1) if part < parts - 1 else rest - rest // (parts - 1) * (parts - 2)
            payments.append((_business_day(payments[-1][0] + timedelta(days=rng.randint(14, 35))), amount))
        return payments
    if behaviour is Behaviour.PROMPT:
        offset = rng.randint(-7, 3) if rng.random() < 0.93 else rng.randint(4, 20)
    elif behaviour is Behaviour.VERY_LATE:
        if rng.random() < 0.25:
            return []
        offset = rng.randint(61, 150)
    else:
        offset = rng.randint(5, 45) if behaviour is Behaviour.INSTALMENTS else rng.randint(10, 60)
    paid_on = on(offset)
    if account.stopped_paying_on is not None and paid_on >= account.stopped_paying_on:
        return []
    if rng.random() < 0.03:
        # A short payment: the customer deducts a few percent (a claimed discount, a fee) and pays the rest.
        return [(paid_on, cents - max(100, cents * rng.randint(1, 8) // 100))]
    return [(paid_on, cents)]


# -- deliberately bad rows ----------------------------------------------------------------------------

_DAMAGE = (
    "unparseable_date",
    "non_numeric_amount",
    "missing_customer_id",
    "unknown_currency",
    "due_before_issue",
)


def _damage(row: list[str], kind: str, rng: random.Random) -> str:
    """Break a row the way a careless export does; return why it must be rejected."""
    if kind == "unparseable_date":
        row[2] = f"31/02/{row[2][:4]}"
        return f"invoice_date {row[2]!r} is not a date"
    if kind == "non_numeric_amount":
        row[4] = "12,3O"
        return f"amount {row[4]!r} is not a number"
    if kind == "missing_customer_id":
        row[0] = ""
        return "customer_id is missing"
    if kind == "unknown_currency":
        row[5] = "XXX"
        return f"currency {row[5]!r} is not a known currency"
    row[3] = (date.fromisoformat(row[2]) - timedelta(days=rng.randint(1, 30))).isoformat()
    return f"due_date {row[3]} is before invoice_date {row[2]}"


# -- the generator ----------------------------------------------------------------------------------


def generate_company(
    customers: int, months: int, seed: int, as_of: date, simulate_days: int, out: Path
) -> Manifest:
    """Write a synthetic company's ERP files under ``out`` and return (and write) their manifest.

    ``months`` months of invoices end at ``as_of``; each invoice row shows its state at ``as_of``. On the
    ``simulate_days`` days after ``as_of`` the company keeps invoicing, one invoices file per business day
    with new documents, and the cash arriving lands in one payments file per business day with cash.
    Files a previous run listed in ``out/manifest.json`` are removed first, so no stale day survives.
    """
    if customers < 1 or months < 1 or simulate_days < 0:
        raise ValueError("customers and months must be at least 1, simulate_days at least 0")
    out.mkdir(parents=True, exist_ok=True)
    _remove_previous_output(out)
    (out / PAYMENTS_DIR).mkdir(exist_ok=True)

    window_start = _add_months(as_of, -months) + _DAY
    with (out / CUSTOMERS_FILE).open("w", encoding="utf-8", newline="") as handle:
        accounts = _open_accounts(customers, seed, as_of, window_start, handle)

    history: list[tuple[date, _Account, str, int]] = []
    arriving: dict[date, list[tuple[_Account, str, int]]] = defaultdict(list)
    outcome = _Outcome()
    with (out / INVOICES_FILE).open("w", encoding="utf-8", newline="") as handle:
        invoice_rows, numbering = _bill(
            accounts, months, seed, as_of, simulate_days, handle, history, arriving, outcome
        )
    later = _keep_selling(
        accounts, seed, as_of, simulate_days, numbering, outcome.credits_after_as_of, arriving, out
    )

    history_rows = _write_history(out / HISTORY_FILE, history)
    files = [
        ManifestFile(CUSTOMERS_FILE, "customers", customers, as_of),
        ManifestFile(INVOICES_FILE, "invoices", invoice_rows, as_of),
        ManifestFile(HISTORY_FILE, "payments", history_rows, as_of),
    ]
    payments_after = 0
    rng = _stream(seed, "remittances")
    for day in sorted(arriving):
        path = f"{PAYMENTS_DIR}/{day.isoformat()}.csv"
        rows = _write_day_of_cash(out / path, day, arriving[day], rng)
        later.append(ManifestFile(path, "payments", rows, day))
        payments_after += rows
    # In arrival order; on one day the invoices come before the cash that may pay them.
    files.extend(sorted(later, key=lambda f: (f.arrives_on, f.kind != "invoices")))

    manifest = Manifest(
        as_of=as_of,
        seed=seed,
        customers=customers,
        months=months,
        simulate_days=simulate_days,
        files=files,
        bad_rows=outcome.bad_rows,
        totals=Totals(
            invoices=outcome.invoices,
            open_invoices=outcome.open_invoices,
            open_amount_by_currency={c: Decimal(v).scaleb(-2) for c, v in sorted(outcome.open_cents.items())},
            payments_after_as_of=payments_after,
            credit_notes=outcome.credit_notes,
            open_credit_by_currency={
                c: Decimal(v).scaleb(-2) for c, v in sorted(outcome.open_credit_cents.items())
            },
            invoices_after_as_of=sum(f.rows for f in later if f.kind == "invoices"),
        ),
    )
    (out / MANIFEST_FILE).write_text(json.dumps(manifest.to_json(), indent=2) + "\n", encoding="utf-8")
    return manifest


def _bill(
    accounts: list[_Account],
    months: int,
    seed: int,
    as_of: date,
    simulate_days: int,
    out: TextIO,
    history: list[tuple[date, _Account, str, int]],
    arriving: dict[date, list[tuple[_Account, str, int]]],
    outcome: _Outcome,
) -> tuple[int, _Numbering]:
    """Issue ``months`` months of invoices (and the credit notes they lead to) and write each row's state
    at ``as_of``; collect the payments that ``history`` and the days after ``as_of`` will show, and the
    credit notes those days will bring. Return the rows written and the numbering, for the days after."""
    rng = _stream(seed, "invoices")
    cash_rng = _stream(seed, "cash")
    # Bad rows come from their own stream so that turning their rate up or down changes nothing else.
    bad_rng = _stream(seed, "bad-rows")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(INVOICE_COLUMNS)
    horizon = as_of + timedelta(days=simulate_days)
    disputes_from = as_of - timedelta(days=120)
    numbering = _Numbering(rng.randint(120, 4_800))
    # Documents in date order across all customers: numbers are given as they are issued, and a credit note
    # issued weeks after its invoice (maybe in a later month) still falls into its place.
    queue: list[tuple[date, int, int, _Document]] = []
    ordinal = 0
    rows = 0
    bad_due = Decimal(0)
    bad_made = 0
    minimum_bad = MIN_BAD_ROWS if len(accounts) >= MIN_BAD_ROWS_FROM else 0

    for month in range(months):
        start = _add_months(as_of, month - months) + _DAY
        end = _add_months(as_of, month - months + 1)
        issued_now: list[_Document] = []
        for issued, document in _orders(accounts, start, end, rng):
            issued_now.append(document)
            ordinal += 1
            heapq.heappush(queue, (issued, document.account.index, ordinal, document))

        # Spread the bad rows evenly over time, but make sure a company of some size has a few.
        bad_due += BAD_ROW_RATE * len(issued_now)
        quota = int(bad_due) - bad_made
        if month in (0, months - 1):
            quota = max(quota, minimum_bad - bad_made)
        for position in sorted(bad_rng.sample(range(len(issued_now)), min(max(quota, 0), len(issued_now)))):
            issued_now[position].bad = _DAMAGE[bad_made % len(_DAMAGE)]
            bad_made += 1

        while queue and queue[0][0] <= end:
            issued, _, _, document = heapq.heappop(queue)
            account = document.account
            number = numbering.take(issued)
            due = issued + timedelta(days=account.terms)
            currency = account.country.currency
            rows += 1

            if document.kind == "credit_note":
                # Older credits have been netted against an invoice by now; recent ones are still open.
                applied_on = _business_day(issued + timedelta(days=cash_rng.randint(1, 25)))
                applied = issued <= as_of - timedelta(days=30) and cash_rng.random() < 0.85
                open_cents = 0 if applied else document.cents
                paid_date = min(applied_on, as_of).isoformat() if applied else ""
                writer.writerow(
                    _document_row(document, number, issued, open_cents, paid_date, disputed=False)
                )
                outcome.credit_notes += 1
                outcome.open_credit_cents[currency] += open_cents
                continue

            disputed = issued >= disputes_from and cash_rng.random() < 0.04
            payments = _settlement(account, issued, due, document.cents, disputed, cash_rng)
            paid = sum(cents for day, cents in payments if day <= as_of)
            open_cents = document.cents - paid
            paid_date = max(day for day, _ in payments if day <= as_of).isoformat() if open_cents == 0 else ""
            row = _document_row(document, number, issued, open_cents, paid_date, disputed)
            if document.bad:
                # The ERP still knows this invoice, but the row is unusable: no cash is generated against it,
                # so every payment file refers only to invoices ingest can load.
                reason = _damage(row, document.bad, bad_rng)
                outcome.bad_rows.append(BadRow(INVOICES_FILE, rows + 1, reason))
                writer.writerow(row)
                continue
            writer.writerow(row)
            outcome.invoices += 1
            if open_cents:
                outcome.open_invoices += 1
                outcome.open_cents[currency] += open_cents
                if paid:
                    history.extend((day, account, number, cents) for day, cents in payments if day <= as_of)
            for day, cents in payments:
                if as_of < day <= horizon:
                    arriving[day].append((account, number, cents))

            if cash_rng.random() < 0.025:
                credited_on = _business_day(issued + timedelta(days=cash_rng.randint(3, 45)))
                if credited_on <= as_of:
                    ordinal += 1
                    credit = _credit_note(document, number, cash_rng)
                    heapq.heappush(queue, (credited_on, account.index, ordinal, credit))
                elif credited_on <= horizon:
                    # Issued in the days simulated after as_of: it goes into that day's invoice file.
                    outcome.credits_after_as_of.append((credited_on, document, number))
    return rows, numbering


def _keep_selling(
    accounts: list[_Account],
    seed: int,
    as_of: date,
    simulate_days: int,
    numbering: _Numbering,
    credits_due: list[tuple[date, _Document, str]],
    arriving: dict[date, list[tuple[_Account, str, int]]],
    out: Path,
) -> list[ManifestFile]:
    """The business goes on after ``as_of``: write one invoice file per business day of the simulated days
    on which documents are issued (in a book of some size, every one), each document in its state
    when issued (a delta, not a snapshot).

    Customers order at the rate they did before (a month's count drawn per customer as for the history);
    numbering runs on; a few invoices are disputed or lead to credit notes (``credits_due`` are those the
    history's invoices lead to after ``as_of``). Cash paying the new invoices within the simulated days
    joins ``arriving``. Never any bad rows: those stay in invoices.csv. Returns the files written.
    """
    rng = _stream(seed, "sales")
    cash_rng = _stream(seed, "sales-cash")
    horizon = as_of + timedelta(days=simulate_days)
    queue: list[tuple[date, int, int, _Document]] = []
    ordinal = 0
    for credited_on, invoice, number in credits_due:
        ordinal += 1
        heapq.heappush(
            queue, (credited_on, invoice.account.index, ordinal, _credit_note(invoice, number, rng))
        )
    period = 0
    while (start := _add_months(as_of, period) + _DAY) <= horizon:
        # A whole month's orders are drawn even when the simulation ends inside it, so the rate holds.
        for issued, document in _orders(accounts, start, _add_months(as_of, period + 1), rng):
            if issued <= horizon:
                ordinal += 1
                heapq.heappush(queue, (issued, document.account.index, ordinal, document))
        period += 1

    by_day: dict[date, list[list[str]]] = defaultdict(list)
    while queue:
        issued, _, _, document = heapq.heappop(queue)
        account = document.account
        number = numbering.take(issued)
        disputed = False
        if document.kind == "invoice":
            disputed = cash_rng.random() < 0.04
            due = issued + timedelta(days=account.terms)
            for day, cents in _settlement(account, issued, due, document.cents, disputed, cash_rng):
                if day <= horizon:
                    arriving[day].append((account, number, cents))
            if cash_rng.random() < 0.025:
                credited_on = _business_day(issued + timedelta(days=cash_rng.randint(3, 45)))
                if credited_on <= horizon:
                    ordinal += 1
                    credit = _credit_note(document, number, cash_rng)
                    heapq.heappush(queue, (credited_on, account.index, ordinal, credit))
        by_day[issued].append(_document_row(document, number, issued, document.cents, "", disputed))

    files: list[ManifestFile] = []
    if by_day:
        (out / INVOICES_DIR).mkdir(exist_ok=True)
    for day, day_rows in by_day.items():  # popped in date order
        path = f"{INVOICES_DIR}/{day.isoformat()}.csv"
        with (out / path).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(INVOICE_COLUMNS)
            writer.writerows(day_rows)
        files.append(ManifestFile(path, "invoices", len(day_rows), day))
    return files


def _orders(
    accounts: list[_Account], start: date, end: date, rng: random.Random
) -> list[tuple[date, _Document]]:
    """One month's invoices, ``start`` to ``end``: each customer a count drawn from its size band, on
    business days from when it became a customer."""
    weekdays = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    weekdays = [d for d in weekdays if d.weekday() < 5]
    orders: list[tuple[date, _Document]] = []
    for account in accounts:
        days = weekdays[bisect_left(weekdays, account.since) :]
        if not days:
            continue
        low, high = account.industry.invoice_range
        scale, per = account.size.amount_scale
        for _ in range(rng.randint(*account.size.invoices_per_month)):
            issued = rng.choice(days)
            cents = rng.randint(low * scale * 100 // per, high * scale * 100 // per)
            if rng.random() < 0.07:
                cents *= rng.randint(2, 5)  # the occasional big order
            if account.blanket_po:
                po_number = account.blanket_po
            elif account.requires_po:
                po_number = f"PO-{rng.randint(100_000, 999_999)}"
            else:
                po_number = ""
            line = rng.choice(account.industry.lines).format(month=issued.strftime("%b %Y"))
            orders.append((issued, _Document(account, "invoice", cents, po_number, line)))
    return orders


def _credit_note(invoice: _Document, number: str, rng: random.Random) -> _Document:
    """A credit note against invoice ``number``: part or all of it, for one of the usual reasons."""
    return _Document(
        invoice.account,
        "credit_note",
        max(100, invoice.cents * rng.randint(10, 100) // 100),
        invoice.po_number,
        rng.choice(_CREDIT_REASONS),
        credits=number,
    )


def _document_row(
    document: _Document, number: str, issued: date, open_cents: int, paid_date: str, disputed: bool
) -> list[str]:
    """The row of an invoice or credit note in the generic invoice layout."""
    account = document.account
    due = (issued + timedelta(days=account.terms)).isoformat()
    amount = _money(document.cents)
    currency, company_code = account.country.currency, account.country.company_code
    if document.kind == "credit_note":
        return [
            account.customer_id, number, issued.isoformat(), due, amount, currency, _money(open_cents),
            paid_date, "credit_note", "no", "", document.po_number,
            f"Credit note for {document.credits}: {document.description}", company_code,
        ]  # fmt: skip
    return [
        account.customer_id, number, issued.isoformat(), due, amount, currency, _money(open_cents), paid_date,
        "invoice", "yes" if disputed else "no", f"{PAY_URL_BASE}{number}" if account.pays_online else "",
        document.po_number, document.description, company_code,
    ]  # fmt: skip


def _write_history(path: Path, history: list[tuple[date, _Account, str, int]]) -> int:
    """Partial payments received by the as-of date on invoices still open then."""
    history.sort(key=lambda p: (p[0], p[1].index, p[2]))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PAYMENT_COLUMNS)
        sequence: dict[date, int] = defaultdict(int)
        for day, account, number, cents in history:
            sequence[day] += 1
            writer.writerow(
                (
                    account.customer_id,
                    f"PMT-{day:%Y%m%d}-{sequence[day]:04d}",
                    day.isoformat(),
                    _money(cents),
                    account.country.currency,
                    number,
                    f"{account.country.transfer} {number}",
                    "",  # applied_amount: the whole payment is for the invoice it names
                )
            )
    return len(history)


def _write_day_of_cash(
    path: Path, day: date, receipts: list[tuple[_Account, str, int]], rng: random.Random
) -> int:
    """One business day's bank receipts. Most name the invoice they pay; some customers pay several
    invoices in one transfer, or pay without remittance advice, and that cash arrives unapplied."""
    by_customer: dict[int, list[tuple[_Account, str, int]]] = defaultdict(list)
    for receipt in sorted(receipts, key=lambda r: (r[0].index, r[1])):
        by_customer[receipt[0].index].append(receipt)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PAYMENT_COLUMNS)
        for group in by_customer.values():
            account = group[0][0]
            transfer = account.country.transfer
            bank_text = f"{transfer} {_slug(account.name, ' ').upper()[:18]} {_digits(rng, '########')}"
            lump = len(group) > 1 and rng.random() < 0.2
            lines: list[tuple[int, str, str]] = (
                [(sum(cents for _, _, cents in group), "", bank_text)] if lump else []
            )
            if not lump:
                for _, number, cents in group:
                    if rng.random() < 0.015:
                        lines.append((cents, "", bank_text))
                    else:
                        reference = f"{transfer} {number}" if rng.random() < 0.7 else f"REMITTANCE {number}"
                        lines.append((cents, number, reference))
            for cents, number, reference in lines:
                rows += 1
                writer.writerow(
                    (
                        account.customer_id,
                        f"PMT-{day:%Y%m%d}-{rows:04d}",
                        day.isoformat(),
                        _money(cents),
                        account.country.currency,
                        number,
                        reference,
                        "",  # applied_amount: the whole line is for the invoice it names
                    )
                )
    return rows


def _remove_previous_output(out: Path) -> None:
    """Delete what an earlier run listed in its manifest (only that), so its later days do not linger."""
    manifest = out / MANIFEST_FILE
    try:
        listed = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        paths = [str(entry["path"]) for entry in listed]
    except (OSError, ValueError, KeyError, TypeError):
        return
    root = out.resolve()
    for relative in paths:
        target = (out / relative).resolve()
        if target.parent in (root, root / PAYMENTS_DIR, root / INVOICES_DIR) and target.suffix == ".csv":
            target.unlink(missing_ok=True)


# -- the command ------------------------------------------------------------------------------------


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from error


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from error
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}: {value}")
        return value

    return parse


def _run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if args.invoices is not None:
        # A history too large for ERP files and ingest: the reports' Parquet, written by DuckDB.
        from arcollect_cli.warehouse_history import write_history

        counts = write_history(out, args.invoices, seed=args.seed, as_of=args.as_of)
        for table, rows in counts.items():
            print(f"{out / table}: {rows} rows")
        return 0
    manifest = generate_company(args.customers, args.months, args.seed, args.as_of, args.simulate_days, out)
    for written in manifest.files:
        print(f"{out / written.path}: {written.rows} rows of {written.kind}, arrives {written.arrives_on}")
    print(
        f"{out / MANIFEST_FILE}: {len(manifest.files)} files, "
        f"{len(manifest.bad_rows)} deliberately bad rows, as of {manifest.as_of}"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``generate`` command: a synthetic company's ERP files for demos, tests and benchmarks."""
    parser = subparsers.add_parser(
        "generate",
        help="write a synthetic company's ERP files (customers, invoices, payments)",
        description="Write a synthetic B2B company as ERP files in the generic layout, with a manifest.",
    )
    parser.add_argument(
        "--customers",
        type=_at_least(1),
        default=DEFAULT_CUSTOMERS,
        metavar="N",
        help=f"how many customers (default {DEFAULT_CUSTOMERS})",
    )
    parser.add_argument(
        "--months",
        type=_at_least(1),
        default=DEFAULT_MONTHS,
        metavar="M",
        help=f"months of invoices ending at the as-of date (default {DEFAULT_MONTHS})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        metavar="S",
        help=f"the same seed gives the same files (default {DEFAULT_SEED})",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write the files into")
    parser.add_argument(
        "--as-of",
        type=_iso_date,
        default=DEFAULT_AS_OF,
        metavar="YYYY-MM-DD",
        help=f"the date the invoice file describes (default {DEFAULT_AS_OF})",
    )
    parser.add_argument(
        "--simulate-days",
        type=_at_least(0),
        default=DEFAULT_SIMULATE_DAYS,
        metavar="D",
        help=f"days after the as-of date to write daily invoice and payment files for "
        f"(default {DEFAULT_SIMULATE_DAYS})",
    )
    parser.add_argument(
        "--invoices",
        type=_at_least(1),
        default=None,
        metavar="N",
        help="instead of ERP files, write a history of N documents (payments, reminders and more beside "
        "them) directly as the reports' Parquet tables under --out, for the scale benchmarks "
        "(docs/reports.md); --seed and --as-of apply",
    )
    parser.set_defaults(func=_run)
