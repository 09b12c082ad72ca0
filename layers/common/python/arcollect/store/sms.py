"""Sending text messages through AWS End User Messaging SMS (``pinpoint-sms-voice-v2`` SendTextMessage).

moto has no ``pinpoint-sms-voice-v2``: the tests and the local stack hand ``SmsSender`` a strict fake
client (``arcollect_cli/local/sms.py``) that refuses what the service refuses. What each refusal means
here (the error shapes and reasons are botocore's service model of the API):

- this message, for good (``TextRefused``): ``ValidationException`` (a number the service cannot
  parse, a country not enabled or blocked, a body it will not take) and ``ConflictException``
  (``DESTINATION_PHONE_NUMBER_OPTED_OUT``: the number is on the opt-out list: ``NumberOptedOut``;
  an unverified destination in the sandbox; an origination identity that cannot reach the country).
  The same text is refused again until the data changes.
- sending as such (``TextingBlocked``): ``AccessDeniedException`` (account disabled, reputation),
  ``ServiceQuotaExceededException`` (the month's spend limit), ``ResourceNotFoundException`` (the
  configuration set or origination identity missing). Nothing about the customer.
- ``ThrottlingException`` and no connection made: nothing was sent, it may be tried again
  (``TextNotAccepted``); a 5xx or a read timeout: it may have gone (``TextOutcomeUnknown``), never resent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from arcollect.store.clients import LazyClient
from arcollect.store.errors import StoreError, StoreUnavailable

SERVICE: Final = "pinpoint-sms-voice-v2"
OPTED_OUT: Final = "DESTINATION_PHONE_NUMBER_OPTED_OUT"
# Reminders are transactional (an account's own business with its customer), not marketing.
MESSAGE_TYPE: Final = "TRANSACTIONAL"
# SendTextMessage's Context: at most 5 entries (the API reference); their keys and values are ours.
CONTEXT_MAX_ENTRIES: Final = 5

MESSAGE_REFUSALS: Final = frozenset({"ValidationException", "ConflictException"})
SENDING_REFUSALS: Final = frozenset(
    {"AccessDeniedException", "ServiceQuotaExceededException", "ResourceNotFoundException"}
)


class TextRejected(StoreError):
    """The service definitely did not send the text. ``code`` and ``reason``: its error and reason."""

    def __init__(self, message: str, *, code: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class TextRefused(TextRejected):
    """This text is refused for good (the number, the country, the body): fix the data first."""


class NumberOptedOut(TextRefused):
    """The number is on the opt-out list (it replied STOP or the like): it is never texted again."""


class OptInRefused(TextRejected):
    """The service keeps the number on its opt-out list: it takes a number off at most once every 30
    days (DeleteOptedOutNumber's API reference)."""


class TextingBlocked(TextRejected):
    """The account sends no text at all (disabled, spend limit, no origination identity)."""


class TextNotAccepted(StoreUnavailable):
    """The service certainly did not send it (throttled, no connection): it may be tried again."""


class TextOutcomeUnknown(StoreUnavailable):
    """Whether the text went is unknown (a 5xx, a read timeout): it must not be sent again."""


def _one_attempt() -> Any:
    from botocore.config import Config

    return Config(retries={"total_max_attempts": 1, "mode": "standard"})


class SmsSender:
    """SendTextMessage with the stack's origination identity, configuration set and opt-out list."""

    def __init__(
        self,
        *,
        origination_identity: str,
        configuration_set: str | None = None,
        opt_out_list: str | None = None,
        client: Any | None = None,
    ) -> None:
        self.origination_identity = origination_identity
        self.configuration_set = configuration_set
        self.opt_out_list = opt_out_list
        # One attempt: a retried SendTextMessage whose answer was lost texts the customer twice.
        self._client = client if client is not None else LazyClient(SERVICE, config=_one_attempt())

    def send(self, *, to: str, body: str, context: Mapping[str, str]) -> str:
        """Send one text; returns the service's message id. ``context`` travels with the message's
        events (the touch id finds its reservation)."""
        request: dict[str, Any] = {
            "DestinationPhoneNumber": to,
            "OriginationIdentity": self.origination_identity,
            "MessageBody": body,
            "MessageType": MESSAGE_TYPE,
            "Context": dict(list(context.items())[:CONTEXT_MAX_ENTRIES]),
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            response = self._client.send_text_message(**request)
        except ClientError as error:
            details = error.response.get("Error", {})
            code = str(details.get("Code", ""))
            reason = str(error.response.get("Reason") or details.get("Reason") or details.get("Message", ""))
            # The number stays out of the text: it reaches the logs (the timeline names it).
            text = f"SMS refused: {code}: {reason}"
            if code == "ConflictException" and OPTED_OUT in reason:
                raise NumberOptedOut(text, code=code, reason=OPTED_OUT) from error
            if code in MESSAGE_REFUSALS:
                raise TextRefused(text, code=code, reason=reason) from error
            if code in SENDING_REFUSALS:
                raise TextingBlocked(text, code=code, reason=reason) from error
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if code == "ThrottlingException" or 400 <= status < 500:
                raise TextNotAccepted(f"SMS not taken: {code or error}") from error
            raise TextOutcomeUnknown(
                f"SendTextMessage failed, the text may have gone: {code or error}"
            ) from error
        except (EndpointConnectionError, ConnectTimeoutError) as error:
            raise TextNotAccepted(f"SendTextMessage failed before reaching the service: {error}") from error
        except BotoCoreError as error:
            raise TextOutcomeUnknown(f"SendTextMessage failed, the text may have gone: {error}") from error
        return str(response["MessageId"])

    def opt_out(self, number: str) -> None:
        """Put ``number`` on the opt-out list (a reply AWS did not read as one, such as a policy's own
        keyword, or a collector's note that the customer asked): the service then refuses it too."""
        if not self.opt_out_list:
            return
        try:
            self._client.put_opted_out_number(OptOutListName=self.opt_out_list, OptedOutNumber=number)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            raise TextRejected(f"the opt-out list did not take the number: {code}", code=code) from error

    def opt_in(self, number: str) -> None:
        """Take ``number`` off the opt-out list (a START reply): the service texts it again. A number not
        on the list is fine (a repeated reply); OptInRefused when the service keeps it (taken off
        within the last 30 days); TextRejected for anything else (the record is retried)."""
        if not self.opt_out_list:
            return
        try:
            self._client.delete_opted_out_number(OptOutListName=self.opt_out_list, OptedOutNumber=number)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            resource = str(error.response.get("ResourceType", ""))
            if code == "ResourceNotFoundException" and resource != "opt-out-list":
                return  # not on the list
            if code == "ValidationException":
                # The 30-day rule is documented; the error's code is not: a validation refusal is
                # the service's word on this request, which a retry does not change.
                message = str(error.response.get("Error", {}).get("Message", ""))
                message += f"; {error.response['Reason']}" if error.response.get("Reason") else ""
                raise OptInRefused(
                    f"the SMS service keeps the number opted out ({message})", code=code
                ) from error
            raise TextRejected(f"the opt-out list did not let the number go: {code}", code=code) from error
