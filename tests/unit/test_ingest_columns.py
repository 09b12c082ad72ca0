"""The column-by-column mapping and the block reader give exactly what the row-by-row ones give.

``BoundMapping.map_many`` must equal ``map`` record for record (entity, errors and their order, notes,
skips, keys) under every preset, for cells of every kind: valid, refused, empty, odd widths, unreadable
records. ``read_blocks`` must give ``read_records``'s records (lines included) in blocks. And mapping
makes no reference cycles, which is what lets the ingest pause the cycle collector while it maps.
"""

from __future__ import annotations

import csv
import gc
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcollect.entities import DropKind
from arcollect.ingest.drops import cycle_collector_paused
from arcollect.ingest.mappings import PRESETS, BoundMapping, ColumnMapping, find_header
from arcollect.ingest.sources import FileProblem, Record, inspect, read_blocks, read_records

# Cells of every kind a column may hold, valid and not: dates in several styles, amounts in several
# styles (and Decimal's extras the converter refuses; finer than a currency's unit, or padded with zeros
# past it), codes, flags, links, long texts, blanks.
CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "2026-10-01",
            "2026-02-31",
            "01.10.2026",
            "10/01/2026",
            "20261001",
            "2026-W01-1",
            "1234.56",
            "-99.5",
            "+7",
            ".5",
            "5.",
            "0",
            "0.00",
            "1,234.56",
            "1.234,56",
            "(12.00)",
            "12.00-",
            "$1,200",
            "1e3",
            "100.001",
            "100.0000",
            "1000.5",
            "1.234,567",
            "NaN",
            "1_000",
            "١٢٣",
            "12,3O",
            "EUR",
            "usd",
            "XYZ",
            "JPY",
            "KWD",
            "yes",
            "no",
            "X",
            "maybe",
            "invoice",
            "credit_note",
            "https://pay.example/i/INV/2026/1",
            "http://a b",
            "HTTPS://Pay.Example/i/1",
            "https:///pay",
            "https://",
            "https://?x",
            "http://a\u00a0b",
            "ftp://pay.example",
            "1.2.3",
            "-",
            "1-2",
            "--1",
            "javascript:alert(1)",
            "C-1",
            "Brennan & Sons, PC",
            "INV/2026/00187",
            "x" * 2100,
            "line one\nline two",
            "30",
            "RV",
            "DZ",
            "Total",
        ]
    ),
    st.text(max_size=12),
)


def _header(mapping: ColumnMapping) -> list[str]:
    names: list[str] = []
    for source in mapping.fields.values():
        names.extend(source.columns[:1] or source.join)
    for rule in mapping.skip:
        names.extend(c for c in (rule.column, *rule.empty) if c and not c.startswith("#"))
    return list(dict.fromkeys(names))


def _bound(kind: DropKind, name: str) -> BoundMapping | None:
    mapping = PRESETS[(kind, name)]
    header = find_header(mapping, [Record(1, _header(mapping))])
    if isinstance(header, list):
        return None
    try:
        return BoundMapping(mapping, header)
    except FileProblem:  # a preset that reads its as-of date from a preamble this header lacks
        return None


BOUND = {key: bound for key in PRESETS if (bound := _bound(*key)) is not None}


def test_every_preset_but_preamble_readers_is_covered() -> None:
    names = {name for _, name in BOUND}
    assert names >= {
        "generic",
        "xero-invoices",
        "netsuite-invoices",
        "odoo-invoices",
        "sap-fbl5n",
        "bc-ledger-entries",
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(BOUND, key=str)), st.data())
def test_map_many_is_map_record_for_record(key: tuple[DropKind, str], data: st.DataObject) -> None:
    bound = BOUND[key]
    width = bound.width
    records = []
    for line in range(2, 2 + data.draw(st.integers(0, 30))):
        kind = data.draw(st.sampled_from(["row", "row", "row", "short", "long", "problem"]))
        size = {"row": width, "short": max(width - 2, 0), "long": width + 2}.get(kind, 0)
        values = [data.draw(CELLS) for _ in range(size)]
        records.append(Record(line, values, "a broken record" if kind == "problem" else None))
    # When the records are mapped as a block and one by one
    many = bound.map_many(records)
    one_by_one = [bound.map(record) for record in records]
    # Then the outcomes are the same, field for field
    assert len(many) == len(one_by_one)
    for together, alone in zip(many, one_by_one, strict=True):
        assert together == alone
        if alone.entity is not None:
            assert vars(together.entity) == vars(alone.entity)


GOOD_ROWS = {
    (DropKind.INVOICES, "generic"): {
        "customer_id": "Brennan & Sons, PC",
        "invoice_number": "INV/2026/00187",
        "invoice_date": "2026-10-01",
        "due_date": "2026-11-01",
        "amount": "1234.56",
        "currency": "eur",
        "open_amount": "100",
        "document_type": "invoice",
        "disputed": "no",
        "pay_url": "https://pay.example/i/1",
        "description": "Coolant, 200 l",
    },
    (DropKind.PAYMENTS, "generic"): {
        "customer_id": "C-1",
        "payment_id": "P-1",
        "payment_date": "2026-10-01",
        "amount": "10.00",
        "currency": "USD",
    },
}


@pytest.mark.parametrize("key", sorted(GOOD_ROWS, key=str))
def test_good_rows_are_mapped_without_the_row_by_row_path(key: tuple[DropKind, str]) -> None:
    # Given a block of rows that map() accepts (else the property above could hold vacuously)
    bound = BOUND[key]
    good = GOOD_ROWS[key]
    records = [Record(2 + i, [good.get(column, "") for column in bound.header.cells]) for i in range(50)]
    expected = [bound.map(record) for record in records]
    assert all(row.entity is not None for row in expected)
    # When they are mapped as a block, Then map() is never called, and the outcome is the same
    calls: list[Record] = []
    original = bound.map

    def counting(record: Record) -> Any:
        calls.append(record)
        return original(record)

    bound.map = counting  # type: ignore[method-assign]
    try:
        assert bound.map_many(records) == expected
    finally:
        del bound.map
    assert calls == []


# Amounts at, past and padded past their currency's unit (JPY 0 decimals, EUR 2, KWD 3), and a currency
# that is refused: (amount, currency, refused).
UNIT_ROWS = [
    ("1234.56", "EUR", False),
    ("100.001", "EUR", True),
    ("100.0000", "eur", False),
    ("1000", "JPY", False),
    ("1000.5", "JPY", True),
    ("1000.00", "JPY", False),
    ("1.234", "KWD", False),
    ("1.2345", "KWD", True),
    ("12.345", "XYZ", True),
]


@pytest.mark.parametrize("key", sorted(GOOD_ROWS, key=str))
def test_amounts_past_their_currency_s_unit_are_mapped_as_map_maps_them(key: tuple[DropKind, str]) -> None:
    # Given a block of good rows but for their amounts and currencies: some finer than their currency's
    # unit, some padded with zeros past it, in currencies of 0, 2 and 3 decimals
    bound = BOUND[key]
    records = []
    for i, (amount, currency, _) in enumerate(UNIT_ROWS * 3):
        row = dict(GOOD_ROWS[key], amount=amount, currency=currency)
        if "open_amount" in row:
            row["open_amount"] = amount
        records.append(Record(2 + i, [row.get(column, "") for column in bound.header.cells]))
    # When they are mapped as a block and one by one
    many = bound.map_many(records)
    one_by_one = [bound.map(record) for record in records]
    # Then the outcomes are the same, amounts kept at their unit alike; and the rows past it are refused
    assert many == one_by_one
    for together, alone in zip(many, one_by_one, strict=True):
        if alone.entity is not None:
            assert vars(together.entity) == vars(alone.entity)
            assert str(together.entity.amount) == str(alone.entity.amount)
    assert [row.entity is None for row in one_by_one] == [refused for _, _, refused in UNIT_ROWS * 3]


# -- blocks of records --------------------------------------------------------------------------------

ROWS = st.lists(
    st.lists(
        st.sampled_from(["a", "", "b c", 'say "hi"', "x,y", "two\nlines", "cr\rhere", "crlf\r\nend"]),
        max_size=4,
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(ROWS, st.sampled_from(["\n", "\r\n"]), st.integers(1, 7))
def test_blocks_hold_the_records_and_lines_of_read_records(
    rows: list[list[str]], newline: str, size: int
) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=newline).writerows([["h1", "h2"], *rows])
    content = buffer.getvalue().encode()
    shape = inspect(lambda: iter([content]))
    expected = list(read_records(lambda: iter([content]), shape))
    blocks = list(read_blocks(lambda: iter([content]), shape, size))
    assert all(0 < len(block) <= size for block in blocks)
    assert [record for block in blocks for record in block] == expected


# -- no cycles ------------------------------------------------------------------------------------------


def test_mapping_a_block_leaves_nothing_for_the_cycle_collector() -> None:
    bound = BOUND[(DropKind.INVOICES, "generic")]
    rows = [
        ["C-1", f"INV-{i}", "2026-10-01", "2026-11-01", "12,3O" if i % 50 == 0 else "10.00", "EUR"]
        + [""] * (bound.width - 6)
        for i in range(2000)
    ]
    records = [Record(i + 2, row) for i, row in enumerate(rows)]
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        mapped = bound.map_many(records)
        assert sum(1 for row in mapped if row.errors) == 40
        del mapped
        assert gc.collect() == 0
    finally:
        if was:
            gc.enable()


def test_pausing_the_collector_leaves_it_as_it_was_and_others_objects_collectable() -> None:
    # Given a reference cycle the caller made, and nothing frozen; When a block is mapped with the
    # collector paused; Then the collector runs again, nothing stays frozen, and the cycle is still found
    gc.collect()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    cycle: list[object] = []
    cycle.append(cycle)
    with cycle_collector_paused():
        assert not gc.isenabled()
        block = [[str(i)] for i in range(1000)]
    assert gc.isenabled() and gc.get_freeze_count() == 0 and len(block) == 1000
    del cycle
    assert gc.collect() >= 1


def test_pausing_the_collector_keeps_what_someone_else_froze_frozen() -> None:
    gc.collect()
    kept = [[i] for i in range(100)]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with cycle_collector_paused():
            block = [[str(i)] for i in range(1000)]
        assert gc.get_freeze_count() == frozen and len(block) == len(kept) * 10
    finally:
        gc.unfreeze()
    assert gc.isenabled()
