"""The rules of design section 4, as a table.

A rule names the facts (from ``cards.evidence.gather``) that must hold for its card, and how its
indicator is chosen. ``AllOf``, ``AnyOf`` and ``Not`` combine fact names; nothing else branches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from cards.evidence import Facts

Expr = Union[str, "AllOf", "AnyOf", "Not"]


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Expr, ...]

    def __init__(self, *parts: Expr) -> None:
        object.__setattr__(self, "parts", parts)


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Expr, ...]

    def __init__(self, *parts: Expr) -> None:
        object.__setattr__(self, "parts", parts)


@dataclass(frozen=True)
class Not:
    part: Expr


def holds(expr: Expr, facts: Facts) -> bool:
    if isinstance(expr, str):
        return facts[expr]
    if isinstance(expr, AllOf):
        return all(holds(part, facts) for part in expr.parts)
    if isinstance(expr, AnyOf):
        return any(holds(part, facts) for part in expr.parts)
    return not holds(expr.part, facts)


@dataclass(frozen=True)
class Rule:
    topic: str
    fires_when: Expr
    indicator: str
    # (fact, indicator) pairs checked in order; the first that holds overrides ``indicator``.
    escalations: tuple[tuple[str, str], ...] = ()
    # Which evidence the card's detail lists, in order.
    shows: tuple[str, ...] = ()

    def indicator_for(self, facts: Facts) -> str:
        for fact, indicator in self.escalations:
            if facts[fact]:
                return indicator
        return self.indicator


# The patient must be alive and an adult for any card (design section 4).
GATE: Expr = "eligible"

RULES: tuple[Rule, ...] = (
    Rule(
        topic="withdrawal-assessment",
        fires_when=AllOf("use", "withdrawal", Not("cows_recent"), Not("open_cows_order")),
        indicator="warning",
        shows=("opioid_use", "oud", "kratom", "withdrawal"),
    ),
    Rule(
        topic="moud-referral",
        fires_when=AllOf(
            AnyOf("oud", AllOf("use", "withdrawal_condition"), AllOf("use", "cows_moud")),
            Not("on_moud"),
            Not("open_moud_referral"),
            Not("end_of_life"),
        ),
        indicator="warning",
        escalations=(("cows_critical", "critical"),),
        shows=("oud", "opioid_use", "kratom", "withdrawal_condition", "cows_moud"),
    ),
    Rule(
        topic="counseling",
        fires_when=AllOf(
            AnyOf("oud", "kratom", AllOf("opioid_use", "withdrawal")),
            Not("recent_counseling"),
            Not("end_of_life"),
        ),
        indicator="info",
        shows=("oud", "kratom", "opioid_use", "withdrawal"),
    ),
    Rule(
        topic="naloxone",
        fires_when=AllOf(
            AnyOf("oud", AllOf("use", "withdrawal")),
            Not("naloxone_on_hand"),
            Not("end_of_life"),
        ),
        indicator="info",
        shows=("oud", "opioid_use", "kratom", "withdrawal"),
    ),
)


def firing(facts: Facts) -> list[Rule]:
    if not holds(GATE, facts):
        return []
    return [rule for rule in RULES if holds(rule.fires_when, facts)]
