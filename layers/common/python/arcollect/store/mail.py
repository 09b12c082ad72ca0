"""Sending email through SES v2 with the stack's configuration set, and the message tags SES takes."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from arcollect.store.clients import LazyClient
from arcollect.store.errors import StoreError, StoreUnavailable

# SES refuses a whole message whose tag names or values hold anything else (moto does not check).
_TAG_TEXT: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
_NOT_TAG_TEXT: Final = re.compile(r"[^A-Za-z0-9_-]")
TAG_MAX_CHARS: Final = 256
# A customer id that is not tag text travels base64url-encoded (whose alphabet is tag text) behind this.
ENCODED_TAG_PREFIX: Final = "b64-"


def tag_value(text: str) -> str:
    """A label (a step, a kind of email) as an SES tag value: what SES does not take becomes ``-``. It
    loses characters, so ids travel through ``customer_tag`` instead."""
    return _NOT_TAG_TEXT.sub("-", text)[:TAG_MAX_CHARS] or "-"


def customer_tag(customer_id: str) -> str | None:
    """The customer id as an SES tag value that ``customer_from_tag`` turns back into the id: as it is
    when SES takes it (``C-1001``), else encoded (``Brennan & Sons, PC``, ``株式会社 山田商事``). None
    for an id too long to fit in a tag even so (over 189 bytes of UTF-8)."""
    if _TAG_TEXT.fullmatch(customer_id) and not customer_id.startswith(ENCODED_TAG_PREFIX):
        return customer_id
    encoded = base64.urlsafe_b64encode(customer_id.encode()).rstrip(b"=").decode()
    value = ENCODED_TAG_PREFIX + encoded
    return value if len(value) <= TAG_MAX_CHARS else None


def customer_from_tag(value: str) -> str:
    """The customer id ``customer_tag`` put in an SES tag (a value it did not encode is the id itself)."""
    if not value.startswith(ENCODED_TAG_PREFIX):
        return value
    encoded = value[len(ENCODED_TAG_PREFIX) :]
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return value


class MailRejected(StoreError):
    """SES refused the message (bad address, sandbox, sending paused): resending it will not help."""


class SesMailer:
    def __init__(self, *, configuration_set: str, client: Any | None = None) -> None:
        self._configuration_set = configuration_set
        self._ses = client if client is not None else LazyClient("sesv2")

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
            code = error.response.get("Error", {}).get("Code", "")
            if code in {
                "MessageRejected",
                "MailFromDomainNotVerifiedException",
                "AccountSuspendedException",
                "SendingPausedException",
                "BadRequestException",
            }:
                raise MailRejected(f"SES rejected the message to {', '.join(to)}: {code}") from error
            raise StoreError(f"SES SendEmail failed: {code or error}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"SES SendEmail failed: {error}") from error
        return str(response["MessageId"])
