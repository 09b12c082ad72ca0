"""The local stack's meter counts what AWS bills, by AWS's rules."""

from __future__ import annotations

from decimal import Decimal

from arcollect_cli.local.metering import Meter, billed_to, dynamodb_units, item_size


def test_item_sizes_follow_dynamodbs_rules() -> None:
    # Names count by their UTF-8 length, strings too; numbers about a byte per two digits plus one.
    assert item_size({"pk": {"S": "CUST#Müller"}}) == 2 + len("CUST#Müller".encode())
    assert item_size({"n": {"N": "123.45"}}) == 1 + 4
    assert item_size({"ok": {"BOOL": True}, "x": {"NULL": True}}) == 2 + 1 + 1 + 1
    # A list or map: 3 bytes, plus each element and one byte for it
    assert item_size({"l": {"L": [{"S": "ab"}, {"S": "c"}]}}) == 1 + 3 + (2 + 1) + (1 + 1)
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)


def test_request_units_round_up_per_request_and_halve_for_eventual_reads() -> None:
    big = {"pk": {"S": "x" * 5000}}  # 5 KB: two read units, five write units
    assert dynamodb_units("GetItem", {}, {"Item": big}, 200) == (Decimal(1), Decimal(0))
    assert dynamodb_units("GetItem", {"ConsistentRead": True}, {"Item": big}, 200) == (Decimal(2), Decimal(0))
    assert dynamodb_units("PutItem", {"Item": big}, {}, 200) == (Decimal(0), Decimal(5))
    # A query is billed on the items it read, together: three 1 KB items are one unit, not three
    small = {"pk": {"S": "x" * 1000}}
    assert dynamodb_units("Query", {}, {"Items": [small] * 3}, 200) == (Decimal("0.5"), Decimal(0))
    # An empty read still costs its minimum
    assert dynamodb_units("Query", {}, {"Items": []}, 200) == (Decimal("0.5"), Decimal(0))
    # A transaction costs twice per item
    put = {"TransactItems": [{"Put": {"TableName": "t", "Item": small}}] * 2}
    assert dynamodb_units("TransactWriteItems", put, {}, 200) == (Decimal(0), Decimal(4))


def test_invocations_are_billed_by_the_millisecond_at_the_functions_memory() -> None:
    meter = Meter(memory_mb={"reports": 3008})
    meter.invoked("reports", 1.2341, log_bytes=500)
    usage = meter.usage["reports"]
    assert usage["lambda.invocations"] == 1
    assert usage["lambda.gb_seconds"] == 1.235 * 3008 / 1024
    assert usage["logs.bytes"] == 500


def test_requests_are_billed_to_the_function_running_only() -> None:
    meter = Meter()
    meter.request("sqs", "SendMessage", b"x" * 70_000, 200, b"{}", "http://local")
    assert meter.usage == {}  # the CLI's own requests are nobody's invocation
    with billed_to("dunning"):
        meter.request("sqs", "SendMessage", b"x" * 70_000, 200, b"{}", "http://local")
        meter.request("sesv2", "SendEmail", b"mail", 200, b"{}", "http://local")
    usage = meter.usage["dunning"]
    assert usage["sqs.billed_requests"] == 2  # a 70 KB payload is two 64 KB chunks
    assert usage["ses.messages"] == 1
