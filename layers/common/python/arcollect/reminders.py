"""What must still be true when a dunning touch is written: which invoices are remindable, and whether
the customer may be reached (and the copy of the profile the plan was made from is still current).

The engine plans from what it read; by the time a touch is written (an email reserved, a task
created) an invoice may have been paid, disputed or promised, and the customer put on hold. The rules
here say what the touch requires; the store checks them in the touch's own transaction
(``store/touches.py`` turns each requirement into a DynamoDB condition), so a stale plan is refused by
the table instead of carried out. ``holds`` says the same of entities in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from arcollect.entities import Customer, Invoice, InvoiceStatus


@dataclass(frozen=True)
class InvoiceRequirement:
    """An invoice's state a touch requires: its status, something owed (open amount above zero) or
    not required, its disputed flag, a step it has not taken, and the promise it is under (None: none)."""

    status: str
    owes: bool
    disputed: bool
    step_not_taken: str
    promise_id: str | None

    def holds(self, invoice: Invoice) -> bool:
        return (
            invoice.status == self.status
            and (invoice.open_amount > 0 or not self.owes)
            and invoice.disputed == self.disputed
            and self.step_not_taken not in invoice.steps_done
            and invoice.promise_id == self.promise_id
            and not invoice.agency
        )


def remindable(step: str, promise_id: str | None) -> InvoiceRequirement:
    """A touch of ``step`` goes out on an invoice still open, with something owed, undisputed, without
    that step, and with the promise situation the engine read (``promise_id``: the promise a
    missed-promise reminder is about; None: no promise)."""
    return InvoiceRequirement(
        status=InvoiceStatus.OPEN, owes=True, disputed=False, step_not_taken=step, promise_id=promise_id
    )


class Reach(StrEnum):
    """What a write requires of the customer: ``contact`` (an email or a call: no hold, not
    do-not-contact), ``dunning`` (an internal dunning task: no hold), ``any`` (a review of our own)."""

    CONTACT = "contact"
    DUNNING = "dunning"
    ANY = "any"
    # A person's one-off email (a collector's statement, portal link, payment confirmation): not
    # do-not-contact; a dunning hold or pause stops the automated reminders, not what a person decides.
    PERSONAL = "personal"


@dataclass(frozen=True)
class ProfileRequirement:
    """A customer's profile a touch requires: it exists; with ``no_hold``, neither the ERP's dunning
    hold nor a collector's hold; with ``contactable``, not do-not-contact; with ``copy``, it is still the
    profile the plan copied (the same fingerprint) and no email went out since (the same last email)."""

    no_hold: bool
    contactable: bool
    copy: Customer | None

    def holds(self, customer: Customer | None) -> bool:
        if customer is None:
            return False
        if self.no_hold and (customer.dunning_hold or customer.collector_hold):
            return False
        if self.contactable and customer.do_not_contact:
            return False
        if self.copy is None:
            return True
        return (
            customer.fingerprint == self.copy.fingerprint
            and customer.last_emailed_at == self.copy.last_emailed_at
        )


def reachable(reach: Reach, expected: Customer | None = None) -> ProfileRequirement:
    """The customer may be dunned as ``reach`` says; and when the plan was made from a copy of the
    profile (``expected``), the profile is still the one it copied and no email went out since."""
    return ProfileRequirement(
        no_hold=reach not in (Reach.ANY, Reach.PERSONAL),
        contactable=reach in (Reach.CONTACT, Reach.PERSONAL),
        copy=expected,
    )
