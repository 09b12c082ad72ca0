"""Champion and challenger: a policy file names a challenger and a share; customers are assigned by a
stable hash, and every plan says its arm."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import arcollect
from arcollect.calendar import Calendar
from arcollect.dunning.delivery import decisions_activity
from arcollect.dunning.engine import evaluate
from arcollect.entities import Customer, Invoice
from arcollect.policy import CHALLENGER, CHAMPION, Challenger, PolicyError, parse_policy, promoted

SHIPPED = (Path(arcollect.__file__).parent / "policies" / "default.yaml").read_text()
FIRMER = """
  standard-firmer:
    description: The standard policy with the firm email ten days sooner.
    steps:
      - {id: courtesy, trigger: {days: -3}, action: email, template: courtesy}
      - {id: due, trigger: {days: 1}, action: email, template: due}
      - {id: first_call, trigger: {days: 7}, action: call, title: Call about the late invoice}
      - {id: firm, trigger: {days: 20}, action: email, template: firm}
"""


def with_test(block: str) -> str:
    return SHIPPED.replace("\npolicies:\n", "\npolicies:\n" + FIRMER.strip("\n") + "\n", 1) + "\n" + block


TEST = "challenger: {name: firmer-2027, policy: standard-firmer, replaces: standard, share: 10}\n"


def test_a_challenger_takes_its_share_of_the_replaced_policys_customers_and_keeps_them() -> None:
    policies = parse_policy(with_test(TEST), source="test")
    assert policies.challenger == Challenger("firmer-2027", "standard-firmer", "standard", Decimal(10))
    customers = [Customer(f"Kunde {n}, Straße & Söhne", f"K{n}", f"ap{n}@example.com") for n in range(4000)]
    arms = [policies.policy_for(c, date(2027, 1, 4))[1].name for c in customers]
    share = arms.count("standard-firmer") / len(arms)
    assert 0.085 < share < 0.115  # 10% of 4,000 give or take sampling
    # The same customer gets the same arm every time, whatever else changed.
    again = parse_policy(
        with_test(TEST).replace("promise_grace_days: 3", "promise_grace_days: 5"), source="b"
    )
    assert [again.policy_for(c, date(2027, 6, 1))[1].name for c in customers] == arms
    # Another test draws another sample.
    other = parse_policy(with_test(TEST.replace("firmer-2027", "firmer-2028")), source="c")
    assert [other.policy_for(c, date(2027, 1, 4))[1].name for c in customers] != arms


def test_customers_of_other_policies_and_placeholders_are_not_in_the_test() -> None:
    policies = parse_policy(with_test(TEST), source="test")
    key_account = Customer("Big Co", "Big", "ap@big.example", annual_sales=Decimal("20000000"))
    segment, policy = policies.policy_for(key_account, date(2027, 1, 4))
    assert policy.name == "key-accounts" and policies.arm_of(key_account, segment) is None
    placeholder = Customer("New", "New", "", placeholder=True)
    segment, policy = policies.policy_for(placeholder, date(2027, 1, 4))
    assert policy.name == "standard" and policies.arm_of(placeholder, segment) is None


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "challenger: {name: t, policy: nope, replaces: standard, share: 10}",
            "challenger.policy: no policy named 'nope'",
        ),
        ("challenger: {name: t, policy: standard, replaces: standard, share: 10}", "must be another policy"),
        ("challenger: {name: t, policy: standard-firmer, replaces: standard, share: 60}", "challenger.share"),
        ("challenger: {name: t, policy: standard-firmer, replaces: standard, share: 0}", "challenger.share"),
        ("challenger: {policy: standard-firmer, replaces: standard, share: 10}", "challenger.name"),
        (
            "challenger: {name: t, policy: standard-firmer, replaces: standard-firmer2, share: 10}",
            "challenger.replaces",
        ),
        ("challenger: {name: t, policy: standard, replaces: standard-firmer, share: 10}", "no segment uses"),
        (
            "challenger: {name: t, policy: standard-firmer, replaces: standard, share: 10, extra: 1}",
            "challenger.extra",
        ),
    ],
)
def test_a_wrong_challenger_is_refused_naming_its_key(block: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("(", r"\(")):
        parse_policy(with_test(block + "\n"), source="test")


def test_a_share_may_be_written_as_a_percent() -> None:
    policies = parse_policy(with_test(TEST.replace("share: 10", 'share: "12.5%"')), source="test")
    assert policies.challenger is not None and policies.challenger.share == Decimal("12.5")


def test_a_plan_and_its_decisions_say_the_arm() -> None:
    policies = parse_policy(with_test(TEST), source="test")
    test = policies.challenger
    assert test is not None
    ids = [f"C-{n}" for n in range(200)]
    in_test = next(i for i in ids if test.arm(i) == CHALLENGER)
    control = next(i for i in ids if test.arm(i) == CHAMPION)
    now = datetime(2027, 2, 8, 9, 30, tzinfo=UTC)
    for customer_id, arm, policy in (
        (in_test, CHALLENGER, "standard-firmer"),
        (control, CHAMPION, "standard"),
    ):
        invoice = Invoice(
            customer_id, "INV/1", "EUR", Decimal(100), Decimal(100), date(2027, 1, 1), date(2027, 2, 5)
        )
        plan = evaluate(
            customer_id=customer_id,
            customer=Customer(customer_id, customer_id, "ap@example.com"),
            invoices=[invoice],
            now=now,
            policies=policies,
            calendar=Calendar(),
        )
        assert (plan.policy, plan.arm, plan.test) == (policy, arm, "firmer-2027")
        decisions = decisions_activity(plan, policies.revision)
        assert (
            decisions is not None
            and decisions.detail["arm"] == arm
            and decisions.detail["test"] == "firmer-2027"
        )


def test_promotion_points_the_segments_at_the_challenger_and_keeps_the_files_comments() -> None:
    text = with_test("# Trying firmer reminders on a tenth of the standard customers.\n" + TEST)
    result, after = promoted(text, source="test", note="Promoted test firmer-2027 at 2027-03-01T09:00:00Z")
    assert result.startswith("# Promoted test firmer-2027 at 2027-03-01T09:00:00Z\n")
    assert after.challenger is None
    assert {s.name: s.policy for s in after.segments} == {
        "key-accounts": "key-accounts",
        "public-sector": "public-sector",
        "standard": "standard-firmer",
    }
    assert "# Emails go out in the customer's local time zone" in result  # the file's own comments stay
    assert "challenger:" not in result and "Trying firmer reminders" in result
    # The old policy stays defined (a later test may bring it back); nobody uses it now.
    assert "standard" in after.policies


def test_promotion_without_a_test_is_refused() -> None:
    with pytest.raises(PolicyError, match="no challenger section"):
        promoted(SHIPPED, source="shipped", note="x")


def test_promotion_refuses_a_layout_it_cannot_edit_safely() -> None:
    # The segment list in flow style on one line with the policy name quoted oddly: not rewritten blindly.
    text = with_test(TEST).replace(
        "  - name: standard\n    policy: standard\n", "  - {name: standard, policy: !!str standard}\n"
    )
    parse_policy(text, source="flow")  # a valid file
    with pytest.raises(PolicyError, match="could not be promoted by editing the file safely"):
        promoted(text, source="flow", note="x")


def test_the_360_view_shows_the_policy_and_the_arm() -> None:
    from arcollect.store.workspace import AccountItems
    from arcollect.workspace.view import build_account

    policies = parse_policy(with_test(TEST), source="test")
    test = policies.challenger
    assert test is not None
    ids = [f"C-{n}" for n in range(200)]
    now = datetime(2027, 2, 8, 9, 30, tzinfo=UTC)
    for customer_id, arm, policy in (
        (next(i for i in ids if test.arm(i) == CHALLENGER), CHALLENGER, "standard-firmer"),
        (next(i for i in ids if test.arm(i) == CHAMPION), CHAMPION, "standard"),
    ):
        items = AccountItems(customer=Customer(customer_id, customer_id, "ap@example.com"))
        view = build_account(items, now=now, today=now.date(), policies=policies)
        assert (view.dunning_policy, view.test_arm, view.test_name) == (policy, arm, "firmer-2027")
    outside = AccountItems(customer=Customer("Big", "Big", "ap@big.example", annual_sales=Decimal("2e7")))
    view = build_account(outside, now=now, today=now.date(), policies=policies)
    assert (view.dunning_policy, view.test_arm) == ("key-accounts", None)
