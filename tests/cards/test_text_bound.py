"""Each record reads text with its own bound (clinical.max_text_chars): two records of different
bounds built on one thread, in either order, each read with theirs, and no reader answers by
whichever record was built last (the bound used to be a thread-local each build set)."""

from __future__ import annotations

import pytest

from cards import EngineSettings, Sieve
from cards.fhir_read import concept, medication_concept, note_text, value_text
from cards.record import Record

SHORT, LONG = EngineSettings(max_text_chars=256), EngineSettings(max_text_chars=4096)
# A mention 1,000 characters in: past the short bound, within the long one.
DEEP = "x" * 1000 + " uses kratom daily"


def kratom_deep_in_a_note() -> dict:
    return {"resourceType": "Condition", "id": "c1", "code": {"text": "Hypertension"}, "note": [{"text": DEEP}]}


def oxycodone_deep_in_a_name() -> dict:
    return {"resourceType": "MedicationRequest", "id": "r1", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"text": "x" * 1000 + " oxycodone"}}


@pytest.mark.parametrize("order", [(SHORT, LONG), (LONG, SHORT)], ids=["short first", "long first"])
def test_two_records_built_on_one_thread_each_read_with_their_own_bound(order):
    built = {settings.max_text_chars: Record.build([kratom_deep_in_a_note()], settings=settings)
             for settings in order}
    short, long = built[256], built[4096]
    assert "kratom" not in short.by_tag and "kratom" in long.by_tag
    # Read again after both were built (as the engine reads a draft order): still each its own.
    request = oxycodone_deep_in_a_name()
    assert len(short.medication_of(request)[0].text) == 256
    assert long.medication_of(request)[0].text.endswith("oxycodone")


@pytest.mark.parametrize("last", [SHORT, LONG], ids=["after a short record", "after a long record"])
def test_the_readers_read_as_far_as_they_are_told_whichever_record_was_built_last(last):
    Record.build([kratom_deep_in_a_note()], settings=last)
    code, note = {"text": DEEP, "coding": [{"display": DEEP}]}, {"note": [{"text": DEEP}], "valueString": DEEP}
    for bound in (256, 4096):
        assert len(concept(code, bound).text) == min(bound, len(DEEP) * 2 + 3)
        assert len(concept(DEEP, bound).text) == min(bound, len(DEEP))
        assert len(note_text(note, bound)) == len(value_text(note, bound)) == min(bound, len(DEEP))
        assert len(medication_concept({"code": code}, bound).text) == min(bound, len(DEEP) * 2 + 3)


def test_a_sieve_judges_with_its_own_bound_whatever_was_built_since():
    short, long = Sieve(SHORT), Sieve(LONG)
    Record.build((), settings=LONG)
    assert not short.keeps(kratom_deep_in_a_note())
    Record.build((), settings=SHORT)
    assert long.keeps(kratom_deep_in_a_note())
