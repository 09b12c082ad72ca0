"""The report's comparison of a champion/challenger test: per arm, with sample sizes and 95% intervals,
and "not yet significant" said plainly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import arcollect
from arcollect.entities import Customer, Invoice, Payment, Promise
from arcollect.policy import CHALLENGER, CHAMPION, parse_policy
from arcollect.reports.experiment import compare_arms
from arcollect.reports.outputs import render_report
from arcollect.stats import newcombe, wilson
from arcollect.store.reports import ReportData, Touch

SHIPPED = (Path(arcollect.__file__).parent / "policies" / "default.yaml").read_text()
FIRMER = """  standard-firmer:
    steps:
      - {id: due, trigger: {days: 1}, action: email, template: due}
      - {id: firm, trigger: {days: 15}, action: email, template: firm}
"""
POLICIES = parse_policy(
    SHIPPED.replace("\npolicies:\n", "\npolicies:\n" + FIRMER, 1)
    + "\nchallenger: {name: firmer, policy: standard-firmer, replaces: standard, share: 50}\n",
    source="test",
)
AS_OF = date(2027, 3, 31)


def test_wilson_and_newcombe_match_their_published_values() -> None:
    low, high = wilson(8, 10)  # type: ignore[misc]
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson(0, 0) is None
    # Newcombe (1998), example (a): 56/70 against 48/80, method 10: 0.0524 to 0.3339 for the first minus
    # the second; newcombe() gives the second minus the first.
    low, high = newcombe(56, 70, 48, 80)  # type: ignore[misc]
    assert (round(low, 4), round(high, 4)) == (-0.3339, -0.0524)


def world(pay_days: dict[str, int], customers: int = 200) -> ReportData:
    """Customers of the standard segment, one invoice each, due 1 March; champion customers pay
    ``pay_days[champion]`` days after it, challenger ones ``pay_days[challenger]``; one touch each on
    2 March; one promise each, kept by the challenger's customers."""
    data = ReportData()
    for n in range(customers):
        customer = Customer(f"Kunde {n} & Co, Köln", f"K{n}", f"ap{n}@example.com")
        data.customers[customer.customer_id] = customer
        arm = POLICIES.challenger.arm(customer.customer_id)  # type: ignore[union-attr]
        due = date(2027, 3, 1)
        paid = due + timedelta(days=pay_days[arm])
        invoice = Invoice(
            customer.customer_id, f"RE/{n}", "EUR", Decimal(1000), Decimal(0), due - timedelta(days=30), due
        )
        data.invoices.append(
            invoice.__class__(**{**invoice.__dict__, "paid_date": paid if paid <= AS_OF else None})
        )
        if paid <= AS_OF:
            data.payments.append(
                Payment(customer.customer_id, f"P{n}", paid, Decimal(1000), "EUR", applied_to=f"RE/{n}")
            )
        data.touches.append(
            Touch(customer.customer_id, f"RE/{n}", "due", datetime(2027, 3, 2, 9, tzinfo=UTC))
        )
        data.promises.append(
            Promise(
                customer.customer_id,
                f"PTP{n}",
                (f"RE/{n}",),
                date(2027, 3, 20),
                datetime(2027, 3, 5, tzinfo=UTC),
                status="kept" if arm == CHALLENGER else "broken",
                settled_at=datetime(2027, 3, 24, tzinfo=UTC),
            )
        )
    return data


def figure(result: dict[str, object], measure: str) -> dict[str, object]:
    return next(f for f in result["figures"] if f["measure"] == measure)  # type: ignore[union-attr, index]


def test_a_clear_difference_is_called_significant_with_its_interval() -> None:
    data = world({CHAMPION: 40, CHALLENGER: 3})
    result = compare_arms(data, POLICIES, as_of=AS_OF, window_days=90)
    assert result is not None
    assert result["customers"][CHAMPION] + result["customers"][CHALLENGER] == 200  # type: ignore[index]
    paid_soon = figure(result, "share_paid_within_7_days_of_touch")
    assert paid_soon[CHALLENGER]["value"] == 1.0 and paid_soon[CHAMPION]["value"] == 0.0  # type: ignore[index]
    assert paid_soon["significant"] is True and "higher" in paid_soon["verdict"]  # type: ignore[operator]
    kept = figure(result, "promise_kept_rate")
    assert kept[CHAMPION]["n"] == result["customers"][CHAMPION]  # type: ignore[index]
    dso = figure(result, "dso_days")
    # Champion customers still owe on 31 March (paid 10 April): their DSO is above the challenger's 0.
    assert dso[CHALLENGER]["value"] == 0.0 and dso[CHAMPION]["value"] > 0  # type: ignore[index, operator]
    assert dso["significant"] is True and dso[CHAMPION]["low"] is not None  # type: ignore[index]
    assert "Significant at 95%" in str(result["summary"])


def test_no_difference_is_said_to_be_not_yet_significant() -> None:
    data = world({CHAMPION: 3, CHALLENGER: 3})
    for promise_index, promise in enumerate(data.promises):
        data.promises[promise_index] = Promise(
            **{**promise.__dict__, "status": "kept" if promise_index % 2 else "broken"}
        )
    result = compare_arms(data, POLICIES, as_of=AS_OF, window_days=90)
    assert result is not None
    kept = figure(result, "promise_kept_rate")
    assert kept["significant"] is False and kept["verdict"].startswith("not yet significant")  # type: ignore[union-attr]
    assert "No difference is significant yet" in str(result["summary"])


def test_too_few_customers_are_not_compared() -> None:
    result = compare_arms(
        world({CHAMPION: 40, CHALLENGER: 3}, customers=20), POLICIES, as_of=AS_OF, window_days=90
    )
    assert result is not None
    assert figure(result, "share_paid_within_7_days_of_touch")["verdict"].startswith("too few")  # type: ignore[union-attr]


def test_the_comparison_is_the_same_every_run_and_lands_in_the_report_files() -> None:
    data = world({CHAMPION: 40, CHALLENGER: 3})
    first = compare_arms(data, POLICIES, as_of=AS_OF, window_days=90)
    assert first == compare_arms(data, POLICIES, as_of=AS_OF, window_days=90)
    files = render_report({"as_of": AS_OF.isoformat(), "window_days": 90, "experiment": first})
    assert "champion-challenger.csv" in files
    page = files["summary.html"][0].decode()
    assert "Champion and challenger" in page and "firmer" in page


def test_no_test_in_force_means_no_comparison() -> None:
    assert (
        compare_arms(
            world({CHAMPION: 1, CHALLENGER: 1}),
            parse_policy(SHIPPED, source="s"),
            as_of=AS_OF,
            window_days=90,
        )
        is None
    )


def test_bounces_and_complaints_are_counted_per_email_ses_reported_on() -> None:
    from arcollect.entities import Activity

    data = world({CHAMPION: 3, CHALLENGER: 3})
    at = datetime(2027, 3, 10, 9, tzinfo=UTC)
    for n, customer_id in enumerate(data.customers):
        kind = "email_complaint" if n % 10 == 0 else "email_delivery"
        data.activities.append(
            Activity(customer_id=customer_id, at=at, activity_id=f"e{n}", kind=kind, summary="")
        )
    result = compare_arms(data, POLICIES, as_of=AS_OF, window_days=90)
    assert result is not None
    rate = figure(result, "bounce_or_complaint_rate")
    assert rate[CHAMPION]["n"] + rate[CHALLENGER]["n"] == 200  # type: ignore[index]
    complaints = round(
        rate[CHAMPION]["value"] * rate[CHAMPION]["n"] + rate[CHALLENGER]["value"] * rate[CHALLENGER]["n"]
    )  # type: ignore[index]
    assert complaints == 20
