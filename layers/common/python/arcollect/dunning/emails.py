"""Reminder emails: one email per customer and touch, listing every invoice it is about.

The words live in ``templates/wording.yaml`` (per language and template), the page in
``templates/layout.html`` and ``templates/layout.txt`` (shared by every language and template). The
email is ``multipart/alternative``: a plain-text part and an HTML part with the same content.

Nothing here reads the wall clock: the dates and the ``Date`` header come from ``ReminderEmail.now``,
the plan's "now" (the tick's time), and "days late" count on ``ReminderEmail.today``, the customer's
local day at that instant (the engine's ``plan.today``): the day the engine decided on, so a customer in
Auckland, written to at 09:00 there (20:00 UTC the day before), is not told an invoice is a day less late.
Customer-provided strings (names, invoice and PO numbers) are escaped in the HTML part, and line breaks
are taken out of anything that goes into a header.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from jinja2 import Environment, Template

from arcollect import yamldoc
from arcollect.contract import HEADER_CUSTOMER, HEADER_INVOICES, HEADER_STEP, HEADER_TOUCH
from arcollect.credits import CREDIT_NOTE, CreditLine, credit_by_currency
from arcollect.entities import Customer, Invoice
from arcollect.interest import Charges
from arcollect.languages import LANGUAGES, written_language
from arcollect.mailing import stamp_sent
from arcollect.money import in_minor_units, minor_unit
from arcollect.plans import InstalmentReminder
from arcollect.policy import TEMPLATE_ORDER, TEMPLATES, unknown_template_message

TEMPLATE_DIR = Path(__file__).parent / "templates"
WORDING_FILE = TEMPLATE_DIR / "wording.yaml"

_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


class UnknownTemplate(ValueError):
    """A template name that is not one of ``TEMPLATES``."""


@dataclass(frozen=True)
class Contact:
    """The account owner: signs the email and receives replies."""

    name: str
    email: str | None = None


@dataclass(frozen=True)
class ReminderEmail:
    """Everything one reminder email says and whom it goes to."""

    customer: Customer
    invoices: tuple[Invoice, ...]
    template: str
    step: str
    recipients: tuple[str, ...]
    sender: str
    portal_url: str
    # The plan's "now": the tick's time, the email's ``Date`` and ``X-Arcollect-Sent-At``.
    now: datetime
    touch_id: str
    owner: Contact | None = None
    promised_date: date | None = None
    sender_name: str = "Accounts Receivable"
    # The customer's credits in the email's currencies: listed under the invoices and off the total,
    # so the email asks for the net amount.
    credits: tuple[CreditLine, ...] = ()
    # The customer's local day at ``now`` (the plan's ``today``): what "days late" count on. None: the
    # UTC day of ``now`` (an email built without a plan).
    today: date | None = None
    # Statutory late-payment charges to date, by invoice number (the final notice, when the customer's
    # policy computes them: arcollect/interest.py), listed under the totals and labelled as such; part
    # of the total asked only when ``charges_added`` (the policy's ``add_to_open_amount``).
    late_charges: tuple[tuple[str, Charges], ...] = ()
    charges_added: bool = False
    # The payment plan instalment an ``instalment_reminder`` is about (arcollect/plans.py).
    instalment: InstalmentReminder | None = None
    # The touch's own reply address on the inbound domain (``arcollect.replies``): the Reply-To, in
    # place of the owner's mailbox, so the reply reaches the inbox and is threaded (docs/inbox.md).
    reply_to: str | None = None
    # Invoices listed apart, "not yet due, for information", out of the count, the subject and the
    # totals (the engine's ``EmailPlan.for_information``: a statement of overdue invoices that an
    # invoice's own pre-due step joined). The email counts and totals the others.
    for_information: tuple[str, ...] = ()


def language_for(customer: Customer) -> str:
    """The email language for a customer: ``de-DE`` -> ``de``, ``FR`` -> ``fr``, unknown -> ``en``.
    ``LANGUAGES`` (the languages an email is written in, the first the fallback) is one list with what
    the portal offers (``arcollect/languages.py``)."""
    return written_language(customer.language)


def format_money(amount: Decimal, currency: str, language: str) -> str:
    """``1,234.56 EUR`` (en), ``1.234,56 EUR`` (de), ``1 234,56 EUR`` (fr, narrow no-break space)."""
    style = _format(language)
    places = minor_unit(currency)
    rounded = in_minor_units(amount, currency)
    whole, _, fraction = f"{abs(rounded):.{places}f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    number = str(style["group"]).join(groups) + (str(style["decimal"]) + fraction if fraction else "")
    sign = "-" if rounded < 0 else ""
    return f"{sign}{number} {currency}"


def format_date(day: date, language: str) -> str:
    """``23 Nov 2026`` (en), ``23.11.2026`` (de), ``23/11/2026`` (fr)."""
    style = _format(language)
    months: list[str] = style["months"]
    return str(style["date"]).format(
        day=day.day, dd=f"{day.day:02d}", mm=f"{day.month:02d}", mon=months[day.month - 1], year=day.year
    )


def render_email(email: ReminderEmail) -> EmailMessage:
    """The reminder as a ``multipart/alternative`` message (text/plain, then text/html) with its headers."""
    if email.template not in TEMPLATES:
        raise UnknownTemplate(unknown_template_message(email.template))
    if not email.invoices:
        raise ValueError("a reminder email needs at least one invoice")
    if not email.recipients:
        raise ValueError("a reminder email needs at least one recipient")
    if email.now.tzinfo is None or email.now.utcoffset() is None:
        raise ValueError("ReminderEmail.now must be an aware datetime")
    portal_url = _web_url(email.portal_url)
    if portal_url is None:
        raise ValueError(f"portal_url {email.portal_url!r} is not an http(s) URL")

    language = language_for(email.customer)
    context = _context(email, language, portal_url)
    environment = _environment()
    message = EmailMessage()
    message["From"] = Address(display_name=_one_line(email.sender_name), addr_spec=email.sender.strip())
    message["To"] = [Address(addr_spec=recipient.strip()) for recipient in email.recipients]
    message["Subject"] = context["subject"]
    stamp_sent(message, email.now)
    message["Message-ID"] = _message_id(email)
    if email.reply_to:
        name = email.owner.name if email.owner is not None else email.sender_name
        message["Reply-To"] = Address(display_name=_one_line(name), addr_spec=email.reply_to.strip())
    elif email.owner is not None and email.owner.email:
        message["Reply-To"] = Address(
            display_name=_one_line(email.owner.name), addr_spec=email.owner.email.strip()
        )
    message[HEADER_CUSTOMER] = _id_line(email.customer.customer_id)
    message[HEADER_STEP] = _one_line(email.step)
    message[HEADER_INVOICES] = ",".join(_id_line(invoice.invoice_number) for invoice in email.invoices)
    message[HEADER_TOUCH] = _one_line(email.touch_id)
    message.set_content(environment.get_template("layout.txt").render(context))
    message.add_alternative(environment.get_template("layout.html").render(context), subtype="html")
    # After the parts: setting content moves Content-* headers into the first part.
    message["Content-Language"] = language
    return message


def reminder_words(email: ReminderEmail) -> dict[str, Any]:
    """What a reminder says, as plain text (the email's words, for a letter: dunning/letters.py): the
    subject, greeting, intro, closing, labels, rows, totals net of credits, charges and portal link."""
    portal_url = _web_url(email.portal_url)
    if portal_url is None:
        raise ValueError(f"portal_url {email.portal_url!r} is not an http(s) URL")
    if not email.invoices:
        raise ValueError("a reminder needs at least one invoice")
    if email.template not in TEMPLATES:
        raise UnknownTemplate(unknown_template_message(email.template))
    return _context(email, language_for(email.customer), portal_url)


def letter_phrases(language: str) -> dict[str, str]:
    """What a letter says instead of the email's phrases that only an email can mean ("reply to this
    email"), in ``language`` (wording.yaml's ``letter_phrases``)."""
    words = _wording()["languages"][language if language in LANGUAGES else LANGUAGES[0]]
    return dict(words.get("letter_phrases") or {})


# -- the words and the page --------------------------------------------------------------------------


def _instalment_words(instalment: InstalmentReminder | None, language: str) -> dict[str, Any]:
    """The variables of an instalment reminder (empty strings for every other email)."""
    if instalment is None:
        return {"instalment": "", "instalments": "", "instalment_amount": "", "instalment_due": ""}
    return {
        "instalment": instalment.number,
        "instalments": instalment.count,
        "instalment_amount": format_money(instalment.amount, instalment.currency, language),
        "instalment_due": format_date(instalment.due_date, language),
    }


def _context(email: ReminderEmail, language: str, portal_url: str) -> dict[str, Any]:
    """What the layouts show, every value plain text (the HTML layout escapes it)."""
    words = _wording()["languages"][language]
    style = words["format"]
    day = email.today or email.now.astimezone(UTC).date()
    invoices, apart = counted_invoices(email)
    count = len(invoices)
    gross = _totals_by_currency(invoices)
    credited = credit_by_currency(line for line in email.credits if line.currency in gross)
    # What the email asks: per currency, the invoices' open amounts less the customer's credits.
    charges = [(number, c) for number, c in email.late_charges if c.any and c.currency in gross]
    added: dict[str, Decimal] = {}
    if email.charges_added:
        for _, found in charges:
            added[found.currency] = added.get(found.currency, Decimal(0)) + found.total
    totals = [
        format_money(
            max(amount - credited.get(currency, Decimal(0)), Decimal(0)) + added.get(currency, Decimal(0)),
            currency,
            language,
        )
        for currency, amount in gross.items()
    ]
    oldest_due = min(invoice.due_date for invoice in invoices)
    promised = _promised_date(email) if email.template == "missed_promise" else None
    name = _one_line(email.customer.name) or _one_line(email.customer.customer_id)
    variables: dict[str, Any] = {
        "name": name,
        "count": count,
        "total": " + ".join(totals),
        "invoice": _one_line(invoices[0].invoice_number),
        "due_date": format_date(oldest_due, language),
        "overdue": _status(oldest_due, day, language),
        "promised_date": format_date(promised, language) if promised else "",
        "company": _one_line(email.sender_name),
        **_instalment_words(email.instalment, language),
    }
    labels = {
        key: _say(value, language, variables)
        for key, value in words["labels"].items()
        if isinstance(value, str)
    }
    texts = words["templates"][email.template]
    owner = email.owner
    return {
        "lang": language,
        "accent": _wording()["accents"][email.template],
        "colon": style["colon"],
        "labels": labels,
        "subject": _one_line(_say(texts["subject"], language, variables, count)),
        "greeting": labels["greeting"],
        "intro": _say(texts["intro"], language, variables, count),
        "closing": _say(texts["closing"], language, variables, count),
        "promised": variables["promised_date"],
        "rows": [_row(invoice, day, language) for invoice in invoices],
        # Listed for information under the totals, in none of them (empty: no such section).
        "info_rows": [_row(invoice, day, language) for invoice in apart],
        "totals": totals,
        "credits": [
            {
                "label": labels["credit"] if line.kind == CREDIT_NOTE else labels["unapplied_cash"],
                "reference": _one_line(line.reference),
                "amount": format_money(-line.amount, line.currency, language),
            }
            for line in email.credits
            if line.currency in gross
        ],
        "gross": [format_money(amount, currency, language) for currency, amount in gross.items()]
        if credited
        else [],
        "charges": [
            {
                "number": _one_line(number),
                "interest": format_money(found.interest, found.currency, language),
                "compensation": format_money(found.compensation, found.currency, language),
            }
            for number, found in charges
        ],
        "charges_note": labels["late_charges_added" if email.charges_added else "late_charges_not_added"],
        "portal_url": portal_url,
        "signer": _one_line(owner.name) if owner and owner.name.strip() else _one_line(email.sender_name),
        "signer_team": _one_line(email.sender_name) if owner and owner.name.strip() else "",
        "signer_email": (owner.email or "").strip() if owner else "",
    }


def counted_invoices(email: ReminderEmail) -> tuple[tuple[Invoice, ...], tuple[Invoice, ...]]:
    """The invoices the email counts and totals, and those it lists apart for information
    (``ReminderEmail.for_information``). All are counted when none would be (never "0 invoices")."""
    apart = set(email.for_information)
    counted = tuple(i for i in email.invoices if i.invoice_number not in apart)
    if not counted:
        return email.invoices, ()
    return counted, tuple(i for i in email.invoices if i.invoice_number in apart)


def _row(invoice: Invoice, day: date, language: str) -> dict[str, Any]:
    """One invoice as the email lists it."""
    return {
        "number": _one_line(invoice.invoice_number),
        "po": _one_line(invoice.po_number or ""),
        "invoice_date": format_date(invoice.invoice_date, language),
        "due_date": format_date(invoice.due_date, language),
        "status": _status(invoice.due_date, day, language),
        "late": invoice.due_date < day,
        "amount": format_money(invoice.open_amount, invoice.currency, language),
        "pay_url": _web_url(invoice.pay_url),
    }


def _say(text: object, language: str, variables: Mapping[str, Any], count: int = 1) -> str:
    """One wording entry rendered as plain text: its plural form for ``count``, then its variables."""
    style = _format(language)
    if isinstance(text, Mapping):
        if count == 0 and "zero" in text:
            text = text["zero"]
        elif count in style["one"]:
            text = text["one"]
        else:
            text = text["other"]
    rendered = _compiled(str(text)).render(variables)
    for mark in style["no_break_before"]:
        rendered = rendered.replace(f" {mark}", f"\u00a0{mark}")
    return rendered


def _status(due: date, on: date, language: str) -> str:
    """``12 days overdue``, ``due today`` or ``due in 5 days`` on the day ``on``, in the language."""
    labels = _wording()["languages"][language]["labels"]
    days = (on - due).days
    if days > 0:
        return _say(labels["days_late"], language, {"n": days}, days)
    if days == 0:
        return _say(labels["due_today"], language, {})
    return _say(labels["due_in"], language, {"n": -days}, -days)


def _totals_by_currency(invoices: Sequence[Invoice]) -> dict[str, Decimal]:
    """The open amount per currency: amounts in different currencies are never added up."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in invoices:
        totals[invoice.currency] += invoice.open_amount
    return dict(sorted(totals.items()))


def _promised_date(email: ReminderEmail) -> date:
    if email.promised_date is not None:
        return email.promised_date
    promised = [invoice.promised_until for invoice in email.invoices if invoice.promised_until]
    if not promised:
        raise ValueError("the missed_promise template needs promised_date (or invoices with promised_until)")
    return max(promised)


# -- headers -----------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    """A value safe for one header line: line breaks become spaces, runs of white space one space."""
    return " ".join(_LINE_BREAKS.sub(" ", text).split())


def _id_line(text: str) -> str:
    """An id for a header line as it is, blanks inside it too (``O'Brien  Ltd`` is not ``O'Brien Ltd``):
    only line breaks become spaces, so that no header can be added through it."""
    return _LINE_BREAKS.sub(" ", text).strip()


def _message_id(email: ReminderEmail) -> str:
    return reminder_message_id(email.touch_id, email.customer.customer_id, email.sender)


def reminder_message_id(touch_id: str, customer_id: str, sender: str) -> str:
    """A Message-ID derived from the touch, so that rendering the same touch again gives the same id
    (and the inbox can thread a reply naming it before the reminder is rendered)."""
    digest = hashlib.sha256(f"{touch_id}\0{customer_id}".encode()).hexdigest()[:16]
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", touch_id).strip(".-")[:64] or "touch"
    domain = sender.rpartition("@")[2]
    domain = domain if re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", domain) else "arcollect.local"
    return f"<{readable}.{digest}@{domain}>"


def _web_url(url: str | None) -> str | None:
    """The URL when it is an http(s) link; anything else (``javascript:``, a bare word) is not linked."""
    if not url:
        return None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or _LINE_BREAKS.search(url):
        return None
    return url


# -- loading, once per process -----------------------------------------------------------------------


@cache
def _environment() -> Environment:
    """The Jinja2 environment for the layouts, built on first use and kept for the process (Jinja2 is
    imported then too: a tick with nothing to send never pays for it)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def _compiled(source: str) -> Template:
    return _environment().from_string(source)


@cache
def _wording() -> dict[str, Any]:
    """``wording.yaml``, checked: every language has every template's subject, intro and closing."""
    document = yamldoc.safe_load(WORDING_FILE.read_text(encoding="utf-8"))
    problems: list[str] = []
    if set(document.get("accents", {})) != TEMPLATES:
        problems.append("accents must name every template")
    for language in LANGUAGES:
        words = document.get("languages", {}).get(language)
        if not isinstance(words, dict):
            problems.append(f"language {language!r} is missing")
            continue
        for name in TEMPLATE_ORDER:
            texts = words.get("templates", {}).get(name, {})
            problems += [
                f"{language}.{name}.{key} is missing"
                for key in ("subject", "intro", "closing")
                if key not in texts
            ]
    if problems:
        raise ValueError(f"{WORDING_FILE}: " + "; ".join(problems))
    result: dict[str, Any] = document
    return result


def _format(language: str) -> dict[str, Any]:
    style: dict[str, Any] = _wording()["languages"][language if language in LANGUAGES else LANGUAGES[0]][
        "format"
    ]
    return style
