"""A strict stand-in for AWS End User Messaging SMS (``pinpoint-sms-voice-v2``), which moto lacks.

It answers at the client boundary as the service does: the tests hand ``FakeSmsClient`` to
``SmsSender`` in place of the boto3 client, and the local stack puts ``sms_middleware`` in front of
the emulator, so a real boto3 client's JSON requests (``X-Amz-Target: PinpointSMSVoiceV2.<Op>``) reach
it as on AWS. What it refuses, and with which error and reason (botocore's service model names them):

- parameters outside the API's shapes (botocore's own validation: required, types, lengths) and its
  patterns (``DestinationPhoneNumber`` ``\\+?[1-9][0-9]{1,18}``, ``OriginationIdentity``,
  ``ConfigurationSetName``, ``MessageBody`` not white space only): ``ValidationException``;
- a destination that is not a dialable E.164 number: ``ValidationException`` ``CANNOT_PARSE`` (the
  service reads numbers with the country's plan as ``arcollect.sms`` does);
- an origination identity or configuration set it does not know: ``ResourceNotFoundException``;
- a number on the opt-out list: ``ConflictException`` ``DESTINATION_PHONE_NUMBER_OPTED_OUT``;
- ``PutOptedOutNumber`` to an unknown list: ``ResourceNotFoundException``;
- ``DeleteOptedOutNumber`` of a list it does not know (``ResourceType`` ``opt-out-list``) or of a number
  not on the list (``opted-out-number``): ``ResourceNotFoundException``; of a number it took off that
  list within the last 30 days (the API reference: "each destination phone number can only be deleted
  once every 30 days"): ``ValidationException`` ``PHONE_NUMBER_CANNOT_BE_OPTED_IN`` (a reason the
  service model lists; the reference does not say which error the rule raises: assumed).

Every text it accepts is kept (``sent``) and, with an outbox, written to ``<outbox>/<message id>.json``
(to, body, parts, encoding, customer, touch id, origination identity). ``reply`` plays a customer's
reply as AWS does: an opt-out keyword puts the number on the opt-out list (AWS's automatic opt-out),
and the two-way payload is returned for the dunning function's SNS record.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

TARGET_PREFIX = "PinpointSMSVoiceV2."
# The local stack's SMS resources, and the dunning function's settings that name them.
# The identity as the stack's context names it (an ARN: the function's permission is on it), and its number.
LOCAL_ORIGINATION_NUMBER = "+15550100001"
LOCAL_ORIGINATION_IDENTITY = "arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-arcollect-local"
LOCAL_CONFIGURATION_SET = "arcollect-local-sms"
LOCAL_OPT_OUT_LIST = "arcollect-local-opt-outs"
SMS_ENVIRONMENT = {
    "SMS_ORIGINATION_IDENTITY": LOCAL_ORIGINATION_IDENTITY,
    "SMS_CONFIGURATION_SET": LOCAL_CONFIGURATION_SET,
    "SMS_OPT_OUT_LIST": LOCAL_OPT_OUT_LIST,
}
SERVICE = "pinpoint-sms-voice-v2"
_DESTINATION = re.compile(r"\+?[1-9][0-9]{1,18}")
_IDENTITY = re.compile(r"[A-Za-z0-9_:/\+-]+")
_NAME = re.compile(r"[A-Za-z0-9_:/-]+")
_CONTEXT_KEY = re.compile(r"\S{1,100}")
_CONTEXT_VALUE = re.compile(r"(?!\s)[\s\S]{1,800}(?<!\s)")


def _model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(SERVICE)


def _error(code: str, message: str, status: int = 400, **fields: Any) -> ClientError:
    """The error as botocore parses the service's JSON answer: the code and message, the modelled
    fields (``Reason``, ``ResourceType``...) beside them at the top of the response."""
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
        "Message": message,
        **fields,
    }
    return ClientError(response, "SendTextMessage")  # type: ignore[arg-type]


def _validation(message: str, reason: str = "FIELD_VALIDATION_FAILED") -> ClientError:
    return _error("ValidationException", message, Reason=reason)


def _dialable(number: str) -> bool:
    """A number of some country's plan (fixed lines too: the service takes them; delivery then fails)."""
    import phonenumbers

    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(number, None)))
    except phonenumbers.NumberParseException:
        return False


def _check(shape: Any, value: Any, where: str) -> None:
    """The model's constraints botocore does not check on the client (the service does)."""
    meta = shape.metadata
    if shape.type_name == "string":
        text = str(value)
        if "max" in meta and len(text) > meta["max"]:
            raise _validation(f"{where}: length {len(text)} is over {meta['max']}")
        if shape.enum and text not in shape.enum:
            raise _validation(f"{where}: {text!r} is not one of {', '.join(shape.enum)}")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], text):
            raise _validation(f"{where}: {text!r} does not match {meta['pattern']}")
    elif shape.type_name == "map":
        if "max" in meta and len(value) > meta["max"]:
            raise _validation(f"{where}: {len(value)} entries, at most {meta['max']}")
        for key, item in value.items():
            _check(shape.key, key, f"{where} key")
            _check(shape.value, item, f"{where}[{key!r}]")
    elif shape.type_name == "integer" and (
        ("min" in meta and value < meta["min"]) or ("max" in meta and value > meta["max"])
    ):
        raise _validation(f"{where}: {value} is outside {meta.get('min')}..{meta.get('max')}")


@dataclass
class SentText:
    message_id: str
    to: str
    body: str
    origination_identity: str
    configuration_set: str | None
    message_type: str | None
    context: dict[str, str]
    parts: int
    encoding: str
    at: str


@dataclass
class FakeSmsClient:
    """The service's state (identities, configuration sets, opt-out lists) and its answers."""

    origination_identities: set[str] = field(default_factory=lambda: {"+15550100001"})
    configuration_sets: set[str] = field(default_factory=set)
    opt_out_lists: dict[str, set[str]] = field(default_factory=lambda: {"Default": set()})
    outbox: Path | None = None
    sent: list[SentText] = field(default_factory=list)
    # Raised instead of answering the next SendTextMessage (a test's outage, throttling...).
    fail_next: list[ClientError | Exception] = field(default_factory=list)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # When each (list, number) was last taken off its opt-out list (the 30-day rule).
    _deleted_at: dict[tuple[str, str], datetime] = field(default_factory=dict)

    @classmethod
    def local(cls, outbox: Path | None = None) -> FakeSmsClient:
        """The service with the local stack's identity, configuration set and opt-out list."""
        return cls(
            origination_identities={LOCAL_ORIGINATION_IDENTITY},
            configuration_sets={LOCAL_CONFIGURATION_SET},
            opt_out_lists={"Default": set(), LOCAL_OPT_OUT_LIST: set()},
            outbox=outbox,
        )

    @property
    def opted_out(self) -> set[str]:
        return set().union(*self.opt_out_lists.values())

    def _validate(self, operation: str, params: dict[str, Any]) -> None:
        from botocore.exceptions import ParamValidationError
        from botocore.validate import validate_parameters

        shape = _model().operation_model(operation).input_shape
        try:
            validate_parameters(params, shape)
        except ParamValidationError as error:
            raise _validation(str(error)) from None
        # What botocore leaves to the service: maximum lengths and sizes, enums and patterns.
        for name, value in params.items():
            _check(shape.members[name], value, name)

    def send_text_message(self, **params: Any) -> dict[str, Any]:
        from arcollect.sms import count_segments

        self._validate("SendTextMessage", params)
        if self.fail_next:
            raise self.fail_next.pop(0)
        to = str(params["DestinationPhoneNumber"])
        if not _DESTINATION.fullmatch(to):
            raise _validation(f"DestinationPhoneNumber {to!r} does not match the pattern", "CANNOT_PARSE")
        if not _dialable(to if to.startswith("+") else "+" + to):
            raise _validation(f"Unable to parse the destination phone number {to}", "CANNOT_PARSE")
        identity = params.get("OriginationIdentity")
        if identity is None or not _IDENTITY.fullmatch(str(identity)):
            raise _validation("OriginationIdentity is missing or does not match the pattern")
        if identity not in self.origination_identities:
            raise _error(
                "ResourceNotFoundException",
                f"{identity} not found",
                404,
                ResourceType="phone-number",
                ResourceId=identity,
            )
        config = params.get("ConfigurationSetName")
        if config is not None and (not _NAME.fullmatch(str(config)) or config not in self.configuration_sets):
            raise _error(
                "ResourceNotFoundException",
                f"{config} not found",
                404,
                ResourceType="configuration-set",
                ResourceId=config,
            )
        body = str(params.get("MessageBody") or "")
        if not body.strip():
            raise _validation("MessageBody must not be empty or white space only")
        for key, value in (params.get("Context") or {}).items():
            # The model's ContextKey (\S+, 1-100) and ContextValue (1-800, no white space at either end).
            if not _CONTEXT_KEY.fullmatch(str(key)) or not _CONTEXT_VALUE.fullmatch(str(value)):
                raise _validation(f"Context entry {key!r}: {value!r} does not match the pattern")
        with self._lock:
            if to in self.opted_out:
                raise _error(
                    "ConflictException",
                    f"The destination phone number {to} is opted out",
                    Reason="DESTINATION_PHONE_NUMBER_OPTED_OUT",
                    ResourceType="opted-out-number",
                    ResourceId=to,
                )
            segments = count_segments(body)
            text = SentText(
                message_id=str(uuid.uuid4()),
                to=to,
                body=body,
                origination_identity=str(identity),
                configuration_set=config,
                message_type=params.get("MessageType"),
                context=dict(params.get("Context") or {}),
                parts=segments.parts,
                encoding=segments.encoding,
                at=self.clock().isoformat(),
            )
            self.sent.append(text)
            if self.outbox is not None:
                self._write(text)
        return {"MessageId": text.message_id}

    def _write(self, text: SentText) -> None:
        assert self.outbox is not None
        self.outbox.mkdir(parents=True, exist_ok=True)
        record = {
            "message_id": text.message_id,
            "to": text.to,
            "body": text.body,
            "segments": text.parts,
            "encoding": text.encoding,
            "customer": text.context.get("customer_id"),
            "touch_id": text.context.get("touch_id"),
            "step": text.context.get("step"),
            # All of it, as the service sends it back in the text's delivery receipts.
            "context": text.context,
            "origination_identity": text.origination_identity,
            "configuration_set": text.configuration_set,
            "message_type": text.message_type,
            "accepted_at": text.at,
        }
        partial = self.outbox / f"{text.message_id}.json.partial"
        partial.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        partial.replace(self.outbox / f"{text.message_id}.json")

    def put_opted_out_number(self, **params: Any) -> dict[str, Any]:
        self._validate("PutOptedOutNumber", params)
        name, number = str(params["OptOutListName"]), str(params["OptedOutNumber"])
        with self._lock:
            if name not in self.opt_out_lists:
                raise _error(
                    "ResourceNotFoundException", f"{name} not found", 404, ResourceType="opt-out-list"
                )
            self.opt_out_lists[name].add(number)
        return {"OptOutListName": name, "OptedOutNumber": number, "EndUserOptedOut": False}

    def delete_opted_out_number(self, **params: Any) -> dict[str, Any]:
        self._validate("DeleteOptedOutNumber", params)
        name, number = str(params["OptOutListName"]), str(params["OptedOutNumber"])
        now = self.clock()
        with self._lock:
            if name not in self.opt_out_lists:
                raise _error(
                    "ResourceNotFoundException", f"{name} not found", 404, ResourceType="opt-out-list"
                )
            if number not in self.opt_out_lists[name]:
                raise _error(
                    "ResourceNotFoundException",
                    f"{number} is not on {name}",
                    404,
                    ResourceType="opted-out-number",
                )
            last = self._deleted_at.get((name, number))
            if last is not None and now - last < timedelta(days=30):
                raise _validation(
                    f"{number} was removed from {name} on {last.isoformat()}: a number can be removed once "
                    "every 30 days",
                    reason="PHONE_NUMBER_CANNOT_BE_OPTED_IN",
                )
            self.opt_out_lists[name].discard(number)
            self._deleted_at[(name, number)] = now
        return {"OptOutListName": name, "OptedOutNumber": number, "EndUserOptedOut": True}

    def describe_opted_out_numbers(self, **params: Any) -> dict[str, Any]:
        self._validate("DescribeOptedOutNumbers", params)
        name = str(params["OptOutListName"])
        if name not in self.opt_out_lists:
            raise _error("ResourceNotFoundException", f"{name} not found", 404, ResourceType="opt-out-list")
        return {
            "OptOutListName": name,
            "OptedOutNumbers": [{"OptedOutNumber": n} for n in sorted(self.opt_out_lists[name])],
        }

    def reply(self, number: str, body: str, extra_keywords: Iterable[str] = ()) -> dict[str, str]:
        """A customer's reply from ``number``: AWS's automatic opt-out for its own keywords (the
        Default list), and the two-way payload AWS publishes to the SNS topic."""
        from arcollect.sms import AWS_OPT_IN_KEYWORDS, AWS_OPT_OUT_KEYWORDS, keyword_of

        del extra_keywords  # a policy's own keywords are not AWS's: the dunning function opts those out
        if keyword_of(body) in AWS_OPT_OUT_KEYWORDS:
            with self._lock:
                self.opt_out_lists.setdefault("Default", set()).add(number)
        elif keyword_of(body) in AWS_OPT_IN_KEYWORDS:
            # START and UNSTOP set up as opt-in keywords: AWS takes the number off its list itself.
            with self._lock:
                self.opt_out_lists.setdefault("Default", set()).discard(number)
        previous = next((t.message_id for t in reversed(self.sent) if t.to == number), "")
        return inbound_payload(number, body, LOCAL_ORIGINATION_NUMBER, previous)


def inbound_payload(
    number: str, body: str, ours: str = LOCAL_ORIGINATION_NUMBER, previous: str = ""
) -> dict[str, str]:
    """The two-way SMS payload AWS publishes for a reply (the user guide's example's fields)."""
    return {
        "originationNumber": number,
        "destinationNumber": ours,
        "messageKeyword": "KEYWORD_" + uuid.uuid4().hex[:12].upper(),
        "messageBody": body,
        "inboundMessageId": str(uuid.uuid4()),
        "previousPublishedMessageId": previous,
    }


def receipt_event(
    text: dict[str, Any], event_type: str, at: datetime, description: str = ""
) -> dict[str, Any]:
    """The EventBridge event AWS End User Messaging SMS sends for a delivery status of ``text`` (a
    local outbox record, or a ``SentText``'s fields): the user guide's "Monitoring with EventBridge"
    example, with the text's Context as the service returns it."""
    millis = int(at.timestamp() * 1000)
    delivered = event_type in ("TEXT_DELIVERED", "TEXT_SUCCESSFUL")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Text Message Delivery Status Updated",
        "source": "aws.sms-voice",
        "account": "123456789012",
        "time": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventType": event_type,
            "eventVersion": "1.0",
            "eventTimestamp": millis,
            "isFinal": event_type not in ("TEXT_QUEUED", "TEXT_PENDING"),
            "originationPhoneNumber": LOCAL_ORIGINATION_NUMBER,
            "destinationPhoneNumber": text["to"],
            "isInternationalSend": False,
            "messageId": text["message_id"],
            "messageRequestTimestamp": millis - 400,
            "messageEncoding": "GSM",
            "messageType": "TRANSACTIONAL",
            "messageStatus": event_type.removeprefix("TEXT_"),
            "messageStatusDescription": description
            or ("Message has been accepted by phone carrier" if delivered else "Message was not delivered"),
            "context": dict(text.get("context") or {}),
            "totalMessageParts": int(text.get("segments") or text.get("parts") or 1),
            "totalMessagePrice": 0.00645,
            "totalCarrierFee": 0.0,
        },
    }


def sns_record(payload: dict[str, str], at: datetime, topic_arn: str = "") -> dict[str, Any]:
    """The Lambda SNS record the two-way topic delivers for ``payload``."""
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
        "Sns": {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic_arn,
            "Message": json.dumps(payload),
            "Timestamp": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        },
    }


_OPERATIONS = {
    "SendTextMessage": "send_text_message",
    "PutOptedOutNumber": "put_opted_out_number",
    "DeleteOptedOutNumber": "delete_opted_out_number",
    "DescribeOptedOutNumbers": "describe_opted_out_numbers",
}


def sms_middleware(app: Any, fake: FakeSmsClient) -> Any:
    """A WSGI application answering ``PinpointSMSVoiceV2.*`` requests from ``fake`` (as AWS's JSON 1.0
    protocol does: ``__type`` and the modelled fields in the body) and passing the rest to ``app``."""

    def application(environ: dict[str, Any], start_response: Any) -> Any:
        target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
        if not target.startswith(TARGET_PREFIX):
            return app(environ, start_response)
        operation = target[len(TARGET_PREFIX) :]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}")
        method = _OPERATIONS.get(operation)
        try:
            if method is None:
                raise _error(
                    "ValidationException", f"{operation} is not emulated locally", Reason="UNKNOWN_OPERATION"
                )
            answer, status = getattr(fake, method)(**request), 200
        except ClientError as error:
            details = error.response.get("Error", {})
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
            answer = {
                "__type": details.get("Code"),
                "message": details.get("Message"),
                **{
                    k: v
                    for k, v in error.response.items()
                    if k not in ("Error", "ResponseMetadata", "Message")
                },
            }
        payload = json.dumps(answer).encode()
        start_response(
            f"{status} {'OK' if status == 200 else 'Error'}",
            [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    return application


def read_sms_outbox(outbox: Path) -> list[dict[str, Any]]:
    """Every text the local service accepted, oldest first."""
    texts = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(outbox.glob("*.json"))]
    return sorted(texts, key=lambda t: (t.get("accepted_at") or "", t.get("message_id") or ""))
