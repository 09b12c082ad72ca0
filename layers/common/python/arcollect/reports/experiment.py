"""Champion and challenger, compared: the report's figures for the two arms of the test in force.

Each customer's arm is the policy's own stable assignment (``PolicySet.arm_of``: the same hash the sweep
used), so the report needs no list of who was in which arm. Per arm and side by side:

dso_days                          sum(AR total) x window / sum(credit sales in the window), per currency
average_days_delinquent           sum(AR past due) x window / sum(credit sales) (DSO - best possible DSO)
share_paid_within_7_days_of_touch dunning touches in the window whose invoice was paid within 7 days
promise_kept_rate                 promises settled in the window that were kept
touches_per_1000_collected        touches in the window per 1,000 collected in it, per currency
bounce_or_complaint_rate          bounces and complaints per email SES reported on in the window

Every figure has its sample size and a 95% interval: Wilson's for a share, Newcombe's hybrid score
interval for the difference of two shares, and for ratios a percentile bootstrap over customers (the
unit that was assigned), drawn from a seed fixed by the test and the day, so a report run again writes
the same numbers. A difference whose interval holds zero is "not yet significant", and is said so.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from arcollect.entities import Customer
from arcollect.policy import CHALLENGER, CHAMPION, PolicySet
from arcollect.reports.kpis import compute_kpis
from arcollect.stats import newcombe, wilson
from arcollect.store.reports import ReportData

BOOTSTRAP_DRAWS = 400
# Below this many in an arm a figure is shown but not compared: any difference would be noise.
MIN_SAMPLE = 30
TOUCH_RESPONSE_DAYS = 7
ARMS = (CHAMPION, CHALLENGER)


def _quantiles(values: Sequence[float]) -> tuple[float, float] | None:
    finite = sorted(v for v in values if math.isfinite(v))
    if len(finite) < len(values) * 0.9 or not finite:
        return None  # the ratio has no basis in too many draws (no sales in them)
    low = finite[int(0.025 * (len(finite) - 1))]
    high = finite[math.ceil(0.975 * (len(finite) - 1))]
    return low, high


Ratio = Callable[[Sequence[tuple[float, float]]], float]


def _ratio_of_sums(rows: Sequence[tuple[float, float]]) -> float:
    numerator = sum(r[0] for r in rows)
    denominator = sum(r[1] for r in rows)
    return numerator / denominator if denominator else math.nan


def _bootstrap(
    champion: Sequence[tuple[float, float]],
    challenger: Sequence[tuple[float, float]],
    scale: float,
    rng: random.Random,
) -> dict[str, Any]:
    """A ratio of sums per arm (numerator, denominator per customer) x ``scale``, its 95% percentile
    bootstrap interval per arm and for the difference (customers resampled within each arm)."""
    values = {CHAMPION: _ratio_of_sums(champion) * scale, CHALLENGER: _ratio_of_sums(challenger) * scale}
    draws: dict[str, list[float]] = {CHAMPION: [], CHALLENGER: []}
    differences: list[float] = []
    if champion and challenger:
        for _ in range(BOOTSTRAP_DRAWS):
            a = _ratio_of_sums(rng.choices(champion, k=len(champion))) * scale
            b = _ratio_of_sums(rng.choices(challenger, k=len(challenger))) * scale
            draws[CHAMPION].append(a)
            draws[CHALLENGER].append(b)
            differences.append(b - a)
    return _figure(
        values,
        {arm: _quantiles(draws[arm]) if draws[arm] else None for arm in ARMS},
        {CHAMPION: len(champion), CHALLENGER: len(challenger)},
        _quantiles(differences) if differences else None,
        unit="customers",
    )


def _share(counts: Mapping[str, tuple[int, int]]) -> dict[str, Any]:
    (k1, n1), (k2, n2) = counts[CHAMPION], counts[CHALLENGER]
    return _figure(
        {CHAMPION: k1 / n1 if n1 else math.nan, CHALLENGER: k2 / n2 if n2 else math.nan},
        {CHAMPION: wilson(k1, n1), CHALLENGER: wilson(k2, n2)},
        {CHAMPION: n1, CHALLENGER: n2},
        newcombe(k1, n1, k2, n2),
        unit="",
    )


def _round(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 4)


def _bounds(interval: tuple[float, float] | None) -> dict[str, float | None]:
    return (
        {"low": _round(interval[0]), "high": _round(interval[1])} if interval else {"low": None, "high": None}
    )


def _figure(
    values: Mapping[str, float],
    intervals: Mapping[str, tuple[float, float] | None],
    sizes: Mapping[str, int],
    difference: tuple[float, float] | None,
    unit: str,
) -> dict[str, Any]:
    arms = {arm: {"value": _round(values[arm]), **_bounds(intervals[arm]), "n": sizes[arm]} for arm in ARMS}
    delta = values[CHALLENGER] - values[CHAMPION]
    if min(sizes.values()) < MIN_SAMPLE or difference is None or not math.isfinite(delta):
        verdict = f"too few to compare yet (under {MIN_SAMPLE} {unit or 'cases'} in an arm)"
        significant = False
    elif difference[0] > 0 or difference[1] < 0:
        verdict = "significant at 95%: the challenger is " + ("higher" if delta > 0 else "lower")
        significant = True
    else:
        verdict = "not yet significant: the 95% interval of the difference includes no difference"
        significant = False
    return {
        **arms,
        "difference": {"value": _round(delta), **_bounds(difference)},
        "significant": significant,
        "verdict": verdict,
    }


def compare_arms(
    data: ReportData, policies: PolicySet, *, as_of: date, window_days: int
) -> dict[str, Any] | None:
    """The comparison of the test in force (None when no test is)."""
    test = policies.challenger
    if test is None:
        return None
    arms = arms_of(data.customers.values(), policies, as_of)
    start = as_of - timedelta(days=window_days)

    def within(day: date | None) -> bool:
        return day is not None and start < day <= as_of

    seed = int.from_bytes(hashlib.sha256(f"{test.name}|{as_of.isoformat()}".encode()).digest()[:8], "big")
    rng = random.Random(seed)  # noqa: S311 (a reproducible resample, not a secret)
    in_test = [i for i in data.invoices if i.customer_id in arms]
    # One KPI pass with every customer its own group: the per-customer sums the ratios resample.
    per_customer = compute_kpis(
        as_of=as_of,
        invoices=in_test,
        payments=[p for p in data.payments if p.customer_id in arms],
        customers={cid: c for cid, c in data.customers.items() if cid in arms},
        window_days=window_days,
        segment_of=_customer_key,
    )["by_segment"]
    touches = [t for t in data.touches if t.customer_id in arms and within(t.at.date())]
    invoice_of = {(i.customer_id, i.invoice_number): i for i in in_test}
    currencies = sorted({c for groups in per_customer.values() for c in groups})
    figures: list[dict[str, Any]] = []
    for currency in currencies:
        rows: dict[str, dict[str, list[tuple[float, float]]]] = {
            key: {arm: [] for arm in ARMS} for key in ("dso", "add", "touches")
        }
        touches_by_customer: dict[str, int] = defaultdict(int)
        for touch in touches:
            invoice = invoice_of.get((touch.customer_id, touch.invoice_number))
            if invoice is not None and invoice.currency == currency:
                touches_by_customer[touch.customer_id] += 1
        for customer_id, groups in per_customer.items():
            line = groups.get(currency)
            if line is None:
                continue
            arm = arms[customer_id]
            sales = float(Decimal(line["credit_sales"]))
            rows["dso"][arm].append((float(Decimal(line["ar_total"])), sales))
            rows["add"][arm].append((float(Decimal(line["ar_past_due"])), sales))
            rows["touches"][arm].append(
                (float(touches_by_customer.get(customer_id, 0)), float(Decimal(line["collected_in_window"])))
            )
        for name, key, scale in (
            ("dso_days", "dso", float(window_days)),
            ("average_days_delinquent", "add", float(window_days)),
            ("touches_per_1000_collected", "touches", 1000.0),
        ):
            figure = _bootstrap(rows[key][CHAMPION], rows[key][CHALLENGER], scale, rng)
            figures.append({"measure": name, "currency": currency, **figure})
    paid_soon: dict[str, tuple[int, int]] = {arm: (0, 0) for arm in ARMS}
    for touch in touches:
        invoice = invoice_of.get((touch.customer_id, touch.invoice_number))
        if invoice is None:
            continue
        day = touch.at.date()
        paid = invoice.paid_date is not None and day <= invoice.paid_date <= day + timedelta(
            days=TOUCH_RESPONSE_DAYS
        )
        k, n = paid_soon[arms[touch.customer_id]]
        paid_soon[arms[touch.customer_id]] = (k + int(paid), n + 1)
    figures.append({"measure": "share_paid_within_7_days_of_touch", "currency": None, **_share(paid_soon)})
    kept: dict[str, tuple[int, int]] = {arm: (0, 0) for arm in ARMS}
    for promise in data.promises:
        settled = promise.settled_at.date() if promise.settled_at is not None else None
        if promise.customer_id in arms and promise.status in ("kept", "broken") and within(settled):
            k, n = kept[arms[promise.customer_id]]
            kept[arms[promise.customer_id]] = (k + int(promise.status == "kept"), n + 1)
    figures.append({"measure": "promise_kept_rate", "currency": None, **_share(kept)})
    bad: dict[str, tuple[int, int]] = {arm: (0, 0) for arm in ARMS}
    for activity in data.activities:
        if activity.customer_id in arms and within(activity.at.date()) and activity.kind in _EMAIL_OUTCOMES:
            k, n = bad[arms[activity.customer_id]]
            bad[arms[activity.customer_id]] = (k + int(activity.kind != "email_delivery"), n + 1)
    figures.append({"measure": "bounce_or_complaint_rate", "currency": None, **_share(bad)})
    customers = {arm: sum(1 for a in arms.values() if a == arm) for arm in ARMS}
    significant = [f for f in figures if f["significant"]]
    summary = (
        f"Test {test.name}: {test.policy} for {test.share}% of {test.replaces}'s customers "
        f"({customers[CHALLENGER]} in the challenger arm, {customers[CHAMPION]} in the champion's). "
        + (
            "Significant at 95%: " + "; ".join(_named(f) for f in significant) + "."
            if significant
            else "No difference is significant yet: keep the test running before promoting either policy."
        )
    )
    return {
        "test": test.name,
        "policy": test.policy,
        "replaces": test.replaces,
        "share_percent": str(test.share),
        "customers": customers,
        "window_days": window_days,
        "figures": figures,
        "summary": summary,
    }


def _named(figure: Mapping[str, Any]) -> str:
    where = f" ({figure['currency']})" if figure["currency"] else ""
    way = "higher" if (figure["difference"]["value"] or 0) > 0 else "lower"
    return f"{figure['measure']}{where} is {way} under the challenger"


_EMAIL_OUTCOMES = frozenset({"email_delivery", "email_bounce", "email_complaint"})


def _customer_key(customer: Customer | None) -> str:
    return customer.customer_id if customer is not None else ""


def arms_of(customers: Iterable[Customer], policies: PolicySet, today: date) -> dict[str, str]:
    """Each customer's arm of the test in force (customers not under test are left out)."""
    found: dict[str, str] = {}
    for customer in customers:
        arm = policies.arm_of(customer, policies.segment_for(customer, today))
        if arm is not None:
            found[customer.customer_id] = arm
    return found
