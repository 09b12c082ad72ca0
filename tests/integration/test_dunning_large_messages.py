"""A message of more invoices than one DynamoDB transaction holds (TransactWriteItems takes at most 100
actions; an email's reservation takes two per invoice): still one message, reserved in steps
(store/claims.py), exactly once, whatever crashes between the steps.

The scenario the tester found (one customer, a go-live backlog of overdue invoices: one statement
covering them all), through the dunning function's handler with 120 invoices, the real limit; and
through the sweep with faults injected between the reservation's chunks, with the transaction limit
made smaller (``small_transactions``: the same code path in chunks of a few invoices, so a backlog of
30 spans four chunks and the sweep over moto stays quick)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from arcollect.store import keys
from arcollect.store.keys import email_sk
from arcollect.store.models import EmailTouchItem, SendLedgerItem
from arcollect.store.touch_ledger import TouchLedger
from tests.integration.dunning_world import Crash, World, utc

CUSTOMER = "Backlog & Co"
COUNT = 120  # through the handler, against the real limit
SMALL_LIMIT = 20  # actions per transaction under ``small_transactions``: 8 or 9 invoices a chunk
SMALL_COUNT = 30
# Tuesday 2026-12-08, 09:00 in New York: inside the customer's send window.
TICK = utc(2026, 12, 8, 14)
GOLIVE = "golive_statement"


@pytest.fixture
def small_transactions(monkeypatch: pytest.MonkeyPatch) -> int:
    """Every module that sizes transactions by the limit sees a smaller one: the reservation in steps,
    the release, the bounce marks and the task parts all take their many-chunk paths with few invoices."""
    from arcollect.store import base, claims, text_ledger, touch_ledger

    for module in (base, claims, text_ledger, touch_ledger):
        monkeypatch.setattr(module, "TRANSACTION_ITEMS", SMALL_LIMIT)
    return SMALL_COUNT


def _backlog(world: World, count: int = COUNT) -> list[str]:
    """A go-live's backlog: ``count`` invoices of 100.00 USD, due 30 to 373 days before the tick."""
    world.customer(CUSTOMER, email="ap@backlog.example", country="US", time_zone="America/New_York")
    numbers = []
    for index in range(count):
        due = TICK.date() - timedelta(days=30 + (index * 343) // max(count - 1, 1))
        number = f"BL/{due.year}/{index:04d}"
        world.invoice(
            number,
            customer_id=CUSTOMER,
            invoice_date=due - timedelta(days=30),
            due_date=due,
            amount="100.00",
            currency="USD",
        )
        numbers.append(number)
    return numbers


def _ledger(number: str) -> list[SendLedgerItem]:
    return list(
        SendLedgerItem.query(
            keys.customer_pk(CUSTOMER), SendLedgerItem.sk.startswith(f"SEND#{number}#"), consistent_read=True
        )
    )


def _statements(world: World) -> list[Any]:
    return [e for e in world.emails(CUSTOMER) if e.step == GOLIVE]


def _assert_one_statement_of_all(world: World, numbers: list[str]) -> None:
    [statement] = _statements(world)
    assert sorted(statement.invoices) == sorted(numbers)
    assert statement.subject.startswith(f"Statement of your {len(numbers)} overdue invoices")
    text = statement.message.get_body(("plain",)).get_content()
    assert all(number in text for number in numbers)
    total = f"{Decimal(100) * len(numbers):,.2f}"
    assert total in text
    # Every invoice's statement touch is recorded once, with the message SES accepted
    email = EmailTouchItem.get(keys.customer_pk(CUSTOMER), email_sk(statement.touch), consistent_read=True)
    assert (email.status, len(email.touches)) == ("sent", len(numbers))
    for number in numbers:
        [touch] = [item for item in _ledger(number) if item.step == GOLIVE]
        assert (touch.touch_id, touch.message_id) == (statement.touch, email.message_id)
        assert GOLIVE in world.get(number, CUSTOMER).steps_done


def test_a_go_live_backlog_of_120_invoices_is_one_statement_through_the_handler(aws: None) -> None:
    # Given the tester's customer with a backlog far beyond one transaction
    world = World(through_handler=True)
    numbers = _backlog(world)
    # When the hourly tick runs in the customer's send window
    result = world.tick(TICK)
    # Then it did not fail: one statement lists all 120 invoices with their total
    assert result.report.failed_customers == 0
    assert result.report.emails_sent == 1 and result.report.invoices_emailed == COUNT
    _assert_one_statement_of_all(world, numbers)
    # And ticks after it send nothing more
    world.tick(TICK + timedelta(hours=1))
    world.tick(TICK + timedelta(hours=2))
    assert len(_statements(world)) == 1


def _crash_in_chunk(monkeypatch: pytest.MonkeyPatch, chunk: int, times: int = 1) -> list[int]:
    """Crash (the process dies) while building the reservation's ``chunk``-th chunk (1-based), after
    the chunks before it were committed."""
    from arcollect.store import claims  # (imported here: the old code had no claims in steps)

    calls: list[int] = []
    original = claims.claim_touches

    def claim_touches(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == chunk and times > len(calls) - chunk:
            raise Crash(f"between chunk {chunk - 1} and {chunk}")
        original(*args, **kwargs)

    monkeypatch.setattr(claims, "claim_touches", claim_touches)
    return calls


@pytest.mark.parametrize("chunk", [2, 3])
def test_a_crash_between_reservation_chunks_then_a_retry_sends_exactly_one_statement(
    aws: None, monkeypatch: pytest.MonkeyPatch, small_transactions: int, chunk: int
) -> None:
    # Given the reservation dies after claiming some chunks of the statement's touches
    world = World()
    numbers = _backlog(world, small_transactions)
    _crash_in_chunk(monkeypatch, chunk)
    with pytest.raises(Crash):
        world.tick(TICK)
    # Then nothing was sent, and the email is a claim (never sent, never "in doubt")
    assert _statements(world) == []
    [claim] = list(EmailTouchItem.query(keys.customer_pk(CUSTOMER), EmailTouchItem.sk.startswith("EMAIL#")))
    assert claim.status == "claiming" and 0 < len(claim.touches) < len(numbers)
    # When the next tick retries
    result = world.tick(TICK + timedelta(hours=1))
    # Then it resumed the claim: one statement of all of them, every touch once, no review task
    assert result.report.failed_customers == 0 and result.report.in_doubt == 0
    _assert_one_statement_of_all(world, numbers)
    assert not [t for t in world.tasks(CUSTOMER) if t.kind == "review_touch"]
    # And the next ticks send nothing more
    world.tick(TICK + timedelta(hours=2))
    world.run(TICK + timedelta(hours=3), TICK + timedelta(days=3))
    assert len(_statements(world)) == 1


def test_a_crash_after_the_last_chunk_before_closing_resumes_and_sends_once(
    aws: None, monkeypatch: pytest.MonkeyPatch, small_transactions: int
) -> None:
    world = World()
    numbers = _backlog(world, small_transactions)
    from arcollect.store import claims

    original = claims._close
    crashes = [Crash("before closing")]

    def close(*args: Any, **kwargs: Any) -> Any:
        if crashes:
            raise crashes.pop()
        return original(*args, **kwargs)

    monkeypatch.setattr(claims, "_close", close)
    with pytest.raises(Crash):
        world.tick(TICK)
    world.tick(TICK + timedelta(hours=1))
    _assert_one_statement_of_all(world, numbers)


def test_a_claim_left_behind_when_an_invoice_was_paid_meanwhile_is_taken_over(
    aws: None, monkeypatch: pytest.MonkeyPatch, small_transactions: int
) -> None:
    # Given a crash after the first chunk of the statement's reservation
    world = World()
    numbers = _backlog(world, small_transactions)
    _crash_in_chunk(monkeypatch, 2)
    with pytest.raises(Crash):
        world.tick(TICK)
    # And an invoice paid before the next tick: its plan has other touches, so another email (id)
    paid = numbers[3]
    world.change(paid, CUSTOMER, open_amount=Decimal("0"), status="closed")
    # When the next tick runs (past the claim's lease by the clock)
    world.tick(TICK + timedelta(hours=1))
    # Then the claim left behind was taken over: one statement lists the ones still open
    open_numbers = [n for n in numbers if n != paid]
    _assert_one_statement_of_all(world, open_numbers)
    assert not [item for item in _ledger(paid) if item.step == GOLIVE]
    assert not [t for t in world.tasks(CUSTOMER) if t.kind == "review_touch"]


def test_a_claim_within_its_lease_is_in_flight_not_taken_over_nor_in_doubt(
    aws: None, monkeypatch: pytest.MonkeyPatch, small_transactions: int
) -> None:
    # Given a run claiming the statement in steps, still alive as far as others can tell
    world = World()
    numbers = _backlog(world, small_transactions)
    world.clock = lambda: TICK
    _crash_in_chunk(monkeypatch, 2)
    with pytest.raises(Crash):
        world.tick(TICK)
    paid = numbers[0]
    world.change(paid, CUSTOMER, open_amount=Decimal("0"), status="closed")
    # When another run with another plan meets its touches 5 seconds later by the clock
    world.clock = lambda: TICK + timedelta(seconds=5)
    result = world.tick(TICK + timedelta(hours=1))
    # Then it sends nothing for them and marks nothing in doubt
    assert result.report.outcomes["claim_in_progress"] >= 1 and result.report.in_doubt == 0
    sent = [n for e in _statements(world) for n in e.invoices]
    assert len(sent) == len(set(sent))
    # And as the schedule goes on, no invoice is ever in two statements and nothing is "in doubt"
    world.clock = None
    world.run(TICK + timedelta(hours=2), TICK + timedelta(days=7))
    sent = [n for e in _statements(world) for n in e.invoices]
    assert len(sent) == len(set(sent)) and paid not in sent
    assert not [t for t in world.tasks(CUSTOMER) if t.kind == "review_touch"]


def test_two_runs_reserving_the_same_big_email_reserve_it_once(aws: None) -> None:
    # Given the statement's touches, reserved by one run
    world = World()
    numbers = _backlog(world)
    touches = [(n, GOLIVE) for n in numbers]
    ledger = TouchLedger()
    first = ledger.reserve_email(CUSTOMER, "T-1", GOLIVE, touches, ["ap@backlog.example"], {}, TICK)
    # When another run reserves the same email (the same touches, the same id)
    again = ledger.reserve_email(CUSTOMER, "T-1", GOLIVE, touches, ["ap@backlog.example"], {}, TICK)
    # Then the first holds all 120 and the second none: it is the same email, reserved already
    assert len(first.reserved) == COUNT and not first.refused
    assert not again.reserved and {r.reason for r in again.refused} == {"touched"}
    # And a release frees every touch (in steps), so the next run may send it
    ledger.release_email(CUSTOMER, "T-1", first.reserved)
    assert ledger.email_touch(CUSTOMER, "T-1") is None
    assert all(not _ledger(n) for n in numbers)


def test_a_customer_put_on_hold_between_chunks_gets_nothing_and_no_touch_stays_held(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World()
    numbers = _backlog(world)
    from arcollect.store import claims

    original = claims.claim_touches
    calls: list[int] = []

    def claim_touches(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            world.change_customer(CUSTOMER, dunning_hold=True)
        original(*args, **kwargs)

    monkeypatch.setattr(claims, "claim_touches", claim_touches)
    touches = [(n, GOLIVE) for n in numbers]
    reservation = TouchLedger().reserve_email(
        CUSTOMER, "T-1", GOLIVE, touches, ["ap@backlog.example"], {}, TICK
    )
    assert not reservation.reserved and {r.reason for r in reservation.refused} == {"customer"}
    assert TouchLedger().email_touch(CUSTOMER, "T-1") is None
    assert all(not _ledger(n) for n in numbers)


# --- texts share the reservation in steps ----------------------------------------------------------

MOBILE = "+12125550100"


def _text_ledger_and_customer(world: World, count: int) -> tuple[Any, Any, list[tuple[str, str]]]:
    from arcollect.store.text_ledger import TextLedger

    numbers = _backlog(world, count)
    world.change_customer(CUSTOMER, mobile=MOBILE)
    from arcollect.store.repositories import Customers

    customer = Customers().get(CUSTOMER)
    return TextLedger(), customer, [(n, "reminder") for n in numbers]


def _draft() -> Any:
    from arcollect.store.text_ledger import TextDraft

    return TextDraft(
        to=MOBILE, body="You have overdue invoices: https://portal.example.com/l/x", encoding="GSM-7", parts=1
    )


def test_a_text_of_60_invoices_is_reserved_once_and_a_crash_between_chunks_resumes(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a text whose touches do not fit one transaction (three actions besides two per invoice)
    world = World()
    ledger, customer, touches = _text_ledger_and_customer(world, 60)
    _crash_in_chunk(monkeypatch, 2)
    # When the reservation dies after the first chunk
    with pytest.raises(Crash):
        ledger.reserve_text(customer, "S-1", "reminder", touches, _draft(), {}, TICK)
    record = ledger.text_touch(CUSTOMER, "S-1")
    assert record.status == "claiming" and 0 < len(record.touches) < 60
    # Then the retry resumes it: the text holds all 60 touches, each once; a third run gets none
    reservation = ledger.reserve_text(customer, "S-1", "reminder", touches, _draft(), {}, TICK)
    assert sorted(reservation.reserved) == sorted(touches) and not reservation.refused
    record = ledger.text_touch(CUSTOMER, "S-1")
    assert record.status == "reserved" and sorted(record.touches) == sorted(touches)
    for number, _ in touches:
        [item] = _ledger(number)
        assert item.touch_id == "S-1"
    again = ledger.reserve_text(customer, "S-1", "reminder", touches, _draft(), {}, TICK)
    assert not again.reserved
    # And releasing it (the service sent nothing) frees every touch for the next run
    ledger.release_text(CUSTOMER, "S-1", reservation.reserved)
    assert ledger.text_touch(CUSTOMER, "S-1") is None
    assert all(not _ledger(n) for n, _ in touches)


def test_a_text_to_a_number_that_opted_out_between_chunks_holds_nothing(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World()
    ledger, customer, touches = _text_ledger_and_customer(world, 60)
    from arcollect.store import claims

    original = claims.claim_touches
    calls: list[int] = []

    def claim_touches(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            ledger.opt_out(MOBILE, "STOP", TICK, lambda customer_id: _opt_out_activity(customer_id))
        original(*args, **kwargs)

    monkeypatch.setattr(claims, "claim_touches", claim_touches)
    reservation = ledger.reserve_text(customer, "S-1", "reminder", touches, _draft(), {}, TICK)
    assert not reservation.reserved
    assert {r.reason for r in reservation.refused} <= {"customer", "opted_out"}
    assert ledger.text_touch(CUSTOMER, "S-1") is None
    assert all(not _ledger(n) for n, _ in touches)


def _opt_out_activity(customer_id: str) -> Any:
    from arcollect.entities import Activity

    return Activity(
        customer_id=customer_id, at=TICK, activity_id="sms-stop", kind="sms_opt_out", summary="STOP"
    )
