"""The reliability figures: a pytest plugin, loaded with ``-p`` (pyproject's addopts) so that the xdist
controller, which collects no tests, also has the hooks that print them.

Each reliability test measures figures and prints them, like the benchmarks, as
``RELIABILITY <name> <value> <unit> target=<target>``, then fails if a target is missed.

``make test`` runs the short version (CI); ``make reliability`` the full one (``RELIABILITY_SCALE=full``).
Under pytest-xdist the workers hand their figures to the controller, which prints them all at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

FULL = os.environ.get("RELIABILITY_SCALE", "short") == "full"
_FIGURES_KEY = "reliability_figures"


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: str  # "0", "<=0", ">=10000": what the value must meet

    def line(self) -> str:
        value = int(self.value) if float(self.value).is_integer() else round(self.value, 4)
        return f"RELIABILITY {self.name} {value} {self.unit} target={self.target}"

    @property
    def met(self) -> bool:
        target = self.target
        if target.startswith(">="):
            return self.value >= float(target[2:])
        if target.startswith("<="):
            return self.value <= float(target[2:])
        return self.value == float(target)


_figures: list[Figure] = []


def scale(short: int, full: int) -> int:
    """How many of something this run exercises."""
    return full if FULL else short


class Figures:
    """What a test records; ``check`` fails the test when a target is missed (after recording it)."""

    def record(self, name: str, value: float, unit: str, target: str) -> Figure:
        figure = Figure(name, float(value), unit, target)
        _figures.append(figure)
        return figure

    def check(self, name: str, value: float, unit: str, target: str, why: str = "") -> None:
        figure = self.record(name, value, unit, target)
        assert figure.met, f"{figure.line()} missed its target{': ' + why if why else ''}"


@pytest.fixture
def figures() -> Iterator[Figures]:
    yield Figures()


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller prints
        workeroutput[_FIGURES_KEY] = [f.__dict__ for f in _figures]


def pytest_testnodedown(node: Any, error: Any) -> None:
    for figure in getattr(node, "workeroutput", {}).get(_FIGURES_KEY, []):
        _figures.append(Figure(**figure))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _figures:
        return
    terminalreporter.section(f"reliability ({'full' if FULL else 'short'})")
    for figure in sorted(_figures, key=lambda f: f.name):
        terminalreporter.write_line(figure.line() + ("" if figure.met else "  MISSED"))


__all__ = ["FULL", "Figures", "figures", "scale"]
