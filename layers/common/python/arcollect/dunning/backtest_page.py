"""The backtest's HTML page, from its JSON document: the policies side by side and their weekly load.

Self-contained (inline CSS, SVG, no scripts) and escaped by Jinja's autoescaping, as the KPI page is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).resolve().parent / "templates"

# The figures of the side-by-side table: (label, how to read it from one policy's measures).
_ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Invoices in the window", ("invoices_in_window",)),
    ("Emails", ("emails",)),
    ("Calls", ("calls",)),
    ("Team size", ("team_size",)),
    ("Calls per collector per working day, median", ("calls_per_collector_per_day", "p50")),
    ("Calls per collector per working day, 95th percentile", ("calls_per_collector_per_day", "p95")),
    ("Calls per collector per working day, most", ("calls_per_collector_per_day", "max")),
    ("First touch, days past due, median", ("first_touch_age_days", "p50")),
    ("First touch, days past due, 95th percentile", ("first_touch_age_days", "p95")),
    ("Invoices that reached 30 days past due", ("invoices_30_days_past_due",)),
    ("... of which touched 4 times before", ("invoices_30_days_past_due_with_4_touches",)),
    ("Share with 4 touches before 30 days past due", ("share_with_4_touches_before_30_dpd",)),
    ("Touches per invoice", ("touches_per_invoice",)),
)


@dataclass(frozen=True)
class _Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str
    css: str


@dataclass(frozen=True)
class _Chart:
    title: str
    width: int
    height: int
    baseline: float
    ticks: list[tuple[float, str]]
    bars: list[_Bar]
    labels: list[tuple[float, str]]


def _read(measures: dict[str, Any], path: tuple[str, ...]) -> str:
    value: Any = measures
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        return "n/a"
    if isinstance(value, float) and path[-1].startswith("share"):
        return f"{value:.1%}"
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def _weekly(per_day: list[dict[str, Any]]) -> list[tuple[date, int, int]]:
    weeks: dict[date, list[int]] = {}
    for entry in per_day:
        day = date.fromisoformat(entry["day"])
        monday = day - timedelta(days=day.weekday())
        counts = weeks.setdefault(monday, [0, 0])
        counts[0] += entry["emails"]
        counts[1] += entry["calls"]
    return [(monday, emails, calls) for monday, (emails, calls) in sorted(weeks.items())]


def _chart(title: str, per_day: list[dict[str, Any]]) -> _Chart:
    weeks = _weekly(per_day)
    width, height, left, top, bottom = 960, 260, 60, 12, 36
    plot_w, plot_h = width - left - 8, height - top - bottom
    peak = max([max(e, c) for _, e, c in weeks] + [1])
    slot = plot_w / max(len(weeks), 1)
    bar_w = max(slot / 2 - 1, 0.5)
    baseline = top + plot_h
    bars: list[_Bar] = []
    labels: list[tuple[float, str]] = []
    for index, (monday, emails, calls) in enumerate(weeks):
        x = left + index * slot
        for offset, value, css, what in (
            (0.0, emails, "bar", "emails"),
            (bar_w, calls, "bar second", "calls"),
        ):
            h = plot_h * value / peak
            bars.append(
                _Bar(
                    round(x + offset, 1),
                    round(baseline - h, 1),
                    round(bar_w, 1),
                    round(h, 1),
                    value,
                    f"week of {monday.isoformat()}, {what}",
                    css,
                )
            )
        if index % max(len(weeks) // 8, 1) == 0:
            labels.append((round(x + slot / 2, 1), monday.isoformat()))
    ticks = [(round(baseline - plot_h * share, 1), f"{round(peak * share):,}") for share in (0, 0.5, 1)]
    return _Chart(title, width, height, baseline, ticks, bars, labels)


@cache
def _template() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("backtest.html")


def render(document: dict[str, Any]) -> str:
    """The page of a backtest document (``backtest.document``'s shape, docs/policy-lab.md)."""
    policies: dict[str, dict[str, Any]] = document["policies"]
    names = list(policies)
    rows = [(label, [_read(policies[name], path) for name in names]) for label, path in _ROWS]
    charts = [_chart(name, policies[name]["per_day"]) for name in names]
    never = [", ".join(policies[name]["steps_never_fired"]) or "none" for name in names]
    return str(
        _template().render(
            window=document["window"],
            history=document["history"],
            names=names,
            rows=rows,
            charts=charts,
            never=never,
            estimate=document.get("estimate"),
        )
    )
