"""The report run's predictions (issue 19): the pay-date model trained on the portfolio's own history as
of the report's day, every open invoice scored, the model kept as a versioned artefact.

``predict_portfolio(data, as_of)`` returns a ``PortfolioPredictions``: one ``PayOutlook`` per open invoice
(what the forecast, the predictions table and the table's per-invoice items are made of), the trained
model's document (``Model.to_document()``, written to ``models/pay-date/<as_of>.json`` and ``latest.json``
in the reports bucket), and the basis it stands on.

With too little history (fewer than ``MIN_TRAINING`` invoices paid on or before the as-of day, or
nothing to learn from) no model is trained: each open invoice is expected on its due date plus its
customer's mean days late (the portfolio's for a customer with none: the customer-average rule), never
before the next day (a factor of its own when that moves it), and the document says so.

An invoice the ERP flags as disputed (``Invoice.erp_disputed``) counts as an open dispute, as one
recorded here does: the run predicts with the table as it stands, and ``predict`` reads no invoice's own
flag (``arcollect predict evaluate`` must not: in a history file the flag is the final state). The flag
has no day of its own, so it counts from the day of the file that last changed the invoice
(``source_as_of``): a run as of an earlier day (a backfill) does not know it.

The run is a pure function of the table and the day, like the rest of the report: the same table gives
the same predictions and the same artefact bytes.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from arcollect.contract import ReportPrefix
from arcollect.entities import Allocation, Dispute, Invoice, Payment
from arcollect.outlook import CUSTOMER_AVERAGE, MODEL, OutlookFactor, PayOutlook, kept_days
from arcollect.predictions import (
    ERP_DISPUTE,
    MIN_TRAINING,
    Prediction,
    PredictionError,
    known_by,
    paid_known,
    predict,
    settled,
    train,
)
from arcollect.store.reports import ReportData

MODEL_CONTENT_TYPE = "application/json"
# What the customer-average rule is, said once wherever the basis is written (the predictions table's
# note, the forecast's).
RULE = "each open invoice is expected on its due date plus its customer's average days late"


@dataclass
class PortfolioPredictions:
    as_of: date
    basis: str  # MODEL or CUSTOMER_AVERAGE
    note: str  # what the basis is, in words (and, under the rule, why)
    outlooks: list[PayOutlook] = field(default_factory=list)
    model: dict[str, object] | None = None  # Model.to_document(); None under the rule
    examples: int = 0  # the paid invoices the model learned from

    def by_invoice(self) -> dict[tuple[str, str], PayOutlook]:
        return {(o.customer_id, o.invoice_number): o for o in self.outlooks}

    def model_files(self) -> dict[str, bytes]:
        """The artefact's keys in the reports bucket and its bytes (none without a model)."""
        if self.model is None:
            return {}
        body = (json.dumps(self.model, indent=2, sort_keys=True) + "\n").encode()
        return {key: body for key in model_keys(self.as_of)}


def model_keys(as_of: date) -> tuple[str, str]:
    """Where the model trained as of ``as_of`` is kept: its dated file and ``latest.json``."""
    return (
        f"{ReportPrefix.PAY_DATE_MODELS}{as_of.isoformat()}.json",
        f"{ReportPrefix.PAY_DATE_MODELS}latest.json",
    )


def with_paid_dates(invoices: list[Invoice], payments: list[Payment]) -> list[Invoice]:
    """The invoices, each closed one without a paid day given the day its applied payments settled it
    (what the model learns from is the day an invoice was paid), and each one still open without the
    paid day of a partial payment (``settled``: it is predicted, not learned from)."""
    applied: dict[tuple[str, str], list[tuple[date, Decimal]]] = defaultdict(list)
    for payment in payments:
        applications = payment.applications
        if not applications and payment.applied_to is not None:
            applications = (Allocation(payment.applied_to, payment.amount),)
        for application in applications:
            applied[(payment.customer_id, application.invoice_number)].append(
                (payment.payment_date, application.amount)
            )
    out = []
    for invoice in invoices:
        if invoice.paid_date is None and not invoice.is_open and not invoice.is_credit_note:
            total = Decimal(0)
            for day, amount in sorted(applied.get((invoice.customer_id, invoice.invoice_number), [])):
                total += amount
                if total >= invoice.amount:
                    invoice = replace(invoice, paid_date=day)
                    break
        out.append(invoice)
    return settled(out)


def predict_portfolio(data: ReportData, as_of: date) -> PortfolioPredictions:
    """Train as of ``as_of`` and score every invoice open at its end (or, with too little history, the
    customer-average rule)."""
    # In one order whatever order the scan returned them in: the same table gives the same bytes.
    ordered = sorted(data.invoices, key=lambda i: (i.customer_id, i.invoice_number, i.document_type))
    invoices = with_paid_dates(ordered, data.payments)
    paid = paid_known(invoices, as_of)
    if paid < MIN_TRAINING:
        return _customer_average(
            invoices,
            as_of,
            f"too little history to train the pay-date model ({paid} paid invoice{'' if paid == 1 else 's'}"
            f" on or before {as_of.isoformat()}, {MIN_TRAINING} needed): {RULE}",
        )
    try:
        model = train(invoices, as_of)
    except PredictionError as error:
        return _customer_average(invoices, as_of, f"{error}, so {RULE}")
    # (the newest promise of an invoice counts: in the order they were made)
    promises = sorted(data.promises, key=lambda p: (p.created_at, p.customer_id, p.promise_id))
    # The disputes recorded here first: an invoice disputed both ways is said to be disputed here.
    disputes = [*data.disputes, *erp_disputes(invoices)]
    predictions = predict(model, invoices, as_of, promises=promises, disputes=disputes)
    outlooks = [_outlook(p) for p in predictions]
    return PortfolioPredictions(
        as_of=as_of,
        basis=MODEL,
        note=(
            f"the pay-date model trained as of {as_of.isoformat()} on {model.examples} paid invoices "
            f"(models/pay-date/{as_of.isoformat()}.json)"
        ),
        outlooks=_ordered(outlooks),
        model=model.to_document(),
        examples=model.examples,
    )


def erp_disputes(invoices: list[Invoice]) -> list[Dispute]:
    """The invoices the ERP flags as disputed, as open disputes (``ERP_DISPUTE``), each from the day of
    the file that last changed the invoice (``source_as_of``; without one, always: nothing says when)."""
    since = datetime.combine(date.min, time(), UTC)
    return [
        Dispute(
            customer_id=i.customer_id,
            dispute_id=f"{ERP_DISPUTE}:{i.invoice_number}",
            invoice_number=i.invoice_number,
            reason="",
            comment="",
            created_at=i.source_as_of or since,
            opened_by=ERP_DISPUTE,
        )
        for i in invoices
        if i.erp_disputed and not i.is_credit_note
    ]


def _half_up(days: float) -> int:
    return int(Decimal(str(days)).to_integral_value(rounding=ROUND_HALF_UP))


def _outlook(prediction: Prediction) -> PayOutlook:
    return PayOutlook(
        customer_id=prediction.customer_id,
        invoice_number=prediction.invoice_number,
        as_of=prediction.as_of,
        due_date=prediction.due_date,
        pay_date=prediction.pay_date,
        low=prediction.low,
        high=prediction.high,
        probability_over_30_days_late=Decimal(str(prediction.probability_over_30_days_late)),
        factors=tuple(OutlookFactor(f.name, kept_days(f.days), f.sentence) for f in prediction.factors),
        basis=MODEL,
        fallback=prediction.fallback,
    )


def _customer_average(invoices: list[Invoice], as_of: date, note: str) -> PortfolioPredictions:
    """Due date plus the customer's mean days late over what was issued and paid on or before ``as_of``
    (``known_by``, the model's rule; early counts as 0; the portfolio's mean for a customer with none, 0
    with no history at all), never before the next day: the cash forecast's own rule
    (``reports/forecast.py``). Its factors add up to the days late: the whole days the average adds
    (``customer_average``), and, when the next day comes later, the days that moves it (``still_open``)."""
    late: dict[str, list[int]] = defaultdict(list)
    for i in invoices:
        if i.paid_date is not None and known_by(i, as_of) and not i.is_credit_note:
            late[i.customer_id].append(max(0, (i.paid_date - i.due_date).days))  # early counts as 0
    everyone = [d for days in late.values() for d in days]
    portfolio = statistics.fmean(everyone) if everyone else 0.0
    earliest = as_of + timedelta(days=1)
    outlooks = []
    for invoice in invoices:
        if invoice.is_credit_note or invoice.invoice_date > as_of:
            continue
        if invoice.paid_date is not None and invoice.paid_date <= as_of:
            continue
        if invoice.paid_date is None and not invoice.is_open and (invoice.closed_on or as_of) <= as_of:
            continue
        own = late.get(invoice.customer_id)
        days = statistics.fmean(own) if own else portfolio
        added = _half_up(days)
        day = max(invoice.due_date + timedelta(days=added), earliest)
        text = (
            f"customer paid its {len(own)} invoice{'' if len(own) == 1 else 's'} "
            f"{_average(days)} late on average"
            if own
            else "no paid invoice of this customer yet: the portfolio's average delay stands in"
        )
        factors = [OutlookFactor(CUSTOMER_AVERAGE, kept_days(added), text + " (the customer-average rule)")]
        moved = (day - invoice.due_date).days - added
        if moved:
            factors.append(
                OutlookFactor(
                    "still_open",
                    kept_days(moved),
                    f"still unpaid at {as_of.isoformat()}: not expected before the next day",
                )
            )
        factors.sort(key=lambda f: -abs(f.days))  # largest effect first, as the model's
        outlooks.append(
            PayOutlook(
                customer_id=invoice.customer_id,
                invoice_number=invoice.invoice_number,
                as_of=as_of,
                due_date=invoice.due_date,
                pay_date=day,
                low=day,
                high=day,
                probability_over_30_days_late=None,
                factors=tuple(factors),
                basis=CUSTOMER_AVERAGE,
                fallback=True,
            )
        )
    return PortfolioPredictions(as_of=as_of, basis=CUSTOMER_AVERAGE, note=note, outlooks=_ordered(outlooks))


def _average(days: float) -> str:
    """The customer's mean days late in words: ``12 days``, ``10.5 days``."""
    tenth = kept_days(days).normalize()
    return f"{tenth:f} day{'' if tenth == 1 else 's'}"


def _ordered(outlooks: list[PayOutlook]) -> list[PayOutlook]:
    return sorted(outlooks, key=lambda o: (o.customer_id, o.invoice_number))


def predictions_table(
    predictions: PortfolioPredictions, open_amounts: Mapping[tuple[str, str], tuple[str, Decimal]]
) -> dict[str, Any]:
    """The ``predictions`` section of ``kpis.json``: the basis, the model, and one row per open invoice
    (its currency and open amount from ``open_amounts``, by customer and invoice)."""
    rows = []
    for o in predictions.outlooks:
        currency, amount = open_amounts.get((o.customer_id, o.invoice_number), ("", None))
        rows.append(
            {
                "customer_id": o.customer_id,
                "invoice_number": o.invoice_number,
                "currency": currency,
                "open_amount": None if amount is None else str(amount),
                "due_date": o.due_date.isoformat(),
                "pay_date": o.pay_date.isoformat(),
                "low": o.low.isoformat(),
                "high": o.high.isoformat(),
                "days_late": o.days_late,
                "probability_over_30_days_late": None
                if o.probability_over_30_days_late is None
                else str(o.probability_over_30_days_late),
                "factors": [{"name": f.name, "days": str(f.days), "text": f.text} for f in o.factors],
                "factors_text": o.factors_text(),
                "fallback": o.fallback,
            }
        )
    return {
        "basis": predictions.basis,
        "note": predictions.note,
        "model": None
        if predictions.model is None
        else {
            "version": predictions.model.get("version"),
            "trained_as_of": predictions.as_of.isoformat(),
            "examples": predictions.examples,
            "key": model_keys(predictions.as_of)[0],
        },
        "invoices": rows,
    }
