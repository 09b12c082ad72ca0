"""Cash application: which open invoices a payment settles, and what to suggest for cash none took.

Ingest applies each payment it records (``ingest/loading.py``) and a collector applies what is left in the
staff console (``Workspace.apply_cash``); both go through the rules here, so a payment is applied the
same way wherever it is.

**What a payment names.** In the order tried:

1. A remittance advice (``Payment.remittance``: the lines of one payment in a payments file): each line's
   amount goes to the invoice its line names, up to what that invoice has open; money a line names no
   open invoice for stays unapplied. Nothing spills from one line to another invoice: the customer said
   what each line pays.
2. ``invoice_number``: one invoice number, or several in one cell. The cell is one number when the
   customer has a document of that number (``SO-2026/0042 A``, ``INV#1042,B``); otherwise it names the
   customer's document numbers it holds as whole tokens, between ``;``, ``,``, line breaks or spaces,
   the longest first (``INV/2026/00187; INV/2026/00188``, ``SO-2026/0042 A, SO-2026/0043 A``). Text that
   names no document is one unknown number, never split further: a number is never guessed.
3. ``reference``, only when ``invoice_number`` names no open invoice: the customer's document numbers
   that occur in the free text as whole tokens ("Remittance for INV/2026/00187 and INV/2026/00188.").

Several invoices named either way are paid **oldest due first** (then invoice date, then number), each up
to its open amount, whatever order the text lists them in: a list in a cell or a sentence does not say
which invoice the customer wants paid first, and the oldest debt is what dunning chases hardest. Only
open invoices (not credit notes or write-offs) of the payment's currency take money; each one that does
not is named in the note, and what nothing took stays unapplied.

**Cash none took** (all of it, or the rest after its invoices) becomes one ``apply_cash`` task per
payment, with suggestions from the customer's open invoices of its currency: an invoice whose open
amount is exactly the money, then two or three of the 30 oldest that add up to it exactly, then invoices
whose number resembles the reference, then the oldest the money would cover in turn.

**One transaction.** A payment and everything it does to its invoices (and its task) is one DynamoDB
transaction; ``TransactWriteItems`` takes at most 100 actions, so one payment is applied to at most
``MAX_INVOICES_AT_INGEST`` invoices when it is received and one apply-cash decision to at most
``MAX_INVOICES_PER_DECISION``; what a longer list names beyond that stays unapplied, for the next
decision.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from difflib import SequenceMatcher
from itertools import combinations
from typing import Final

from arcollect.entities import (
    Allocation,
    DocumentType,
    Invoice,
    InvoiceStatus,
    Payment,
    Task,
    TaskKind,
    is_plan_id,
)
from arcollect.inputs import InputError
from arcollect.inputs import parse_amount as read_amount
from arcollect.money import grouped, written

# TransactWriteItems' limit (100 actions, AWS since September 2022). At ingest: the payment, its
# apply-cash task and the invoices. A collector's decision: the payment, the task, the timeline entry,
# and per invoice its update and its change for the ERP.
TRANSACTION_LIMIT: Final = 100
MAX_INVOICES_AT_INGEST: Final = TRANSACTION_LIMIT - 2
MAX_INVOICES_PER_DECISION: Final = (TRANSACTION_LIMIT - 3) // 2
# A remittance advice is stored with its payment (an item holds at most 400 KB).
MAX_REMITTANCE_LINES: Final = 1000
# Suggestions: combinations of up to three invoices among the 30 oldest; numbers like the reference
# among the 200 oldest; at most five suggestions.
COMBINATION_POOL: Final = 30
MAX_COMBINED: Final = 3
SIMILARITY_POOL: Final = 200
MAX_SUGGESTIONS: Final = 5
_ZERO: Final = Decimal(0)

# Where a token may begin or end. In an invoice_number cell: between ; , line breaks and spaces. In a
# free-text reference also around brackets, quotes and colons, and before a full stop that ends a
# sentence; a comma between digits (1,042.50) separates nothing.
_CELL_SEPARATORS: Final = re.compile(r"[\s;,]+")
_TEXT_SEPARATORS: Final = re.compile(r"(?:[\s;:()\[\]{}<>\"'|!?]|(?<!\d),|,(?!\d)|\.(?=\s|$))+")
_ALPHANUMERIC: Final = re.compile(r"[^0-9a-z]+")


class CashApplicationError(ValueError):
    """An apply-cash decision that cannot be made; ``field`` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- finding invoice numbers in text ------------------------------------------------------------------


def numbers_in(text: str, known: Collection[str], *, free_text: bool = True) -> list[str]:
    """The numbers of ``known`` that occur in ``text`` as whole tokens, in the order they occur.

    A number may span separators (``SO-2026/0042 A`` holds a space); overlapping occurrences keep the
    longest. The work is bounded by the text, not by how many numbers are known: every run of tokens no
    longer than the longest known number is looked up once."""
    if not text or not known:
        return []
    longest = max(map(len, known))
    separators = _TEXT_SEPARATORS if free_text else _CELL_SEPARATORS
    starts, ends, position = [], [], 0
    for gap in separators.finditer(text):
        if gap.start() > position:
            starts.append(position)
            ends.append(gap.start())
        position = gap.end()
    if position < len(text):
        starts.append(position)
        ends.append(len(text))
    found: list[tuple[int, int]] = []
    for i, start in enumerate(starts):
        for end in ends[i:]:
            if end - start > longest:
                break
            if text[start:end] in known:
                found.append((start, end))
    chosen: list[tuple[int, int]] = []
    for start, end in sorted(found, key=lambda span: (span[0] - span[1], span[0])):
        if all(end <= s or start >= e for s, e in chosen):
            chosen.append((start, end))
    return list(dict.fromkeys(text[s:e] for s, e in sorted(chosen)))


def numbers_in_cell(cell: str | None, known: Collection[str]) -> list[str]:
    """The invoice numbers an ``invoice_number`` cell names: the whole cell when the customer has a
    document of that number, else the known numbers it lists (see the module's rule), else the whole
    cell as one (unknown) number."""
    text = (cell or "").strip()
    if not text:
        return []
    if text in known:
        return [text]
    return numbers_in(text, known, free_text=False) or [text]


# --- applying a payment -----------------------------------------------------------------------------


def first_look_at(invoice: Invoice) -> datetime:
    """When the dunning sweep first looks at an open invoice: from its invoice date on, so the next
    sweep places it at its first policy step (which only the engine knows: it depends on the customer)."""
    return datetime.combine(invoice.invoice_date, time(0), tzinfo=UTC)


def closed_next_action(invoice: Invoice) -> datetime | None:
    """A closed invoice leaves the sweep's index, unless a promise to pay is open on it: the sweep
    settles the promise (kept) when it comes due, then lets the invoice go."""
    return invoice.next_action_at if invoice.promise_id else None


def settled_invoice(invoice: Invoice, amount: Decimal, paid_on: date) -> Invoice:
    """``invoice`` after ``amount`` of a payment received on ``paid_on`` went to it."""
    open_amount = invoice.open_amount - amount
    after = replace(invoice, open_amount=open_amount)
    if is_plan_id(invoice.promise_id):
        # A payment towards a payment plan: the next tick settles the plan (an instalment paid moves it
        # on, the last one completes it) instead of its next reminder day (arcollect/plans.py).
        paid_at = datetime.combine(paid_on, time(0), tzinfo=UTC)
        current = invoice.next_action_at
        after = replace(after, next_action_at=paid_at if current is None else min(current, paid_at))
    if open_amount <= 0:
        after = replace(
            after,
            open_amount=_ZERO,
            status=InvoiceStatus.CLOSED.value,
            paid_date=paid_on,
            next_action_at=closed_next_action(after),
        )
    return after


def unfit(number: str, invoice: Invoice | None, currency: str) -> str | None:
    """Why ``invoice`` (named ``number``) cannot take money in ``currency``, or None when it can."""
    if invoice is None:
        return f"no invoice {number} on this customer's account"
    if invoice.document_type != DocumentType.INVOICE:
        return f"{number} is a {invoice.document_type}"
    if invoice.currency != currency:
        return f"invoice {number} is in {invoice.currency}"
    if not invoice.is_open:
        return f"invoice {number} is closed"
    return None


def oldest_first(invoices: Iterable[Invoice]) -> list[Invoice]:
    return sorted(invoices, key=lambda i: (i.due_date, i.invoice_date, i.invoice_number))


@dataclass(frozen=True)
class CashPlan:
    """What recording a payment does: the payment as recorded (its allocations, applied and unapplied
    amounts), each invoice as read and after, and why any money stays unapplied."""

    payment: Payment
    settles: tuple[tuple[Invoice, Invoice], ...]
    reasons: tuple[str, ...]

    @property
    def note(self) -> str:
        return "kept unapplied: " + "; ".join(self.reasons) if self.reasons else ""


def plan(
    payment: Payment, documents: Mapping[str, Invoice], *, limit: int = MAX_INVOICES_AT_INGEST
) -> CashPlan:
    """Apply ``payment`` to the customer's ``documents`` (by number, as far as they were read) by the
    rules of this module, to at most ``limit`` invoices."""
    working = dict(documents)
    applied: dict[str, Decimal] = {}
    reasons: list[str] = []
    if payment.remittance:
        wanted = []
        for line in payment.remittance:
            number = _line_target(line.invoice_number, working)
            why = (
                unfit(number, working.get(number), payment.currency)
                if number
                else "a remittance line names no invoice"
            )
            if why is None:
                wanted.append((number, line.amount))
            else:
                reasons.append(f"{why} ({line.amount} {payment.currency})")
    else:
        targets, why_not = _named(payment, working)
        reasons.extend(why_not)
        wanted = [(invoice.invoice_number, payment.amount) for invoice in oldest_first(targets)]
    remaining = payment.amount
    for number, amount in wanted:
        if number not in applied and len(applied) >= limit:
            reasons.append(
                f"more than {limit} invoices named (one transaction's limit): {number} and the invoices "
                "after it are left for a collector"
            )
            break
        invoice = working[number]
        part = min(amount, invoice.open_amount, remaining)
        if part <= 0:
            continue
        working[number] = settled_invoice(invoice, part, payment.payment_date)
        applied[number] = applied.get(number, _ZERO) + part
        remaining -= part
        if payment.remittance and part < amount:
            reasons.append(f"the line for {number} pays {amount}; {part} of it was open")
    total = payment.amount - remaining
    allocations = tuple(Allocation(number, amount) for number, amount in applied.items())
    recorded = replace(
        payment,
        applied_amount=total,
        unapplied_amount=remaining,
        applied_to=allocations[0].invoice_number if len(allocations) == 1 else None,
        allocations=allocations,
    )
    settles = tuple((documents[a.invoice_number], working[a.invoice_number]) for a in allocations)
    if remaining <= 0:
        return CashPlan(recorded, settles, ())
    if not reasons and not allocations:
        reasons.append("no invoice of this customer matches invoice_number or reference")
    elif not reasons:
        reasons.append(f"{remaining} {payment.currency} more than the invoices it names had open")
    return CashPlan(recorded, settles, tuple(dict.fromkeys(reasons)))


def _line_target(text: str, documents: Mapping[str, Invoice]) -> str:
    """The invoice a remittance line names: its text when that is a document's number, else the one
    document number the text holds (``Invoice INV-1``), else the text as it is."""
    if not text or text in documents:
        return text
    found = numbers_in(text, documents.keys())
    return found[0] if len(found) == 1 else text


def _named(payment: Payment, documents: Mapping[str, Invoice]) -> tuple[list[Invoice], list[str]]:
    """The open invoices ``invoice_number`` names, else those ``reference`` names; and why each other
    document named cannot take the money."""
    reasons: list[str] = []
    for numbers in (
        numbers_in_cell(payment.invoice_number, documents.keys()),
        numbers_in(payment.reference or "", documents.keys()),
    ):
        fit = []
        for number in numbers:
            why = unfit(number, documents.get(number), payment.currency)
            if why is None:
                fit.append(documents[number])
            elif number in documents:
                reasons.append(why)
        if fit:
            return fit, reasons
    return [], reasons


# --- a payment spread over lines ----------------------------------------------------------------------


class RemittanceProblem(ValueError):
    """The lines of one payment do not make one payment; ``field`` names the field, ``line`` the index
    of the line at fault within the payment's lines."""

    def __init__(self, field: str, line: int, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.line = line
        self.message = message


def from_lines(lines: Sequence[Payment]) -> Payment:
    """One payment from the consecutive lines of a payments file that share its payment id.

    Two layouts: each line carries ``applied_amount`` (the part for its invoice; ``amount`` is the
    payment's total, the same on every line, and what the lines do not apply stays unapplied); or no
    line does, and each line's ``amount`` is what it pays (the payment is their sum). A line's invoice is
    its ``invoice_number``, else its ``reference``. A single line is the payment as it is."""
    first = lines[0]
    if len(lines) == 1:
        return first
    if len(lines) > MAX_REMITTANCE_LINES:
        raise RemittanceProblem(
            "payment_id", MAX_REMITTANCE_LINES, f"a payment of more than {MAX_REMITTANCE_LINES} lines"
        )
    for index, line in enumerate(lines[1:], start=1):
        for name in ("customer_id", "payment_date", "currency"):
            if getattr(line, name) != getattr(first, name):
                raise RemittanceProblem(
                    name, index, f"differs from the payment's first line ({getattr(first, name)})"
                )
    parts = [bool(line.remittance) for line in lines]
    references = [line.reference for line in lines if line.reference]
    if any(parts):
        if not all(parts):
            index = parts.index(False)
            raise RemittanceProblem(
                "applied_amount", index, "is empty while other lines of the payment give the part they pay"
            )
        for index, line in enumerate(lines[1:], start=1):
            if line.amount != first.amount:
                raise RemittanceProblem(
                    "amount",
                    index,
                    f"differs from the payment's first line ({first.amount}): with applied_amount, "
                    "amount is the payment's total on every line",
                )
        remittance = tuple(allocation for line in lines for allocation in line.remittance)
        total = first.amount
        applied = sum((a.amount for a in remittance), _ZERO)
        if applied > total:
            raise RemittanceProblem(
                "applied_amount",
                len(lines) - 1,
                f"the lines apply {applied}, more than the payment's amount {total}",
            )
    else:
        remittance = tuple(
            Allocation(line.invoice_number or line.reference or "", line.amount) for line in lines
        )
        total = sum((line.amount for line in lines), _ZERO)
    return replace(
        first,
        amount=total,
        unapplied_amount=total,
        invoice_number=None,
        reference="; ".join(dict.fromkeys(references)) or None,
        remittance=remittance,
    )


def line_remittance(
    invoice_number: str | None, reference: str | None, applied: Decimal | None
) -> tuple[Allocation, ...]:
    """The remittance of one payments row: its ``applied_amount`` for its invoice (its invoice_number,
    else its reference), or none when the row gives no part."""
    if applied is None:
        return ()
    return (Allocation(invoice_number or reference or "", applied),)


# --- suggestions and the apply-cash task ----------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """Invoices the cash may be for, what each would take, and why they are suggested."""

    invoice_numbers: tuple[str, ...]
    amounts: tuple[Decimal, ...]
    why: str

    @property
    def text(self) -> str:
        return f"{' + '.join(self.invoice_numbers)} ({self.why})"


def candidates(currency: str, open_invoices: Iterable[Invoice]) -> list[Invoice]:
    """The invoices cash in ``currency`` may go to, oldest due first."""
    return oldest_first(i for i in open_invoices if unfit(i.invoice_number, i, currency) is None)


def suggest(
    amount: Decimal, currency: str, reference: str | None, open_invoices: Iterable[Invoice]
) -> tuple[Suggestion, ...]:
    """The most likely invoices for ``amount`` of unapplied cash (see the module's rule)."""
    pool = candidates(currency, open_invoices)
    if amount <= 0 or not pool:
        return ()
    resembling = _resembling(reference, pool[:SIMILARITY_POOL])
    rank = {number: index for index, number in enumerate(resembling)}
    found: list[Suggestion] = []
    exact = [i for i in pool if i.open_amount == amount]
    for invoice in sorted(exact, key=lambda i: rank.get(i.invoice_number, len(rank))):
        found.append(Suggestion((invoice.invoice_number,), (invoice.open_amount,), "the exact amount"))
    found.extend(_adding_up(amount, pool[:COMBINATION_POOL]))
    by_number = {i.invoice_number: i for i in pool}
    for number in resembling:
        found.append(
            Suggestion((number,), (min(amount, by_number[number].open_amount),), "the reference resembles it")
        )
    covered, remaining = [], amount
    for invoice in pool:
        if remaining <= 0:
            break
        part = min(remaining, invoice.open_amount)
        covered.append((invoice.invoice_number, part))
        remaining -= part
    if covered:
        found.append(
            Suggestion(tuple(n for n, _ in covered), tuple(a for _, a in covered), "the oldest first")
        )
    unique: dict[tuple[str, ...], Suggestion] = {}
    for suggestion in found:
        unique.setdefault(tuple(sorted(suggestion.invoice_numbers)), suggestion)
    return tuple(unique.values())[:MAX_SUGGESTIONS]


def _adding_up(amount: Decimal, oldest: Sequence[Invoice]) -> list[Suggestion]:
    """Two or three of ``oldest`` whose open amounts add up to ``amount`` exactly, fewest first (at most
    C(30, 2) + C(30, 3) = 4,495 sums)."""
    found: list[Suggestion] = []
    for size in range(2, MAX_COMBINED + 1):
        for combination in combinations(oldest, size):
            if sum((i.open_amount for i in combination), _ZERO) == amount:
                found.append(
                    Suggestion(
                        tuple(i.invoice_number for i in combination),
                        tuple(i.open_amount for i in combination),
                        f"{size} invoices that add up to the amount",
                    )
                )
                if len(found) >= MAX_SUGGESTIONS:
                    return found
    return found


def _resembling(reference: str | None, pool: Sequence[Invoice]) -> list[str]:
    """Numbers of ``pool`` that share a run of at least four letters and digits with the reference
    (or all of a shorter number), most alike first."""
    text = _ALPHANUMERIC.sub("", (reference or "").lower())
    if len(text) < 3:
        return []
    scored = []
    for invoice in pool:
        number = _ALPHANUMERIC.sub("", invoice.invoice_number.lower())
        if not number:
            continue
        match = SequenceMatcher(None, number, text, autojunk=False).find_longest_match(
            0, len(number), 0, len(text)
        )
        if match.size >= min(4, len(number)):
            scored.append((-match.size / len(number), -match.size, invoice.due_date, invoice.invoice_number))
    return [number for *_, number in sorted(scored)]


def apply_cash_task_id(payment_id: str) -> str:
    """One apply-cash task per payment: a file sent again, or a retry, adds none."""
    return f"apply-cash-{payment_id}"


def apply_cash_task(
    payment: Payment,
    open_invoices: Iterable[Invoice],
    *,
    now: datetime,
    assignee: str | None,
    source: str,
) -> Task:
    """The collector's task for ``payment``'s unapplied cash, with its suggestions in the detail."""
    money = written(payment.unapplied_amount, payment.currency)
    applied = ", ".join(a.invoice_number for a in payment.applications)
    title = f"Apply {money} of payment {payment.payment_id}: " + (
        f"left after {applied}" if applied else "no open invoice took it"
    )
    suggestions = suggest(payment.unapplied_amount, payment.currency, payment.reference, open_invoices)
    named = payment.invoice_number or "; ".join(
        a.invoice_number for a in payment.remittance if a.invoice_number
    )
    return Task(
        customer_id=payment.customer_id,
        task_id=apply_cash_task_id(payment.payment_id),
        kind=TaskKind.APPLY_CASH.value,
        title=title,
        created_at=now,
        detail={
            "payment_id": payment.payment_id,
            "payment_date": payment.payment_date.isoformat(),
            "amount": str(payment.amount),
            "unapplied_amount": str(payment.unapplied_amount),
            "currency": payment.currency,
            "named": named,
            "reference": payment.reference or "",
            "applied_to": applied,
            "suggestions": "; ".join(s.text for s in suggestions) or "none: no open invoice in this currency",
            "source": source,
        },
        assignee=assignee,
        due_on=now.date(),
    )


# --- a collector's decision -----------------------------------------------------------------------------


def parse_amount(text: str, field: str, currency: str) -> Decimal:
    """An amount of ``currency`` typed in the console, read as every form reads one
    (``inputs.parse_amount``: ``1,234.50``, ``1234,50``, ``1234.5``; above 0, at most the currency's
    decimals; ``1,500`` of a three-decimal currency refused as two amounts), refused naming ``field``."""
    try:
        return read_amount(text, currency)
    except InputError as error:
        raise CashApplicationError(field, error.message) from None


def decided(
    payment: Payment, requested: Sequence[tuple[str, Decimal]], invoices: Mapping[str, Invoice]
) -> tuple[Payment, tuple[tuple[Invoice, Invoice], ...]]:
    """A collector's decision to apply ``requested`` (invoice number, amount) of ``payment``'s
    unapplied cash: the payment and its invoices after it. Refused, naming why, when an invoice cannot
    take the money, an amount is more than it has open, or the total more than is unapplied."""
    if not requested:
        raise CashApplicationError("allocations", "give an amount for at least one invoice")
    if len(requested) > MAX_INVOICES_PER_DECISION:
        raise CashApplicationError(
            "allocations",
            f"at most {MAX_INVOICES_PER_DECISION} invoices in one decision: apply the rest in another",
        )
    numbers = [number for number, _ in requested]
    if len(set(numbers)) != len(numbers):
        raise CashApplicationError("allocations", "an invoice is named twice")
    settles = []
    for number, amount in requested:
        invoice = invoices.get(number)
        why = unfit(number, invoice, payment.currency)
        if why is not None:
            raise CashApplicationError("allocations", why)
        assert invoice is not None
        if amount > invoice.open_amount:
            raise CashApplicationError(
                "allocations",
                f"{grouped(amount, payment.currency)} is more than invoice {number} has open "
                f"({grouped(invoice.open_amount, payment.currency)})",
            )
        settles.append((invoice, settled_invoice(invoice, amount, payment.payment_date)))
    total = sum((amount for _, amount in requested), _ZERO)
    if total > payment.unapplied_amount:
        raise CashApplicationError(
            "allocations",
            f"{grouped(total, payment.currency)} is more than payment {payment.payment_id} has unapplied "
            f"({written(payment.unapplied_amount, payment.currency)})",
        )
    allocations = payment.applications + tuple(Allocation(n, a) for n, a in requested)
    after = replace(
        payment,
        applied_amount=payment.applied_amount + total,
        unapplied_amount=payment.unapplied_amount - total,
        allocations=allocations,
        applied_to=allocations[0].invoice_number
        if len({a.invoice_number for a in allocations}) == 1
        else None,
    )
    return after, tuple(settles)
