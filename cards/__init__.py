"""withdrawal-cds clinical engine: value sets, record index, evidence, rules and card content.

Pure Python with no web framework; ``cds_service`` calls ``evaluate`` and nothing else is needed.
"""

from __future__ import annotations

from cards.content import OVERRIDE_REASONS, TOPIC_SYSTEM
from cards.content import TOPICS as _TOPIC_DISPLAYS
from cards.engine import EngineSettings, evaluate
from cards.record import warm_up
from cards.settings import Code

TOPICS: tuple[str, ...] = tuple(_TOPIC_DISPLAYS)


def topic_of(card: dict) -> str:
    """The topic code of a card this engine made ('' for anything else)."""
    try:
        topic = card["source"]["topic"]
        return topic["code"] if topic.get("system") == TOPIC_SYSTEM else ""
    except (KeyError, TypeError, AttributeError):
        return ""


__all__ = [
    "Code",
    "EngineSettings",
    "OVERRIDE_REASONS",
    "TOPICS",
    "TOPIC_SYSTEM",
    "evaluate",
    "topic_of",
    "warm_up",
]
