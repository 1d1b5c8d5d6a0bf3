"""Advice from cards/ as CDS Hooks 2.0 cards: uuids, the topic coding, link types, suggestion
actions, selection behaviour, and no empty value anywhere (2.0 forbids null and empty)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cards import MAX_DETAIL, Advice, Suggestion, compose
from cds_service.config import SnoozeSettings
from cds_service.snooze import footer, reason_display

TOPIC_SYSTEM = "urn:withdrawal-cds:card-topic"
OVERRIDE_REASON_SYSTEM = "urn:withdrawal-cds:override-reason"


# The links the service adds to a card (to an app it serves), given the advice and the card's uuid.
ExtraLinks = Callable[[Advice, str], Sequence[dict]]


@dataclass(frozen=True)
class ShownCard:
    """One card of a response: the advice it was built from, its wire form, and what the card log
    keeps of it (the uuids and reason codes the EHR may send feedback with), as values."""

    advice: Advice
    wire: dict[str, Any]
    uuid: str
    suggestion_uuids: tuple[str, ...]
    override_reasons: tuple[tuple[str, str], ...]

    @property
    def topic(self) -> str:
        return self.advice.topic


def cards(advised: Sequence[Advice], extra_links: ExtraLinks | None = None,
          snooze: SnoozeSettings | None = None) -> list[ShownCard]:
    """The cards of one response, worded together (cards.compose: a shared note is shown once).
    With `snooze`, the response says once how long dismissing a card hides it, at the end of the
    first card whose detail has room for the line, and an override reason that hides the card
    longer or shorter than usual says so."""
    composed = compose(advised)
    line = footer(snooze) if snooze is not None else ""
    home = next((n for n, advice in enumerate(composed) if len(advice.detail) + 2 + len(line) <= MAX_DETAIL), None)
    shown = []
    for n, advice in enumerate(composed):
        card_uuid = str(uuid.uuid4())
        suggestion_uuids = tuple(str(uuid.uuid4()) for _ in advice.suggestions)
        links = extra_links(advice, card_uuid) if extra_links else ()
        wire = card(advice, card_uuid=card_uuid, suggestion_uuids=suggestion_uuids, links=links, snooze=snooze,
                    footer=line if n == home else "")
        shown.append(ShownCard(advice, prune(wire), card_uuid, suggestion_uuids,
                               tuple((OVERRIDE_REASON_SYSTEM, reason.code) for reason in advice.override_reasons)))
    return shown


def response(shown: Sequence[ShownCard]) -> dict[str, Any]:
    """The body of a hook response. Built here rather than dumped through CardsResponseSchema
    (a fifth of a 100-resource call): cards are built in the schema's shape, which
    tests/test_card_json.py holds them to (the dump of every body they build is the body)."""
    return {"cards": [card.wire for card in shown]}


def card(advice: Advice, *, card_uuid: str | None = None, suggestion_uuids: Sequence[str] = (),
         links: Sequence[dict] = (), snooze: SnoozeSettings | None = None, footer: str = "") -> dict[str, Any]:
    """`links` are wire-ready links the service adds (to an app it serves), listed first: they act on
    the card. `card_uuid` lets such a link name its card. `footer`, the service's own line, ends the
    detail (never passed through the engine)."""
    card: dict[str, Any] = {
        "uuid": card_uuid or str(uuid.uuid4()),
        "summary": advice.summary,
        "detail": f"{advice.detail}\n\n{footer}" if footer else advice.detail,
        "indicator": advice.indicator,
        "source": {
            "label": advice.source.label,
            "url": advice.source.url,
            "topic": {"system": TOPIC_SYSTEM, "code": advice.topic, "display": advice.title},
        },
    }
    if advice.suggestions:
        uuids = suggestion_uuids or [str(uuid.uuid4()) for _ in advice.suggestions]
        card["suggestions"] = [suggestion(s, u) for s, u in zip(advice.suggestions, uuids, strict=True)]
        # One suggestion per card: accepting it settles the card.
        card["selectionBehavior"] = "at-most-one"
    card["overrideReasons"] = [{"system": OVERRIDE_REASON_SYSTEM, "code": reason.code,
                                "display": reason_display(reason.display, reason.code, snooze) if snooze
                                else reason.display}
                               for reason in advice.override_reasons]
    if links or advice.links:
        card["links"] = [*links, *({"label": link.label, "url": link.url, "type": "absolute"} for link in advice.links)]
    return card


def suggestion(offered: Suggestion, suggestion_uuid: str | None = None) -> dict[str, Any]:
    return {
        "label": offered.label,
        "uuid": suggestion_uuid or str(uuid.uuid4()),
        "isRecommended": offered.recommended,
        "actions": [{"type": "create", "description": offered.description, "resource": offered.resource}],
    }


def topic_of(card: dict) -> str:
    """The topic code of a card this service made ('' for anything else)."""
    try:
        topic = card["source"]["topic"]
        return topic["code"] if topic.get("system") == TOPIC_SYSTEM else ""
    except (KeyError, TypeError, AttributeError):
        return ""


_EMPTIABLE = (str, list, dict)


def prune(value: Any) -> Any:
    """Drop None and empty strings, lists and dicts, which CDS Hooks 2.0 forbids (0 and False stay).

    Every response passes through this (`response`), so it is written for speed: one
    pass, no intermediate copies, containers recursed into only.
    """
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                item = prune(item)
            if item is None or (not item and isinstance(item, _EMPTIABLE)):
                continue
            kept[key] = item
        return kept
    if isinstance(value, list):
        kept_items = []
        for item in value:
            if isinstance(item, (dict, list)):
                item = prune(item)
            if item is None or (not item and isinstance(item, _EMPTIABLE)):
                continue
            kept_items.append(item)
        return kept_items
    return value
