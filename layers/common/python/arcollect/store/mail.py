"""Sending email through SES v2 with the stack's configuration set."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from arcollect.store.clients import LazyClient
from arcollect.store.errors import StoreError, StoreUnavailable


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
