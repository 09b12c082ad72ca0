"""A customer's 360 view as a JSON document (profile, invoices, payments, timeline, the sweep's decisions
with their reasons, tasks)."""

from __future__ import annotations

import dataclasses
from typing import Any

from arcollect.decisions import decisions_of
from arcollect.store.plan_book import PlanBook
from arcollect.store.repositories import Activities, Customers, Invoices, Payments, Tasks


def customer_360(customer_id: str) -> dict[str, Any] | None:
    customer = Customers().get(customer_id)
    if customer is None:
        return None
    invoices = Invoices().for_customer(customer_id)
    timeline = Activities().timeline(customer_id)
    return {
        "customer": dataclasses.asdict(customer),
        "invoices": [dataclasses.asdict(i) for i in invoices],
        "open_invoices": sum(1 for i in invoices if i.status == "open"),
        "payments": [dataclasses.asdict(p) for p in Payments().for_customer(customer_id)],
        "timeline": [dataclasses.asdict(a) for a in timeline],
        # Why each reminder went or did not, tick by tick (the sweep's decisions, newest first).
        "dunning_decisions": [
            {
                "at": activity.at.isoformat(),
                "policy": activity.detail.get("policy"),
                "policy_revision": activity.detail.get("policy_revision"),
                **dataclasses.asdict(decision),
            }
            for activity in timeline
            for decision in decisions_of(activity)
        ],
        "tasks": [dataclasses.asdict(t) for t in Tasks().for_customer(customer_id)],
        # Payment plans, oldest first, with their instalments and status (docs/payment-plans.md).
        "payment_plans": [dataclasses.asdict(p) for p in PlanBook().plans(customer_id)],
    }
