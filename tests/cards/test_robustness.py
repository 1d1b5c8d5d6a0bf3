"""Bad data is skipped and logged (type and a keyed hash of the id, never the id or PHI); the rest still counts."""

from __future__ import annotations

import logging
import re
from datetime import datetime

import pytest

import cards
from cards.record import Record
from tests.cards.chart import (
    COWS_SNOMED,
    METHADONE,
    NOW,
    OUD,
    OXYCODONE,
    ago,
    condition,
    cows,
    evaluate,
    med_request,
    observation,
    patient,
    topics,
)

NAME = "Zebedee"


def test_malformed_cows_is_skipped_logged_without_phi_and_others_count(caplog):
    # A score the rules would read, in a resource that is not valid FHIR (a unit that is not a string).
    bad = observation(COWS_SNOMED, when=ago(hours=2), id="bad-cows")
    bad["valueQuantity"] = {"value": 14, "unit": {"abc": 1}}
    with caplog.at_level(logging.WARNING, logger="cards"):
        found = topics(patient(), condition(OUD), med_request(OXYCODONE), bad, cows(6))
    # The bad COWS (2 h ago) would have silenced the assessment card and raised severity; skipped, it does not.
    assert "withdrawal-assessment" in found and "withdrawal-severity" not in found and "moud-referral" in found
    records = [r for r in caplog.records if r.name == "cards"]
    assert any(re.fullmatch(r"skipped invalid Observation \(id hash [0-9a-f]{16}\): 1 validation error\(s\)",
                            r.getMessage()) for r in records)
    for record in records:
        assert NAME not in record.getMessage() and "abc" not in record.getMessage()
        assert "bad-cows" not in record.getMessage()


def test_a_cows_with_no_usable_score_is_no_cows_and_is_not_validated(monkeypatch):
    """A value the rules cannot read as a score ("abc") is not a COWS: it neither counts nor costs a validation."""
    from cards.record import Record
    validated = []
    original = Record.is_valid
    monkeypatch.setattr(Record, "is_valid", lambda self, r: validated.append(r.get("id")) or original(self, r))
    unreadable = observation(COWS_SNOMED, when=ago(hours=2), id="no-score") | {"valueQuantity": {"value": "abc"}}
    assert topics(patient(), med_request(OXYCODONE), unreadable, cows(6)) == {"withdrawal-assessment", "naloxone"}
    assert "no-score" not in validated


def test_condition_with_string_code_is_skipped_and_logged(caplog):
    bad = condition(OUD, id="bad-cond")
    bad["code"] = "F11.20 opioid dependence"
    with caplog.at_level(logging.WARNING, logger="cards"):
        assert topics(patient(), bad) == set()
        assert topics(patient(), bad, condition(OUD)) == {"moud-referral", "counseling", "naloxone",
                                                          "depression-screen"}
    messages = [r.getMessage() for r in caplog.records if r.name == "cards"]
    assert any(m.startswith("skipped invalid Condition (id hash ") for m in messages)
    # The same resource, the same hash: a log reader can tell one bad resource from many.
    assert len({m for m in messages if "Condition" in m}) == 1
    assert not any(NAME in m or "opioid dependence" in m or "bad-cond" in m for m in messages)


JUNK = [None, 42, "Patient/p1", [], {}, {"resourceType": 7}, {"resourceType": "Observation"},
        {"resourceType": "Condition", "code": {"coding": "x"}},
        {"resourceType": "Observation", "code": {"coding": [None, 3]}},
        # Found by tests/cards/test_sieve.py's hypothesis run: an unhashable system was a TypeError.
        {"resourceType": "Observation", "code": {"coding": [{"system": ["http://loinc.org"], "code": {"x": 1}}]}},
        {"resourceType": "MedicationRequest", "medicationReference": "x"},
        {"resourceType": "MedicationRequest",
         "medicationCodeableConcept": {"coding": [{"system": OXYCODONE[0], "code": OXYCODONE[1]}]}, "status": 5},
        {"resourceType": "Patient", "id": "p1", "birthDate": 1980},
        # v3's medication fields, read before a resource is validated (a keep test of Record.tagged).
        *({"resourceType": kind, "status": "active", "medicationCodeableConcept": {"coding": [
            {"system": METHADONE[0], "code": METHADONE[1]}]}, field: value}
          for kind in ("MedicationRequest", "MedicationDispense", "MedicationAdministration")
          for field, value in (("category", 5), ("category", {"coding": 5}), ("category", [5, None]),
                               ("reasonCode", 5), ("reasonCode", [5]), ("reasonReference", 5),
                               ("reasonReference", ["Condition/c1"]), ("dispenseRequest", 5),
                               ("whenHandedOver", 5), ("effectivePeriod", "x"), ("authoredOn", [1]),
                               ("status", [1]), ("status", {"x": 1}))),
        # Read by a keep test too: a test's status and value before it is validated.
        {"resourceType": "Observation", "status": [1], "code": {"coding": [{"system": "http://loinc.org",
                                                                             "code": "59673-4"}]},
         "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "10828004"}]}},
        {"resourceType": "Observation", "status": "final", "code": {"text": "Fentanyl urine screen"},
         "effectiveDateTime": "2025-05-31T12:00:00Z", "valueCodeableConcept": {"coding": 5}, "interpretation": 5}]


@pytest.mark.parametrize("junk", JUNK, ids=[repr(j)[:40] for j in JUNK])
def test_junk_never_raises_and_never_changes_cards(junk):
    good = [patient(), condition(OUD)]
    assert topics(*good, junk) == topics(*good)


def test_odd_arguments_never_raise():
    inputs = cards.Inputs(patient_id="p1")
    assert cards.evaluate([patient(), condition(OUD)], inputs, now=datetime(2025, 6, 1)) != []  # naive "now"
    assert cards.evaluate(None, inputs, now=NOW) == []
    assert cards.evaluate(iter([patient(), condition(OUD)]), inputs, now=NOW) != []


def test_patient_is_the_one_in_context():
    other = patient(id="p2", birth="2015-01-01")
    assert topics(other, patient(), condition(OUD))
    assert topics(patient(birth="2015-01-01"), patient(id="p2"), condition(OUD)) == set()


def test_only_candidates_are_validated(monkeypatch):
    """10,000 vital signs must not be validated with fhir.resources (design section 5)."""
    calls = []
    original = Record.is_valid

    def counting(self, resource):
        calls.append(resource.get("resourceType"))
        return original(self, resource)

    monkeypatch.setattr(Record, "is_valid", counting)
    vitals = [observation(("http://loinc.org", "8867-4", "Heart rate"), value=70 + i % 30) for i in range(10_000)]
    assert topics(patient(), med_request(OXYCODONE), cows(6), *vitals) == {"withdrawal-assessment", "naloxone"}
    assert len(calls) < 10


def test_record_text_with_braces_and_markdown_is_shown_safely():
    weird = condition(None, text="Opioid use disorder {severe} *[see note]*")
    found = topics(patient(), weird)
    assert found == {"moud-referral", "counseling", "naloxone", "depression-screen"}
    detail = evaluate(patient(), weird)[0].detail
    assert "\\{severe\\}" in detail and "\\*\\[see note\\]\\*" in detail


def test_malformed_fields_no_rule_reads_do_not_sink_a_resource():
    """Validation covers what the rules read: a broken name or narrative is not a reason to
    ignore an OUD diagnosis, and a broken birth date still is."""
    broken_name = patient(name="not a list of HumanName", text={"div": 42})
    broken_note = condition(OUD, id="c-text")
    broken_note["text"] = {"status": "nonsense", "div": ["not", "xhtml"]}
    assert topics(broken_name, broken_note) == {"moud-referral", "counseling", "naloxone", "depression-screen"}
    assert topics(patient(birth="the eighties"), condition(OUD)) == set()


def test_text_classifications_are_remembered_for_short_texts_only():
    """Repeated displays are classified once; a long hostile text is never kept in memory."""
    from cards.tags import condition_text_tags

    memory = condition_text_tags.memory
    short = "Opioid dependence with withdrawal, remembered once (7f3a)"  # unique to this test
    assert condition_text_tags(short) == condition_text_tags(short) == memory[short]
    long_text = "opioid withdrawal " + "x" * 10_000
    assert "withdrawal" in condition_text_tags(long_text)
    assert long_text not in memory


def test_a_record_of_endless_distinct_texts_cannot_grow_the_memory_past_its_bound():
    from cards import terms
    from cards.tags import condition_text_tags

    for i in range(terms.REMEMBERED_TEXTS + 100):
        condition_text_tags(f"opioid withdrawal variant {i}")
        assert len(condition_text_tags.memory) <= terms.REMEMBERED_TEXTS
    assert "withdrawal" in condition_text_tags(f"opioid withdrawal variant {terms.REMEMBERED_TEXTS + 99}")
