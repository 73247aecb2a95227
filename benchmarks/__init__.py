"""Benchmarks run by hand; they are not tests.

``python -m benchmarks`` (or ``python benchmarks/run.py``) runs them all and writes
benchmarks/results.json; ``python -m benchmarks.<name>`` still runs the older single ones.
This package holds what every benchmark reports: `Figure`s (each number with the baseline
measured in the same run and its aim), grouped in a `BenchmarkResult`, and how they print.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# Run from a plain checkout without installing the package, as bot.py does.
for _path in (ROOT / "src", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured number, the baseline measured with it in the same run, and its aim.

    `met` is None when the figure has no aim (it is reported for context only).
    """

    name: str
    value: float
    unit: str
    baseline: str  # what the baseline is
    baseline_value: float | None
    aim: str = ""  # the target in words, e.g. "≤ 1.5 × echo + 5 ms"
    met: bool | None = None


@dataclass(frozen=True, slots=True)
class BenchmarkResult:
    """Everything one benchmark measured, ready to print and to store as JSON."""

    name: str
    title: str
    figures: tuple[Figure, ...]
    seconds: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at start and end
    notes: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Return the result as plain JSON values."""
        return {
            "name": self.name,
            "title": self.title,
            "seconds": round(self.seconds, 2),
            "load_1min": list(self.load),
            "figures": [
                {
                    "name": f.name,
                    "value": _rounded(f.value),
                    "unit": f.unit,
                    "baseline": f.baseline,
                    "baseline_value": _rounded(f.baseline_value),
                    "aim": f.aim,
                    "met": f.met,
                }
                for f in self.figures
            ],
            "notes": list(self.notes),
            "details": self.details,
        }


def _rounded(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    return round(value, 4)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the `fraction` quantile (0..1) of `values`, interpolating between ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def load_average() -> float:
    """Return the 1-minute load average (other engineers share this machine)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return math.nan


def _number(value: float | None, unit: str) -> str:
    if value is None or math.isnan(value):
        return "—"
    if unit in {"", "×"} and float(value).is_integer():
        return f"{int(value):,} {unit}".rstrip()
    if unit in {"ms", "s", "MB"} or abs(value) < 100:
        text = f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    else:
        text = f"{value:,.0f}"
    return f"{text} {unit}".rstrip()


def format_result(result: BenchmarkResult) -> str:
    """Render one benchmark's figures as a plain-text table."""
    rows = [("figure", "value", "baseline", "baseline value", "aim", "met")]
    for f in result.figures:
        met = "—" if f.met is None else ("yes" if f.met else "NO")
        rows.append(
            (
                f.name,
                _number(f.value, f.unit),
                f.baseline,
                _number(f.baseline_value, f.unit),
                f.aim or "—",
                met,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        f"== {result.title} ({result.seconds:.1f} s, load {result.load[0]:.2f} → "
        f"{result.load[1]:.2f})"
    ]
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    lines.extend(f"  note: {note}" for note in result.notes)
    return "\n".join(lines)
