"""Run every benchmark and print its figures; compare against baselines measured in the same run."""

from __future__ import annotations

import sys

from benchmarks import (
    aws_cost,
    backtest_sap,
    cold_start,
    dunning_sweep,
    first_request,
    ingest_parse,
    ingest_sap,
    ingest_writes,
    predict_eval,
    reports_sap,
    reports_warehouse,
)


def main() -> int:
    for benchmark in (
        cold_start,
        first_request,
        ingest_parse,
        ingest_writes,
        dunning_sweep,
        ingest_sap,
        reports_sap,
        reports_warehouse,
        backtest_sap,
        predict_eval,
        aws_cost,
    ):
        print(
            f"# {benchmark.__name__}: {(benchmark.__doc__ or '').strip().splitlines()[0]}",
            file=sys.stderr,
            flush=True,
        )
        benchmark.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
