"""Property tests: resources unrelated to the rules never add or remove cards."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cards.chart import (
    OUD,
    OXYCODONE,
    ago,
    condition,
    cows,
    kratom_note_obs,
    med_request,
    observation,
    patient,
    topics,
)

# An alphabet without o, w or r cannot spell an opioid, "withdrawal", "kratom" or "COWS".
SAFE_TEXT = st.text(alphabet="abcdefghijklmnpqstuvxyz -", min_size=0, max_size=30)
LOINC_VITALS = st.sampled_from(["8867-4", "8480-6", "8462-4", "8310-5", "9279-1", "2708-6", "29463-7"])
HOURS = st.floats(min_value=0, max_value=24 * 400)


def vital():
    return st.builds(lambda code, value, h: observation(("http://loinc.org", code, "vital sign"), value=value,
                                                        when=ago(hours=h)),
                     LOINC_VITALS, st.floats(min_value=-1000, max_value=1000, allow_nan=False), HOURS)


def other_condition():
    return st.builds(lambda c, text: condition(("http://hl7.org/fhir/sid/icd-10-cm", c, text or "x")),
                     st.from_regex(r"[A-EG-Z][0-9]{2}\.[0-9]", fullmatch=True), SAFE_TEXT)


def other_medication():
    rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    return st.builds(lambda code, text, status: med_request((rxnorm, code, text or "x"), status=status),
                     st.from_regex(r"9[0-9]{7}", fullmatch=True), SAFE_TEXT,
                     st.sampled_from(["active", "completed", "draft", "stopped"]))


def other_types():
    return st.builds(lambda t, text: {"resourceType": t, "id": "x", "text": {"div": text}},
                     st.sampled_from(["Encounter", "AllergyIntolerance", "Immunization", "DiagnosticReport",
                                      "Practitioner"]),
                     SAFE_TEXT)


UNRELATED = st.lists(st.one_of(vital(), other_condition(), other_medication(), other_types()), max_size=25)

BASES = [
    [patient(), med_request(OXYCODONE)],
    [patient(), condition(OUD)],
    [patient(), med_request(OXYCODONE), cows(9)],
    [patient(), med_request(OXYCODONE), cows(26, hours=3)],
    [patient(), kratom_note_obs()],
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extra=UNRELATED, base=st.sampled_from(range(len(BASES))), position=st.integers(min_value=0, max_value=10))
def test_unrelated_resources_never_change_the_cards(extra, base, position):
    record = list(BASES[base])
    expected = topics(*record)
    mixed = record[:position] + extra + record[position:]
    assert topics(*mixed) == expected


@settings(max_examples=40, deadline=None)
@given(score=st.integers(min_value=0, max_value=48), hours=st.floats(min_value=0, max_value=200))
def test_cows_rules_follow_the_bands(score, hours):
    found = topics(patient(), med_request(OXYCODONE), cows(score, hours=hours))
    in_window = hours <= 72
    assert ("naloxone" in found) == (in_window and score >= 5)
    assert ("moud-referral" in found) == (in_window and score >= 13)
    assert ("withdrawal-assessment" in found) == (in_window and score >= 5 and hours > 24)
