"""Predicted pay dates measured as ``arcollect predict evaluate`` measures them: on the SAP extract at three
split days inside 2018 and on the IBM histories at three inside 2013, the model's mean absolute error
against the due date plus the customer's average days late (the goal: at most 0.8 of it), the 80%
interval's coverage (the goal: 75% to 85%), the AUC for "paid more than 30 days late", and the raw MAEs.

The files are read through ingest's mappings (``arcollect_cli.predict.invoices_from_files``), each once;
every split trains only on what was known before it. The splits were fixed before the figures were read
(docs/predictions.md: the model was developed on SAP splits in February and March 2018).
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from datetime import date
from pathlib import Path

from arcollect.predictions import evaluate
from arcollect_cli.predict import invoices_from_files
from benchmarks.datasets import MAPPINGS, datasets
from benchmarks.report import bench

SPLITS = {
    "sap": ("2018-04-01", "2018-07-01", "2018-10-01"),
    "ibm": ("2013-04-01", "2013-07-01", "2013-10-01"),
}
TARGET_RATIO = 0.8
COVERAGE = "0.75-0.85"


def run() -> None:
    folder = datasets()
    if folder is None:
        print("# predict_eval: the shared datasets are not here (set ARCOLLECT_DATASETS)", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as scratch:
        extract = Path(scratch) / "sap-ar-extract.csv"
        with zipfile.ZipFile(folder / "sap-ar-extract.zip") as archive:
            extract.write_bytes(archive.read("training_data.csv"))
        sources = {
            "sap": invoices_from_files([extract], str(MAPPINGS / "sap-ar-extract.yaml"))[0],
            "ibm": invoices_from_files(
                [folder / "ibm-late-payment-histories.csv"], str(MAPPINGS / "ibm-late-payments.yaml")
            )[0],
        }
    for name, invoices in sources.items():
        for split in SPLITS[name]:
            result = evaluate(invoices, date.fromisoformat(split))
            tag = f"predict_{name}_{split.replace('-', '')}"
            ratio = result.mae_model / result.mae_due_plus_customer_average
            bench(f"{tag}_mae_vs_customer_average", ratio, "x", f"<={TARGET_RATIO}")
            bench(f"{tag}_interval_coverage_80", result.interval_coverage_80, "", COVERAGE)
            if result.auc_30_days_late is not None:
                bench(f"{tag}_auc_30_days_late", result.auc_30_days_late, "", "info")
            bench(f"{tag}_mae_model", result.mae_model, "days", "info")
            bench(f"{tag}_mae_due_date", result.mae_due_date, "days", "info")
            bench(
                f"{tag}_mae_due_plus_customer_average", result.mae_due_plus_customer_average, "days", "info"
            )
            bench(f"{tag}_invoices_scored", result.invoices_scored, "invoices", "info")
