"""The SMS client boundary: the strict stand-in refuses what AWS End User Messaging SMS refuses, with the
service's error and reason, and ``SmsSender`` turns each answer into what it means for a reminder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from arcollect.store.sms import (
    NumberOptedOut,
    OptInRefused,
    SmsSender,
    TextingBlocked,
    TextNotAccepted,
    TextOutcomeUnknown,
    TextRefused,
    TextRejected,
)
from arcollect_cli.local.sms import (
    LOCAL_CONFIGURATION_SET,
    LOCAL_OPT_OUT_LIST,
    LOCAL_ORIGINATION_IDENTITY,
    FakeSmsClient,
    read_sms_outbox,
    sms_middleware,
)

GOOD = {
    "DestinationPhoneNumber": "+4915123456789",
    "OriginationIdentity": LOCAL_ORIGINATION_IDENTITY,
    "MessageBody": "Accounts Receivable: Payment reminder, 1 invoice. View and pay: https://x.example/l/t",
    "MessageType": "TRANSACTIONAL",
    "ConfigurationSetName": LOCAL_CONFIGURATION_SET,
    "Context": {"customer_id": "Müller & Söhne, GmbH", "touch_id": "abc", "step": "due"},
}


def refusal(fake: FakeSmsClient, **changes: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        fake.send_text_message(**{**GOOD, **changes})
    response = raised.value.response
    return str(response["Error"]["Code"]), str(response.get("Reason") or response.get("ResourceType") or "")


@pytest.mark.parametrize(
    ("changes", "code", "reason"),
    [
        # spaces, a national number: outside the API's pattern for the field
        ({"DestinationPhoneNumber": "+49 151 23456789"}, "ValidationException", "FIELD_VALIDATION_FAILED"),
        ({"DestinationPhoneNumber": "0151 23456789"}, "ValidationException", "FIELD_VALIDATION_FAILED"),
        # within the pattern, but no number of any country's plan
        ({"DestinationPhoneNumber": "4915123456789999"}, "ValidationException", "CANNOT_PARSE"),
        ({"DestinationPhoneNumber": "+4930"}, "ValidationException", "CANNOT_PARSE"),  # no such number
        (
            {"DestinationPhoneNumber": "+" + "4" * 20},
            "ValidationException",
            "FIELD_VALIDATION_FAILED",
        ),  # > 20
        ({"MessageBody": "   "}, "ValidationException", "FIELD_VALIDATION_FAILED"),
        ({"MessageBody": "x" * 1601}, "ValidationException", "FIELD_VALIDATION_FAILED"),
        ({"MessageType": "MARKETING"}, "ValidationException", "FIELD_VALIDATION_FAILED"),
        ({"OriginationIdentity": "+15550199999"}, "ResourceNotFoundException", "phone-number"),
        ({"ConfigurationSetName": "nope"}, "ResourceNotFoundException", "configuration-set"),
        ({"Context": {"customer_id": "trailing "}}, "ValidationException", "FIELD_VALIDATION_FAILED"),
        ({"Context": {str(n): "x" for n in range(6)}}, "ValidationException", "FIELD_VALIDATION_FAILED"),
    ],
)
def test_the_stand_in_refuses_what_the_service_refuses(
    changes: dict[str, Any], code: str, reason: str
) -> None:
    fake = FakeSmsClient.local()
    assert refusal(fake, **changes) == (code, reason)
    assert fake.sent == []


def test_an_opted_out_number_is_refused_with_the_services_reason() -> None:
    fake = FakeSmsClient.local()
    fake.send_text_message(**GOOD)
    # A STOP reply: AWS puts the number on the opt-out list by itself for its own keywords
    payload = fake.reply("+4915123456789", "stop")
    assert payload["previousPublishedMessageId"] == fake.sent[0].message_id
    assert refusal(fake) == ("ConflictException", "DESTINATION_PHONE_NUMBER_OPTED_OUT")
    # A reply with a keyword AWS does not know opts nothing out on AWS's side
    other = FakeSmsClient.local()
    other.reply("+4915123456789", "STOPP")
    other.send_text_message(**GOOD)


def test_an_accepted_text_lands_in_the_outbox_as_json(tmp_path: Path) -> None:
    fake = FakeSmsClient.local(tmp_path / "sms")
    body = "Zahlung überfällig € 12 " + "x" * 150  # € is two septets: 2 parts of GSM-7
    message_id = fake.send_text_message(**{**GOOD, "MessageBody": body})["MessageId"]
    (record,) = read_sms_outbox(tmp_path / "sms")
    assert json.loads((tmp_path / "sms" / f"{message_id}.json").read_text())["message_id"] == message_id
    assert (record["to"], record["body"], record["segments"], record["encoding"]) == (
        "+4915123456789",
        body,
        2,
        "GSM-7",
    )
    assert (record["customer"], record["touch_id"], record["step"]) == ("Müller & Söhne, GmbH", "abc", "due")


def sender(fake: Any) -> SmsSender:
    return SmsSender(
        origination_identity=LOCAL_ORIGINATION_IDENTITY,
        configuration_set=LOCAL_CONFIGURATION_SET,
        opt_out_list=LOCAL_OPT_OUT_LIST,
        client=fake,
    )


def send(fake: Any) -> str:
    return sender(fake).send(to="+4915123456789", body="hello", context={"touch_id": "t"})


def test_the_sender_maps_each_answer_to_what_it_means() -> None:
    fake = FakeSmsClient.local()
    assert send(fake) == fake.sent[0].message_id
    fake.opt_out_lists[LOCAL_OPT_OUT_LIST].add("+4915123456789")
    with pytest.raises(NumberOptedOut):
        send(fake)
    for error, expected in [
        (
            ClientError(
                {"Error": {"Code": "ValidationException"}, "Reason": "COUNTRY_NOT_ENABLED"}, "SendTextMessage"
            ),
            TextRefused,
        ),
        (
            ClientError(
                {"Error": {"Code": "AccessDeniedException"}, "Reason": "ACCOUNT_DISABLED"}, "SendTextMessage"
            ),
            TextingBlocked,
        ),
        (
            ClientError(
                {
                    "Error": {"Code": "ServiceQuotaExceededException"},
                    "Reason": "MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT",
                },
                "SendTextMessage",
            ),
            TextingBlocked,
        ),
        (
            ClientError(
                {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                "SendTextMessage",
            ),
            TextNotAccepted,
        ),
        (
            ClientError(
                {"Error": {"Code": "InternalServerException"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
                "SendTextMessage",
            ),
            TextOutcomeUnknown,
        ),
    ]:
        other = FakeSmsClient.local()
        other.fail_next.append(error)
        with pytest.raises(expected):
            send(other)
    # A country not enabled is refused for good, with the reason kept
    other = FakeSmsClient.local()
    other.fail_next.append(
        ClientError(
            {"Error": {"Code": "ValidationException"}, "Reason": "COUNTRY_NOT_ENABLED"}, "SendTextMessage"
        )
    )
    with pytest.raises(TextRefused) as refused:
        send(other)
    assert refused.value.reason == "COUNTRY_NOT_ENABLED"


def test_a_real_boto3_client_reaches_the_stand_in_through_the_wsgi_middleware(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local stack's path: botocore serializes the JSON request, the middleware answers it, botocore
    parses the answer (errors included) exactly as from AWS."""
    from werkzeug.serving import make_server

    from arcollect_cli.local.stack import free_port

    fake = FakeSmsClient.local(tmp_path)

    def not_sms(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]

    port = free_port("127.0.0.1")
    server = make_server("127.0.0.1", port, sms_middleware(not_sms, fake), threaded=True)
    import threading

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = boto3.client(
            "pinpoint-sms-voice-v2", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1"
        )
        message_id = client.send_text_message(**GOOD)["MessageId"]
        assert [t.message_id for t in fake.sent] == [message_id]
        client.put_opted_out_number(OptOutListName=LOCAL_OPT_OUT_LIST, OptedOutNumber="+4915123456789")
        with pytest.raises(ClientError) as raised:
            client.send_text_message(**GOOD)
        assert raised.value.response["Error"]["Code"] == "ConflictException"
        assert raised.value.response["Reason"] == "DESTINATION_PHONE_NUMBER_OPTED_OUT"
        with pytest.raises(NumberOptedOut):
            sender(client).send(to="+4915123456789", body="hello", context={"touch_id": "t"})
        # A START: the sender takes the number off the list; again (a repeated reply) is fine
        sender(client).opt_in("+4915123456789")
        sender(client).opt_in("+4915123456789")
        assert "+4915123456789" not in fake.opted_out
        # Out again, and back within 30 days: the service keeps it, with the model's reason
        client.put_opted_out_number(OptOutListName=LOCAL_OPT_OUT_LIST, OptedOutNumber="+4915123456789")
        with pytest.raises(ClientError) as raised:
            client.delete_opted_out_number(OptOutListName=LOCAL_OPT_OUT_LIST, OptedOutNumber="+4915123456789")
        assert raised.value.response["Error"]["Code"] == "ValidationException"
        assert raised.value.response["Reason"] == "PHONE_NUMBER_CANNOT_BE_OPTED_IN"
        with pytest.raises(OptInRefused, match="PHONE_NUMBER_CANNOT_BE_OPTED_IN"):
            sender(client).opt_in("+4915123456789")
        # An opt-out list the service does not know is no "not on the list": it is raised
        with pytest.raises(TextRejected, match="ResourceNotFoundException"):
            SmsSender(
                origination_identity=LOCAL_ORIGINATION_IDENTITY, opt_out_list="no-such-list", client=client
            ).opt_in("+4915123456789")
    finally:
        server.shutdown()
        thread.join(timeout=5)
