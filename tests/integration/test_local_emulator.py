"""The local stack's changes to moto keep its answers: same query order, same transaction rollback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arcollect_cli.local.emulator import patch_moto

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
