"""The store's base: what every store module does to the table the same way. pynamodb's exceptions
become the store's own (``translated``), a conditional update and a put-once say whether they took
effect (the table's exactly-once primitives), transactions run on the table's connection (a callback's
writes with ``transact_if``, a list of operations with ``commit``), and the stored forms every codec
shares (days, the retention TTL, "set what is given, remove what is None")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from pynamodb.exceptions import (
    PutError,
    PynamoDBConnectionError,
    PynamoDBException,
    TransactWriteError,
    UpdateError,
)
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from arcollect.clock import format_instant
from arcollect.settings import get_settings
from arcollect.store import keys
from arcollect.store.errors import StoreError, StoreUnavailable
from arcollect.store.models import TableItem

P = ParamSpec("P")
R = TypeVar("R")

# DynamoDB's limit of items per transaction.
TRANSACTION_ITEMS = 100

# One write of a transaction, as ``transact`` takes it: (kind, item, extra); see there.
Operation = tuple[str, Any, Any]


def translated(operation: Callable[P, R]) -> Callable[P, R]:
    """Turn pynamodb's exceptions into the store's, so no caller depends on pynamodb."""

    @wraps(operation)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return operation(*args, **kwargs)
        except PynamoDBConnectionError as error:
            raise StoreUnavailable(f"{operation.__qualname__}: {error.msg}") from error
        except PynamoDBException as error:
            raise StoreError(f"{operation.__qualname__}: {error.msg}") from error

    return wrapper


def is_condition_failure(error: PutError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def update_if(item: TableItem, actions: list[Action], condition: Any) -> bool:
    """Update ``item`` when ``condition`` holds; False when it does not (someone got there first, or
    the item is gone), the store's other everyday outcome beside success."""
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def put_once(item: TableItem) -> bool:
    """Write ``item`` unless an item with its key exists: the table's exactly-once primitive."""
    try:
        item.save(condition=TableItem.pk.does_not_exist())
    except PutError as error:
        if is_condition_failure(error):
            return False
        raise
    return True


def connection() -> Any:
    """The table's low-level connection, which pynamodb's transactions take."""
    return TableItem._get_connection().connection


def cancellation_reasons(error: TransactWriteError) -> list[str]:
    """The code of each action of a cancelled transaction, in order ("None" for one that was fine)."""
    return [reason.code if reason else "None" for reason in error.cancellation_reasons or []]


def condition_failed(error: TransactWriteError) -> bool:
    """The transaction was cancelled by one of its conditions (not by throttling or a conflict)."""
    return "ConditionalCheckFailed" in cancellation_reasons(error)


def transact_if(write: Callable[[TransactWrite], None]) -> bool:
    """Run ``write``'s actions in one transaction; False when one of their conditions cancelled it
    (someone changed what it was based on), never half of it. Other failures raise."""
    try:
        with TransactWrite(connection=connection()) as transaction:
            write(transaction)
    except TransactWriteError as error:
        if condition_failed(error):
            return False
        raise
    return True


def transact(
    operations: Sequence[Operation], *, condition: Condition | None = None, atomic: bool = False
) -> None:
    """Run ``operations`` in transactions of at most 100 items (one, when ``atomic``). Each is
    ``("update", item, actions)``, ``("update_if", item, (actions, condition))``, ``("save", item, None)``,
    ``("save_new", item, None)`` (only if no item has its key), ``("check", (model, pk, sk), condition)``
    or ``("delete", item, None)`` (under ``condition``)."""
    if atomic and len(operations) > TRANSACTION_ITEMS:
        raise ValueError(f"{len(operations)} writes do not fit one transaction ({TRANSACTION_ITEMS} at most)")
    for start in range(0, len(operations), TRANSACTION_ITEMS):
        with TransactWrite(connection=connection()) as transaction:
            for kind, item, extra in operations[start : start + TRANSACTION_ITEMS]:
                if kind == "update":
                    transaction.update(item, actions=extra)
                elif kind == "check":
                    model, hash_key, range_key = item
                    transaction.condition_check(model, hash_key, range_key, condition=extra)
                elif kind == "update_if":
                    actions, update_condition = extra
                    transaction.update(item, actions=actions, condition=update_condition)
                elif kind == "save":
                    transaction.save(item)
                elif kind == "save_new":
                    transaction.save(item, condition=TableItem.pk.does_not_exist())
                elif kind == "delete":
                    transaction.delete(item, condition=condition)
                else:  # pragma: no cover - a programming error
                    raise ValueError(kind)


def commit(operations: Sequence[Operation]) -> bool:
    """Write ``operations`` (see ``transact``) in one transaction; False when one of their conditions
    refused it (someone changed what it was based on), never half of it."""
    try:
        transact(operations, atomic=True)
    except TransactWriteError as error:
        if condition_failed(error):
            return False
        raise
    return True


def set_all(model: type[TableItem], fields: dict[str, Any]) -> list[Action]:
    """SET every field, REMOVE the ones that are None: attributes other code owns stay as they are.
    (``set(None)`` would write a NULL value, which exists: ``attribute_not_exists`` conditions on it,
    such as "no dispute opened here", would then fail for ever.)"""
    return [
        getattr(model, name).remove() if value is None else getattr(model, name).set(value)
        for name, value in fields.items()
    ]


def day(value: date | None) -> str | None:
    """A business date as stored (ISO), None for none."""
    return value.isoformat() if value else None


def parse_day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def retention_expiry(at: datetime) -> int:
    """When a record of collections activity made at ``at`` expires (the table's TTL, epoch seconds):
    the stack's retention (``retentionYears``, 7 by default) after it."""
    return int((at + timedelta(days=get_settings().retention_days)).timestamp())


def next_action(customer_id: str, at: datetime | None) -> list[Action]:
    """Place an item of the customer's partition in the sweep's sparse index at ``at``, or take it out."""
    if at is None:
        return [TableItem.next_action_shard.remove(), TableItem.next_action_at.remove()]
    return [
        TableItem.next_action_shard.set(keys.next_action_shard(keys.customer_pk(customer_id))),
        TableItem.next_action_at.set(format_instant(at)),
    ]
