"""Sending email through SES v2 with the stack's configuration set, and the message tags SES takes.

What SES refuses, and what each refusal means here:

- the message itself, for good (``MessageRefused``): ``MessageRejected`` (content, an unverified
  address in the sandbox, a message over 40 MB) and ``BadRequestException`` (a malformed address, more
  than 50 recipients, a tag outside SES's characters). Sending it again unchanged is refused again;
  someone has to fix the data first.
- sending as such (``SendingBlocked``): the account suspended or paused, the sending domain not
  verified, the configuration set missing. Nothing about the message or the customer; it goes once the
  account is fixed.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from arcollect.store.clients import LazyClient
from arcollect.store.errors import StoreError, StoreUnavailable

# A message tag's name and value: ASCII letters, digits, '_' and '-' only (SES API reference,
# MessageTag). The reference says 256 characters or fewer; SES's own refusal reads "Tag value cannot
# exceed 255 characters." (recorded from AWS in LocalStack's SES snapshot tests), so 255 is what we use:
# within both. moto checks neither.
TAG_MAX_CHARS: Final = 255
_TAG_TEXT: Final = re.compile(r"[A-Za-z0-9_-]{1,255}")
_NOT_TAG_TEXT: Final = re.compile(r"[^A-Za-z0-9_-]")
# A customer id that is not tag text travels base64url-encoded (whose alphabet is tag text) behind this.
ENCODED_TAG_PREFIX: Final = "b64-"
# The tag that names the customer of a message; an encoded id longer than one tag continues in
# ``customer_id_2``, ``customer_id_3``... (ingest keeps ids to 200 characters: 5 tags at most).
CUSTOMER_TAG: Final = "customer_id"

# SES's codes for a message it will not take as it is, and for an account that cannot send at all.
MESSAGE_REFUSALS: Final = frozenset({"MessageRejected", "BadRequestException", "InvalidParameterValue"})
SENDING_REFUSALS: Final = frozenset(
    {
        "AccountSuspendedException",
        "SendingPausedException",
        "MailFromDomainNotVerifiedException",
        "NotFoundException",
    }
)


def tag_value(text: str) -> str:
    """A label (a step, a kind of email) as an SES tag value: what SES does not take becomes ``-``. It
    loses characters, so ids travel through ``customer_tags`` instead."""
    return _NOT_TAG_TEXT.sub("-", text)[:TAG_MAX_CHARS] or "-"


def _continued(name: str, part: int) -> str:
    return name if part == 1 else f"{name}_{part}"


def customer_tags(customer_id: str, name: str = CUSTOMER_TAG) -> dict[str, str]:
    """The customer id as SES message tags that ``customer_from_tags`` turns back into the id exactly:
    the id itself when SES takes it (``C-1001``), else base64url behind ``b64-`` (``Brennan & Sons,
    PC``, ``株式会社 山田商事``), cut into tag-sized parts when it is longer than one tag holds. SES
    returns every message tag in each event it publishes for the message, so no id loses its events."""
    if _TAG_TEXT.fullmatch(customer_id) and not customer_id.startswith(ENCODED_TAG_PREFIX):
        return {name: customer_id}
    encoded = ENCODED_TAG_PREFIX + base64.urlsafe_b64encode(customer_id.encode()).rstrip(b"=").decode()
    parts = [encoded[start : start + TAG_MAX_CHARS] for start in range(0, len(encoded), TAG_MAX_CHARS)]
    return {_continued(name, number): part for number, part in enumerate(parts, start=1)}


def customer_from_tags(tags: Mapping[str, Sequence[str]], name: str = CUSTOMER_TAG) -> str | None:
    """The customer id ``customer_tags`` put in a message's tags, as SES's events carry them (each name
    with its list of values); None when the message has no customer tag."""
    values = tags.get(name) or []
    if not values:
        return None
    first = str(values[0])
    if not first.startswith(ENCODED_TAG_PREFIX):
        return first
    text, part = first, 2
    while len(parts := tags.get(_continued(name, part)) or []) > 0:
        text += str(parts[0])
        part += 1
    encoded = text[len(ENCODED_TAG_PREFIX) :]
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return first


class MailRejected(StoreError):
    """SES definitely did not send the message: it refused it (see ``MessageRefused`` and
    ``SendingBlocked``). ``code`` and ``reason`` are SES's error code and message."""

    def __init__(self, message: str, *, code: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class MessageRefused(MailRejected):
    """SES refused this message for good (a malformed or unverified address, too many recipients, too
    large, a bad tag): the same message is refused again until someone fixes the data."""


class SendingBlocked(MailRejected):
    """SES refused to send anything (account suspended or paused, sending domain not verified, no such
    configuration set): nothing is wrong with the message; it can go once the account is fixed."""


_ADDRESS: Final = re.compile(r"[^\s<>,;:\"'()\[\]]+@[^\s<>,;:\"'()\[\]]+")


def without_addresses(text: str) -> str:
    """``text`` with every email address replaced (SES names them in some refusals): for the logs."""
    return _ADDRESS.sub("<address>", text)


class SendNotAccepted(StoreUnavailable):
    """SES certainly did not send the message (throttled, no connection made): it may be tried again."""


class SendOutcomeUnknown(StoreUnavailable):
    """Whether SES sent the message is unknown (a timeout after the request went out, a 5xx): it must
    not be sent again; the reservation stays, and SES's own send event or the in-doubt review settles
    it."""


# Throttling and quota codes: SES refused the request before sending anything.
NOT_SENT_CODES: Final = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "LimitExceededException"}
)


def _one_attempt() -> Any:
    """botocore's retry configuration of a single attempt."""
    from botocore.config import Config

    return Config(retries={"total_max_attempts": 1, "mode": "standard"})


class SesMailer:
    def __init__(self, *, configuration_set: str, client: Any | None = None) -> None:
        self._configuration_set = configuration_set
        # One attempt: botocore's own retry of a SendEmail whose answer was lost sends the email twice.
        # What failed is told apart below (not sent: the caller may try again; unknown: it must not).
        self._ses = client if client is not None else LazyClient("sesv2", config=_one_attempt())

    def send(self, *, sender: str, to: list[str], raw: bytes, tags: dict[str, str]) -> str:
        """Send a complete MIME message; returns SES's message id."""
        try:
            response = self._ses.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": to},
                Content={"Raw": {"Data": raw}},
                ConfigurationSetName=self._configuration_set,
                EmailTags=[{"Name": name, "Value": value} for name, value in tags.items()],
            )
        except ClientError as error:
            details = error.response.get("Error", {})
            code, reason = str(details.get("Code", "")), str(details.get("Message", ""))
            # No recipient in the text: it reaches the logs (the task and the timeline name them).
            text = f"SES refused the message to {len(to)} recipient(s): {code}: {without_addresses(reason)}"
            if code in MESSAGE_REFUSALS:
                raise MessageRefused(text, code=code, reason=reason) from error
            if code in SENDING_REFUSALS:
                raise SendingBlocked(text, code=code, reason=reason) from error
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if code in NOT_SENT_CODES or 400 <= status < 500:
                # Throttled, or a request SES answered it would not take: nothing was sent.
                raise SendNotAccepted(f"SES did not take the message: {code or error}") from error
            # A 5xx (or no status): SES may have sent it before failing to answer.
            raise SendOutcomeUnknown(
                f"SES SendEmail failed, the message may have gone: {code or error}"
            ) from error
        except (EndpointConnectionError, ConnectTimeoutError) as error:
            # No connection was made: nothing reached SES.
            raise SendNotAccepted(f"SES SendEmail failed before reaching SES: {error}") from error
        except BotoCoreError as error:
            # A read timeout, a connection dropped mid-answer: SES may have accepted the message.
            raise SendOutcomeUnknown(f"SES SendEmail failed, the message may have gone: {error}") from error
        return str(response["MessageId"])
