"""Generated ERP files shaped like the real world, for the generated-files reliability test.

Hypothesis draws what a file is (``Spec``: kind, format, layout, delimiter, encoding, date and amount
conventions, bad rows, defects, compression, a re-send) and a seed; ``build`` writes the bytes from them
and counts the file's data rows as the ingest documents them: every record after the header that is not
blank (an empty line, or one of delimiters and spaces only, is not a row). A file-level defect (a NUL
byte, a quote never closed) makes the whole file refusable, which ``ErpFile.defect`` says.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import openpyxl  # type: ignore[import-untyped]
from hypothesis import strategies as st

KINDS = ("invoices", "payments", "customers")
# Bad rows, each a row of the file (counted), and lines that are not rows (not counted).
BAD_ROWS = ("missing", "bad_date", "bad_amount", "extra_cols", "few_cols", "negative", "duplicate")
NOT_ROWS = ("empty_line", "delimiters_line", "spaces_line")
DEFECTS = ("nul", "unclosed_quote")

# Customer ids as ERPs write them: spaces, '&', commas (quoted in CSV), apostrophes, accents.
LATIN1_CUSTOMERS = (
    "ACME Corp",
    "Müller & Söhne GmbH",
    "Smith, Jones and Partners",
    "Société Générale d'Équipement",
    "O'Brien Ltd",
    "Ærø Shipping A/S",
    "  Padded Customer  ",
    "C-100234",
    "100234",
    "Façade Ça Va SARL",
    "Niño y Peña S.L.",
    'The "Quoted" Company',
)
UTF8_ONLY_CUSTOMERS = ("Łódź Sp. z o.o.", "Ελληνική \u0391.\u0395.", "東京商事株式会社", "Škoda Dílna s.r.o.")
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "")

GERMAN = {
    "invoices": (
        "Kundennummer",
        "Rechnungsnummer",
        "Belegdatum",
        "Fälligkeit",
        "Betrag",
        "Währung",
        "Text",
        "Belegart",
    ),
    "payments": (
        "Kundennummer",
        "Zahlungsnummer",
        "Zahlungsdatum",
        "Betrag",
        "Währung",
        "Rechnungsnummer",
        "Verwendungszweck",
    ),
    "customers": ("Kundennummer", "Name", "E-Mail", "Land", "Telefon"),
}
GENERIC = {
    "invoices": (
        "customer_id",
        "invoice_number",
        "invoice_date",
        "due_date",
        "amount",
        "currency",
        "description",
        "document_type",
    ),
    "payments": (
        "customer_id",
        "payment_id",
        "payment_date",
        "amount",
        "currency",
        "invoice_number",
        "reference",
    ),
    "customers": ("customer_id", "name", "email", "country", "phone"),
}
OUR_FIELDS = GENERIC
DATE_FIELDS = {"invoice_date", "due_date", "payment_date"}
AMOUNT_FIELDS = {"amount"}
REQUIRED = {
    "invoices": ("customer_id", "invoice_number", "invoice_date", "due_date", "amount"),
    "payments": ("customer_id", "payment_id", "payment_date", "amount"),
    "customers": ("customer_id", "name"),
}
DATE_STYLES = ("iso", "dmy.", "dmy/", "dmy-", "mdy/")
AMOUNT_STYLES = ("plain", "us", "eu", "eu_plain")
DATE_PATTERNS = {
    "iso": "%Y-%m-%d",
    "dmy.": "%d.%m.%Y",
    "dmy/": "%d/%m/%Y",
    "dmy-": "%d-%m-%Y",
    "mdy/": "%m/%d/%Y",
}


@dataclass(frozen=True)
class Spec:
    kind: str
    format: str  # csv | xlsx | jsonl
    layout: str  # generic | german (its own headers: needs a mapping)
    delimiter: str
    encoding: str  # utf-8 | utf-8-sig | cp1252 | latin-1
    dates: str
    amounts: str
    rows: int
    bad: tuple[str, ...]
    not_rows: tuple[str, ...]
    defect: str | None
    gzip: bool
    mapping: bool  # upload a mapping to config/mappings and drop under its folder
    resend: bool
    header_style: str  # as written | Title Case | UPPER
    line_end: str
    seed: int


@dataclass
class ErpFile:
    spec: Spec
    key: str
    body: bytes
    data_rows: int
    mapping: tuple[str, str] | None = None  # (name, YAML)
    defect: str | None = None
    notes: list[str] = field(default_factory=list)


@st.composite
def specs(draw: Any) -> Spec:
    kind = draw(st.sampled_from(KINDS))
    fmt = draw(st.sampled_from(("csv",) * 8 + ("xlsx", "jsonl")))
    layout = draw(st.sampled_from(("generic", "generic", "german"))) if fmt == "csv" else "generic"
    european = layout == "german" or draw(st.booleans())
    if european:
        delimiter = draw(st.sampled_from((";", ";", "\t", ",")))
        dates = draw(st.sampled_from(("dmy.", "dmy/", "dmy-", "iso")))
        amounts = draw(st.sampled_from(("eu", "eu_plain")))
    else:
        delimiter = draw(st.sampled_from((",", ",", "\t", ";")))
        dates = draw(st.sampled_from(("iso", "iso", "mdy/")))
        amounts = draw(st.sampled_from(("plain", "us")))
    bad = tuple(draw(st.lists(st.sampled_from(BAD_ROWS), max_size=4)))
    not_rows = tuple(draw(st.lists(st.sampled_from(NOT_ROWS), max_size=3)))
    defect = draw(st.sampled_from((None,) * 18 + DEFECTS)) if fmt == "csv" else None
    return Spec(
        kind=kind,
        format=fmt,
        layout=layout,
        delimiter=delimiter,
        encoding=draw(st.sampled_from(("utf-8", "utf-8", "utf-8-sig", "cp1252", "latin-1"))),
        dates=dates,
        amounts=amounts,
        rows=draw(st.integers(0, 40)),
        bad=bad,
        not_rows=not_rows,
        defect=defect,
        gzip=draw(st.sampled_from((False,) * 9 + (True,))),
        # A German export always needs its mapping; a generic one with a locale's formats sometimes has
        # one that settles what its values may leave open (without it, an open file is refused whole).
        mapping=layout == "german" or (dates != "iso" and draw(st.booleans())),
        resend=draw(st.sampled_from((False,) * 14 + (True,))),
        header_style=draw(st.sampled_from(("as is", "as is", "title", "upper"))),
        line_end=draw(st.sampled_from(("\n", "\r\n"))),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def _headers(spec: Spec) -> tuple[str, ...]:
    names = (GERMAN if spec.layout == "german" else GENERIC)[spec.kind]
    if spec.layout == "german" or spec.header_style == "as is":
        return names
    if spec.header_style == "title":
        return tuple(n.replace("_", " ").title() for n in names)
    return tuple(n.upper().replace("_", "-") for n in names)


def mapping_for(spec: Spec) -> tuple[str, str] | None:
    if not spec.mapping:
        return None
    pattern = DATE_PATTERNS[spec.dates]
    decimal, thousands = (",", ".") if spec.amounts.startswith("eu") else (".", ",")
    dates = spec.dates.replace(".", "dot").replace("/", "slash").replace("-", "dash")
    name = f"{spec.layout}-{spec.kind}-{dates}-{decimal == ','}".lower()
    columns = GERMAN[spec.kind] if spec.layout == "german" else GENERIC[spec.kind]
    fields = "\n".join(
        f"  {ours}: {json.dumps(theirs)}" for ours, theirs in zip(OUR_FIELDS[spec.kind], columns, strict=True)
    )
    text = (
        f"name: {name}\nkind: {spec.kind}\n"
        + ("signed: true\n" if spec.layout == "german" and spec.kind != "customers" else "")
        + f"formats: {{dates: ['{pattern}'], decimal: '{decimal}', thousands: '{thousands}'}}\n"
        + f"fields:\n{fields}\n"
    )
    return name, text


def _amount(value: Decimal, style: str) -> str:
    if style == "plain":
        return f"{value:.2f}"
    if style == "us":
        return f"{value:,.2f}"
    if style == "eu":
        return f"{value:,.2f}".translate(str.maketrans(",.", ".,"))
    return f"{value:.2f}".replace(".", ",")


def _rows(spec: Spec, rng: random.Random) -> list[dict[str, Any]]:
    """The file's rows as our fields (typed: dates and Decimals)."""
    pool = LATIN1_CUSTOMERS + (UTF8_ONLY_CUSTOMERS if spec.encoding.startswith("utf") else ())
    customers = rng.sample(pool, k=min(len(pool), rng.randint(1, 5)))
    base = date(2026, 1, 1) + timedelta(days=rng.randint(0, 300))
    rows: list[dict[str, Any]] = []
    for i in range(spec.rows):
        customer = rng.choice(customers)
        day = base + timedelta(days=rng.randint(-60, 60))
        amount = Decimal(rng.randint(1, 2_500_000)) / 100
        if spec.kind == "invoices":
            number = rng.choice(
                (
                    f"INV/2026/{rng.randint(1, 400):05d}",
                    f"RE-{rng.randint(1, 400)}",
                    f"{day.year}/{rng.randint(1, 999999):06d}/1000",
                )
            )
            credit = rng.randint(0, 9) == 0
            rows.append(
                {
                    "customer_id": customer,
                    "invoice_number": number,
                    "invoice_date": day,
                    "due_date": day + timedelta(days=rng.choice((0, 14, 30, 45, 60))),
                    # A German ledger signs credits; the generic layout types them.
                    "amount": -amount if credit and spec.layout == "german" else amount,
                    "currency": rng.choice(CURRENCIES),
                    "description": rng.choice(
                        ("", "Consulting, May", 'Widgets "deluxe"', "Wartung; Q2", "Line one\nline two")
                    ),
                    "document_type": "credit_note" if credit else rng.choice(("", "invoice")),
                }
            )
        elif spec.kind == "payments":
            invoices = [f"INV/2026/{rng.randint(1, 400):05d}" for _ in range(rng.randint(0, 3))]
            rows.append(
                {
                    "customer_id": customer,
                    "payment_id": f"PAY-{spec.seed % 100000}-{i}",
                    "payment_date": day,
                    "amount": amount,
                    "currency": rng.choice(CURRENCIES),
                    "invoice_number": "; ".join(invoices),
                    "reference": rng.choice(("", "Remittance " + " ".join(invoices), "SEPA, batch 7")),
                }
            )
        else:
            rows.append(
                {
                    "customer_id": customer if rng.randint(0, 3) else f"{customer} {i}",
                    "name": customer.strip() or "Nameless",
                    "email": rng.choice(("ap@example.com", "", "not-an-address", "Rechnung@müller.example")),
                    "country": rng.choice(("DE", "FR", "US", "", "Deutschland")),
                    "phone": rng.choice(("+49 30 1234567", "", "(555) 010-2000")),
                }
            )
    return rows


def _spoil(spec: Spec, rows: list[dict[str, Any]], rng: random.Random) -> list[Any]:
    """The rows with the spec's bad rows applied; each item is a row (dict) or a ('line', text) that is
    not a row, or ('cells', list) for a row whose columns do not match the header."""
    out: list[Any] = [dict(row) for row in rows]
    required = REQUIRED[spec.kind]
    for bad in spec.bad:
        if not out:
            break
        at = rng.randrange(len(out))
        row = out[at]
        if not isinstance(row, dict):
            continue
        if bad == "missing":
            row[rng.choice(required)] = ""
        elif bad == "bad_date" and spec.kind != "customers":
            row["payment_date" if spec.kind == "payments" else "invoice_date"] = rng.choice(
                ("TBD", "n/a", "2026-02-30", "31.02")
            )
        elif bad == "bad_amount" and spec.kind != "customers":
            row["amount"] = rng.choice(("abc", "--5", "12 EUR 3", "1,2,3.4"))
        elif bad == "negative" and spec.kind != "customers":
            if isinstance(row["amount"], Decimal):
                row["amount"] = -row["amount"]
        elif bad == "duplicate":
            out.insert(rng.randrange(len(out) + 1), dict(row))
        elif bad in ("extra_cols", "few_cols"):
            out[at] = ("cells", row, bad)
    for kind in spec.not_rows:
        out.insert(rng.randrange(len(out) + 1), ("line", kind))
    return out


def _cell(spec: Spec, name: str, value: Any) -> str:
    if isinstance(value, date):
        return value.strftime(DATE_PATTERNS[spec.dates])
    if isinstance(value, Decimal):
        return _amount(value, spec.amounts)
    return str(value)


def _csv_text(spec: Spec, items: list[Any], rng: random.Random) -> tuple[str, int]:
    names = OUR_FIELDS[spec.kind]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=spec.delimiter, lineterminator=spec.line_end)
    writer.writerow(_headers(spec))
    data_rows = 0
    for item in items:
        if isinstance(item, dict):
            writer.writerow([_cell(spec, n, item[n]) for n in names])
            data_rows += 1
        elif item[0] == "cells":
            cells = [_cell(spec, n, item[1][n]) for n in names]
            cells = (
                [*cells, "extra", "more"]
                if item[2] == "extra_cols"
                else cells[: rng.randint(1, len(cells) - 1)]
            )
            writer.writerow(cells)
            # A row cut down to cells that are all empty (its one kept cell blanked as "missing") holds
            # nothing: it is a blank line, which ingest passes over as it does any other.
            data_rows += any(cell.strip() for cell in cells)
        elif item[0] == "defect":
            if item[1] == "nul":
                buffer.write("ACME\x00Corp" + spec.delimiter + "x" + spec.line_end)
            else:  # a quote opened and never closed: the rest of the file would be one field
                buffer.write('"Unclosed' + spec.delimiter + "INV/1" + spec.delimiter + "x" + spec.line_end)
            data_rows += 1  # were it read at all, it would be a row
        else:
            line = {
                "empty_line": "",
                "delimiters_line": spec.delimiter * (len(names) - 1),
                "spaces_line": "   ",
            }[item[1]]
            buffer.write(line + spec.line_end)
    return buffer.getvalue(), data_rows


def _jsonl_text(spec: Spec, items: list[Any], rng: random.Random) -> tuple[str, int]:
    names = OUR_FIELDS[spec.kind]
    lines: list[str] = []
    data_rows = 0
    for item in items:
        if isinstance(item, dict):
            lines.append(
                json.dumps({n: _cell(spec, n, item[n]) for n in names}, ensure_ascii=rng.random() < 0.5)
            )
            data_rows += 1
        elif item[0] == "cells":
            # JSON Lines have no columns: a line that is not an object stands for the broken row
            lines.append(
                rng.choice(("[1, 2, 3]", "{not json", '"a string"', '{"customer_id": {"nested": 1}}'))
            )
            data_rows += 1
        else:
            lines.append("" if item[1] != "spaces_line" else "   ")
    first = next((line for line in lines if line.strip()), "")
    if not first.startswith("{") or first.startswith("{not") or first.startswith('{"customer_id": {'):
        # The first object names the fields (a file whose first line is not one is refused whole):
        # a row of placeholder values, refused row by row.
        lines.insert(0, json.dumps(dict.fromkeys(names, "x")))
        data_rows += 1
    return spec.line_end.join(lines) + spec.line_end, data_rows


def _xlsx(spec: Spec, items: list[Any], rng: random.Random) -> tuple[bytes, int]:
    names = OUR_FIELDS[spec.kind]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(_headers(spec)))
    data_rows = 0
    for item in items:
        if isinstance(item, dict):
            sheet.append([_xlsx_cell(item[n]) for n in names])
            data_rows += 1
        elif item[0] == "cells":
            cells = [_xlsx_cell(item[1][n]) for n in names]
            cells = [*cells, "extra"] if item[2] == "extra_cols" else cells[: rng.randint(1, len(cells) - 1)]
            sheet.append(cells)
            data_rows += any(str(cell or "").strip() for cell in cells)  # all blank: no row (as in CSV)
        # blank lines have no counterpart in a worksheet that openpyxl writes: left out
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), data_rows


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if value == "":
        return None
    return value


def build(spec: Spec, name: str) -> ErpFile:
    rng = random.Random(spec.seed)
    items = _spoil(spec, _rows(spec, rng), rng)
    mapping = mapping_for(spec)
    if spec.format == "xlsx":
        body, data_rows = _xlsx(spec, items, rng)
        ext = "xlsx"
    else:
        if spec.format == "csv":
            if spec.defect is not None:
                items.insert(rng.randrange(len(items) + 1), ("defect", spec.defect))
            text, data_rows = _csv_text(spec, items, rng)
            ext = rng.choice(("csv", "txt", "CSV"))
        else:
            text, data_rows = _jsonl_text(spec, items, rng)
            ext = "jsonl"
        encoding = spec.encoding
        body = text.encode(encoding) if encoding != "utf-8-sig" else text.encode("utf-8-sig")
    if spec.gzip:
        body = gzip.compress(body, mtime=0)
        ext += ".gz"
    folder = f"{mapping[0]}/" if mapping else ""
    key = f"incoming/{spec.kind}/{folder}{name}.{ext}"
    return ErpFile(spec, key, body, data_rows, mapping, spec.defect)


def files(count: int) -> Any:
    """A batch of ``count`` generated files (one SQS event's worth)."""
    return st.lists(specs(), min_size=count, max_size=count)
