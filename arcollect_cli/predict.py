"""``arcollect predict evaluate``: predicted pay dates measured honestly on history files.

The files are read here through ingest's own mappings and checks (no AWS, nothing written). The model is
trained on what was known before the split day (the invoices paid before it, each as of its own invoice
date) and scored on the invoices open at the split that the history shows paid later, beside two
baselines from the same run: the due date, and the due date plus the customer's average days late. With
fewer than ``MIN_TRAINING`` paid invoices known before the split it refuses (exit code 2), as the reports
function trains no model then.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

from arcollect.entities import DropKind, Invoice
from arcollect.predictions import Evaluation, PredictionError, evaluate
from arcollect_cli.history_files import LOCALE_HELP, read_entities, read_mappings, settings_for
from arcollect_cli.output import progress
from arcollect_cli.target import CliError


def invoices_from_files(
    paths: list[Path], mapping: str, locale: str | None = None
) -> tuple[list[Invoice], list[str]]:
    """Every invoice of the files, mapped as ingest maps them (a later row of a document wins), and the
    notes on what was left out."""
    names, texts = read_mappings([mapping])
    settings = settings_for(locale)
    if DropKind.INVOICES not in names:
        raise CliError(f"--mapping {mapping}: an invoices mapping is needed (the history is invoices)")
    notes: list[str] = []
    documents: dict[tuple[str, str], Invoice] = {}
    for path in paths:
        for entity in read_entities(
            path, DropKind.INVOICES, names[DropKind.INVOICES], texts, notes, "--history", settings
        ):
            documents[(entity.customer_id, entity.invoice_number)] = entity
    undated = [
        i for i in documents.values() if not i.is_open and i.paid_date is None and not i.is_credit_note
    ]
    if undated:
        notes.append(
            f"{len(undated)} invoice(s) settled without a paid date: left out, their delay is unknown"
        )
    partly = [i for i in documents.values() if i.is_open and i.paid_date is not None]
    if partly:
        notes.append(
            f"{len(partly)} invoice(s) with a paid date and an open amount left: read as unpaid (the paid "
            "date of a partial payment is not the day the invoice was paid)"
        )
    return [i for i in documents.values() if i.is_open or i.paid_date is not None], notes


def _split(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"--split {value!r}: a day as YYYY-MM-DD") from None


def cmd_evaluate(args: argparse.Namespace) -> int:
    split = _split(args.split)
    invoices, notes = invoices_from_files([Path(p) for p in args.history], args.mapping, args.locale)
    if not args.json:
        progress(f"training on what was known before {split.isoformat()}, scoring the invoices open then")
    try:
        result = evaluate(invoices, split)
    except PredictionError as error:
        # What was left out of the files (or that a file had no rows) may be why: said before the refusal.
        for note in notes:
            progress(f"note: {note}")
        raise CliError(str(error)) from error
    if args.json:
        print(json.dumps(result.document(), indent=2))
    else:
        print(evaluation_text(result, notes))
    return 0


def evaluation_text(result: Evaluation, notes: list[str]) -> str:
    mae = result.document()["mae_days"]
    assert isinstance(mae, dict)
    ratio = (
        result.mae_model / result.mae_due_plus_customer_average
        if result.mae_due_plus_customer_average
        else None
    )
    auc = "n/a (no scored invoice on one side of 30 days late)"
    if result.auc_30_days_late is not None:
        auc = f"{result.auc_30_days_late:.3f}"
    lines = [f"note: {note}" for note in notes] + [
        f"split {result.split.isoformat()}: trained on {result.trained_on} paid "
        f"invoice{'' if result.trained_on == 1 else 's'}, "
        f"scored {result.invoices_scored} open at the split and paid later "
        f"({result.paid_over_30_days_late} of them more than 30 days late; "
        f"{result.fallbacks} with too little customer history)",
        "mean absolute error, days:",
        f"  model                          {mae['model']:.2f}",
        f"  due date                       {mae['due_date']:.2f}",
        f"  due date + customer's average  {mae['due_plus_customer_average']:.2f}",
    ]
    if ratio is not None:
        lines.append(f"  model / (due + average)        {ratio:.3f}")
    lines += [
        f"80% interval coverage: {result.interval_coverage_80:.1%}",
        f"AUC, paid more than 30 days late: {auc}",
    ]
    return "\n".join(lines)


def register(commands: Any) -> None:
    predict = commands.add_parser("predict", help="predicted pay dates").add_subparsers(
        dest="predict", required=True
    )
    evaluation = predict.add_parser(
        "evaluate",
        help="train on history before a split day, score the invoices open then (local files, no AWS)",
    )
    evaluation.add_argument("--history", nargs="+", required=True, metavar="FILE", help="ERP invoice files")
    evaluation.add_argument(
        "--mapping", required=True, help="the invoices mapping: a preset's name or a mapping YAML file"
    )
    evaluation.add_argument("--split", required=True, help="the split day, YYYY-MM-DD")
    evaluation.add_argument("--locale", help=LOCALE_HELP)
    evaluation.add_argument("--json", action="store_true", help="machine-readable output")
    evaluation.set_defaults(func=cmd_evaluate)
