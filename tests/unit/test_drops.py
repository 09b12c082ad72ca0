"""Drops: notification parsing, the drop layout and row counting, without AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from arcollect.entities import DropKind, FileStatus
from arcollect.ingest.drops import (
    Drop,
    MalformedNotification,
    kind_of,
    mapping_folder,
    parse_notification,
    receive_drop,
)
from tests.unit.fakes import Reader, Register

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def s3_record(key: str, version: str | None = "v1") -> dict[str, object]:
    obj: dict[str, object] = {"key": key, "size": 10, "eTag": "e"}
    if version:
        obj["versionId"] = version
    return {"eventTime": "2026-11-23T08:00:00.000Z", "s3": {"bucket": {"name": "drop"}, "object": obj}}


def test_keys_are_url_decoded_and_an_unversioned_object_is_version_null() -> None:
    [drop] = parse_notification(json.dumps({"Records": [s3_record("incoming/invoices/a+b%C3%A9.csv", None)]}))
    assert drop.key == "incoming/invoices/a bé.csv"
    assert drop.version_id == "null"
    assert drop.event_time == NOW


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"Records": 3}', "no 'Records' list"),
        ('{"Records": [{"s3": {}}]}', "record 0 lacks"),
    ],
)
def test_malformed_notifications_say_what_is_wrong(body: str, reason: str) -> None:
    with pytest.raises(MalformedNotification, match=reason):
        parse_notification(body)


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("incoming/invoices/x.csv", DropKind.INVOICES),
        ("incoming/payments/sap-fbl5n/x.csv", DropKind.PAYMENTS),
        ("incoming/customers/x.jsonl.gz", DropKind.CUSTOMERS),
        ("incoming/x.csv", None),
        ("incoming/Invoices/x.csv", None),
        ("results/x.json", None),
    ],
)
def test_the_kind_comes_from_the_drop_layout(key: str, kind: DropKind | None) -> None:
    assert kind_of(key) is kind


@pytest.mark.parametrize(
    ("key", "folder"),
    [
        ("incoming/invoices/a.csv", None),
        ("incoming/invoices/xero-invoices/a.csv", "xero-invoices"),
        ("incoming/invoices/sap-fbl5n/2026/a.csv", "sap-fbl5n"),
    ],
)
def test_the_mapping_folder_comes_from_the_drop_layout(key: str, folder: str | None) -> None:
    assert mapping_folder(key) == folder


def test_a_file_outside_the_layout_is_not_read_and_is_recorded_as_rejected() -> None:
    reader, register = Reader(b"h\n1\n"), Register()
    drop = Drop("drop", "incoming/orders/x.csv", "v1", 4, "e", NOW)
    outcome = receive_drop(drop, reader=reader, register=register, now=NOW)
    assert outcome.file.status is FileStatus.REJECTED
    assert reader.reads == 0
    assert not outcome.duplicate


def test_the_second_receipt_of_a_version_is_a_duplicate() -> None:
    reader, register = Reader(b"h\n1\n"), Register()
    drop = Drop("drop", "incoming/invoices/x.csv", "v1", 4, "e", NOW)
    first = receive_drop(drop, reader=reader, register=register, now=NOW)
    assert not first.duplicate
    reads = reader.reads
    again = receive_drop(drop, reader=reader, register=register, now=NOW)
    assert again.duplicate
    assert reader.reads == reads  # a version seen before is not read again
