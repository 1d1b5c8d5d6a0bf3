"""Advice from cards/ as CDS Hooks 2.0 cards: uuids, the topic coding, link types, suggestion
actions, selection behaviour, and no empty value anywhere (2.0 forbids null and empty)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from cards import Advice, Suggestion, compose
from cds_service.config import SnoozeSettings
from cds_service.protocol.dismissal import reason_display

TOPIC_SYSTEM = "urn:withdrawal-cds:card-topic"
OVERRIDE_REASON_SYSTEM = "urn:withdrawal-cds:override-reason"


# The links the service adds to a card (to an app it serves), given the advice and the card's uuid.
ExtraLinks = Callable[[Advice, str], Sequence[dict]]


def cards(advised: Sequence[Advice], extra_links: ExtraLinks | None = None,
          snooze: SnoozeSettings | None = None) -> list[dict[str, Any]]:
    """The cards of one response, worded together (cards.compose: a shared note is shown once).
    With `snooze`, an override reason that hides the card longer or shorter than usual says so."""
    response = []
    for advice in compose(advised):
        card_uuid = str(uuid.uuid4())
        links = extra_links(advice, card_uuid) if extra_links else ()
        response.append(card(advice, card_uuid=card_uuid, links=links, snooze=snooze))
    return response


def response(cards_: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The body of a hook response. Built here rather than dumped through CardsResponseSchema
    (a fifth of a 100-resource call): cards are built in the schema's shape, which
    tests/test_card_json.py holds them to (the dump of every body they build is the body)."""
    return {"cards": [prune(card) for card in cards_]}


def card(advice: Advice, *, card_uuid: str | None = None, links: Sequence[dict] = (),
         snooze: SnoozeSettings | None = None) -> dict[str, Any]:
    """`links` are wire-ready links the service adds (to an app it serves), listed first: they act on
    the card. `card_uuid` lets such a link name its card."""
    card: dict[str, Any] = {
        "uuid": card_uuid or str(uuid.uuid4()),
        "summary": advice.summary,
        "detail": advice.detail,
        "indicator": advice.indicator,
        "source": {
            "label": advice.source.label,
            "url": advice.source.url,
            "topic": {"system": TOPIC_SYSTEM, "code": advice.topic, "display": advice.title},
        },
    }
    if advice.suggestions:
        card["suggestions"] = [suggestion(s) for s in advice.suggestions]
        # One suggestion per card: accepting it settles the card.
        card["selectionBehavior"] = "at-most-one"
    card["overrideReasons"] = [{"system": OVERRIDE_REASON_SYSTEM, "code": reason.code,
                                "display": reason_display(reason.display, reason.code, snooze) if snooze
                                else reason.display}
                               for reason in advice.override_reasons]
    if links or advice.links:
        card["links"] = [*links, *({"label": link.label, "url": link.url, "type": "absolute"} for link in advice.links)]
    return card


def suggestion(offered: Suggestion) -> dict[str, Any]:
    return {
        "label": offered.label,
        "uuid": str(uuid.uuid4()),
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
