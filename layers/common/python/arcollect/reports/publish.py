"""One report run: read the table, compute the figures as of a day, write every file to the day's
folder and ``latest/``, and (weekly) email the managers where to find it.

Each run also trains the pay-date model as of the day and scores every open invoice
(``reports/predicted.py``): the forecast stands on the predictions, the document carries them as a table,
the model goes to ``models/pay-date/`` in the reports bucket, and each open invoice's prediction is kept
in the table for the worklist and the 360 (``keep_predictions``).

A run is a pure function of the table and the as-of day: a repeated or late tick writes the same files
again, and any past day can be run later (``arcollect reports run --as-of``) to backfill history.

The weekly summary goes at most once per as-of day, claimed in the table before SES is called (the
digests' ledger, arcollect/workspace/digest.py): SES certainly not sending it releases the claim and fails
the run, so that the retry sends it once; SES perhaps sending it (a timeout after the request went out),
or a run that died between the claim and SES's answer, leaves the claim in doubt, reported
(``summary_in_doubt``, the ``SummariesInDoubt`` metric, an error in the log) and never resent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from arcollect.contract import ReportCadence
from arcollect.mailing import DailyClaims, Mailer
from arcollect.observability import logger
from arcollect.outlook import MODEL, PayOutlook
from arcollect.policy import PolicySet
from arcollect.reports.engines import AthenaSource, report_figures
from arcollect.reports.kpis import DEFAULT_WINDOW_DAYS, report_keys
from arcollect.reports.outputs import render_report, weekly_summary_email
from arcollect.reports.predicted import (
    MODEL_CONTENT_TYPE,
    PortfolioPredictions,
    predict_portfolio,
    predictions_table,
)
from arcollect.reports.send_slots import send_records
from arcollect.send_times import SendRecord, SendTimes
from arcollect.store.mail import MailRejected, SendNotAccepted, without_addresses
from arcollect.store.reports import ReportData


class ReportFiles(Protocol):
    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str) -> None: ...


class PredictionKeeper(Protocol):
    """Where each open invoice's prediction is kept for the worklist and the 360 (store/predictions.py)."""

    def keep(self, outlooks: Iterable[PayOutlook], stale: Iterable[tuple[str, str]] = ()) -> int: ...


class SendSlotKeeper(Protocol):
    """Where each customer's send-slot record is kept for the sweep (store/send_slots.py)."""

    def keep_send_slots(self, records: Mapping[str, SendRecord], as_of: date) -> int: ...


@dataclass
class ReportRun:
    as_of: date
    cadence: str
    written: list[str] = field(default_factory=list)
    emailed: list[str] = field(default_factory=list)
    # The managers (their ``team`` keys) whose summary SES may have sent: never resent, for a person.
    summary_in_doubt: list[str] = field(default_factory=list)
    # What the predictions stood on (``model`` or ``customer_average``), how many open invoices were
    # scored, and how many predictions went to the table (0: a backfill, newer ones are kept).
    predictions_basis: str = ""
    predicted: int = 0
    predictions_kept: int = 0
    # Customers whose send-slot record went to the table (0: the policy does not learn send times).
    send_slots_kept: int = 0
    # The engine that computed the figures (reports/engines.py): python, duckdb or athena.
    engine: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "cadence": self.cadence,
            "written": self.written,
            "emailed": self.emailed,
            "summary_in_doubt": self.summary_in_doubt,
            "predictions": {
                "basis": self.predictions_basis,
                "invoices": self.predicted,
                "kept": self.predictions_kept,
            },
            "send_slots_kept": self.send_slots_kept,
            "engine": self.engine,
        }


def as_of_for(cadence: str, scheduled_day: date) -> date:
    """The day a scheduled run reports on: the monthly run covers the month that just ended."""
    if cadence == ReportCadence.MONTHLY:
        return scheduled_day.replace(day=1) - timedelta(days=1)
    return scheduled_day


def run_report(
    *,
    as_of: date,
    cadence: str,
    data: ReportData,
    policies: PolicySet,
    files: ReportFiles,
    bucket: str,
    now: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
    mailer: Mailer | None = None,
    sender: str | None = None,
    ledger: DailyClaims | None = None,
    console_url: str | None = None,
    keeper: PredictionKeeper | None = None,
    slots: SendSlotKeeper | None = None,
    engine: str | None = None,
    athena: AthenaSource | None = None,
) -> ReportRun:
    run = ReportRun(as_of, cadence)
    # The pay-date model trained as of the day, every open invoice scored (too little history: the
    # customer-average rule, and the forecast keeps its own rule).
    predictions = predict_portfolio(data, as_of)
    run.predictions_basis, run.predicted = predictions.basis, len(predictions.outlooks)
    # The figures by the engine the reportsEngine setting names (reports/engines.py): the same document.
    with report_figures(engine, data, athena) as figures:
        run.engine = figures.engine
        document = figures.kpis(
            as_of=as_of,
            window_days=window_days,
            segment_of=lambda customer: policies.segment_for(customer, as_of).name,
            outlooks=predictions.by_invoice() if predictions.basis == MODEL else None,
            # Under the rule, the predictions' note says what it is and why, once.
            forecast_note=None if predictions.basis == MODEL else predictions.note,
        )
        document["predictions"] = predictions_table(predictions, figures.open_amounts(as_of))
        document["activity"] = figures.activity(as_of=as_of, window_days=window_days)
    # Deductions by reason and age, from the dispute records, beside whichever engine made the KPIs.
    from arcollect.reports.deductions import deduction_figures

    deductions = deduction_figures(data.disputes, data.invoices, as_of=as_of, window_days=window_days)
    if deductions["open"] or deductions["resolved"]:
        document["deductions"] = deductions
    # Credit holds and agency placements: the states the team decided, as the table holds them today.
    from arcollect.reports.credit_control import credit_control_figures

    held = credit_control_figures(data.customers, data.invoices)
    if held["customers_on_hold"] or held["with_agency"]:
        document["credit_control"] = held
    # Payment plans by status, what is open under them, the instalments due soon, the kept rate.
    from arcollect.reports.plans import has_plans, plan_figures

    planned = plan_figures(
        data.plans, data.invoices, data.payments, as_of=as_of, window_days=window_days,
        grace_days=policies.settings.promise_grace_days,
    )  # fmt: skip
    if has_plans(planned):
        document["payment_plans"] = planned
    if policies.challenger is not None:
        # A champion/challenger test in force: its arms compared (only then is the comparison imported).
        from arcollect.reports.experiment import compare_arms

        document["experiment"] = compare_arms(data, policies, as_of=as_of, window_days=window_days)
    for name, (body, content_type) in render_report(document).items():
        for key in report_keys(as_of, name):
            files.put_bytes(bucket, key, body, content_type)
            run.written.append(key)
    for key, body in predictions.model_files().items():
        files.put_bytes(bucket, key, body, MODEL_CONTENT_TYPE)
        run.written.append(key)
    if keeper is not None:
        run.predictions_kept = keep_predictions(keeper, predictions, data.predictions)
    if slots is not None:
        run.send_slots_kept = keep_send_slots(slots, data, policies, as_of)
    if cadence == ReportCadence.WEEKLY and mailer is not None and sender:
        _email_managers(run, document, policies, mailer, sender, ledger, bucket, now, console_url)
    return run


def keep_predictions(
    keeper: PredictionKeeper, predictions: PortfolioPredictions, stored: list[PayOutlook]
) -> int:
    """The run's predictions to the table, each open invoice's replacing its earlier one, and those of
    invoices no longer open deleted; how many were written. A run as of a day before the newest stored
    prediction's (a backfill) leaves the table alone: the worklist and the 360 keep the newest."""
    if any(outlook.as_of > predictions.as_of for outlook in stored):
        return 0
    scored = {(o.customer_id, o.invoice_number) for o in predictions.outlooks}
    stale = sorted({(o.customer_id, o.invoice_number) for o in stored} - scored)
    return keeper.keep(predictions.outlooks, stale)


def keep_send_slots(slots: SendSlotKeeper, data: ReportData, policies: PolicySet, as_of: date) -> int:
    """Each emailed customer's send-slot record to the table, when the policy learns send times; a run as
    of a day before the newest kept records' (a backfill) leaves them alone."""
    send_times = policies.settings.send_times
    if not isinstance(send_times, SendTimes) or not send_times.learn:
        return 0
    if data.send_slots_as_of is not None and data.send_slots_as_of > as_of.isoformat():
        return 0
    return slots.keep_send_slots(send_records(data, policies, as_of), as_of)


def _email_managers(
    run: ReportRun,
    document: dict[str, object],
    policies: PolicySet,
    mailer: Mailer,
    sender: str,
    ledger: DailyClaims | None,
    bucket: str,
    now: datetime,
    console_url: str | None,
) -> None:
    """The weekly summary to the policy's manager (its ``team`` entry's email), once per as-of day."""
    as_of = run.as_of
    contact = policies.contact(policies.settings.manager)
    if contact is None or not contact.email:
        logger.info("weekly summary not emailed: the policy's manager has no email in `team`")
        return
    # Rendered before the claim: a rendering failure leaves the summary unclaimed for the retry to send.
    where = f"s3://{bucket}/{report_keys(as_of, '')[0]}" + (f" or {console_url}" if console_url else "")
    raw = weekly_summary_email(document, sender=sender, to=contact.email, download_url_hint=where, now=now)
    name = f"weekly-summary:{contact.key}"
    claim = None
    if ledger is not None:
        claim = ledger.claim_digest(as_of, name, now, 0)
        if not claim:
            if ledger.mark_digest_in_doubt(as_of, name):
                # Claimed and never finished: a run died between the claim and SES's answer.
                _in_doubt(run, contact.key, "a run claimed it and did not finish")
            return
    try:
        message_id = mailer.send(
            sender=sender, to=[contact.email], raw=raw, tags={"arcollect-kind": "weekly-summary"}
        )
    except (MailRejected, SendNotAccepted):
        # Certainly not sent: released, and the run fails, so that the retry sends it once.
        if ledger is not None and claim:
            ledger.release_digest(as_of, name, claim)
        raise
    except Exception as error:
        # SendOutcomeUnknown (or anything unforeseen from the mailer): SES may have sent it.
        if ledger is not None and claim:
            ledger.mark_digest_in_doubt(as_of, name, claim)
        _in_doubt(run, contact.key, type(error).__name__)
        return
    run.emailed.append(contact.email)
    if ledger is not None and claim:
        try:
            ledger.complete_digest(as_of, name, claim, message_id, now)
        except Exception:
            # Sent: the claim stays, and a retry reports it in doubt rather than send it again.
            logger.exception("weekly summary sent, its completion not recorded")


def _in_doubt(run: ReportRun, manager: str, why: str) -> None:
    """Report a summary SES may have sent: never resent, so a person checks (no address logged)."""
    run.summary_in_doubt.append(manager)
    logger.error(
        "weekly summary in doubt: SES may have sent it; it is not sent again",
        extra={"manager": without_addresses(manager), "as_of": run.as_of.isoformat(), "why": why},
    )
