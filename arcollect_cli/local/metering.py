"""What the local stack's functions would be billed for on AWS, counted as they run.

A ``Meter`` records, per function, what AWS prices: invocations and GB-seconds (each invocation's
duration at the function's memory size), DynamoDB read and write request units (from the size of every
item read or written, by DynamoDB's own rules), S3 requests by price class and bytes stored, SES
messages, SQS requests (one per 64 KiB of payload), Secrets Manager calls, and the bytes each function
writes to its log (what CloudWatch Logs ingests). ``benchmarks/aws_cost.py`` turns these counts into a
monthly bill.

The counts come from the requests themselves (the in-process transport hands every request of the
functions to ``Meter.request``), so they follow the code: a new query shows up in the bill.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# DynamoDB: a write request unit is 1 KB, a read request unit 4 KB (strongly consistent; half a unit
# for eventually consistent reads); transactions cost twice.
_WRITE_UNIT = 1024
_READ_UNIT = 4096
# SQS bills each 64 KB chunk of a request's payload as one request.
_SQS_CHUNK = 64 * 1024
# S3's price classes: PUT, COPY, POST and LIST in one, GET and every other read in the other.
_S3_TIER1 = frozenset({"PUT", "POST", "COPY", "LIST"})

_current = threading.local()


@dataclass
class Meter:
    """Usage per function: ``usage[function][measure]``."""

    usage: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    memory_mb: dict[str, int] = field(default_factory=dict)

    # -- what the local stack reports -------------------------------------------------------------

    def invoked(self, function: str, seconds: float, log_bytes: int) -> None:
        """One invocation of ``function`` that ran ``seconds`` and wrote ``log_bytes`` to its log."""
        usage = self.usage[function]
        usage["lambda.invocations"] += 1
        # Lambda bills duration in whole milliseconds.
        usage["lambda.gb_seconds"] += (
            math.ceil(seconds * 1000) / 1000 * self.memory_mb.get(function, 1024) / 1024
        )
        usage["logs.bytes"] += log_bytes

    def request(
        self, service: str, operation: str, body: bytes, status: int, response: bytes, url: str
    ) -> None:
        """One AWS request made by the function running on this thread (others are not billed to a
        function: the CLI's own calls, the local stack's pollers)."""
        function = getattr(_current, "function", None)
        if function is None:
            return
        usage = self.usage[function]
        usage[f"{service}.requests"] += 1
        if service == "dynamodb":
            reads, writes = dynamodb_units(operation, _json(body), _json(response), status)
            usage["dynamodb.rru"] += reads
            usage["dynamodb.wru"] += writes
        elif service == "s3":
            usage["s3.tier1" if _s3_tier(operation) else "s3.tier2"] += 1
            if operation in ("PutObject", "UploadPart", "CopyObject") and status < 300:
                usage["s3.bytes_put"] += len(body)
        elif service == "sesv2" or service == "ses":
            if operation in ("SendEmail", "SendRawEmail") and status < 300:
                usage["ses.messages"] += 1
                usage["ses.bytes"] += len(body)
        elif service == "sqs":
            usage["sqs.billed_requests"] += max(1, math.ceil(len(body) / _SQS_CHUNK))
        elif service == "secretsmanager":
            usage["secretsmanager.calls"] += 1


@contextmanager
def billed_to(function: str) -> Iterator[None]:
    """Requests made on this thread inside the block are billed to ``function``."""
    before = getattr(_current, "function", None)
    _current.function = function
    try:
        yield
    finally:
        _current.function = before


def _s3_tier(operation: str) -> bool:
    return any(operation.upper().startswith(prefix) for prefix in _S3_TIER1) or operation in (
        "ListObjectsV2",
        "ListObjectVersions",
        "CreateMultipartUpload",
        "CompleteMultipartUpload",
        "UploadPart",
    )


def _json(data: bytes) -> Any:
    try:
        return json.loads(data or b"{}")
    except ValueError:
        return {}


# -- DynamoDB's units -------------------------------------------------------------------------------


def attribute_size(value: dict[str, Any]) -> int:
    """An attribute value's size by DynamoDB's rules (``Item sizes and formats`` in its guide): strings
    and binaries by length, numbers by about a byte per two digits plus one, 1 byte for booleans and
    nulls, lists and maps 3 bytes plus their elements (each element one byte more)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        digits = str(inner).lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(inner) * 3 // 4  # base64 on the wire
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(item).encode()) for item in inner)
    if kind == "NS":
        return sum(attribute_size({"N": item}) for item in inner)
    if kind == "BS":
        return sum(len(item) * 3 // 4 for item in inner)
    if kind == "L":
        return 3 + sum(attribute_size(item) + 1 for item in inner)
    if kind == "M":
        return 3 + sum(len(name.encode()) + attribute_size(item) + 1 for name, item in inner.items())
    return 0


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in (item or {}).items())


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


def dynamodb_units(operation: str, request: Any, response: Any, status: int) -> tuple[Decimal, Decimal]:
    """(read request units, write request units) that one request consumes. A refused write (a failed
    condition) still consumes its write units, as on DynamoDB."""
    read, write = Decimal(0), Decimal(0)
    half = Decimal("0.5")
    if operation == "GetItem":
        factor = 1 if request.get("ConsistentRead") else half
        read = _units(item_size(response.get("Item", {})), _READ_UNIT) * factor
    elif operation in ("Query", "Scan"):
        factor = 1 if request.get("ConsistentRead") else half
        size = sum(item_size(item) for item in response.get("Items", []))
        read = _units(size, _READ_UNIT) * factor
    elif operation == "BatchGetItem":
        for items in (response.get("Responses") or {}).values():
            read += sum(_units(item_size(item), _READ_UNIT) for item in items) * half
    elif operation == "TransactGetItems":
        read = sum(
            _units(item_size(r.get("Item", {})), _READ_UNIT) * 2 for r in response.get("Responses", [])
        )
    elif operation == "PutItem":
        write = Decimal(_units(item_size(request.get("Item", {})), _WRITE_UNIT))
    elif operation in ("UpdateItem", "DeleteItem"):
        # The larger of the item before and after: the stored item, or what the response returned.
        size = max(
            item_size(response.get("Attributes", {})),
            stored_size(request.get("TableName"), request.get("Key")),
        )
        write = Decimal(_units(size, _WRITE_UNIT))
    elif operation == "BatchWriteItem":
        for requests in (request.get("RequestItems") or {}).values():
            for entry in requests:
                item = (entry.get("PutRequest") or {}).get("Item", {})
                write += _units(item_size(item), _WRITE_UNIT)
    elif operation == "TransactWriteItems":
        for entry in request.get("TransactItems", []):
            ((kind, action),) = entry.items()
            if kind == "Put":
                size = item_size(action.get("Item", {}))
            else:  # Update, Delete and ConditionCheck are billed on the item they name
                size = stored_size(action.get("TableName"), action.get("Key"))
            write += _units(size, _WRITE_UNIT) * 2
    return Decimal(read), Decimal(write)


def stored_size(table_name: str | None, key: dict[str, Any] | None) -> int:
    """The size of the item the emulator holds under ``key`` now (0 when there is none): after a write,
    the item as written (a delete leaves nothing: billed as one unit)."""
    if not table_name or not key:
        return 0
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    from arcollect_cli.local.spec import REGION

    try:
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(table_name)
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        found = table.get_item(hash_key, range_key)
    except Exception:  # an unknown table or key: nothing stored
        return 0
    return int(found.size()) if found is not None else 0


METER: Meter | None = None


def start_metering(memory_mb: dict[str, int]) -> Meter:
    """Meter every function invocation of this process from now on."""
    global METER
    METER = Meter(memory_mb=dict(memory_mb))
    return METER


def stop_metering() -> None:
    global METER
    METER = None
