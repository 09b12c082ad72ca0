"""Credit holds and agency placements in the workspace (arcollect/credit_control.py): put a customer on
credit hold or lift it, place invoices with a collection agency (and write its hand-off file), recall
them, and record what the agency collected. Each is one transaction with its timeline entry and its
changes for the ERP; asking again for what is done already does nothing more."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from arcollect import changes
from arcollect import credit_control as rules
from arcollect.changes import ChangeKind
from arcollect.credit_control import Placement
from arcollect.entities import Activity, Allocation, Customer, Invoice, InvoiceStatus, Payment
from arcollect.money import finer_than_unit, grouped, plain, unit_refusal, written
from arcollect.observability import logger
from arcollect.staff import StaffUser
from arcollect.workspace.desk import Desk, checked_text, manager_only, parsed_amount
from arcollect.workspace.model import WorkspaceConflict, WorkspaceInputError, WorkspaceNotFound

REFERENCE_MAX = 100


@runtime_checkable
class OutgoingFiles(Protocol):
    """Writes a file under ``outgoing/`` of the drop bucket, where the ERP reads the change feed
    (``store/changes.py`` ``ChangeObjects``)."""

    def put_outgoing(self, key: str, body: bytes, content_type: str) -> None: ...


@dataclass(frozen=True)
class PlacementReceipt:
    placement: Placement
    # The hand-off files written (empty: there is no drop bucket to write to, or writing failed and
    # ``export_error`` says why: the placement stands, and "export again" writes them).
    files: tuple[str, ...] = ()
    export_error: str | None = None


@dataclass(frozen=True)
class CollectionReceipt:
    payment: Payment
    invoice: Invoice
    placement_closed: bool


# --- credit hold ---------------------------------------------------------------------------------


def set_credit_hold(
    desk: Desk,
    customer_id: str,
    *,
    hold: bool,
    reason: str,
    by: StaffUser,
    now: datetime,
    feed_change: bool = True,
) -> Customer:
    """Put the customer on credit hold (a reason required) or lift it. Asking for the state the
    customer is in already changes nothing. ``feed_change=False`` when the decision's change is fed
    already (a call's ``credit_hold`` outcome writes its own)."""
    customer = desk.customer(customer_id)
    if customer.credit_hold == hold:
        return customer
    why = checked_text(reason, "reason", required=hold, limit=300)
    today = desk.today(now, customer)
    after = replace(
        customer,
        credit_hold=hold,
        credit_hold_since=today if hold else None,
        credit_hold_reason=why if hold else None,
    )
    if hold:
        summary = f"{by.name} put the customer on credit hold (no further deliveries on credit): {why}"
    else:
        summary = f"{by.name} lifted the credit hold" + (f": {why}" if why else "")
    activity = Activity(
        customer_id=customer_id,
        at=now,
        activity_id=f"credit-hold-{'on' if hold else 'off'}-{now.isoformat()}",
        kind=rules.CREDIT_HOLD_SET if hold else rules.CREDIT_HOLD_LIFTED,
        summary=summary,
        detail={"by": by.username, "reason": why},
        changes=(changes.credit_hold(customer_id=customer_id, on=hold, reason=why, by=by.username, at=now),)
        if feed_change
        else (),
    )
    if not desk.store.credit_control.set_credit_hold(customer, after, activity):
        again = desk.customer(customer_id)
        if again.credit_hold == hold:  # decided meanwhile (a retry, a colleague): the same state
            return again
        raise WorkspaceConflict("the customer's credit hold changed meanwhile: reload and try again")
    changes.publish(desk.change_feed, activity.changes)
    return after


# --- agency placements ---------------------------------------------------------------------------


def place_with_agency(
    desk: Desk,
    customer_id: str,
    *,
    agency: str,
    invoice_numbers: Sequence[str],
    note: str,
    by: StaffUser,
    now: datetime,
) -> PlacementReceipt:
    """Place ``invoice_numbers`` (none: every open invoice an agency can take) with ``agency``: they
    leave dunning, the ERP gets an ``agency_referral`` per invoice and the hand-off file is written
    under ``outgoing/agency/<placement id>/``. A manager's decision. Placing the same invoices with the
    same agency again finds the placement made (and writes its hand-off again)."""
    manager_only(by)
    name = checked_text(agency, "agency", required=True, limit=rules.AGENCY_MAX)
    text = checked_text(note, "note")
    customer = desk.customer(customer_id)
    items = desk.store.account(customer_id)
    by_number = {i.invoice_number: i for i in items.invoices}
    wanted = [n.strip() for n in invoice_numbers if n.strip()]
    if wanted:
        missing = [n for n in wanted if n not in by_number]
        if missing:
            raise WorkspaceInputError(
                "invoice_numbers", f"not on this customer's account: {', '.join(missing)}"
            )
        chosen = [by_number[n] for n in dict.fromkeys(wanted)]
    else:
        chosen = rules.placeable(items.invoices)
        if not chosen:
            raise WorkspaceInputError(
                "invoice_numbers", "the customer has no open invoice an agency can take"
            )
    if len(chosen) > rules.MAX_PLACEMENT_INVOICES:
        raise WorkspaceInputError(
            "invoice_numbers",
            f"{len(chosen)} invoices: at most {rules.MAX_PLACEMENT_INVOICES} per placement "
            "(place the rest in another)",
        )
    pid = rules.placement_id(customer_id, name, [i.invoice_number for i in chosen])
    if all(i.agency_placement == pid for i in chosen):
        return _export(desk, customer, pid, items.activities, by, now, text)
    for invoice in chosen:
        why_not = rules.why_not_placeable(invoice)
        if why_not:
            raise WorkspaceInputError("invoice_numbers", f"invoice {invoice.invoice_number} {why_not}")
    today = desk.today(now, customer)
    pairs = [(i, rules.placed(i, agency=name, placement=pid, on=today)) for i in chosen]
    numbers = ", ".join(i.invoice_number for i in chosen)
    activity = Activity(
        customer_id=customer_id,
        at=now,
        activity_id=f"agency-placed-{pid}",
        kind=rules.AGENCY_PLACED,
        summary=f"{by.name} placed {len(chosen)} invoice(s) with the agency {name} ({numbers}): "
        f"{_totals(chosen)}; no more reminders for them" + (f". {text}" if text else ""),
        detail={"by": by.username, "agency": name, "placement_id": pid, "invoices": numbers, "note": text},
        changes=tuple(
            changes.agency_placement(
                ChangeKind.AGENCY_REFERRAL,
                customer_id=customer_id,
                placement_id=pid,
                agency=name,
                invoice_number=i.invoice_number,
                amount=i.open_amount,
                currency=i.currency,
                note=text,
                by=by.username,
                at=now,
            )
            for i in chosen
        ),
    )
    if not desk.store.credit_control.move_placement(pairs, activity):
        again = desk.store.account(customer_id)
        current = {i.invoice_number: i for i in again.invoices}
        if all(current[i.invoice_number].agency_placement == pid for i in chosen):
            return _export(desk, customer, pid, again.activities, by, now, text)
        raise WorkspaceConflict(
            "an invoice changed meanwhile (paid, disputed or placed): reload and try again"
        )
    changes.publish(desk.change_feed, activity.changes)
    return _export(desk, customer, pid, [*items.activities, activity], by, now, text)


def export_handoff(
    desk: Desk, customer_id: str, placement: str, *, by: StaffUser, now: datetime
) -> PlacementReceipt:
    """Write a placement's hand-off file again (after a failed write, or for the agency's update)."""
    customer = desk.customer(customer_id)
    items = desk.store.account(customer_id)
    return _export(desk, customer, placement, items.activities, by, now, "")


def _export(
    desk: Desk,
    customer: Customer,
    placement: str,
    history: Sequence[Activity],
    by: StaffUser,
    now: datetime,
    note: str,
) -> PlacementReceipt:
    invoices = desk.store.customer_invoices(customer.customer_id)
    found = next((p for p in rules.placements(invoices) if p.placement_id == placement), None)
    if found is None:
        raise WorkspaceNotFound(f"no placement {placement} on customer {customer.customer_id}")
    feed = desk.change_feed
    if not isinstance(feed, OutgoingFiles):
        return PlacementReceipt(found)
    placed_entry = next(
        (a for a in history if a.activity_id == f"agency-placed-{placement}"),
        None,
    )
    files = rules.handoff_files(
        placement=placement,
        agency=found.agency,
        customer=customer,
        invoices=found.invoices,
        history=history,
        placed_at=placed_entry.at if placed_entry else now,
        placed_by=placed_entry.detail.get("by", by.username) if placed_entry else by.username,
        note=(placed_entry.detail.get("note", "") if placed_entry else note) or note,
        today=desk.today(now, customer),
    )
    written: list[str] = []
    try:
        # The manifest last: an agency that reads it may rely on the files it lists being there.
        for name in sorted(files, key=lambda n: n == "manifest.json"):
            body, content_type = files[name]
            key = rules.handoff_key(placement, name)
            feed.put_outgoing(key, body, content_type)
            written.append(key)
    except Exception as error:  # the placement is committed: say the file is missing, never undo it
        logger.exception("agency hand-off not written", extra={"placement_id": placement})
        return PlacementReceipt(
            found, tuple(written), f"the hand-off file was not written ({error}): export it again"
        )
    return PlacementReceipt(found, tuple(written))


def recall_from_agency(
    desk: Desk, customer_id: str, placement: str, *, note: str, by: StaffUser, now: datetime
) -> Placement:
    """Take a placement's open invoices back from the agency: dunning looks at them again at once, the
    ERP gets an ``agency_recalled`` per invoice. A manager's decision; recalling again does nothing."""
    manager_only(by)
    text = checked_text(note, "note", required=True)
    items = desk.store.account(customer_id)
    found = next((p for p in rules.placements(items.invoices) if p.placement_id == placement), None)
    activity_id = f"agency-recalled-{placement}"
    if found is None:
        if any(a.activity_id == activity_id for a in items.activities):
            return Placement(placement, "", None, ())  # recalled already (a retry)
        raise WorkspaceNotFound(f"no placement {placement} on customer {customer_id}")
    taken = found.open_invoices
    if not taken:
        raise WorkspaceInputError("placement", "everything placed was collected: nothing to recall")
    pairs = [(i, rules.recalled(i, now)) for i in taken]
    numbers = ", ".join(i.invoice_number for i in taken)
    activity = Activity(
        customer_id=customer_id,
        at=now,
        activity_id=activity_id,
        kind=rules.AGENCY_RECALLED,
        summary=f"{by.name} recalled {numbers} from the agency {found.agency}: back in dunning. {text}",
        detail={"by": by.username, "agency": found.agency, "placement_id": placement, "invoices": numbers},
        changes=tuple(
            changes.agency_placement(
                ChangeKind.AGENCY_RECALLED,
                customer_id=customer_id,
                placement_id=placement,
                agency=found.agency,
                invoice_number=i.invoice_number,
                amount=i.open_amount,
                currency=i.currency,
                note=text,
                by=by.username,
                at=now,
            )
            for i in taken
        ),
    )
    if not desk.store.credit_control.move_placement(pairs, activity):
        raise WorkspaceConflict("an invoice of the placement changed meanwhile: reload and try again")
    changes.publish(desk.change_feed, activity.changes)
    return found


def agency_collected(
    desk: Desk,
    customer_id: str,
    placement: str,
    *,
    invoice_number: str,
    amount: str,
    reference: str,
    by: StaffUser,
    now: datetime,
) -> CollectionReceipt:
    """Record what the agency collected on a placed invoice as a payment (id: the placement and the
    agency's ``reference``, so the same remittance line recorded twice is recorded once), applied to
    the invoice; collected in full, the invoice is settled and, with the placement's others, closes
    it. The ERP gets an ``agency_collected`` change to book the receipt."""
    ref = checked_text(reference, "reference", required=True, limit=REFERENCE_MAX)
    invoice = desk.store.invoice(customer_id, (invoice_number or "").strip())
    if invoice is None or invoice.agency_placement != placement:
        raise WorkspaceInputError(
            "invoice_number", f"invoice {invoice_number!r} is not in placement {placement}"
        )
    payment_id = f"{placement}:{ref}"
    recorded = desk.store.credit_control.payment_recorded(customer_id, payment_id)
    if recorded is not None:
        current = desk.store.invoice(customer_id, invoice.invoice_number) or invoice
        return CollectionReceipt(recorded, current, _closed(desk, customer_id, placement))
    value = parsed_amount(amount, "amount")
    if not value.is_finite() or value <= 0:
        raise WorkspaceInputError("amount", "the amount collected must be more than 0")
    if finer_than_unit(value, invoice.currency):
        raise WorkspaceInputError("amount", unit_refusal(value, invoice.currency))
    if not invoice.is_open:
        raise WorkspaceInputError("invoice_number", f"invoice {invoice.invoice_number} is settled already")
    if value > invoice.open_amount:
        raise WorkspaceInputError(
            "amount",
            f"{grouped(value, invoice.currency)} is more than is open on {invoice.invoice_number} "
            f"({grouped(invoice.open_amount, invoice.currency)})",
        )
    customer = desk.customer(customer_id)
    today = desk.today(now, customer)
    left = invoice.open_amount - value
    payment = Payment(
        customer_id=customer_id,
        payment_id=payment_id,
        payment_date=today,
        amount=value,
        currency=invoice.currency,
        invoice_number=invoice.invoice_number,
        reference=ref,
        applied_amount=value,
        applied_to=invoice.invoice_number,
        allocations=(Allocation(invoice.invoice_number, value),),
    )
    after = replace(
        invoice,
        open_amount=left,
        status=InvoiceStatus.OPEN.value if left > 0 else InvoiceStatus.CLOSED.value,
        paid_date=today if left == 0 else invoice.paid_date,
        next_action_at=None,
    )
    others_open = [
        i
        for i in desk.store.customer_invoices(customer_id)
        if i.agency_placement == placement and i.is_open and i.invoice_number != invoice.invoice_number
    ]
    closes = left == 0 and not others_open
    activity = Activity(
        customer_id=customer_id,
        at=now,
        activity_id=f"agency-collected-{payment_id}",
        kind=rules.AGENCY_COLLECTED,
        summary=f"{by.name}: the agency {invoice.agency} collected {written(value, invoice.currency)} on "
        f"{invoice.invoice_number} (reference {ref})"
        + ("; the placement is closed: everything placed is collected" if closes else "")
        + (f"; {grouped(left, invoice.currency)} left with the agency" if left > 0 else ""),
        detail={
            "by": by.username,
            "placement_id": placement,
            "payment_id": payment_id,
            "amount": plain(value, invoice.currency),
        },
        changes=(
            changes.agency_collected(
                customer_id=customer_id,
                payment_id=payment_id,
                agency=invoice.agency or "",
                invoice_number=invoice.invoice_number,
                amount=value,
                currency=invoice.currency,
                note=ref,
                by=by.username,
                at=now,
            ),
        ),
    )
    if not desk.store.credit_control.record_collection(payment, invoice, after, activity):
        recorded = desk.store.credit_control.payment_recorded(customer_id, payment_id)
        if recorded is not None:
            current = desk.store.invoice(customer_id, invoice.invoice_number) or after
            return CollectionReceipt(recorded, current, _closed(desk, customer_id, placement))
        raise WorkspaceConflict(f"invoice {invoice.invoice_number} changed meanwhile: reload and try again")
    changes.publish(desk.change_feed, activity.changes)
    return CollectionReceipt(payment, after, closes)


def _closed(desk: Desk, customer_id: str, placement: str) -> bool:
    found = next(
        (
            p
            for p in rules.placements(desk.store.customer_invoices(customer_id))
            if p.placement_id == placement
        ),
        None,
    )
    return found is not None and found.closed


def _totals(invoices: Sequence[Invoice]) -> str:
    totals: dict[str, Decimal] = {}
    for invoice in invoices:
        totals[invoice.currency] = totals.get(invoice.currency, Decimal(0)) + invoice.open_amount
    return ", ".join(written(amount, currency) for currency, amount in sorted(totals.items()))
