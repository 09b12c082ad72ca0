"""A message's touches claimed in steps, when one transaction cannot hold them all.

An email (or a text, or a letter) reserves its (invoice, step) touches before it goes out: per touch
a condition check on the invoice and a ledger item, plus the message's own item and the customer's
checks. DynamoDB's TransactWriteItems takes at most 100 actions (and never two on one item), so one
transaction reserves at most 49 invoices of an email. A go-live statement of a 120-invoice backlog is
still one email; it is reserved in steps, each within the limit and each conditional:

1. **open**: the message's item is written with status ``claiming`` and no touches, conditional on no
   item with its key (the touch id is the message's idempotency key: the same touches, the same id)
   and on the customer's checks. A message in ``claiming`` is never sent.
2. **claim** the touches in chunks: each chunk is one transaction of the customer's checks, per touch
   the invoice's fresh-state check and the ledger item (written only if none exists), and the message
   item's update appending the chunk's touches, conditional on it still being ``claiming``. A ledger
   item of this message and its place in the message's list are written together or not at all, so
   the list is always exactly the touches this message holds.
3. **close**: one conditional update ``claiming`` -> ``reserved`` (which starts the send's lease); its
   answer is the list of touches the message holds, and only those are sent. From here on the message
   is the single-transaction reservation it always was (send -> complete, release, refuse, in doubt).

A crash (or a lost answer) at any boundary leaves a message in ``claiming`` that nothing sent; the
next run with the same touches finds it and goes on from where it stopped (the touches it holds are
not claimed again). Two runs with the same touches racing claim each touch once (the ledger item's
condition) and only one closes it (the status condition), so one email goes. A claim whose run died
and is never resumed (an invoice was paid meanwhile, so the next plan has other touches and another
id) would hold its touches for ever: a run that meets its touches, once the claim is older than
``CLAIM_LEASE`` by the wall clock, takes it over: ``claiming`` -> ``abandoned`` (conditional, so the
old run, if alive after all, can neither claim more nor close it), its ledger items deleted (each only
while it still names that message and was never sent), then its item.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from arcollect.store import keys
from arcollect.store.base import TRANSACTION_ITEMS, Operation, cancellation_reasons, connection
from arcollect.store.errors import StoreError
from arcollect.store.keys import email_sk, ledger_sk, text_sk
from arcollect.store.models import EmailTouchItem, SendLedgerItem, TableItem, TextTouchItem
from arcollect.store.touches import ABANDONED, CLAIMING, Refusal, Reservation, claim_touches, touch_text

RESERVED = "reserved"
REFUSED = "refused"

# A claim no run moved for this long is its dead run's: no run lives that long (the functions'
# timeout is 5 minutes; the same lease as a reserved email's, ``dunning.delivery.LEASE``).
CLAIM_LEASE = timedelta(minutes=15)

# A message-level condition check of each step: (model, pk, sk, condition), and the refusal's reason
# when it fails ("customer", "opted_out").
Check = tuple[Any, str, str, Any, str]

_FAILED = "ConditionalCheckFailed"


@dataclass(frozen=True)
class StagedMessage:
    """What claiming one message in steps needs: its item as first written (status ``claiming``, no
    touches), the checks every step repeats, and what closing it sets besides the status (the wall
    clock its lease starts from, and the message's current fields: a resumed claim goes out as the
    run that closes it planned it)."""

    customer_id: str
    touch_id: str
    model: type[EmailTouchItem] | type[TextTouchItem]
    item: EmailTouchItem | TextTouchItem
    checks: Sequence[Check]
    closing: Sequence[Action]
    promises: dict[str, str]
    at: datetime
    clock_at: datetime | None


def chunk_size(checks: int) -> int:
    """Touches per step: the checks, the message's update and two actions per touch in one transaction."""
    return (TRANSACTION_ITEMS - checks - 1) // 2


def reserve_in_steps(message: StagedMessage, touches: Sequence[tuple[str, str]]) -> Reservation:
    """Reserve ``touches`` for ``message`` in steps (see the module). The same answer as a reservation
    in one transaction: what the message holds now (to send), and why each other touch is refused."""
    wanted = list(dict.fromkeys(touches))
    refused: dict[tuple[str, str], Refusal] = {}
    held = _open(message, wanted)
    if isinstance(held, Reservation):
        return held
    todo = [t for t in wanted if t not in held]
    taken_over: set[tuple[str, str]] = set()
    while todo:
        outcome = _claim(message, todo, refused)
        if outcome == _LOST:
            break  # closed or taken over by another run: ``_close`` says which
        if outcome != _CLAIMED:
            # A customer check failed (on hold, do-not-contact, opted out, a stale profile copy): the
            # claim was given up, so nothing of this message goes and no touch stays held by it.
            return Reservation((), tuple(refused.get(t) or Refusal(*t, outcome) for t in wanted))
        touched = [t for t, r in refused.items() if r.reason == "touched" and t not in taken_over]
        taken_over |= set(touched)
        todo = take_over(
            message.customer_id, touches=touched, touch_id=message.touch_id, clock_at=message.clock_at
        )
        for touch in todo:
            refused.pop(touch, None)
    return _close(message, wanted, refused)


# What a round of chunks came to, besides the reason of a failed customer check.
_CLAIMED = ""
_LOST = "lost"


def _open(message: StagedMessage, wanted: list[tuple[str, str]]) -> set[tuple[str, str]] | Reservation:
    """Write the message's item as ``claiming``. Returns the touches it holds already (none when this
    run opened it; some when a run before this one did and stopped: the retry resumes), or the whole
    answer when it cannot be claimed."""
    pk, sk = keys.customer_pk(message.customer_id), message.item.sk
    checks = len(message.checks)
    for _ in range(3):
        try:
            with TransactWrite(connection=connection()) as transaction:
                for model, check_pk, check_sk, condition, _reason in message.checks:
                    transaction.condition_check(model, check_pk, check_sk, condition=condition)
                transaction.save(message.item, condition=TableItem.pk.does_not_exist())
        except TransactWriteError as error:
            reasons = cancellation_reasons(error)
            for index, check in enumerate(message.checks):
                if reasons[index : index + 1] == [_FAILED]:
                    return Reservation((), tuple(Refusal(n, s, check[4]) for n, s in wanted))
            if reasons[checks : checks + 1] != [_FAILED]:
                raise
            item = _get(message.model, pk, sk)
            if item is None:
                continue  # given up meanwhile: open it again
            if item.status == CLAIMING:
                return {_split(text) for text in item.touches or ()}
            if item.status == ABANDONED:
                _abandon(message.model, message.customer_id, message.touch_id)
                continue
            # Reserved (or sent, refused, in doubt) before: a repeated run. Its record tells the story.
            return Reservation((), tuple(Refusal(n, s, "touched") for n, s in wanted))
        return set()
    raise StoreError(f"{message.touch_id}: opened and given up again and again; the next run retries")


def _claim(
    message: StagedMessage, todo: list[tuple[str, str]], refused: dict[tuple[str, str], Refusal]
) -> str:
    """Claim ``todo`` in chunks, adding the touches refused to ``refused``. ``_CLAIMED`` when every
    chunk went in, ``_LOST`` when the message is no longer claiming (another run closed it or took it
    over), else the reason of the customer check that failed (the claim is given up)."""
    size = chunk_size(len(message.checks))
    pk = keys.customer_pk(message.customer_id)
    checks = len(message.checks)
    while todo:
        chunk, todo = todo[:size], todo[size:]
        while chunk:
            try:
                with TransactWrite(connection=connection()) as transaction:
                    for model, check_pk, check_sk, condition, _reason in message.checks:
                        transaction.condition_check(model, check_pk, check_sk, condition=condition)
                    claim_touches(
                        transaction,
                        message.customer_id,
                        chunk,
                        message.promises,
                        message.at,
                        message.touch_id,
                    )
                    listed = [touch_text(n, s) for n, s in chunk]
                    transaction.update(
                        message.model(pk, message.item.sk),
                        actions=[message.model.touches.set(message.model.touches.append(listed))],
                        condition=message.model.status == CLAIMING,
                    )
            except TransactWriteError as error:
                reasons = cancellation_reasons(error)
                if not reasons:
                    raise
                # pynamodb sends the condition checks first (the message's, then one per invoice),
                # then the puts (one ledger item per invoice), then the update (the message's item).
                count = len(chunk)
                for index, (*_, reason) in enumerate(message.checks):
                    if reasons[index] == _FAILED:
                        _abandon(message.model, message.customer_id, message.touch_id)
                        return reason
                if reasons[checks + 2 * count] == _FAILED:
                    return _LOST
                still = []
                for index, touch in enumerate(chunk):
                    invoice, ledger = reasons[checks + index], reasons[checks + count + index]
                    if ledger == _FAILED:
                        refused[touch] = Refusal(*touch, "touched")
                    elif invoice == _FAILED:
                        refused[touch] = Refusal(*touch, "changed")
                    else:
                        still.append(touch)
                if len(still) == len(chunk):
                    raise  # not a condition of ours (a conflict, throttling): the retry resumes the claim
                chunk = still
                continue
            chunk = []
    return _CLAIMED


def _close(
    message: StagedMessage, wanted: list[tuple[str, str]], refused: dict[tuple[str, str], Refusal]
) -> Reservation:
    """``claiming`` -> ``reserved``, when it holds a touch: the message may go now, with exactly the
    touches it holds (the update's answer), and its lease starts now."""
    pk = keys.customer_pk(message.customer_id)
    item = message.model(pk, message.item.sk)
    try:
        item.update(
            actions=[message.model.status.set(RESERVED), *message.closing],
            condition=(message.model.status == CLAIMING) & message.model.touches[0].exists(),
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        current = _get(message.model, pk, message.item.sk)
        if current is not None and current.status == CLAIMING:
            # It holds nothing (every touch refused): give the empty claim up.
            _abandon(message.model, message.customer_id, message.touch_id)
            return Reservation((), tuple(refused.get(t) or Refusal(*t, "touched") for t in wanted))
        # Closed by another run with these touches (that run sends it), or taken over: none goes here.
        return Reservation((), tuple(Refusal(*t, "touched") for t in wanted))
    held = {_split(text) for text in item.touches or ()}
    reserved = tuple(t for t in wanted if t in held)
    return Reservation(
        reserved, tuple(refused.get(t) or Refusal(*t, "touched") for t in wanted if t not in held)
    )


def take_over(
    customer_id: str, *, touches: Sequence[tuple[str, str]], touch_id: str, clock_at: datetime | None
) -> list[tuple[str, str]]:
    """Of ``touches`` (refused as held by another message), those freed by taking over the claims that
    hold them when their runs left them (``claiming`` past ``CLAIM_LEASE`` by the wall clock, or
    ``abandoned`` half-way). A reserved message is never taken over: it may have gone out."""
    if not touches:
        return []
    pk = keys.customer_pk(customer_id)
    holders: dict[str, list[tuple[str, str]]] = {}
    for item in SendLedgerItem.batch_get([(pk, ledger_sk(n, s)) for n, s in touches], consistent_read=True):
        if item.touch_id and item.touch_id != touch_id and item.message_id is None:
            holders.setdefault(item.touch_id, []).append((item.invoice_number, item.step))
    now = clock_at or datetime.now(UTC)
    freed: list[tuple[str, str]] = []
    for holder, held in sorted(holders.items()):
        for model, sk in ((EmailTouchItem, email_sk(holder)), (TextTouchItem, text_sk(holder))):
            record = _get(model, pk, sk)
            if record is None:
                continue
            started = record.reserved_by_clock or record.reserved_at
            left = record.status == ABANDONED or (record.status == CLAIMING and now - started >= CLAIM_LEASE)
            if left and _abandon(model, customer_id, holder):
                freed += held
            break
    return freed


def _abandon(
    model: type[EmailTouchItem] | type[TextTouchItem],
    customer_id: str,
    touch_id: str,
    statuses: Sequence[str] = (CLAIMING,),
) -> bool:
    """Give a message up: ``claiming`` (or one of ``statuses``, never sent) -> ``abandoned``, so its run
    can no longer claim more, close or send it; then its ledger items, each only while it names this
    message and was never sent; then the item itself. Each write is safe to repeat, so a crash in
    between is finished by whoever meets it next. False when it is not ours to give up (closed: it
    may go out as reserved; sent; or gone)."""
    pk = keys.customer_pk(customer_id)
    sk = email_sk(touch_id) if model is EmailTouchItem else text_sk(touch_id)
    item = model(pk, sk)
    try:
        # The update's answer (all the item's attributes) lists every touch it holds, as of now.
        item.update(
            actions=[model.status.set(ABANDONED)],
            condition=model.status.is_in(*statuses) & model.message_id.does_not_exist(),
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        current = _get(model, pk, sk)
        if current is None or current.status != ABANDONED:
            return False
        item = current
    ours = TableItem.pk.does_not_exist() | (
        (SendLedgerItem.touch_id == touch_id) & SendLedgerItem.message_id.does_not_exist()
    )
    for text in item.touches or ():
        # One by one, each conditional: a touch another message claimed since a crashed earlier pass
        # freed it is that message's now, and is left alone.
        _delete_if(SendLedgerItem(pk, ledger_sk(*_split(text))), ours)
    # Last, so a crash before it leaves the item (``abandoned``) for the next run to finish freeing.
    _delete_if(model(pk, sk), model.status == ABANDONED)
    return True


def give_up(
    model: type[EmailTouchItem] | type[TextTouchItem],
    customer_id: str,
    touch_id: str,
    statuses: Sequence[str],
) -> bool:
    """Release a message too big for one transaction whose send definitely failed (``_abandon``)."""
    return _abandon(model, customer_id, touch_id, statuses)


def _delete_if(item: TableItem, condition: Any) -> None:
    try:
        item.delete(condition=condition)
    except DeleteError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise


def release_operations(
    customer_id: str, touches: Sequence[tuple[str, str]], message: TableItem
) -> list[Operation]:
    """A message's release in one transaction: its ledger items, then its own item (under
    ``never_sent``); ``give_up`` when it does not fit one."""
    pk = keys.customer_pk(customer_id)
    return [
        *(("delete", SendLedgerItem(pk, ledger_sk(number, step)), None) for number, step in touches),
        ("delete", message, None),
    ]


def never_sent(touch_id: str) -> Any:
    """A release deletes an item only while it is this message's and was never sent: a retried release
    never deletes a touch another message has claimed since (an item already gone is fine)."""
    return SendLedgerItem.message_id.does_not_exist() & (
        TableItem.pk.does_not_exist()
        | SendLedgerItem.touch_id.does_not_exist()
        | (SendLedgerItem.touch_id == touch_id)
    )


def _get(model: type[EmailTouchItem] | type[TextTouchItem], pk: str, sk: str) -> Any:
    try:
        return model.get(pk, sk, consistent_read=True)
    except model.DoesNotExist:
        return None


def _split(text: Any) -> tuple[str, str]:
    number, step = json.loads(str(text))
    return str(number), str(step)


__all__ = [
    "ABANDONED",
    "CLAIMING",
    "CLAIM_LEASE",
    "REFUSED",
    "RESERVED",
    "StagedMessage",
    "chunk_size",
    "give_up",
    "never_sent",
    "release_operations",
    "reserve_in_steps",
    "take_over",
]
