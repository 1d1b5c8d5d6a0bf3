"""Small helpers for the figures: medians and percentiles, markdown tables, verdicts."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


def ms(seconds: float) -> float:
    return seconds * 1000.0


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def percentile(xs: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(xs)
    return s[min(len(s), max(1, math.ceil(p / 100 * len(s)))) - 1]


def spread(xs: list[float]) -> dict:
    """Median, p10, p90, min and max of a list of figures."""
    return {"median": median(xs), "p10": percentile(xs, 10), "p90": percentile(xs, 90),
            "min": min(xs), "max": max(xs)}


def table(headers: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """A markdown table; `align` is one character per column, "l" or "r" (default: all right)."""
    align = align or "r" * len(headers)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [headers, rule, *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


@dataclass(frozen=True)
class Target:
    value: float
    higher_is_better: bool = False

    def text(self) -> str:
        return f"{'>=' if self.higher_is_better else '<='} {self.value:g}x"

    def met(self, figure: float) -> bool:
        return figure >= self.value if self.higher_is_better else figure <= self.value


def verdict(figure: float | None, target: Target | None, busy: bool) -> str:
    """"met", "missed", "NO VERDICT" (machine busy), or "-" when there is no target or no figure."""
    if target is None or figure is None:
        return "-"
    if busy:
        return "NO VERDICT"
    return "met" if target.met(figure) else "missed"
