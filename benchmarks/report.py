"""The one output format of the benchmarks, so runs can be compared line by line."""

from __future__ import annotations


def bench(name: str, value: float, unit: str, target: str) -> None:
    print(f"BENCH {name} {value:.4g} {unit} target={target}", flush=True)
