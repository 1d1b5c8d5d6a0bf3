"""Advice as CDS Hooks 2.0 cards (section 1.6): the wire shape, fresh uuids, no empty values."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cards import MAX_DETAIL, Moment
from cds_service.config import SnoozeSettings
from cds_service.protocol import card_json
from cds_service.protocol.response_schemas import CardsResponseSchema
from cds_service.snooze import footer
from tests.cards.chart import (
    F19_WITHDRAWAL,
    OUD,
    OXYCODONE,
    ago,
    condition,
    cows,
    evaluate,
    kratom_note_obs,
    med_request,
    patient,
)

FULL = [patient(), med_request(OXYCODONE), condition(F19_WITHDRAWAL, recorded=ago(hours=5)), cows(14),
        kratom_note_obs()]
BASES = [[patient(), condition(OUD)], FULL, [patient(), med_request(OXYCODONE), cows(26, hours=3)],
         [patient(), kratom_note_obs(), cows(9)]]


def walk(value):
    yield value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        yield from walk(child)


def test_cards_follow_the_card_contract():
    cards = [card_json.card(advice) for advice in evaluate(*FULL)]
    json.dumps(cards)
    CardsResponseSchema().load({"cards": cards})  # raises on any 2.0 model violation
    for card in cards:
        assert set(card) >= {"uuid", "summary", "detail", "indicator", "source", "overrideReasons"}
        assert ("selectionBehavior" in card) == ("suggestions" in card)
        assert "systemActions" not in card
        assert card["source"]["topic"]["system"] == card_json.TOPIC_SYSTEM
        assert card["source"]["topic"]["code"] == card_json.topic_of(card) and card["source"]["topic"]["display"]
        assert card["selectionBehavior"] == "at-most-one"
        assert all(r["system"] == card_json.OVERRIDE_REASON_SYSTEM and r["display"] for r in card["overrideReasons"])
        assert all(link["type"] == "absolute" for link in card.get("links", ()))
        for suggestion in card.get("suggestions", ()):
            assert suggestion["uuid"] and suggestion["isRecommended"] is True and suggestion["label"]
            assert all(a["type"] == "create" and a["description"] and a["resource"] for a in suggestion["actions"])


@pytest.mark.parametrize("base", range(len(BASES)))
@pytest.mark.parametrize("moment", [Moment.CHART, Moment.DISCHARGE])
def test_the_wire_body_is_what_the_response_schema_would_dump(base, moment):
    """The hook answers with card_json.response, not a schema dump: the cards must already be in
    the schema's shape, or a field the 2.0 model lacks would leave unnoticed."""
    def app_link(advice, card_uuid):
        return [{"label": "Open the COWS form", "url": "https://cds.example.org/apps/cows/", "type": "smart",
                 "appContext": card_uuid}] if advice.app else []
    body = card_json.response(card_json.cards(evaluate(*BASES[base], moment=moment), app_link))
    assert body["cards"]
    assert CardsResponseSchema().dump(body) == body
    CardsResponseSchema().load(body)  # raises on any 2.0 model violation


def test_uuids_are_fresh():
    advice = evaluate(*FULL)
    cards = [card_json.card(a) for a in advice] + [card_json.card(a) for a in advice]
    ids = [c["uuid"] for c in cards] + [s["uuid"] for c in cards for s in c.get("suggestions", ())]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("room", [(True, True), (False, True), (False, False)], ids=["first", "second", "none"])
def test_the_line_on_dismissing_goes_once_on_the_first_card_with_room_for_it(room):
    """The service's own line, placed by the service: never cutting a detail past MAX_DETAIL."""
    line = footer(SnoozeSettings())
    first, second = evaluate(*FULL)[:2]
    full = "x" * (MAX_DETAIL - len(line) - 1)  # one character too many for the line to follow it
    advised = [dataclasses.replace(advice, detail="Evidence:\n- a line" if fits else full)
               for advice, fits in zip((first, second), room, strict=True)]
    details = [card.wire["detail"] for card in card_json.cards(advised, snooze=SnoozeSettings())]
    assert [detail.endswith("\n\n" + line) for detail in details] == (
        [True, False] if room[0] else [False, True] if room[1] else [False, False])
    assert all(len(detail) <= MAX_DETAIL for detail in details)


def test_a_shown_card_carries_the_uuids_of_its_wire_form():
    for card in card_json.cards(evaluate(*FULL)):
        assert card.uuid == card.wire["uuid"] and card.topic == card.wire["source"]["topic"]["code"]
        assert card.suggestion_uuids == tuple(s["uuid"] for s in card.wire.get("suggestions", ()))
        assert card.override_reasons == tuple((r["system"], r["code"]) for r in card.wire["overrideReasons"])


def test_topic_of_other_things():
    assert card_json.topic_of({}) == ""
    assert card_json.topic_of({"source": {"topic": {"system": "x", "code": "y"}}}) == ""
    assert card_json.topic_of({"source": "nonsense"}) == ""


@settings(max_examples=60, deadline=None)
@given(base=st.sampled_from(range(len(BASES))),
       user=st.one_of(st.none(), st.just(""), st.just("Practitioner/doc-1"), st.just("Patient/p")))
def test_cards_carry_no_empty_value_before_the_wire_prune(base, user):
    """Cards are built empty-free; the response schema's prune is a second line, not the only one."""
    for advice in evaluate(*BASES[base], user=user):
        card = card_json.card(advice)
        assert [v for v in walk(card) if v is None or v in ("", [], {})] == [], card


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from(["", "x", "0"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
    max_leaves=12,
)


def _empties(value, path=()):
    if value is None or (not value and isinstance(value, (str, list, dict))):
        yield path
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from _empties(child, (*path, key))


def _scalars(value):
    if isinstance(value, dict):
        return [s for v in value.values() for s in _scalars(v)]
    if isinstance(value, list):
        return [s for v in value for s in _scalars(v)]
    return [value]


@settings(max_examples=300, deadline=None)
@given(value=st.dictionaries(st.sampled_from("abc"), JSON, max_size=3))
def test_prune_leaves_no_empty_value_and_keeps_every_real_one(value):
    pruned = card_json.prune(value)
    assert list(_empties(pruned))[1:] == []  # the top object itself may end up empty
    kept = [s for s in _scalars(value) if s is not None and s != ""]
    # 0 and False are values, not empties; every one of them survives, in order.
    assert [(type(s), s) for s in _scalars(pruned)] == [(type(s), s) for s in kept]
