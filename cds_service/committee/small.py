"""Small counts are not printed (design section 10): a count from 1 to 4 shows as "<5", and no
figure derived from one (a rate, a point on a chart) is shown either, since it would give the count
back. Zero is printed: it says a topic never fired, which tells nothing about a patient.
"""

from __future__ import annotations

THRESHOLD = 5
SMALL = "<5"
NOTE = ("Counts from 1 to 4 are shown as <5, and rates and chart points computed from them are left out "
        "(shown as -), so no small group of patients can be singled out.")


def is_small(count: int) -> bool:
    return 0 < count < THRESHOLD


def count(n: int) -> str:
    return SMALL if is_small(n) else str(n)


def rate(numerator: int, denominator: int, per: int = 100, digits: int = 1) -> str:
    """numerator per `per` of denominator, or '-' when either is small or the denominator is 0."""
    value = rate_value(numerator, denominator, per)
    return "-" if value is None else f"{value:.{digits}f}"


def rate_value(numerator: int, denominator: int, per: int = 100) -> float | None:
    if denominator == 0 or is_small(numerator) or is_small(denominator):
        return None
    return numerator * per / denominator
