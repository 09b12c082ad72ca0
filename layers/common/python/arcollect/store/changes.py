"""Storage of the ERP change feed: the day's changes from the table, each change's object in S3.

The changes themselves are written with their decisions (``repositories._timeline_items`` and the
stores' transactions); this module reads a day of them back for the daily files, and writes the
per-change objects after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from arcollect.changes import JSON_CONTENT_TYPE, Change, Record, change_key, change_object, record_from_json
from arcollect.contract import DropPrefix
from arcollect.observability import logger
from arcollect.store import keys
from arcollect.store.base import translated
from arcollect.store.errors import StoreError
from arcollect.store.models import ChangeItem
from arcollect.store.objects import ObjectStore


class ChangeLog:
    """The changes recorded in the table, by day."""

    @translated
    def records_of(self, day: date) -> list[Record]:
        """Every change of ``day`` (UTC), read consistently: the daily files must hold what was
        committed before they are written."""
        items = ChangeItem.query(
            keys.change_day_pk(day.isoformat()),
            ChangeItem.sk.startswith(keys.change_sk("")),
            consistent_read=True,
        )
        return [record_from_json(item.record) for item in items]


class ChangeObjects:
    """Writes ``outgoing/changes/<day>/<change id>.json`` in the drop bucket for each change."""

    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self._bucket = bucket
        self._objects = ObjectStore(client)

    def put_outgoing(self, key: str, body: bytes, content_type: str) -> None:
        """Another file for the ERP beside the changes (an agency placement's hand-off: arcollect/
        credit_control.py), under ``outgoing/`` only; raises StoreError when S3 refuses it."""
        if not key.startswith(DropPrefix.OUTGOING):
            raise ValueError(f"{key!r} is not under {DropPrefix.OUTGOING}")
        self._objects.put_bytes(self._bucket, key, body, content_type)

    def publish(self, changes: Sequence[Change]) -> None:
        """Never raises: the decision is committed and the change with it (in the table), and the next
        daily files carry it; failing the customer's request or the sweep over a late copy would be
        worse than the copy arriving with the day's files."""
        for change in changes:
            try:
                self._objects.put_bytes(
                    self._bucket, change_key(change), change_object(change), JSON_CONTENT_TYPE
                )
            except StoreError as error:
                logger.warning(
                    "change feed object not written; the day's files will carry the change",
                    extra={"change_id": change.change_id, "kind": change.kind.value, "error": str(error)},
                )
