"""The local stack's in-process transport gives what the socket gives: the same answers, errors included.

One emulator serves both paths. Each operation the functions use runs twice, once through the socket and
once answered in-process, and the parsed responses must be equal (request ids and dates aside).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from arcollect_cli.local.emulator import emulator_application, patch_moto
from arcollect_cli.local.stack import free_port
from arcollect_cli.local.transport import serve_in_process

VOLATILE = {"ResponseMetadata", "LastModified", "Date", "CreatedTimestamp", "SentTimestamp", "MessageId"}


class CountingApp:
    """The emulator's application, counting the requests it answers in-process."""

    def __init__(self) -> None:
        self.app = emulator_application()
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.requests += 1
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = free_port("127.0.0.1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    patch_moto()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _client(service: str, endpoint: str) -> Any:
    # No retries: an error must come back as the emulator answered it, once.
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name="us-east-1", config=Config(retries={"max_attempts": 1})
    )


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if hasattr(value, "read"):
        return value.read()
    return value


def _both_ways(endpoint: str, run: Callable[[Callable[[str], Any], str], Any]) -> tuple[Any, Any, int]:
    """``run`` through the socket, then answered in-process; returns both results and how many requests
    the in-process path answered."""
    over_socket = _outcome(lambda: run(lambda service: _client(service, endpoint), "socket"))
    app = CountingApp()
    stop = serve_in_process(endpoint, app)
    try:
        in_process = _outcome(lambda: run(lambda service: _client(service, endpoint), "in-process"))
    finally:
        stop()
    return over_socket, in_process, app.requests


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return _stable(call())
    except ClientError as error:
        return {
            "error": error.response["Error"],
            "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
        }


def test_dynamodb_reads_writes_and_refusals_are_answered_alike(endpoint: str) -> None:
    def run(client: Callable[[str], Any], path: str) -> Any:
        dynamodb = client("dynamodb")
        table = f"transport-{path}"
        dynamodb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
        )
        item = {
            "pk": {"S": "CUST#Brennan & Sons, Müller/日本"},
            "sk": {"S": "INV#INV/2026/00187"},
            "amount": {"N": "1234.56"},
            "pdf": {"B": b"\x00\xffbinary"},
            "tags": {"SS": ["a", "é"]},
            "history": {"L": [{"M": {"paid": {"BOOL": True}, "note": {"NULL": True}}}]},
        }
        dynamodb.put_item(TableName=table, Item=item)
        refused = _outcome(
            lambda: dynamodb.put_item(
                TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        )
        got = dynamodb.get_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
        queried = dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :inv)",
            ExpressionAttributeValues={":pk": item["pk"], ":inv": {"S": "INV#INV/"}},
        )
        return {"refused": refused, "got": got, "queried": queried}

    over_socket, in_process, requests = _both_ways(endpoint, run)
    assert in_process == over_socket
    assert over_socket["got"]["Item"]["pdf"] == {"B": b"\x00\xffbinary"}
    assert over_socket["refused"]["error"]["Code"] == "ConditionalCheckFailedException"
    assert requests == 5


def test_s3_objects_with_awkward_keys_and_bodies_are_answered_alike(endpoint: str) -> None:
    keys = [
        "incoming/invoices/a b+c%25.csv",
        "incoming/documents/Brennan & Sons/INV/2026/00187.pdf",
        "é/日本.csv",
    ]
    body = "customer;amount\nMüller;1.234,56\n".encode("cp1252") + bytes(range(256))

    def run(client: Callable[[str], Any], path: str) -> Any:
        s3 = client("s3")
        bucket = f"transport-{path.replace('-', '')}"
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        for key in keys:
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv")
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="incoming/")
        fetched = [s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys]
        ranged = s3.get_object(Bucket=bucket, Key=keys[0], Range="bytes=2-9")["Body"].read()
        missing = _outcome(lambda: s3.get_object(Bucket=bucket, Key="nope"))
        head = s3.head_object(Bucket=bucket, Key=keys[1])
        return {
            "keys": [o["Key"] for o in listed["Contents"]],
            "fetched": fetched,
            "ranged": ranged,
            "missing": missing,
            "head": {k: head[k] for k in ("ContentLength", "ContentType", "ETag")},
        }

    over_socket, in_process, requests = _both_ways(endpoint, run)
    assert in_process == over_socket
    assert over_socket["fetched"] == [body] * 3
    assert over_socket["ranged"] == body[2:10]
    assert over_socket["missing"]["error"]["Code"] == "NoSuchKey"
    assert requests > 0


def test_queues_mail_and_secrets_are_answered_alike(endpoint: str) -> None:
    raw = b"From: ar@example.com\r\nTo: ap@example.com\r\nSubject: Reminder\r\n\r\nInvoice INV/2026/00187\r\n"

    def run(client: Callable[[str], Any], path: str) -> Any:
        sqs, ses, secrets = client("sqs"), client("ses"), client("secretsmanager")
        url = sqs.create_queue(QueueName=f"transport-{path}")["QueueUrl"]
        sqs.send_message(
            QueueUrl=url,
            MessageBody='{"customer": "Brennan & Sons, PC"}',
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "work"}},
        )
        received = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=0)
        ses.verify_email_identity(EmailAddress="ar@example.com")
        sent = ses.send_raw_email(RawMessage={"Data": raw})
        secret = secrets.create_secret(Name=f"transport-{path}", SecretString="k" * 32)
        value = secrets.get_secret_value(SecretId=secret["ARN"])
        return {
            "bodies": [(m["Body"], m["MessageAttributes"]) for m in received["Messages"]],
            "sent": bool(sent["MessageId"]),
            "secret": value["SecretString"],
            "unknown queue": _outcome(lambda: sqs.get_queue_url(QueueName="nope")),
        }

    over_socket, in_process, requests = _both_ways(endpoint, run)
    assert in_process == over_socket
    assert over_socket["bodies"][0][0] == '{"customer": "Brennan & Sons, PC"}'
    assert requests == 8


def test_other_endpoints_and_the_socket_setting_are_left_alone(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the in-process path for the emulator, and ARCOLLECT_LOCAL_TRANSPORT=http for a second one
    app = CountingApp()
    stop = serve_in_process(endpoint, app)
    monkeypatch.setenv("ARCOLLECT_LOCAL_TRANSPORT", "http")
    stop_other = serve_in_process(endpoint.replace("127.0.0.1", "localhost"), CountingApp())
    try:
        # When a client calls the emulator through the other origin (same server, another host name)
        _client("sqs", endpoint.replace("127.0.0.1", "localhost")).list_queues()
        # Then it went over the socket, and only the registered origin is answered in-process
        assert app.requests == 0
        _client("sqs", endpoint).list_queues()
        assert app.requests == 1
    finally:
        stop_other()
        stop()
    _client("sqs", endpoint).list_queues()
    assert app.requests == 1  # after stop, back to the socket


def test_a_binary_body_crosses_intact(endpoint: str) -> None:
    # The request body is handed over as botocore sent it: bytes travel as base64 in a JSON body and
    # come back exact either way.
    payload = bytes(range(256)) * 4

    def run(client: Callable[[str], Any], path: str) -> Any:
        dynamodb = client("dynamodb")
        table = f"binary-{path}"
        dynamodb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "x"}, "blob": {"B": payload}})
        return dynamodb.get_item(TableName=table, Key={"pk": {"S": "x"}})["Item"]["blob"]["B"]

    over_socket, in_process, _ = _both_ways(endpoint, run)
    assert over_socket == in_process == payload
