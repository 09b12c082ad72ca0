"""What the local stack changes in moto, and why. Each change keeps moto's answers the same.

- S3 event records get ``versionId`` (fidelity: S3 sends it for versioned buckets, moto does not).
- DynamoDB queries sort string keys on their raw values, and an index query looks only at the items
  whose index hash key has the queried value (speed; same answers).
- DynamoDB transactions snapshot only the items they touch for rollback (speed; same rollback).

Without the last two, moto's cost per request grows with the table's size (every index query sorts
the whole table with Python-level comparisons; every transaction item deep-copies the whole table),
and the demo's 1,440 hourly ticks over a growing table would take tens of minutes.
"""

from __future__ import annotations

import copy
import inspect
import threading
from collections import defaultdict
from typing import Any

_transaction = threading.local()


def patch_moto() -> None:
    """Apply the changes once per process (the local stack may be started more than once in tests)."""
    _add_version_to_s3_events()
    _sort_string_keys_natively()
    _snapshot_only_touched_items()


def _once(owner: Any, marker: str) -> bool:
    if getattr(owner, marker, False):
        return False
    setattr(owner, marker, True)
    return True


def _add_version_to_s3_events() -> None:
    """Ingest keys its exactly-once register on the object version: without it, two uploads of one key
    would look like one."""
    from moto.s3 import notifications

    if not _once(notifications, "_arcollect_versioned"):
        return
    original = notifications._get_s3_event

    def with_version(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event = original(event_name, bucket, key, notification_id)
        version = getattr(key, "version_id", None)
        if version and version != "null":
            event["Records"][0]["s3"]["object"]["versionId"] = version
        return event

    notifications._get_s3_event = with_version


def _sort_string_keys_natively() -> None:
    """DynamoDB orders string keys by code point; Python's str order is the same, at C speed. The sorted
    list is kept until an item is added or removed (``put_item``/``delete_item`` are the only places moto
    changes a table's key set; an update changes attributes of the same item object)."""
    from moto.dynamodb.models.table import Table

    if not _once(Table, "_arcollect_sorted"):
        return
    original_all_items = Table.all_items
    original_put, original_delete = Table.put_item, Table.delete_item

    original_query = Table.query

    def sorted_items(self: Any) -> list[Any]:
        cached = getattr(self, "_arcollect_sorted_items", None)
        if cached is None:
            if self.range_key_attr:
                items = [item for range_items in self.items.values() for item in range_items.values()]
                cached = sorted(items, key=lambda item: (item.hash_key.value, item.range_key.value))
            else:
                cached = sorted(self.items.values(), key=lambda item: item.hash_key.value)
            self._arcollect_sorted_items = cached
            self._arcollect_groups = {}
        return list(cached)

    def all_items(self: Any) -> Any:
        if self.hash_key_type != "S" or self.range_key_type not in (None, "S"):
            return original_all_items(self)
        items = sorted_items(self)
        only = getattr(_query, "only", None)
        if only is None:
            return items
        attribute, value = only
        # Groups depend on attribute values, which any write may change in place: rebuilt after writes.
        if getattr(self, "_arcollect_groups_at", None) != _writes.count:
            self._arcollect_groups = {}
            self._arcollect_groups_at = _writes.count
        groups = self._arcollect_groups.get(attribute)
        if groups is None:
            groups = defaultdict(list)
            for item in items:  # already in key order, so each group is too
                found = item.attrs.get(attribute)
                if found is not None and found.type == "S":
                    groups[found.value].append(item)
            self._arcollect_groups[attribute] = groups
        return list(groups.get(value, ()))

    query_signature = inspect.signature(original_query)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = query_signature.bind(self, *args, **kwargs).arguments
        _query.only = _index_hash_condition(self, arguments)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _query.only = None

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._arcollect_sorted_items = None
        return original_put(self, *args, **kwargs)

    def delete_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._arcollect_sorted_items = None
        return original_delete(self, *args, **kwargs)

    Table.all_items = all_items
    Table.query = query
    Table.put_item = put_item
    Table.delete_item = delete_item

    import moto.dynamodb.models as models

    for name in ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items"):
        setattr(models.DynamoDBBackend, name, _counting_writes(getattr(models.DynamoDBBackend, name)))


class _WriteCounter:
    """Counts DynamoDB write operations (before and after each) so caches of attribute values expire."""

    count = 0


_writes = _WriteCounter()


def _counting_writes(method: Any) -> Any:
    def counted(*args: Any, **kwargs: Any) -> Any:
        _writes.count += 1
        try:
            return method(*args, **kwargs)
        finally:
            _writes.count += 1

    return counted


_query = threading.local()


def _index_hash_condition(table: Any, arguments: dict[str, Any]) -> tuple[str, str] | None:
    """(attribute, value) of an index query's single string hash key; None leaves moto's full walk."""
    index_name = arguments.get("index_name")
    if not index_name:
        return None
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    hash_attributes = [k["AttributeName"] for k in (index.schema if index else []) if k["KeyType"] == "HASH"]
    if len(hash_attributes) != 1:
        return None
    conditions = dict(arguments.get("hash_key_conditions") or [])
    value = conditions.get(hash_attributes[0], arguments.get("hash_key"))
    if value is None or getattr(value, "type", None) != "S":
        return None
    return hash_attributes[0], value.value


def _snapshot_only_touched_items() -> None:
    """moto's TransactWriteItems deep-copies the whole table per item as its rollback point. A copy of
    the key structure plus deep copies of the items the transaction names is the same rollback point."""
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    if not _once(models.DynamoDBBackend, "_arcollect_snapshots"):
        return
    original = models.DynamoDBBackend.transact_write_items

    class _Copy:
        """Stands in for the ``copy`` module inside moto's DynamoDB models."""

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

        @staticmethod
        def deepcopy(obj: Any, memo: Any = None) -> Any:
            touched = getattr(_transaction, "items", None)
            if isinstance(obj, Table) and touched is not None:
                return _snapshot(obj, touched)
            return copy.deepcopy(obj, memo)

    def transact_write_items(
        self: Any, transact_items: list[dict[str, Any]], *args: Any, **kwargs: Any
    ) -> Any:
        _transaction.items = transact_items
        try:
            return original(self, transact_items, *args, **kwargs)
        finally:
            _transaction.items = None

    models.copy = _Copy()  # type: ignore[assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items


def _snapshot(table: Any, transact_items: list[dict[str, Any]]) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    snapshot = copy.copy(table)
    snapshot._arcollect_sorted_items = None  # the snapshot's own key set: sorted afresh when queried
    snapshot._arcollect_groups = {}
    # The partitions themselves are shared: a transaction changes only the partitions it names, and
    # those are copied below before it runs (a copy of every partition made each transaction O(table)).
    snapshot.items = defaultdict(dict, table.items)
    for entry in transact_items:
        operation = next(iter(entry.values()))
        if operation.get("TableName") != table.name:
            continue
        attributes = operation.get("Key") or operation.get("Item") or {}
        if table.hash_key_attr not in attributes:
            continue
        hash_key = DynamoType(attributes[table.hash_key_attr])
        if table.range_key_attr:
            range_key = DynamoType(attributes.get(table.range_key_attr, {}))
            if hash_key in table.items and snapshot.items[hash_key] is table.items[hash_key]:
                snapshot.items[hash_key] = dict(table.items[hash_key])
            current = table.items.get(hash_key, {}).get(range_key)
            if current is not None:
                snapshot.items[hash_key][range_key] = copy.deepcopy(current)
        elif (current := table.items.get(hash_key)) is not None:
            snapshot.items[hash_key] = copy.deepcopy(current)
    return snapshot
