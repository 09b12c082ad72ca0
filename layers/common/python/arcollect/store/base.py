"""The store's base: what every store module does to the table the same way. pynamodb's exceptions
become the store's own (``translated``), a conditional update and a put-once say whether they took
effect (the table's exactly-once primitives), and transactions run on the table's connection."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from pynamodb.exceptions import (
    PutError,
    PynamoDBConnectionError,
    PynamoDBException,
    TransactWriteError,
    UpdateError,
)
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from arcollect.store.errors import StoreError, StoreUnavailable
from arcollect.store.models import TableItem

P = ParamSpec("P")
R = TypeVar("R")


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
