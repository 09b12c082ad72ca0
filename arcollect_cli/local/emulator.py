"""What the local stack changes in moto, and why. Each change keeps moto's answers the same.

- S3 event records get ``versionId`` (fidelity: S3 sends it for versioned buckets, moto does not).
- DynamoDB queries sort string keys on their raw values, and an index query looks only at the items
  whose index hash key has the queried value (speed; same answers).
- DynamoDB transactions snapshot only the items they touch for rollback (speed; same rollback).
- DynamoDB attribute values are written into responses directly (speed; the same JSON). moto's
  response serializer walks botocore's shape of every attribute value: ten members tried through
  several name aliases each, about 0.2 ms per attribute, so reading ten invoices cost 20 ms.
- The list of moto's service modules is read from disk once, not on every request (speed).
- A query of the table itself reads its partition only: moto compares every item's hash key (speed).
- SES v2 ``SendEmail`` refuses what real SES refuses (``enforce_ses_rules``, rules in ``ses.py``):
  message tags, addresses, recipients, size and the configuration set (fidelity: moto takes them).
- S3 refuses a presigned POST that S3 refuses (``enforce_s3_post_rules``, rules in ``s3post.py``): the
  policy's signature, expiry and conditions (size range, exact type, key) (fidelity: moto stores it).
- Cognito asks for MFA and checks TOTP codes as Cognito does (``cognito.enforce_cognito_mfa``, started
  by the local stack; fidelity: moto takes any code).

Without the index and transaction changes, moto's cost per request grows with the table's size (every
index query sorts the whole table with Python-level comparisons; every transaction item deep-copies the
whole table), and the demo's hourly ticks over a growing table would take tens of minutes.
"""

from __future__ import annotations

import base64
import copy
import functools
import inspect
import json
import threading
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from arcollect_cli.local.ses import send_email_refusal

_transaction = threading.local()


def patch_moto() -> None:
    """Apply the changes once per process (the local stack may be started more than once in tests)."""
    _add_version_to_s3_events()
    _sort_string_keys_natively()
    _snapshot_only_touched_items()
    _write_attribute_values_directly()
    _list_service_modules_once()


class _SesRules:
    """How many callers want SES's rules enforced now (the local stack while it runs, a test's AWS)."""

    enforcing = 0
    lock = threading.Lock()


def enforce_ses_rules() -> Callable[[], None]:
    """Make moto's SES v2 ``SendEmail`` refuse what SES refuses, with SES's error code, message and
    status, until the returned undo is called (each caller undoes its own; the rules hold while any
    caller still wants them). Without them a reminder SES would refuse passes every local test."""
    from moto.core.exceptions import JsonRESTError
    from moto.sesv2.responses import SESV2Response

    class Refused(JsonRESTError):
        def __init__(self, code: str, message: str, status: int) -> None:
            super().__init__(code, message)
            self.code = status

    if _once(SESV2Response, "_arcollect_ses_rules"):
        original = SESV2Response.send_email

        def send_email(self: Any) -> str:
            if _SesRules.enforcing:
                request = json.loads(self.body)
                raw = (request.get("Content") or {}).get("Raw")
                refusal = send_email_refusal(
                    request,
                    base64.b64decode(raw["Data"]) if raw else None,
                    self.sesv2_backend.core_backend.config_sets,
                )
                if refusal is not None:
                    raise Refused(refusal.code, refusal.message, refusal.status)
            return str(original(self))

        SESV2Response.send_email = send_email  # type: ignore[method-assign]
    with _SesRules.lock:
        _SesRules.enforcing += 1
    undone = threading.Event()

    def undo() -> None:
        with _SesRules.lock:
            if not undone.is_set():
                undone.set()
                _SesRules.enforcing -= 1

    return undo


class _S3PostRules:
    """The secret keys whose presigned POSTs are checked now (the local stack's, a test's), by key id."""

    secrets: dict[str, int] = {}  # noqa: RUF012 (one registry per process, like _SesRules)
    keys: dict[str, str] = {}  # noqa: RUF012
    lock = threading.Lock()


def enforce_s3_post_rules(secrets: dict[str, str]) -> Callable[[], None]:
    """Make moto's S3 refuse a presigned POST (a browser upload) that S3 refuses: a bad signature, an
    expired policy, a failed condition (``content-length-range``, an exact ``Content-Type``, the key),
    a field the policy does not name; with S3's error code and status (rules in ``s3post.py``), until
    the returned undo is called. ``secrets``: access key id to secret key. Without them a dispute upload
    S3 would refuse (too large, of another type) passes every local test."""
    from datetime import UTC, datetime

    from moto.s3.responses import S3Response

    from arcollect_cli.local.s3post import post_refusal

    if _once(S3Response, "_arcollect_s3_post_rules"):
        original = S3Response._bucket_response_post

        def bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
            form = dict(getattr(self, "form_data", None) or {})
            if _S3PostRules.keys and form and not self.is_delete_keys():
                body = self.raw_body if isinstance(self.raw_body, bytes) else str(self.raw_body).encode()
                with _S3PostRules.lock:
                    keys = dict(_S3PostRules.keys)
                refusal = post_refusal(
                    form, len(body), bucket=bucket_name, now=datetime.now(UTC), secrets=keys
                )
                if refusal is not None:
                    return refusal.status, {"Content-Type": "application/xml"}, _s3_error_xml(refusal)
            return original(self, request, bucket_name)

        S3Response._bucket_response_post = bucket_response_post  # type: ignore[method-assign]
    with _S3PostRules.lock:
        for key_id, secret in secrets.items():
            _S3PostRules.secrets[key_id] = _S3PostRules.secrets.get(key_id, 0) + 1
            _S3PostRules.keys[key_id] = secret
    undone = threading.Event()

    def undo() -> None:
        with _S3PostRules.lock:
            if undone.is_set():
                return
            undone.set()
            for key_id in secrets:
                _S3PostRules.secrets[key_id] -= 1
                if not _S3PostRules.secrets[key_id]:
                    del _S3PostRules.secrets[key_id]
                    _S3PostRules.keys.pop(key_id, None)

    return undo


def _s3_error_xml(refusal: Any) -> str:
    from xml.sax.saxutils import escape

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
        f"{escape(refusal.code)}</Code><Message>{escape(refusal.message)}</Message></Error>"
    )


def emulator_application() -> Any:
    """The WSGI application moto's server runs (one per caller; the services' state is moto's, shared)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


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


def _sortable(table: Any) -> bool:
    """String keys, which the emulator keeps sorted (other key types take moto's own walk)."""
    return bool(table.hash_key_type == "S" and table.range_key_type in (None, "S"))


def _sort_string_keys_natively() -> None:
    """DynamoDB orders string keys by code point; Python's str order is the same, at C speed. The sorted
    list is sorted once and then follows each item added or removed (``put_item``/``delete_item`` are the
    only places moto changes a table's key set; an update changes attributes of the same item object)."""
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
        if not _sortable(self):
            return original_all_items(self)
        only = getattr(_query, "only", None)
        if isinstance(only, _TablePartition):
            # A table query reads one partition: moto compares the hash key of every item of the table.
            partition = self.items.get(only.hash_key)
            return list(partition.values()) if isinstance(partition, dict) else []
        items = sorted_items(self)
        if only is None:
            return items
        # Groups depend on attribute values, which any write may change in place: rebuilt after writes.
        if getattr(self, "_arcollect_groups_at", None) != _writes.count:
            self._arcollect_groups = {}
            self._arcollect_groups_at = _writes.count
        group = _index_group(self._arcollect_groups, items, only.hash_attribute, only.hash_value)
        if only.range_attribute is None:
            return list(group.items)
        return group.within(only.range_attribute, only.comparison, only.bounds)

    query_signature = inspect.signature(original_query)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = query_signature.bind(self, *args, **kwargs).arguments
        _query.only = _index_hash_condition(self, arguments) or _table_partition(self, arguments)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _query.only = None

    def table_key(item: Any) -> tuple[Any, ...]:
        return (item.hash_key.value, item.range_key.value if item.range_key is not None else "")

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original_put(self, *args, **kwargs)
        cached = getattr(self, "_arcollect_sorted_items", None)
        if cached is None or not _sortable(self) or not hasattr(item, "hash_key"):
            self._arcollect_sorted_items = None
            return item
        # The sorted list follows the write (an insertion, or the same key's item replaced) instead
        # of the whole table being sorted again at the next query.
        key = table_key(item)
        at = bisect_left(cached, key, key=table_key)
        if at < len(cached) and table_key(cached[at]) == key:
            cached[at] = item
        else:
            cached.insert(at, item)
        return item

    def delete_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original_delete(self, *args, **kwargs)
        cached = getattr(self, "_arcollect_sorted_items", None)
        if item is None or cached is None or not _sortable(self):
            if item is not None:
                self._arcollect_sorted_items = None
            return item
        key = table_key(item)
        at = bisect_left(cached, key, key=table_key)
        if at < len(cached) and cached[at] is item:
            del cached[at]
        else:
            self._arcollect_sorted_items = None
        return item

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


@dataclass(frozen=True)
class _IndexCondition:
    """An index query's key condition, as far as the emulator narrows it: the hash key's string value,
    and a range condition on a string range key (None when there is none, or it is not a string)."""

    hash_attribute: str
    hash_value: str
    range_attribute: str | None = None
    comparison: str | None = None
    bounds: tuple[str, ...] = ()


@dataclass
class _Group:
    """The items with one index hash value, in table key order, and by range attribute on demand."""

    items: list[Any]
    by_range: dict[str, tuple[list[str], list[Any]]] = field(default_factory=dict)

    def within(self, attribute: str, comparison: str | None, bounds: tuple[str, ...]) -> list[Any]:
        """The items whose ``attribute`` meets the range condition, found by bisection: what moto's own
        walk of the group keeps, read in O(log n) rather than comparing every item of the group."""
        if attribute not in self.by_range:
            # By value, then table key order (the items' order in the group): moto re-sorts anyway.
            ranked = sorted(
                (
                    (found.value, position, item)
                    for position, item in enumerate(self.items)
                    if (found := item.attrs.get(attribute)) is not None and found.type == "S"
                ),
                key=lambda entry: (entry[0], entry[1]),
            )
            self.by_range[attribute] = ([entry[0] for entry in ranked], [entry[2] for entry in ranked])
        values, items = self.by_range[attribute]
        start, end = 0, len(values)
        if comparison == "EQ":
            start, end = bisect_left(values, bounds[0]), bisect_right(values, bounds[0])
        elif comparison == "LE":
            end = bisect_right(values, bounds[0])
        elif comparison == "LT":
            end = bisect_left(values, bounds[0])
        elif comparison == "GE":
            start = bisect_left(values, bounds[0])
        elif comparison == "GT":
            start = bisect_right(values, bounds[0])
        elif comparison == "BETWEEN":
            start, end = bisect_left(values, bounds[0]), bisect_right(values, bounds[1])
        elif comparison == "BEGINS_WITH":
            start = end = bisect_left(values, bounds[0])
            while end < len(values) and values[end].startswith(bounds[0]):
                end += 1
        else:
            return list(self.items)  # a condition this does not narrow: moto walks the whole group
        return items[start:end]


def _index_group(
    groups: dict[str, dict[str, _Group]], items: list[Any], attribute: str, value: str
) -> _Group:
    by_value = groups.get(attribute)
    if by_value is None:
        collected: dict[str, list[Any]] = defaultdict(list)
        for item in items:  # already in key order, so each group is too
            found = item.attrs.get(attribute)
            if found is not None and found.type == "S":
                collected[found.value].append(item)
        by_value = groups[attribute] = {key: _Group(members) for key, members in collected.items()}
    return by_value.get(value) or _Group([])


# The range comparisons the emulator narrows by bisection, by the names and symbols moto passes them as.
_NARROWED = {
    "EQ": "EQ",
    "=": "EQ",
    "LE": "LE",
    "<=": "LE",
    "LT": "LT",
    "<": "LT",
    "GE": "GE",
    ">=": "GE",
    "GT": "GT",
    ">": "GT",
    "BETWEEN": "BETWEEN",
    "BEGINS_WITH": "BEGINS_WITH",
}


@dataclass(frozen=True)
class _TablePartition:
    """A query of the table itself (no index): the items of one hash key, moto's own ``DynamoType``."""

    hash_key: Any


def _table_partition(table: Any, arguments: dict[str, Any]) -> _TablePartition | None:
    """The partition a table query reads (None: an index query, or a table without a range key, whose
    items moto keeps by hash key alone)."""
    if arguments.get("index_name") or not table.range_key_attr or arguments.get("hash_key") is None:
        return None
    return _TablePartition(arguments["hash_key"])


def _index_hash_condition(table: Any, arguments: dict[str, Any]) -> _IndexCondition | None:
    """The index query's key condition; None leaves moto's full walk (a table query, several hash keys,
    a hash value that is not a string)."""
    index_name = arguments.get("index_name")
    if not index_name:
        return None
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    schema = index.schema if index else []
    hash_attributes = [k["AttributeName"] for k in schema if k["KeyType"] == "HASH"]
    range_attributes = [k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"]
    if len(hash_attributes) != 1:
        return None
    conditions = dict(arguments.get("hash_key_conditions") or [])
    value = conditions.get(hash_attributes[0], arguments.get("hash_key"))
    if value is None or getattr(value, "type", None) != "S":
        return None
    condition = _IndexCondition(hash_attributes[0], value.value)
    comparison = _NARROWED.get(str(arguments.get("range_comparison") or "").upper())
    bounds = list(arguments.get("range_objs") or [])
    range_conditions = arguments.get("range_key_conditions") or []
    narrowed = (
        comparison is not None
        and len(range_attributes) == 1
        and all(name == range_attributes[0] for name, _, _ in range_conditions)
        and len(bounds) == (2 if comparison == "BETWEEN" else 1)
        and all(getattr(bound, "type", None) == "S" for bound in bounds)
    )
    if not narrowed:
        return condition
    return replace(
        condition,
        range_attribute=range_attributes[0],
        comparison=comparison,
        bounds=tuple(bound.value for bound in bounds),
    )


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


# -- responses -----------------------------------------------------------------------------------------

# The botocore shapes of DynamoDB's attribute values: a structure with one member per type, and the maps
# of names to values that items, keys and attribute updates are.
ATTRIBUTE_VALUE_SHAPE = "AttributeValue"


def attribute_value_json(value: dict[str, Any]) -> dict[str, Any]:
    """One attribute value as DynamoDB's JSON protocol writes it, from moto's plain form (binary values
    as bytes, numbers as strings): what moto's serializer gives, member by member, for the same value."""
    result: dict[str, Any] = {}
    for kind, inner in value.items():
        if inner is None:
            continue  # the serializer leaves out members whose value is None
        if kind == "B":
            result[kind] = _base64(inner)
        elif kind == "BS":
            result[kind] = [_base64(item) for item in inner]
        elif kind == "M":
            result[kind] = {name: attribute_value_json(item) for name, item in inner.items()}
        elif kind == "L":
            result[kind] = [attribute_value_json(item) for item in inner]
        elif kind in ("SS", "NS"):
            result[kind] = [str(item) for item in inner]
        elif kind in ("NULL", "BOOL"):
            result[kind] = inner
        else:  # S and N are strings on the wire
            result[kind] = str(inner) if inner not in ({}, []) else inner
    return result


def _base64(value: str | bytes) -> str:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return base64.b64encode(raw).strip().decode("utf-8")


def _write_attribute_values_directly() -> None:
    from moto.core.serialize import BaseJSONSerializer

    if not _once(BaseJSONSerializer, "_arcollect_attribute_values"):
        return
    structure = BaseJSONSerializer._serialize_type_structure
    mapping = BaseJSONSerializer._serialize_type_map
    # Kept so that a test can serialize the same response both ways and compare.
    BaseJSONSerializer._arcollect_shape_walk = (structure, mapping)  # type: ignore[attr-defined]

    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if shape.name == ATTRIBUTE_VALUE_SHAPE and key and isinstance(value, dict):
            serialized[self.get_serialized_name(shape, key)] = attribute_value_json(value)
            return
        structure(self, serialized, value, shape, key)

    def serialize_map(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if (
            getattr(shape.value, "name", None) == ATTRIBUTE_VALUE_SHAPE
            and isinstance(value, dict)
            and all(isinstance(item, dict) for item in value.values())
        ):
            serialized[self.get_serialized_name(shape, key)] = {
                name: attribute_value_json(item) for name, item in value.items()
            }
            return
        mapping(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = serialize_structure  # type: ignore[method-assign]
    BaseJSONSerializer._serialize_type_map = serialize_map  # type: ignore[method-assign]


def _list_service_modules_once() -> None:
    """moto's server looks its service modules up with ``os.listdir`` for every request; they are the
    installed package's folders, which do not change while it runs."""
    from moto import backends

    if not _once(backends, "_arcollect_modules_cached"):
        return
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = functools.partial(iter, modules)
