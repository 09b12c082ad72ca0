"""The dunning policy as data: the shipped file is valid and says what the README says; mistakes are
reported all at once with the key that holds them; segments choose policies by customer attributes;
and the engine's decisions for one customer follow from it (pure, no AWS)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from arcollect.calendar import Calendar
from arcollect.dunning.delivery import Pacer
from arcollect.dunning.engine import Outcome, evaluate, touch_id
from arcollect.dunning.sweep import WorkItem, parse_work, work_message
from arcollect.entities import Customer, Invoice
from arcollect.policy import SHIPPED_POLICY, Action, PolicyError, parse_policy, shipped_policy

POLICY = shipped_policy()


def customer(**changes: object) -> Customer:
    base = Customer("C-1", "Acme GmbH", "ap@acme.example", country="DE", time_zone="Europe/Berlin")
    return replace(base, **changes)  # type: ignore[arg-type]


def invoice(number: str = "INV-1", **changes: object) -> Invoice:
    base = Invoice("C-1", number, "EUR", Decimal(1000), Decimal(1000), date(2026, 10, 1), date(2026, 10, 31))
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_shipped_policy_encodes_collections_practice() -> None:
    standard = POLICY.policies["standard"]
    steps = {step.id: step for step in standard.steps}
    # First outreach once the invoice is 14 days old; a courtesy reminder before the due date
    assert (steps["outreach"].trigger.anchor, steps["outreach"].trigger.days) == ("invoice_date", 14)
    assert steps["courtesy"].trigger.days < 0 and steps["courtesy"].action is Action.EMAIL
    # An owner alert before a large invoice's due date
    assert steps["large_invoice_alert"].conditions.amount_min == Decimal(10000)
    # An email the day it becomes late, plus an alert to the owner
    assert {(s.action, s.trigger.days) for s in (steps["due"], steps["late_alert"])} == {
        (Action.EMAIL, 1),
        (Action.OWNER_ALERT, 1),
    }
    # At least four touches mixing emails and calls before any escalation
    escalation_day = steps["escalate"].trigger.days
    before = [s for s in standard.steps if s.counts_as_touch and 0 < s.trigger.days < escalation_day]
    assert len(before) >= 4 and {s.action for s in before} == {Action.EMAIL, Action.CALL}
    assert steps["escalate"].conditions.touches_min == 4
    # Final notice, credit hold and agency decisions; the last step repeats
    assert {"final_notice", "credit_hold", "agency_decision"} <= set(steps)
    assert standard.repeat is not None and standard.repeat.times == 3
    assert POLICY.settings.anniversary_check_in is True


def test_every_mistake_is_reported_with_its_key() -> None:
    text = """
version: 1
settings: {send_window: {days: [mon, funday]}, time_zone: Mars/Olympus, min_days_between_emails: -1}
segments:
  - {name: big, when: {annual_sales: {min: lots}, countries: [DE]}, policy: nowhere}
policies:
  standard:
    steps:
      - {id: Bad-Id, trigger: {days: 1}, action: email}
      - {id: call, trigger: {days: x}, action: telepathy}
      - {id: mail, trigger: {days: 2, from: yesterday}, action: email, template: shouting}
      - {id: mail, trigger: {days: 3}, action: call, template: due, when: {amount: {min: -5}, colour: red}}
    repeat: {every_days: 0}
"""
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, source="mine.yaml")
    message = str(raised.value)
    for expected in (
        "mine.yaml is not a valid dunning policy",
        "settings.send_window.days",
        "settings.time_zone: 'Mars/Olympus' is not an IANA time zone name",
        "settings.min_days_between_emails: must be at least 0",
        "segments[0].when.annual_sales.min: expected a non-negative amount, found 'lots'",
        "segments[0].policy: no policy named 'nowhere'",
        "segments[0]: the last segment must have no `when`",
        "policies.standard.steps[0].id: 'Bad-Id' is not a step id",
        "policies.standard.steps[0].template: an email step needs a template",
        "policies.standard.steps[1].trigger.days: expected a whole number, found 'x'",
        "policies.standard.steps[1].action: 'telepathy' is not one of email, call",
        "policies.standard.steps[2].trigger.from: 'yesterday' is not one of invoice_date, due_date",
        "policies.standard.steps[3].id: 'mail' is used twice in this policy",
        "policies.standard.steps[3].template: only email steps have a template",
        "policies.standard.steps[3].when.colour: unknown key",
        "policies.standard.steps[3].when.amount.min: expected a non-negative amount",
        "policies.standard.repeat.every_days: must be at least 1",
        "policies.standard: unknown email template 'shouting'",
    ):
        assert expected in message, expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ("[1, 2]", "expected a mapping of keys"),
        ("policies: {a: {steps: [{id: x: y}]}}", "not valid YAML"),
        ("version: 2\npolicies: {}\nsegments: []", "version 2 is not supported"),
    ],
)
def test_malformed_files_are_refused_with_the_reason(text: str, expected: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, source="x.yaml")
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("changes", "segment"),
    [
        ({}, "standard"),
        ({"annual_sales": Decimal(25_000_000)}, "key-accounts"),
        ({"industry_code": "921110"}, "public-sector"),
        ({"industry_code": "921110", "annual_sales": Decimal(25_000_000)}, "key-accounts"),
        # An explicit assignment wins over the attributes
        ({"annual_sales": Decimal(25_000_000), "segment": "public-sector"}, "public-sector"),
    ],
)
def test_segments_choose_the_policy_by_customer_attributes(changes: dict[str, object], segment: str) -> None:
    chosen, policy = POLICY.policy_for(customer(**changes), date(2026, 11, 23))
    assert (chosen.name, policy.name) == (segment, segment)


def test_segments_by_longevity_and_country() -> None:
    text = SHIPPED_POLICY.read_text().replace(
        "  - name: standard\n    policy: standard",
        "  - name: loyal\n    when: {customer_for_years: {min: 10}, countries: [de]}\n"
        "    policy: key-accounts\n"
        "  - name: standard\n    policy: standard",
    )
    policies = parse_policy(text, source="custom.yaml")
    today = date(2026, 11, 23)
    assert policies.segment_for(customer(customer_since=date(2016, 11, 23)), today).name == "loyal"
    assert policies.segment_for(customer(customer_since=date(2016, 11, 24)), today).name == "standard"
    assert (
        policies.segment_for(customer(customer_since=date(2000, 1, 1), country="FR"), today).name
        == "standard"
    )


def test_the_last_step_repeats_and_occurrences_come_in_date_order() -> None:
    occurrences = POLICY.policies["standard"].occurrences(invoice())
    assert [o.step_id for o in occurrences][-4:] == [
        "agency_decision",
        "agency_decision#2",
        "agency_decision#3",
        "agency_decision#4",
    ]
    days = [o.due_on for o in occurrences]
    assert days == sorted(days)
    # 90 days after the due date, then three repeats 30 days apart
    assert occurrences[-1].due_on == date(2026, 10, 31) + timedelta(days=90 + 3 * 30)


def evaluate_at(at: datetime, *invoices: Invoice, **customer_changes: object) -> list[tuple[str, str, str]]:
    plan = evaluate(
        customer_id="C-1",
        customer=customer(**customer_changes),
        invoices=invoices,
        now=at,
        policies=POLICY,
        calendar=Calendar(),
    )
    return [(n.invoice_number or "", n.outcome.value, n.step_id or "") for n in plan.notes]


def test_a_condition_that_does_not_hold_is_explained() -> None:
    # At 60 days late with one prior touch (its outreach; then the sweep was away), the final notice and
    # escalation do not apply (they need 4)
    notes = evaluate_at(datetime(2026, 12, 30, 9, tzinfo=UTC), invoice(steps_done=("outreach",)))
    assert ("INV-1", Outcome.NOT_APPLICABLE.value, "final_notice") in notes
    assert ("INV-1", Outcome.NOT_APPLICABLE.value, "escalate") in notes
    # And the latest step that does apply (the payment-plan call) runs; the others are skipped
    assert ("INV-1", Outcome.TASK.value, "payment_plan_call") in notes
    assert ("INV-1", Outcome.SKIPPED.value, "firm") in notes


def test_the_touch_id_is_the_same_for_the_same_touches() -> None:
    from arcollect.dunning.engine import Touch

    a = [Touch("INV-1", "due", date(2026, 11, 1)), Touch("INV-2", "due", date(2026, 11, 1))]
    assert touch_id("C-1", a) == touch_id("C-1", list(reversed(a)))
    assert touch_id("C-1", a) != touch_id("C-2", a)
    assert touch_id("C-1", a[:1]) != touch_id("C-1", a)


def test_a_work_item_survives_the_queue() -> None:
    item = WorkItem(
        datetime(2026, 11, 23, 9, tzinfo=UTC),
        "C-1",
        (
            invoice(
                steps_done=("due", "outreach"),
                promised_until=date(2026, 12, 1),
                promise_id="P-1",
                next_action_at=datetime(2026, 11, 23, tzinfo=UTC),
            ),
        ),
        customer_due=True,
    )
    import json

    assert parse_work(json.loads(json.dumps(work_message(item)))) == item


@pytest.mark.parametrize("body", [None, [], {"kind": "other"}, {"kind": "dunning_customer"}])
def test_a_malformed_work_item_is_refused(body: object) -> None:
    from arcollect.dunning.sweep import MalformedWork

    with pytest.raises(MalformedWork):
        parse_work(body)


def test_the_pacer_keeps_sends_at_the_rate() -> None:
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    pacer = Pacer(2.0, clock=lambda: clock[0], sleep=sleep)
    for _ in range(5):
        pacer.wait()
    # Five sends at 2 per second take two seconds: four waits of half a second
    assert slept == [0.5, 0.5, 0.5, 0.5] and clock[0] == 2.0


def test_ses_gets_the_configuration_set_and_the_tags() -> None:
    from arcollect.store.mail import SesMailer

    calls: list[dict[str, object]] = []

    class Client:
        def send_email(self, **kwargs: object) -> dict[str, str]:
            calls.append(kwargs)
            return {"MessageId": "m-1"}

    mailer = SesMailer(configuration_set="arcollect-prod", client=Client())
    assert (
        mailer.send(sender="a@x.example", to=["b@y.example"], raw=b"...", tags={"customer_id": "C-1"})
        == "m-1"
    )
    [call] = calls
    assert call["ConfigurationSetName"] == "arcollect-prod"
    assert call["EmailTags"] == [{"Name": "customer_id", "Value": "C-1"}]


def test_a_step_can_be_limited_to_segments_of_a_shared_policy() -> None:
    # Given one policy shared by two segments, its call step only for key accounts
    text = """
segments:
  - {name: key-accounts, when: {annual_sales: {min: 10000000}}, policy: shared}
  - {name: standard, policy: shared}
policies:
  shared:
    steps:
      - {id: due, trigger: {days: 1}, action: email, template: due}
      - {id: key_call, trigger: {days: 1}, action: call, when: {segment: [key-accounts]}}
"""
    policies = parse_policy(text, source="shared.yaml")
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)  # a Monday, 10:00 in Berlin

    def decided(**changes: object) -> list[tuple[str, str]]:
        plan = evaluate(
            customer_id="C-1",
            customer=customer(**changes),
            invoices=[invoice(due_date=date(2026, 11, 1))],  # the due step falls today
            now=at,
            policies=policies,
            calendar=Calendar(),
        )
        return [(n.outcome.value, n.step_id or "") for n in plan.notes]

    # Then a key account gets the call with the email; a standard customer the email only, and why
    assert ("task", "key_call") in decided(annual_sales=Decimal(20_000_000))
    standard = decided()
    assert ("email", "due") in standard and ("not_applicable", "key_call") in standard
