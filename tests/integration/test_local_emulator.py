"""The local stack's changes to moto keep its answers: same query order, same transaction rollback.

And the local stack's SQS event source mapping behaves like Lambda's (partial batch failures, redrive to
the DLQ), and the CLI's wait for the dunning queue to drain ends, or fails clearly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from arcollect.contract import Output
from arcollect_cli.local.emulator import patch_moto
from arcollect_cli.local.spec import LocalSpec, QueueSpec
from arcollect_cli.local.stack import QueuePoller, create_queue
from arcollect_cli.target import QUEUE_COUNTS, CliError, DrainWait, Target

TABLE = "emulator-check"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    patch_moto()
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g", "r")],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi",
                    "KeySchema": [
                        {"AttributeName": "g", "KeyType": "HASH"},
                        {"AttributeName": "r", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        yield client


def put(client: Any, pk: str, sk: str, **extra: str) -> None:
    item = {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in extra.items()}}
    client.put_item(TableName=TABLE, Item=item)


def test_index_queries_return_items_in_dynamodb_key_order(dynamodb: Any) -> None:
    # Given items whose keys sort differently as code points than as insertion order (incl. non-ASCII)
    for index, rank in enumerate(["b", "a", "é", "Z", "a2", "10", "9"]):
        put(dynamodb, f"P{index}", "S", g="G", r=rank)
    response = dynamodb.query(
        TableName=TABLE,
        IndexName="gsi",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "G"}},
    )
    assert [i["r"]["S"] for i in response["Items"]] == sorted(["b", "a", "é", "Z", "a2", "10", "9"])


def test_a_failed_transaction_rolls_back_every_write(dynamodb: Any) -> None:
    # Given an invoice with an open amount
    put(dynamodb, "CUST#1", "INV#1", open="100")
    put(dynamodb, "CUST#2", "OTHER", note="untouched")
    # When a transaction records a payment and updates the invoice on a stale condition
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "CUST#1"}, "sk": {"S": "PAY#1"}}}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "CUST#1"}, "sk": {"S": "INV#1"}},
                        "UpdateExpression": "SET #o = :new",
                        "ConditionExpression": "#o = :old",
                        "ExpressionAttributeNames": {"#o": "open"},
                        "ExpressionAttributeValues": {":new": {"S": "0"}, ":old": {"S": "999"}},
                    }
                },
            ]
        )
    # Then neither write happened, and other items are as they were
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "CUST#1"}, "sk": {"S": "PAY#1"}})
    invoice = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "CUST#1"}, "sk": {"S": "INV#1"}})["Item"]
    assert invoice["open"] == {"S": "100"}
    other = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "CUST#2"}, "sk": {"S": "OTHER"}})["Item"]
    assert other["note"] == {"S": "untouched"}


def test_an_update_applied_before_a_failing_item_is_rolled_back(dynamodb: Any) -> None:
    put(dynamodb, "CUST#1", "INV#1", open="100")
    put(dynamodb, "CUST#1", "PAY#1")
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "CUST#1"}, "sk": {"S": "INV#1"}},
                        "UpdateExpression": "SET #o = :new",
                        "ExpressionAttributeNames": {"#o": "open"},
                        "ExpressionAttributeValues": {":new": {"S": "0"}},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {"pk": {"S": "CUST#1"}, "sk": {"S": "PAY#1"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    invoice = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "CUST#1"}, "sk": {"S": "INV#1"}})["Item"]
    assert invoice["open"] == {"S": "100"}


def test_a_successful_transaction_writes_everything(dynamodb: Any) -> None:
    put(dynamodb, "CUST#1", "INV#1", open="100")
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "CUST#1"}, "sk": {"S": "PAY#1"}}}},
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "CUST#1"}, "sk": {"S": "INV#1"}},
                    "UpdateExpression": "SET #o = :new",
                    "ExpressionAttributeNames": {"#o": "open"},
                    "ExpressionAttributeValues": {":new": {"S": "0"}},
                }
            },
        ]
    )
    assert dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "CUST#1"}, "sk": {"S": "PAY#1"}})["Item"]
    invoice = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "CUST#1"}, "sk": {"S": "INV#1"}})["Item"]
    assert invoice["open"] == {"S": "0"}


def test_query_results_follow_puts_deletes_and_rolled_back_transactions(dynamodb: Any) -> None:
    def ranks() -> list[str]:
        response = dynamodb.query(
            TableName=TABLE,
            IndexName="gsi",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "G"}},
        )
        return [i["r"]["S"] for i in response["Items"]]

    put(dynamodb, "P1", "S", g="G", r="b")
    assert ranks() == ["b"]
    put(dynamodb, "P2", "S", g="G", r="a")
    assert ranks() == ["a", "b"]
    dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": "P1"}, "sk": {"S": "S"}})
    assert ranks() == ["a"]
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {"pk": {"S": "P3"}, "sk": {"S": "S"}, "g": {"S": "G"}, "r": {"S": "c"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "P2"}, "sk": {"S": "S"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert ranks() == ["a"]


def test_an_index_query_sees_exactly_the_items_with_its_hash_value(dynamodb: Any) -> None:
    # Given items spread over several index partitions, some without the index attributes (sparse)
    for number in range(30):
        put(dynamodb, f"P{number:02d}", "S", g=f"G{number % 3}", r=f"{29 - number:02d}")
    put(dynamodb, "P99", "S")

    def query(g: str, **extra: Any) -> list[str]:
        response = dynamodb.query(
            TableName=TABLE,
            IndexName="gsi",
            KeyConditionExpression="g = :g AND r <= :r",
            ExpressionAttributeValues={":g": {"S": g}, ":r": {"S": "20"}},
            **extra,
        )
        return [i["pk"]["S"] for i in response["Items"]]

    # Then each partition's items come back in range-key order, filtered by the range condition
    assert query("G1") == ["P28", "P25", "P22", "P19", "P16", "P13", "P10"]
    assert query("G1", ScanIndexForward=False) == ["P10", "P13", "P16", "P19", "P22", "P25", "P28"]
    assert query("G9") == []
    # And a change to an item's index key is seen by the next query
    put(dynamodb, "P28", "S", g="G2", r="00")
    assert "P28" not in query("G1") and query("G2")[0] == "P28"


def test_an_update_that_moves_an_item_in_or_out_of_an_index_is_seen(dynamodb: Any) -> None:
    put(dynamodb, "P1", "S", g="G", r="a")
    put(dynamodb, "P2", "S")

    def query() -> list[str]:
        response = dynamodb.query(
            TableName=TABLE,
            IndexName="gsi",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "G"}},
        )
        return [i["pk"]["S"] for i in response["Items"]]

    assert query() == ["P1"]
    # When updates add one item to the index and take the other out (as the sweep's index is maintained)
    dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "P2"}, "sk": {"S": "S"}},
        UpdateExpression="SET g = :g, r = :r",
        ExpressionAttributeValues={":g": {"S": "G"}, ":r": {"S": "b"}},
    )
    assert query() == ["P1", "P2"]
    dynamodb.update_item(
        TableName=TABLE, Key={"pk": {"S": "P1"}, "sk": {"S": "S"}}, UpdateExpression="REMOVE g, r"
    )
    assert query() == ["P2"]
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "P1"}, "sk": {"S": "S"}},
                    "UpdateExpression": "SET g = :g, r = :r",
                    "ExpressionAttributeValues": {":g": {"S": "G"}, ":r": {"S": "c"}},
                }
            },
        ]
    )
    assert query() == ["P2", "P1"]


# -- the local stack's SQS event source mapping and the CLI's wait for a drained queue ------------------


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs")


def _queue(sqs: Any, *, max_receive_count: int = 3, visibility: int = 0) -> tuple[str, str]:
    spec = QueueSpec("work", "work-dlq", max_receive_count, visibility)
    return create_queue(sqs, spec), sqs.get_queue_url(QueueName=spec.dlq_name)["QueueUrl"]


def _count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(QUEUE_COUNTS))["Attributes"]
    return sum(int(attributes[name]) for name in QUEUE_COUNTS)


class _Handler:
    """A handler that records its events and reports the messages whose body starts with "fail"."""

    def __init__(self, error: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.error = error

    def __call__(self, event: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
        self.events.append(event)
        if self.error:
            return None, {"errorMessage": "boom", "errorType": "RuntimeError"}
        failed = [r["messageId"] for r in event["Records"] if r["body"].startswith("fail")]
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}, None


@pytest.mark.parametrize(
    "spec",
    [LocalSpec().ingest_queue, LocalSpec().dunning_queue],
    ids=["ingest", "dunning"],
)
def test_the_local_stack_creates_each_work_queue_with_its_redrive_policy(sqs: Any, spec: QueueSpec) -> None:
    url = create_queue(sqs, spec)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == str(spec.visibility_timeout_seconds)
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == spec.max_receive_count
    assert redrive["deadLetterTargetArn"].endswith(f":{spec.dlq_name}")


def test_the_poller_sends_lambdas_sqs_event_and_deletes_all_but_the_reported_failures(sqs: Any) -> None:
    url, _ = _queue(sqs, visibility=30)
    for body in ("one", "fail-two", "three"):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "customer"}},
        )
    handler = _Handler()
    poller = QueuePoller(url, handler, threading.Event(), sqs=sqs)
    assert poller.poll_once(wait_seconds=0) == 3
    [event] = handler.events
    records = event["Records"]
    assert sorted(r["body"] for r in records) == ["fail-two", "one", "three"]
    for record in records:
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"].endswith(":work")
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
        assert record["messageAttributes"]["kind"]["stringValue"] == "customer"
        assert record["messageAttributes"]["kind"]["dataType"] == "String"
    # Only the reported failure stays, in flight until the visibility timeout.
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(QUEUE_COUNTS))["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"


def test_a_message_that_keeps_failing_goes_to_the_dlq_after_max_receive_count(sqs: Any) -> None:
    url, dlq_url = _queue(sqs, max_receive_count=2, visibility=0)
    sqs.send_message(QueueUrl=url, MessageBody="fail-always")
    sqs.send_message(QueueUrl=url, MessageBody="fine")
    handler = _Handler()
    poller = QueuePoller(url, handler, threading.Event(), sqs=sqs)
    for _ in range(4):
        poller.poll_once(wait_seconds=0)
    assert _count(sqs, url) == 0
    [dead] = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert dead["Body"] == "fail-always"
    # Received twice (maxReceiveCount), then redriven; the good message was handled once.
    assert [r["body"] for e in handler.events for r in e["Records"]].count("fail-always") == 2
    assert [r["body"] for e in handler.events for r in e["Records"]].count("fine") == 1


def test_a_failed_invocation_or_an_unknown_failure_id_keeps_the_whole_batch(sqs: Any) -> None:
    url, _ = _queue(sqs, visibility=30)
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    assert QueuePoller(url, _Handler(error=True), threading.Event(), sqs=sqs).poll_once(wait_seconds=0) == 2
    assert _count(sqs, url) == 2

    url2 = create_queue(sqs, QueueSpec("other", "other-dlq", 3, 30))
    sqs.send_message(QueueUrl=url2, MessageBody="c")
    bogus = QueuePoller(
        url2,
        lambda _: ({"batchItemFailures": [{"itemIdentifier": "nope"}]}, None),
        threading.Event(),
        sqs=sqs,
    )
    assert bogus.poll_once(wait_seconds=0) == 1
    assert _count(sqs, url2) == 1


def test_waiting_for_the_dunning_queue_returns_once_it_is_empty(sqs: Any) -> None:
    url, _ = _queue(sqs, visibility=0)
    sqs.send_message(QueueUrl=url, MessageBody="work")
    target = Target(outputs={Output.DUNNING_QUEUE_URL: url}, local=True)
    drained: list[float] = []

    def sleep(_: float) -> None:
        # The local stack's poller working in the background: it handles the message between two reads.
        QueuePoller(url, _Handler(), threading.Event(), sqs=sqs).poll_once(wait_seconds=0)
        drained.append(_count(sqs, url))

    target.wait_until_drained(Output.DUNNING_QUEUE_URL, sleep=sleep)
    assert drained == [0]


def test_waiting_for_a_queue_that_does_not_drain_fails_with_a_clear_error(sqs: Any) -> None:
    url, _ = _queue(sqs, visibility=30)
    sqs.send_message(QueueUrl=url, MessageBody="stuck")
    sqs.receive_message(QueueUrl=url)  # in flight, never deleted
    sqs.send_message(QueueUrl=url, MessageBody="waiting")
    target = Target(outputs={Output.DUNNING_QUEUE_URL: url}, local=False)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(
        CliError, match=r"still holds 1 waiting, 1 in-flight and 0 delayed messages after 900 s"
    ):
        target.wait_until_drained(Output.DUNNING_QUEUE_URL, clock=lambda: now[0], sleep=sleep)


def test_on_aws_an_empty_queue_must_stay_empty_for_the_settle_time(sqs: Any) -> None:
    url, _ = _queue(sqs)
    target = Target(outputs={Output.DUNNING_QUEUE_URL: url}, local=False)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    target.wait_until_drained(
        Output.DUNNING_QUEUE_URL,
        wait=DrainWait(timeout=100, interval=5, settle=60),
        clock=lambda: now[0],
        sleep=sleep,
    )
    assert now[0] == 60


# -- index range conditions answered by bisection -----------------------------------------------------

_RANKS = st.text(
    alphabet=st.sampled_from(["a", "b", "B", "0", "9", "é", "ß", "日", "#", "-", " "]), min_size=1, max_size=4
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ranks=st.lists(st.tuples(st.sampled_from(["G1", "G2"]), _RANKS), min_size=0, max_size=25),
    comparison=st.sampled_from(["=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"]),
    bounds=st.tuples(_RANKS, _RANKS),
    forward=st.booleans(),
)
def test_an_index_range_condition_keeps_exactly_the_items_dynamodb_keeps(
    dynamodb: Any, ranks: list[tuple[str, str]], comparison: str, bounds: tuple[str, str], forward: bool
) -> None:
    # Given items in two index partitions (and one outside the index), written afresh each example
    for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE):
        for item in page["Items"]:
            dynamodb.delete_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]})
    for number, (group, rank) in enumerate(ranks):
        put(dynamodb, f"P{number:02d}", "S", g=group, r=rank)
    put(dynamodb, "P99", "S", g="G1")
    low, high = sorted(bounds)
    condition = {
        "BETWEEN": "g = :g AND r BETWEEN :low AND :high",
        "begins_with": "g = :g AND begins_with(r, :low)",
    }.get(comparison, f"g = :g AND r {comparison} :low")
    values = {":g": {"S": "G1"}, ":low": {"S": low}}
    if comparison == "BETWEEN":
        values[":high"] = {"S": high}
    # When the index is queried with the range condition
    response = dynamodb.query(
        TableName=TABLE,
        IndexName="gsi",
        KeyConditionExpression=condition,
        ExpressionAttributeValues=values,
        ScanIndexForward=forward,
    )
    # Then the items are those DynamoDB keeps, in its order: range key by code point, then table key
    keep = {
        "=": lambda r: r == low,
        "<": lambda r: r < low,
        "<=": lambda r: r <= low,
        ">": lambda r: r > low,
        ">=": lambda r: r >= low,
        "BETWEEN": lambda r: low <= r <= high,
        "begins_with": lambda r: r.startswith(low),
    }[comparison]
    expected = sorted(
        (rank, f"P{number:02d}") for number, (group, rank) in enumerate(ranks) if group == "G1" and keep(rank)
    )
    if not forward:
        expected.reverse()
    assert [(i["r"]["S"], i["pk"]["S"]) for i in response["Items"]] == expected
    assert response["Count"] == len(expected)


# -- attribute values written into responses directly ---------------------------------------------------

_TEXT = st.text(max_size=6)
_NAMES = st.text(min_size=1, max_size=6)  # DynamoDB refuses empty attribute names
_SCALARS = st.one_of(
    st.builds(lambda v: {"S": v}, _TEXT),
    st.builds(lambda v: {"N": str(v)}, st.integers(-(10**12), 10**12)),
    st.builds(lambda v: {"N": v}, st.sampled_from(["0.5", "-1.25", "1E+3", "123456789.000001"])),
    st.builds(lambda v: {"B": v}, st.binary(max_size=6)),
    st.builds(lambda v: {"SS": v}, st.lists(_TEXT, min_size=1, max_size=3, unique=True)),
    st.builds(
        lambda v: {"NS": [str(n) for n in v]}, st.lists(st.integers(), min_size=1, max_size=3, unique=True)
    ),
    st.builds(
        lambda v: {"BS": v}, st.lists(st.binary(min_size=1, max_size=4), min_size=1, max_size=3, unique=True)
    ),
    st.just({"NULL": True}),
    st.builds(lambda v: {"BOOL": v}, st.booleans()),
)
_ATTRIBUTE_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.builds(lambda v: {"L": v}, st.lists(inner, max_size=3)),
        st.builds(lambda v: {"M": v}, st.dictionaries(_NAMES, inner, max_size=3)),
    ),
    max_leaves=8,
)


def _serialized(operation: str, result: dict[str, Any], *, shape_walk: bool) -> Any:
    """moto's response body for ``result`` (a backend result in moto's plain form, binary as bytes),
    through the local stack's direct writing of attribute values or through moto's shape walk."""
    from moto.core.serialize import BaseJSONSerializer, XFormedAttributePicker, get_serializer_class
    from moto.core.utils import get_service_model

    model = get_service_model("dynamodb")
    serializer = get_serializer_class("dynamodb", model.protocol)(
        operation_model=model.operation_model(operation),
        pretty_print=False,
        value_picker=XFormedAttributePicker(),
    )
    if not shape_walk:
        return json.loads(serializer.serialize(result)["body"])
    structure, mapping = BaseJSONSerializer._arcollect_shape_walk  # type: ignore[attr-defined]
    direct = BaseJSONSerializer._serialize_type_structure, BaseJSONSerializer._serialize_type_map
    BaseJSONSerializer._serialize_type_structure, BaseJSONSerializer._serialize_type_map = structure, mapping
    try:
        return json.loads(serializer.serialize(result)["body"])
    finally:
        BaseJSONSerializer._serialize_type_structure, BaseJSONSerializer._serialize_type_map = direct


@settings(max_examples=150, deadline=None)
@given(items=st.lists(st.dictionaries(_NAMES, _ATTRIBUTE_VALUES, min_size=1, max_size=4), max_size=3))
def test_attribute_values_are_written_exactly_as_motos_shape_walk_writes_them(
    items: list[dict[str, Any]],
) -> None:
    patch_moto()
    # Given backend results carrying every type of attribute value, nested
    query = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
    get = {"Item": items[0]} if items else {}
    transact = {"Responses": [{"Item": item} for item in items]}
    for operation, result in (("Query", query), ("GetItem", get), ("TransactGetItems", transact)):
        # Then the response body is the same, value for value
        assert _serialized(operation, result, shape_walk=False) == _serialized(
            operation, result, shape_walk=True
        )


def test_a_table_query_reads_its_partition_only_and_keeps_dynamodbs_answer(dynamodb: Any) -> None:
    # Given items of several partitions, written out of order, some deleted or changed since
    for number in (7, 3, 9, 1, 5):
        for pk in ("P1", "P2", "P10"):
            put(dynamodb, pk, f"INV#{number}", kind="credit" if number % 3 == 0 else "invoice")
    put(dynamodb, "P1", "PAY#1")
    dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": "P1"}, "sk": {"S": "INV#5"}})
    put(dynamodb, "P1", "INV#7", kind="credit")

    def query(pk: str, **extra: Any) -> list[str]:
        response = dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": pk}, ":prefix": {"S": "INV#"}, **extra.pop("values", {})},
            **extra,
        )
        return [i["sk"]["S"] for i in response["Items"]]

    # Then each query returns exactly its partition's items, in range-key order, filtered as asked
    assert query("P1") == ["INV#1", "INV#3", "INV#7", "INV#9"]
    assert query("P1", ScanIndexForward=False) == ["INV#9", "INV#7", "INV#3", "INV#1"]
    assert query("P10") == ["INV#1", "INV#3", "INV#5", "INV#7", "INV#9"]
    assert query("P3") == []
    credits = query("P1", FilterExpression="kind = :k", values={":k": {"S": "credit"}})
    assert credits == ["INV#3", "INV#7", "INV#9"]
