"""Posting a plan's letter with an exactly-once effect per (invoice, step) (docs/letters.md).

A letter's touches are reserved in the ledger like an email's (the same items and conditions, the
letter id as the touch id): reserve -> render the PDF -> write it and its manifest to
``outgoing/letters/`` (the hand-over to the print-and-mail service) -> complete (the letter id on the
touches, the invoices' state, the timeline; one transaction).

Unlike an email, a letter's hand-over can be checked afterwards: its manifest is there or it is not.
So the window an email leaves in doubt closes here. A reservation found without its completion, past
its lease (the run that made it is gone):
- its manifest exists: the letter was handed over; the completion is written now (never a second);
- no manifest: nothing was handed over; the reservation is freed and the next run posts the letter.
Within the lease another run may be posting it right now: its invoices stay due, nothing is done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from arcollect import changes
from arcollect.changes import Change, ChangeFeed
from arcollect.credits import CreditLine
from arcollect.dunning.emails import Contact, ReminderEmail
from arcollect.dunning.engine import CustomerPlan, EmailPlan
from arcollect.entities import Activity, Customer, Invoice
from arcollect.interest import Charges
from arcollect.observability import logger
from arcollect.store.dunning import EmailTouchRecord, InvoiceState, Refusal, Reservation, StaleCustomer

# Letters handed over, as the run report counts them (``RunReport.outcomes``).
POSTED = "letter_posted"


class Reservations(Protocol):
    """How any message reserves its touches in the touch ledger (``store/touch_ledger.py``), frees them,
    and finds who holds one: shared by the email (``delivery.Ledger``) and the letter."""

    def reserve_email(
        self,
        customer_id: str,
        touch_id: str,
        step: str,
        touches: Sequence[tuple[str, str]],
        recipients: Sequence[str],
        promises: dict[str, str],
        at: datetime,
        expected: Customer | None = None,
        clock_at: datetime | None = None,
    ) -> Reservation: ...

    def release_email(self, customer_id: str, touch_id: str, touches: Sequence[tuple[str, str]]) -> None: ...

    def ledger_touch(self, customer_id: str, invoice_number: str, step: str) -> str | None: ...

    def email_touch(self, customer_id: str, touch_id: str) -> EmailTouchRecord | None: ...


class LetterLedger(Reservations, Protocol):
    """The touch ledger's methods a letter uses: the reservations, and completing one as a letter."""

    def complete_letter(
        self,
        customer_id: str,
        touch_id: str,
        letter_id: str,
        states: Sequence[InvoiceState],
        activity: Activity,
        at: datetime,
    ) -> None: ...


class LetterBox(Protocol):
    """Where letters are handed over (``store/letters.py``)."""

    def post(self, day: date, letter_id: str, pdf: bytes, manifest: dict[str, Any]) -> str: ...

    def posted(self, day: date, letter_id: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class LetterJob:
    """One plan's letter and what posting it needs from the delivery (``delivery.carry_out``)."""

    plan: CustomerPlan
    letter: EmailPlan
    customer: Customer
    by_number: dict[str, Invoice]
    ledger: LetterLedger
    box: LetterBox
    portal_url: str
    sender: str
    sender_name: str
    owner: Contact | None
    # The wall clock the reservation's lease runs on, and the lease.
    clock: Callable[[], datetime]
    lease: timedelta
    # The invoices' state once touched, for (invoice, step) touches (``delivery._states``).
    states_for: Callable[[Sequence[tuple[str, str]]], list[InvoiceState]]
    # The promise each touch is about (a missed promise), checked by the reservation.
    promises: dict[str, str]
    # The statutory charges the letter lists for these invoices, and whether they are asked.
    charges_for: Callable[[tuple[Invoice, ...]], tuple[tuple[tuple[str, Charges], ...], bool]]
    # The delivery's handling of touches another message holds (repair, in doubt, in flight): the
    # invoices that message stands for, and those still in flight.
    other_refusals: Callable[[Sequence[Refusal]], tuple[set[str], set[str]]]
    expected: Customer | None = None
    change_feed: ChangeFeed | None = None
    credits: tuple[CreditLine, ...] = ()
    test_detail: dict[str, str] | None = None
    # Whether the charges the letter lists go to the change feed: only a final notice's, as with the
    # emailed one (docs/decisions.md); other letters show them to the customer without booking them.
    books_charges: bool = True


def post_letter(job: LetterJob, outcomes: Any) -> tuple[set[str], set[str]]:
    """Reserve, render, hand over and record one letter. Returns the invoices it recorded (or another
    message had), and those whose message is in flight. ``outcomes`` is the run report's counter."""
    plan, letter, ledger = job.plan, job.letter, job.ledger
    wanted = [(t.invoice_number, t.step_id) for t in letter.touches]
    reservation = ledger.reserve_email(
        plan.customer_id,
        letter.touch_id,
        letter.step_id,
        wanted,
        letter.recipients,
        job.promises,
        plan.now,
        expected=job.expected,
        clock_at=job.clock(),
    )
    if job.expected is not None and any(r.reason == "customer" for r in reservation.refused):
        raise StaleCustomer(plan.customer_id)
    own = [
        r
        for r in reservation.refused
        if r.reason == "touched"
        and ledger.ledger_touch(plan.customer_id, r.invoice_number, r.step) == letter.touch_id
    ]
    recorded, in_flight = job.other_refusals([r for r in reservation.refused if r not in own])
    if own:
        done, flying = _resume(job, outcomes)
        recorded |= done
        in_flight |= flying
    if not reservation.reserved:
        return recorded, in_flight
    return recorded | _post(job, reservation.reserved, outcomes), in_flight


def _post(job: LetterJob, reserved: Sequence[tuple[str, str]], outcomes: Any) -> set[str]:
    plan, letter, ledger = job.plan, job.letter, job.ledger
    invoices = tuple(job.by_number[n] for n in dict.fromkeys(n for n, _ in reserved))
    if letter.only_for_information(i.invoice_number for i in invoices):
        # What the statement counted was paid or changed a moment ago: what is left is not overdue, and a
        # statement of overdue invoices would list none. Freed: the next run plans it as it is due then.
        ledger.release_email(plan.customer_id, letter.touch_id, reserved)
        outcomes["statement_left_nothing_overdue"] += 1
        return set()
    try:
        charges, added = job.charges_for(invoices)
        rendered, manifest = _render(job, invoices, charges, added)
        key = job.box.post(plan.now.date(), letter.touch_id, rendered.pdf, manifest)
    except Exception:
        # Nothing was handed over (the manifest is written last): free the touches, fail the run.
        ledger.release_email(plan.customer_id, letter.touch_id, reserved)
        raise
    numbers = [n for n, _ in reserved]
    charged = _charge_changes(job, charges, added) if job.books_charges else ()
    ledger.complete_letter(
        plan.customer_id,
        letter.touch_id,
        letter.touch_id,
        job.states_for(reserved),
        _activity(job, numbers, key, rendered.pages, rendered.sha256, charged),
        plan.now,
    )
    changes.publish(job.change_feed, charged)
    outcomes[POSTED] += 1
    logger.info(
        "dunning letter handed over",
        extra={"customer_id": plan.customer_id, "letter_id": letter.touch_id, "key": key},
    )
    return set(numbers)


def _render(
    job: LetterJob,
    invoices: tuple[Invoice, ...],
    charges: tuple[tuple[str, Charges], ...],
    added: bool,
) -> tuple[Any, dict[str, Any]]:
    from arcollect.dunning.letters import render_letter  # the PDF library loads with the first letter
    from arcollect.store.letters import letter_key

    plan, letter, customer = job.plan, job.letter, job.customer
    rendered = render_letter(
        ReminderEmail(
            customer=customer,
            invoices=invoices,
            template=letter.template,
            step=letter.step_id,
            recipients=letter.recipients,
            sender=job.sender,
            portal_url=job.portal_url,
            now=plan.now,
            touch_id=letter.touch_id,
            owner=job.owner,
            promised_date=letter.promised_date,
            sender_name=job.sender_name,
            credits=letter.credits,
            today=plan.today,
            late_charges=charges,
            charges_added=added,
            for_information=letter.for_information,
        ),
        letter_id=letter.touch_id,
        address=letter.recipients,
    )
    manifest = {
        "letter_id": letter.touch_id,
        "customer_id": plan.customer_id,
        # The envelope's window shows these lines, the addressee first, as the service prints them.
        "address": list(letter.recipients),
        "country": customer.country,
        "pages": rendered.pages,
        "file": letter_key(plan.now.date(), letter.touch_id),
        "sha256": rendered.sha256,
        "language": rendered.language,
        "template": letter.template,
        "step": letter.step_id,
        "invoices": list(dict.fromkeys(i.invoice_number for i in invoices)),
        "created_at": plan.now.isoformat(),
        "paper": "A4",
        "envelope": "DIN 5008 form B window (C5/6, DL)",
    }
    return rendered, manifest


def _charge_changes(
    job: LetterJob, charges: tuple[tuple[str, Charges], ...], added: bool
) -> tuple[Change, ...]:
    """The charges a final notice by letter lists, for the ERP (as with the emailed final notice)."""
    return tuple(
        change
        for number, found in charges
        for change in changes.late_charges(
            customer_id=job.plan.customer_id,
            touch_id=job.letter.touch_id,
            invoice_number=number,
            charges=found,
            added=added,
            at=job.plan.now,
        )
    )


def _activity(
    job: LetterJob,
    numbers: Sequence[str],
    key: str,
    pages: int,
    sha256: str,
    charged: tuple[Change, ...] = (),
) -> Activity:
    plan, letter = job.plan, job.letter
    invoices = list(dict.fromkeys(numbers))
    return Activity(
        customer_id=plan.customer_id,
        at=plan.now,
        activity_id=letter.touch_id,
        kind="letter_sent",
        summary=(
            f"Letter ({letter.template}, step {letter.step_id}) for {len(invoices)} invoice(s) to "
            f"{', '.join(letter.recipients)}: {pages} page(s) handed to the print-and-mail service"
        ),
        detail={
            "letter_id": letter.touch_id,
            "file": key,
            "pages": str(pages),
            "sha256": sha256,
            "step": letter.step_id,
            "template": letter.template,
            "invoices": ",".join(invoices),
            "policy": plan.policy,
            "segment": plan.segment,
            **(job.test_detail or {}),
        },
        changes=charged,
    )


def _resume(job: LetterJob, outcomes: Any) -> tuple[set[str], set[str]]:
    """The letter reserved before by a run that did not record it (see the module docstring)."""
    plan, letter, ledger = job.plan, job.letter, job.ledger
    record = ledger.email_touch(plan.customer_id, letter.touch_id)
    if record is None:
        return set(), set()
    numbers = {n for n, _ in record.touches}
    if record.message_id:
        # Recorded already (a repeated run): the completion moved the invoices with it.
        return numbers, set()
    if job.clock() - (record.reserved_by_clock or record.reserved_at) < job.lease:
        outcomes["letter_in_flight"] += 1
        return set(), numbers
    day = record.reserved_at.date()
    manifest = job.box.posted(day, letter.touch_id)
    if manifest is None:
        # Never handed over: free it; the next run posts the letter as it is due then.
        ledger.release_email(plan.customer_id, letter.touch_id, record.touches)
        outcomes["letter_released"] += 1
        logger.warning(
            "a dunning letter reserved but never handed over was freed to be posted again",
            extra={"customer_id": plan.customer_id, "letter_id": letter.touch_id},
        )
        return set(), set()
    # Handed over, its completion lost (a crash after the manifest): record it now, once.
    ledger.complete_letter(
        plan.customer_id,
        letter.touch_id,
        letter.touch_id,
        job.states_for(record.touches),
        _activity(
            job,
            [n for n, _ in record.touches],
            str(manifest.get("file", "")),
            int(manifest.get("pages", 0)),
            str(manifest.get("sha256", "")),
        ),
        plan.now,
    )
    outcomes["letter_completed_late"] += 1
    return numbers, set()
