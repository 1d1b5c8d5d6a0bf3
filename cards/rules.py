"""How a topic's rule is written: facts combined with ``AllOf``, ``AnyOf`` and ``Not``.

A rule names facts produced by ``cards.evidence``; ``holds`` is the only branch. ``names`` lists
the facts an expression reads, so a topic can refuse, at import, a rule that names a fact no
finder produces (a typo would otherwise read as "false" and switch a card off in silence).
"""

from __future__ import annotations

from collections.abc import Iterator
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


def names(expr: Expr) -> Iterator[str]:
    """Every fact name an expression reads."""
    if isinstance(expr, str):
        yield expr
    elif isinstance(expr, Not):
        yield from names(expr.part)
    else:
        for part in expr.parts:
            yield from names(part)
