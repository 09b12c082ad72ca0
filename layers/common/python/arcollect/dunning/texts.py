"""Reminder texts (SMS): a short message with a fresh portal link, sent once per (invoice, step).

A step that lists ``sms`` among its channels (``Step.channels``) has its reminder carried by a text when
the engine routes it there; ``send_text`` carries that out as ``delivery`` carries out an email:
reserve (``store/text_ledger.py``) -> SendTextMessage -> complete, with the text's own rules first
(``arcollect/sms.py``): a mobile number in E.164, the parts the policy allows, the customer's local
sending hours (the send window, narrowed by ``settings.sms.send_window``, no weekends or holidays),
the opt-out list. ``handle_inbound`` reads a customer's reply (AWS's two-way SMS payload): an opt-out
keyword puts the number on the opt-out list and marks every customer texted at it. ``handle_receipt``
reads the carrier's delivery receipt: delivered goes on the timeline; not delivered sends the step by
its next channel (as a bounced email does), and a number that cannot receive texts is not texted again
until the customer master gives another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from arcollect import changes
from arcollect.calendar import resolve_zone
from arcollect.entities import Activity, Customer, Invoice
from arcollect.observability import logger
from arcollect.sms import (
    CONTEXT_SENDER,
    TEXT_UNDELIVERED,
    DeliveryReceipt,
    MessageTooLong,
    NumberError,
    SmsRules,
    check_body,
    compose,
    is_opt_in,
    is_opt_out,
    keyword_of,
    normalise_number,
    shortest_text,
)
from arcollect.store.sms import NumberOptedOut, OptInRefused, TextingBlocked, TextOutcomeUnknown, TextRefused
from arcollect.store.text_ledger import TextDraft, TextTouchRecord
from arcollect.store.touch_ledger import StaleCustomer
from arcollect.store.touches import InvoiceState, Reservation

if TYPE_CHECKING:
    from arcollect.changes import ChangeFeed
    from arcollect.dunning.delivery import RunReport, Services
    from arcollect.dunning.engine import CustomerPlan, EmailPlan


class TextSender(Protocol):
    """SendTextMessage (``store/sms.SmsSender``): a message id, or one of its refusals."""

    def send(self, *, to: str, body: str, context: Mapping[str, str]) -> str: ...

    def opt_out(self, number: str) -> None: ...

    def opt_in(self, number: str) -> None: ...


class TextBook(Protocol):
    """The texts' ledger (``store/text_ledger.TextLedger``)."""

    def text_touch(self, customer_id: str, touch_id: str) -> TextTouchRecord | None: ...

    def reserve_text(
        self,
        customer: Customer,
        touch_id: str,
        step: str,
        touches: Sequence[tuple[str, str]],
        draft: TextDraft,
        promises: dict[str, str],
        at: datetime,
        expected: Customer | None = None,
        clock_at: datetime | None = None,
    ) -> Reservation: ...

    def complete_text(
        self,
        customer_id: str,
        touch_id: str,
        message_id: str,
        to: str,
        states: Sequence[InvoiceState],
        activity: Activity,
        at: datetime,
    ) -> None: ...

    def release_text(self, customer_id: str, touch_id: str, touches: Sequence[tuple[str, str]]) -> None: ...

    def refuse_text(self, customer_id: str, touch_id: str, reason: str, activity: Activity) -> bool: ...

    def record_reply(self, number: str, activity_for: Callable[[str], Activity]) -> list[str]: ...

    def opt_out(
        self,
        number: str,
        keyword: str,
        at: datetime,
        activity_for: Callable[[str], Activity],
        also: Sequence[str] = (),
    ) -> list[str]: ...

    def opt_in(self, number: str, at: datetime, activity_for: Callable[[str], Activity]) -> list[str]: ...

    def mark_delivered(self, customer_id: str, touch_id: str, at: datetime, activity: Activity) -> bool: ...

    def mark_undelivered(
        self,
        customer_id: str,
        touch_id: str,
        reason: str,
        at: datetime,
        activity: Activity,
        marker: str,
    ) -> tuple[tuple[str, str], ...]: ...

    def mark_unusable(self, customer_id: str, number: str) -> bool: ...


@dataclass(frozen=True)
class Texting:
    """What sending texts needs: the service (with the stack's origination identity) and the ledger."""

    sender: TextSender
    ledger: TextBook
    # The stack's environment, in each text's Context: the rule that brings its receipts back matches it.
    environment_name: str = "dev"


class ReceiptTooEarly(RuntimeError):
    """A receipt for a text whose completion is not recorded yet: the event is delivered again."""


@dataclass(frozen=True)
class TextResult:
    """What became of one reminder text (docs/sms.md): ``sent``, ``touched`` (a run before sent it),
    ``skipped`` (not reserved: the reason says why), ``refused`` (for good: kept reserved), ``blocked``
    (the account sends nothing: released), ``unknown`` (it may have gone: kept, never resent)."""

    status: str
    reason: str = ""
    touch_id: str = ""
    recorded: frozenset[str] = field(default_factory=frozenset)


def sms_hours_closed(
    plan: CustomerPlan, customer: Customer, services: Services, rules: SmsRules
) -> str | None:
    """Why texts may not go to the customer now (None: they may): the policy's send window and, when
    the policy sets one, the stricter SMS window, both in the customer's local time, on its working
    days, not on its country's public holidays."""
    settings = services.policies.settings
    zone, _ = resolve_zone(customer.time_zone, settings.time_zone)
    for window in (settings.send_window, rules.send_window):
        if window is None:
            continue
        closed = services.calendar.why_closed(plan.now, zone, customer.country, window)
        if closed is not None:
            return closed
    return None


def send_text(
    plan: CustomerPlan,
    text: EmailPlan,
    invoices: Sequence[Invoice],
    customer: Customer,
    services: Services,
    report: RunReport,
    states: Sequence[InvoiceState] = (),
    expected: Customer | None = None,
) -> TextResult:
    """Reserve, write, send and record one reminder text (see the module). ``states`` are the invoices'
    new states, written with the completion (the text carried the step's touch). It raises only what a
    retry may fix (throttling, storage), after releasing its reservation."""
    texting: Texting | None = getattr(services, "texting", None)
    if texting is None:
        return _skipped(
            plan, report, "no_texter", "SMS is not set up (no origination identity in the settings)"
        )
    if customer.sms_opted_out:
        return _skipped(plan, report, "opted_out", "the customer opted out of text messages")
    try:
        to = normalise_number(customer.mobile or "", customer.country)
    except NumberError as error:
        return _skipped(plan, report, "bad_number", str(error))
    rules: SmsRules = services.policies.settings.sms or SmsRules()
    closed = sms_hours_closed(plan, customer, services, rules)
    if closed is not None:
        # Nothing is reserved: the invoices stay due and a later tick within the hours sends it.
        return _skipped(plan, report, "outside_sms_hours", closed)
    numbers = list(dict.fromkeys(t.invoice_number for t in text.touches))
    sender_name = services.policies.settings.sender_name
    link = services.link_for(plan.customer_id, plan.now)
    try:
        # A statement's invoices listed for information (not yet due) are not among those it counts.
        counted = [n for n in numbers if n not in text.for_information] or numbers
        body = compose(text.template, len(counted), sender_name, link, customer.language)
        try:
            segments = check_body(body, rules.max_parts)
        except MessageTooLong:
            body = shortest_text(text.template, sender_name, link, customer.language)
            segments = check_body(body, rules.max_parts)
    except MessageTooLong as error:
        return _skipped(plan, report, "too_long", f"the reminder text does not fit: {error}")
    wanted = [(t.invoice_number, t.step_id) for t in text.touches]
    by_number = {invoice.invoice_number: invoice for invoice in invoices}
    promises = {
        n: by_number[n].promise_id or "" for n, _ in wanted if n in by_number and by_number[n].promise_id
    }
    ledger = texting.ledger
    reservation = ledger.reserve_text(
        customer,
        text.touch_id,
        text.step_id,
        wanted,
        TextDraft(to=to, body=body, encoding=segments.encoding, parts=segments.parts),
        promises,
        plan.now,
        expected=expected,
        clock_at=services.clock(),
    )
    if expected is not None and any(r.reason == "customer" for r in reservation.refused):
        # The profile copy the plan was made from is out of date (an opt-out, a new number, a hold):
        # the plan is made again from the profile itself (as an email's reservation does).
        raise StaleCustomer(plan.customer_id)
    if not reservation.reserved:
        return _not_reserved(plan, text, reservation, to, texting, report)
    reserved = reservation.reserved
    # The message's context travels with its events: the customer and the touch find their records.
    context = {
        "customer_id": plan.customer_id,
        "touch_id": text.touch_id,
        "step": text.step_id,
        CONTEXT_SENDER: texting.environment_name,
    }
    services.pacer.wait()
    try:
        message_id = texting.sender.send(to=to, body=body, context=context)
    except NumberOptedOut as error:
        # AWS's opt-out list has the number (a STOP we did not hear of): ours gets it too and the
        # customer is marked (with its timeline entry); the touches are freed, so the next run sends
        # the step by the step's next channel (the engine no longer picks a text for the customer).
        ledger.release_text(plan.customer_id, text.touch_id, reserved)
        keyword = f"AWS opt-out list ({error.reason})"
        ledger.opt_out(
            to, keyword, plan.now, _opted_out_activity(plan.now, to, keyword), also=(plan.customer_id,)
        )
        report.outcomes["text_opted_out"] += 1
        return TextResult("refused", f"{error.code}: {error.reason}", text.touch_id)
    except TextRefused as error:
        _refused(plan, text, to, error, texting, report)
        return TextResult("refused", f"{error.code}: {error.reason}", text.touch_id)
    except TextingBlocked as error:
        ledger.release_text(plan.customer_id, text.touch_id, reserved)
        report.outcomes["text_blocked"] += 1
        logger.error(
            "the SMS account sends nothing", extra={"customer_id": plan.customer_id, "error": str(error)}
        )
        return TextResult("blocked", f"{error.code}: {error.reason}", text.touch_id)
    except TextOutcomeUnknown as error:
        report.outcomes["text_outcome_unknown"] += 1
        logger.error(
            "the SMS service may or may not have sent a reminder text: kept reserved, not resent",
            extra={"customer_id": plan.customer_id, "touch_id": text.touch_id, "error": str(error)},
        )
        return TextResult("unknown", str(error), text.touch_id)
    except Exception:
        ledger.release_text(plan.customer_id, text.touch_id, reserved)
        raise
    sent_numbers = list(dict.fromkeys(n for n, _ in reserved))
    ledger.complete_text(
        plan.customer_id,
        text.touch_id,
        message_id,
        to,
        [s for s in states if s.invoice_number in set(sent_numbers)],
        Activity(
            customer_id=plan.customer_id,
            at=plan.now,
            activity_id=f"sms-{message_id}",
            kind="sms_sent",
            summary=(
                f"Reminder text ({text.template}, step {text.step_id}) for {len(sent_numbers)} invoice(s) "
                f"to {to} ({segments.parts} part(s), {segments.encoding})"
            ),
            detail={
                "message_id": message_id,
                "touch_id": text.touch_id,
                "step": text.step_id,
                "template": text.template,
                "invoices": ",".join(sent_numbers),
                "to": to,
                "parts": str(segments.parts),
                "encoding": segments.encoding,
                "body": body,
                "policy": plan.policy,
            },
        ),
        plan.now,
    )
    report.outcomes["text_sent"] += 1
    return TextResult("sent", "", text.touch_id, frozenset(sent_numbers))


def _skipped(plan: CustomerPlan, report: RunReport, code: str, why: str) -> TextResult:
    report.outcomes[f"text_skipped_{code}"] += 1
    logger.info("reminder text not sent", extra={"customer_id": plan.customer_id, "reason": code, "why": why})
    return TextResult("skipped", f"{code}: {why}")


def _not_reserved(
    plan: CustomerPlan,
    text: EmailPlan,
    reservation: Reservation,
    to: str,
    texting: Texting,
    report: RunReport,
) -> TextResult:
    reasons = {r.reason for r in reservation.refused}
    if "opted_out" in reasons:
        return _skipped(plan, report, "opted_out", f"{to} is on the opt-out list")
    if "customer" in reasons:
        return _skipped(
            plan, report, "customer_changed", "on hold, do-not-contact, opted out or a new mobile since read"
        )
    record = texting.ledger.text_touch(plan.customer_id, text.touch_id)
    touched = frozenset(r.invoice_number for r in reservation.refused if r.reason == "touched")
    if record is not None and record.status == "refused" and record.to != to:
        # Refused for good to an old number; the customer master has a new one: free it for the next run.
        texting.ledger.release_text(plan.customer_id, text.touch_id, record.touches)
        report.outcomes["text_refused_released"] += 1
        return TextResult("skipped", "number_changed: the refused text goes to the new number next run")
    report.outcomes["text_touched"] += 1
    done = touched if record is None or record.message_id else frozenset()
    return TextResult("touched", "", text.touch_id, done)


def _refused(
    plan: CustomerPlan, text: EmailPlan, to: str, error: TextRefused, texting: Texting, report: RunReport
) -> None:
    reason = f"{error.code}: {error.reason}"
    activity = Activity(
        customer_id=plan.customer_id,
        at=plan.now,
        activity_id=f"sms-refused-{text.touch_id}",
        kind="sms_refused",
        summary=f"The SMS service refused reminder text {text.step_id} to {to}: {reason}",
        detail={
            "touch_id": text.touch_id,
            "step": text.step_id,
            "to": to,
            "code": error.code,
            "reason": error.reason,
        },
    )
    if texting.ledger.refuse_text(plan.customer_id, text.touch_id, reason, activity):
        report.outcomes["text_refused"] += 1
    logger.warning(
        "the SMS service refused a reminder text for good",
        extra={"customer_id": plan.customer_id, "touch_id": text.touch_id, "error": str(error)},
    )


def _opted_out_activity(at: datetime, number: str, keyword: str) -> Callable[[str], Activity]:
    def activity(customer_id: str) -> Activity:
        return Activity(
            customer_id=customer_id,
            at=at,
            # One entry per opt-out (a number may opt out, back in, and out again).
            activity_id=f"sms-opt-out-{number}-{at.strftime('%Y%m%dT%H%M%S')}",
            kind="sms_opted_out",
            summary=f"{number} opted out of text messages ({keyword}): no reminder is texted to it again",
            detail={"number": number, "keyword": keyword},
        )

    return activity


@dataclass(frozen=True)
class InboundText:
    """A reply to one of our texts, as AWS End User Messaging SMS publishes it to the two-way SNS topic
    (the user guide's "two-way SMS message payload")."""

    origination_number: str  # the customer's
    destination_number: str  # ours
    body: str
    inbound_message_id: str
    previous_message_id: str = ""

    @classmethod
    def parse(cls, payload: Mapping[str, Any]) -> InboundText:
        """The payload's fields; ValueError naming the first one missing."""
        for name in ("originationNumber", "messageBody", "inboundMessageId"):
            if not isinstance(payload.get(name), str) or (name != "messageBody" and not payload[name]):
                raise ValueError(f"two-way SMS payload: {name!r} is missing or not a string")
        return cls(
            origination_number=str(payload["originationNumber"]),
            destination_number=str(payload.get("destinationNumber") or ""),
            body=str(payload["messageBody"]),
            inbound_message_id=str(payload["inboundMessageId"]),
            previous_message_id=str(payload.get("previousPublishedMessageId") or ""),
        )


def handle_inbound(message: InboundText, texting: Texting, rules: SmsRules, at: datetime) -> dict[str, Any]:
    """A customer's reply: an opt-out keyword (AWS's or the policy's own) puts the number on the
    opt-out list (ours; AWS's too, for a keyword AWS does not know itself) and marks every customer
    texted at it opted out, each with a timeline entry. Any other reply goes on those customers'
    timelines as it was written, for a collector to answer."""
    number = message.origination_number
    if is_opt_in(message.body, rules.opt_in_keywords):
        return _opt_in(message, texting, at)
    if not is_opt_out(message.body, rules.opt_out_keywords):
        # Not an opt-out: what the customer wrote goes on the timeline of the customers texted at the
        # number (a collector reads it and calls back), never only into a log.
        def reply(customer_id: str) -> Activity:
            return Activity(
                customer_id=customer_id,
                at=at,
                activity_id=f"sms-reply-{message.inbound_message_id}",
                kind="sms_reply",
                summary=f"Text reply from {number}: {message.body}",
                detail={"number": number, "body": message.body, "in_reply_to": message.previous_message_id},
            )

        customers = texting.ledger.record_reply(number, reply)
        if not customers:
            logger.warning(
                "a text reply from a number no customer was texted at",
                extra={"inbound_message_id": message.inbound_message_id},
            )
        return {"opt_out": False, "customers": customers}
    keyword = keyword_of(message.body)
    # Ours first: the customers are opted out even if the service's list cannot be written now (then
    # the record fails, SNS delivers it again, and the repeat changes nothing of ours).
    marked = texting.ledger.opt_out(number, keyword, at, _opted_out_activity(at, number, keyword))
    # AWS put the number on its list itself for its own keywords, not for a policy's own (unless the
    # number's keywords were set up so in AWS): the service's list gets it from us either way
    # (PutOptedOutNumber of a number on the list changes nothing).
    texting.sender.opt_out(number)
    logger.info("a number opted out of reminder texts", extra={"customers": len(marked), "keyword": keyword})
    return {"opt_out": True, "keyword": keyword, "customers": marked}


def _opt_in(message: InboundText, texting: Texting, at: datetime) -> dict[str, Any]:
    """START, UNSTOP (or a policy's own opt-in word): the number leaves the service's opt-out list, then
    ours, and every customer texted at it is textable again, each with a timeline entry. The service
    first: a customer marked textable while the service still refuses the number would be refused and
    marked out again at the next text. The service keeps a number it took off within 30 days: then
    nothing of ours changes and the customers' timelines say so (a collector answers the customer)."""
    number, keyword = message.origination_number, keyword_of(message.body)
    try:
        texting.sender.opt_in(number)
    except OptInRefused as error:
        reason = str(error)

        def refused(customer_id: str) -> Activity:
            return Activity(
                customer_id=customer_id,
                at=at,
                activity_id=f"sms-reply-{message.inbound_message_id}",
                kind="sms_opt_in_refused",
                summary=f"{number} asked to get texts again ({keyword}), but {reason}: it stays opted out",
                detail={"number": number, "keyword": keyword, "reason": reason},
            )

        customers = texting.ledger.record_reply(number, refused)
        logger.warning("an opt-in the SMS service refused", extra={"customers": len(customers)})
        return {
            "opt_out": False,
            "opt_in": False,
            "keyword": keyword,
            "customers": customers,
            "refused": reason,
        }

    def opted_in(customer_id: str) -> Activity:
        return Activity(
            customer_id=customer_id,
            at=at,
            activity_id=f"sms-opt-in-{message.inbound_message_id}",
            kind="sms_opted_in",
            summary=f"{number} opted back in to text messages ({keyword}): reminders may be texted again",
            detail={"number": number, "keyword": keyword},
        )

    marked = texting.ledger.opt_in(number, at, opted_in)
    logger.info("a number opted back in to reminder texts", extra={"customers": len(marked)})
    return {"opt_out": False, "opt_in": True, "keyword": keyword, "customers": marked}


__all__ = ["InboundText", "TextResult", "Texting", "compose", "handle_inbound", "send_text"]


def handle_receipt(
    receipt: DeliveryReceipt, texting: Texting, at: datetime, change_feed: ChangeFeed | None = None
) -> dict[str, Any]:
    """The carrier's delivery status of one of our texts (AWS's "Text Message Delivery Status Updated"
    event). Delivered: on the timeline, once. Not delivered (final): the text and its invoices say so,
    the next tick sends the step by the channel after SMS in its list (``engine.TEXT_UNDELIVERED``), the
    timeline says why; a number that cannot receive texts is remembered on the profile, so no step texts
    it again while the customer master gives it, and the change feed tells the ERP
    (``mobile_undeliverable``). Not final yet: nothing. A receipt repeated changes
    nothing; one for a text we do not know of (another stack's, or one deleted by retention) is ignored
    and said so."""
    outcome: dict[str, Any] = {
        "message_id": receipt.message_id,
        "event_type": receipt.event_type,
        "outcome": receipt.outcome,
        "recorded": False,
        "fell_back": [],
    }
    if receipt.outcome == "pending":
        return outcome
    record = texting.ledger.text_touch(receipt.customer_id, receipt.touch_id)
    if record is not None and record.message_id is None and record.status == "reserved":
        # Sent, but its completion is not written yet (or its answer was lost): failing makes
        # EventBridge deliver the receipt again later, then keep it in the dead-letter queue.
        raise ReceiptTooEarly(
            f"a delivery receipt for text {receipt.touch_id} of {receipt.customer_id!r} before its "
            "completion was recorded: retried"
        )
    if record is None or record.message_id != receipt.message_id:
        logger.warning(
            "a delivery receipt for a text this stack has no record of",
            extra={"message_id": receipt.message_id, "customer_id": receipt.customer_id},
        )
        return {**outcome, "unknown_text": True}
    activity_id = f"sms-{receipt.outcome}-{receipt.message_id}"
    if receipt.outcome == "delivered":
        outcome["recorded"] = texting.ledger.mark_delivered(
            record.customer_id,
            record.touch_id,
            at,
            Activity(
                customer_id=record.customer_id,
                at=at,
                activity_id=activity_id,
                kind="sms_delivered",
                summary=f"Reminder text (step {record.step}) delivered to {record.to}",
                detail={"message_id": receipt.message_id, "touch_id": record.touch_id, "to": record.to},
            ),
        )
        return outcome
    invoices = sorted({number for number, _ in record.touches})
    # The ERP corrects its master data as it does for a bounced address (the change feed).
    unusable = (
        (
            changes.mobile_undeliverable(
                customer_id=record.customer_id,
                message_id=receipt.message_id,
                number=record.to,
                event_type=receipt.event_type,
                at=at,
            ),
        )
        if receipt.number_unusable
        else ()
    )
    activity = Activity(
        customer_id=record.customer_id,
        at=at,
        activity_id=activity_id,
        kind="sms_undelivered",
        summary=(
            f"Reminder text (step {record.step}) to {record.to} not delivered: {receipt.reason}. "
            "The step goes again by its next channel"
            + (
                "; the number is not texted again until the customer master gives another"
                if receipt.number_unusable
                else ""
            )
        ),
        detail={
            "message_id": receipt.message_id,
            "touch_id": record.touch_id,
            "to": record.to,
            "event_type": receipt.event_type,
            "reason": receipt.reason,
            "invoices": ",".join(invoices),
        },
        changes=unusable,
    )
    fell_back = texting.ledger.mark_undelivered(
        record.customer_id,
        record.touch_id,
        receipt.reason,
        at,
        activity,
        TEXT_UNDELIVERED,
    )
    if fell_back:
        # Written with the timeline entry in its transaction; handed to the feed once that committed
        # (the daily roll-up reads them from the table, should this copy be lost).
        changes.publish(change_feed, activity.changes)
    if receipt.number_unusable:
        # Apart from the marks, and again on a retry: a crash between the two cannot lose it.
        texting.ledger.mark_unusable(record.customer_id, record.to)
    return {**outcome, "recorded": bool(fell_back), "fell_back": [list(touch) for touch in fell_back]}
