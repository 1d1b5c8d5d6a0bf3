"""A result means what it says (design section 4): each allow-list entry, read from the data, is
positive; each non-positive the design lists, and each deny-list entry, is not; the flowsheet rows
of design section 9 are not withdrawal findings."""

from __future__ import annotations

import pytest

from cards import results as R


def observation(**fields) -> dict:
    return {"resourceType": "Observation", "status": "final", "code": {"text": "Mitragynine, urine"}, **fields}


def coded(system: str, code: str, display: str = "") -> dict:
    return {"coding": [{"system": system, "code": code, **({"display": display} if display else {})}]}


def interpretation(code: str, system: str = R.INTERPRETATION) -> list[dict]:
    return [coded(system, code)]


@pytest.mark.parametrize(("system", "code"), sorted(R.ALLOWED_CODINGS))
def test_each_allowed_coding_is_positive(system, code):
    assert R.positive(observation(valueCodeableConcept=coded(system, code)))
    assert not R.positive(observation(valueCodeableConcept=coded("http://example.org/local", code)))


@pytest.mark.parametrize(("system", "code"), sorted(R.DENIED_CODINGS))
def test_each_denied_coding_is_not_positive_and_vetoes_a_positive_text(system, code):
    assert not R.positive(observation(valueCodeableConcept=coded(system, code)))
    assert not R.positive(observation(valueCodeableConcept={**coded(system, code), "text": "Positive"}))
    assert not R.positive(observation(valueCodeableConcept=coded(system, code), valueString="Positive"))


@pytest.mark.parametrize("word", R.ALLOWED_WORDS)
@pytest.mark.parametrize("spelling", ["{}", "{} ", "{}.", "{}: yawning, tremor", " ({})"])
def test_each_allowed_first_word_is_positive(word, spelling):
    for cased in (word, word.upper(), word.capitalize()):
        text = spelling.format(cased)
        assert R.positive(observation(valueString=text)), text
        assert R.positive(observation(valueCodeableConcept={"text": text}))
        assert R.positive(observation(valueCodeableConcept=coded("http://example.org/local", "1", text)))


@pytest.mark.parametrize("word", R.DENIED_WORDS)
def test_each_denied_first_word_is_not_positive(word):
    assert not R.positive(observation(valueString=f"{word} detected"))
    assert not R.positive(observation(valueString=word))


def test_present_with_its_signs_is_positive_and_a_word_is_only_a_first_word():
    assert R.positive(observation(valueString="present: yawning, tremor"))
    for text in ("Presumptive positive", "yesterday", "Posted", "Nonreactive yes", "3+", "Low", "See note",
                 "Positively identified"):
        assert not R.positive(observation(valueString=text)), text


@pytest.mark.parametrize("observed", [
    # the design's own list of what counts as no evidence
    observation(valueString="negative"),
    observation(valueString="neg"),
    observation(valueString="N"),
    observation(valueString="not detected"),
    observation(valueString="none detected"),
    observation(valueString="<300 ng/mL"),
    observation(valueQuantity={"value": 300, "comparator": "<", "unit": "ng/mL"}),
    observation(),  # an absent value
    observation(dataAbsentReason={"text": "specimen lost"}, valueString="positive"),
    observation(status="registered"),
    observation(status="preliminary"),
    observation(status="registered", interpretation=interpretation("POS")),
    observation(status="registered", valueString="positive"),
    observation(status="cancelled", valueString="positive"),
    observation(status="entered-in-error", valueBoolean=True),
    observation(valueBoolean=False),
    # interpretations that mean no, and ones that do not say which way
    observation(valueString="300 ng/mL", interpretation=interpretation("NEG")),
    observation(valueString="see comment", interpretation=interpretation("N")),
    observation(valueString="see comment", interpretation=interpretation("ND")),
    observation(valueString="see comment", interpretation=interpretation("A")),
    observation(valueString="see comment", interpretation=interpretation("AA")),
    observation(valueString="see comment", interpretation=interpretation("IND")),
    # a result that contradicts itself does not say positive
    observation(valueString="Positive", interpretation=interpretation("NEG")),
    observation(valueBoolean=True, interpretation=interpretation("N")),
])
def test_what_the_design_calls_no_evidence_is_not_positive(observed):
    assert not R.positive(observed)


def test_a_boolean_true_is_positive():
    assert R.positive(observation(valueBoolean=True))


@pytest.mark.parametrize("code", sorted(R.ALLOWED_INTERPRETATIONS))
@pytest.mark.parametrize("system", sorted(R.INTERPRETATION_SYSTEMS))
def test_each_allowed_interpretation_makes_a_value_positive(code, system):
    assert R.positive(observation(valueString="12 ng/mL", interpretation=interpretation(code, system)))
    quantity = {"value": 12, "unit": "ng/mL"}
    assert R.positive(observation(valueQuantity=quantity, interpretation=interpretation(code, system)))
    assert not R.positive(observation(interpretation=interpretation(code, system)))  # no value: no evidence
    assert not R.positive(observation(valueString="Negative", interpretation=interpretation(code, system)))


@pytest.mark.parametrize("code", sorted(R.DENIED_INTERPRETATIONS))
def test_each_denied_interpretation_vetoes(code):
    assert not R.positive(observation(valueString="positive", interpretation=interpretation(code)))
    assert not R.positive(observation(valueQuantity={"value": 900}, interpretation=interpretation(code),
                                      referenceRange=[{"high": {"value": 300}}]))


def test_interpretation_in_words_is_read_by_its_first_word():
    assert R.positive(observation(valueString="12", interpretation=[{"text": "Positive"}]))
    assert not R.positive(observation(valueString="Positive", interpretation=[{"text": "Negative"}]))
    assert not R.positive(observation(valueString="12", interpretation=[{"text": "Abnormal"}]))


@pytest.mark.parametrize(("quantity", "ranges", "expected"), [
    # referenceRange.high is the top of the normal range, inclusive: positive only above it
    ({"value": 301, "unit": "ng/mL"}, [{"high": {"value": 300, "unit": "ng/mL"}}], True),
    ({"value": 300, "unit": "ng/mL"}, [{"high": {"value": 300, "unit": "ng/mL"}}], False),
    ({"value": 120, "unit": "ng/mL"}, [{"high": {"value": 300, "unit": "ng/mL"}}], False),
    # a cutoff written in the range's text: at or above it
    ({"value": 300, "unit": "ng/mL"}, [{"text": "<300 ng/mL"}], True),
    ({"value": 299, "unit": "ng/mL"}, [{"text": "<300 ng/mL"}], False),
    ({"value": 50}, [{"text": "Cutoff: 50 ng/mL"}], True),
    ({"value": 49.5}, [{"text": "cut-off 50"}], False),
    ({"value": 400}, [{"text": "Negative <300"}], True),
    # no cutoff, a cutoff in another unit, a cutoff in words that are no cutoff: no evidence
    ({"value": 900, "unit": "ng/mL"}, [], False),
    ({"value": 900, "code": "ng/mL"}, [{"high": {"value": 1, "code": "ug/mL"}}], False),
    ({"value": 900}, [{"text": "Negative"}], False),
    # "<" is below whatever it says; nothing is positive at zero
    ({"value": 900, "comparator": "<"}, [{"high": {"value": 300}}], False),
    ({"value": 900, "comparator": ">"}, [{"high": {"value": 300}}], True),
    ({"value": 0}, [{"text": "<0.1"}], False),
    # several ranges: over every one
    ({"value": 400}, [{"high": {"value": 300}}, {"high": {"value": 500}}], False),
    ({"value": 600}, [{"high": {"value": 300}}, {"high": {"value": 500}}], True),
])
def test_a_number_is_positive_at_or_above_the_cutoff_the_record_gives(quantity, ranges, expected):
    assert R.positive(observation(valueQuantity=quantity, referenceRange=ranges)) is expected


def test_an_integer_value_is_read_like_a_quantity():
    assert R.positive(observation(valueInteger=3, referenceRange=[{"high": {"value": 2}}]))
    assert not R.positive(observation(valueInteger=2, referenceRange=[{"high": {"value": 2}}]))
    assert not R.positive(observation(valueInteger=9))


def test_a_value_coded_in_a_known_system_is_read_by_its_code_not_its_words():
    inconclusive = {**coded(R.SNOMED, "419984006", "Inconclusive"), "text": "Positive?"}
    assert not R.positive(observation(valueCodeableConcept=inconclusive))
    local = {"coding": [{"system": "http://example.org/local", "code": "P", "display": "Positive"}]}
    assert R.positive(observation(valueCodeableConcept=local))


@pytest.mark.parametrize("junk", [None, "x", 3, [], {"valueString": None}, {"valueQuantity": {"value": "12"}},
                                  {"valueQuantity": {"value": True}}, {"valueCodeableConcept": {"coding": "x"}},
                                  {"valueString": "positive", "interpretation": [None, "x", {"coding": [None]}]},
                                  {"valueInteger": 400, "referenceRange": [None, {"high": "x"}, {"text": 3}]}])
def test_malformed_json_is_no_evidence_and_no_error(junk):
    R.positive(junk)  # never raises
    if not isinstance(junk, dict) or "interpretation" not in junk:
        assert not R.positive(junk)


# --- the flowsheet rows of design section 9 ------------------------------------------------------------

NO = coded(R.SNOMED, "373067005", "No")


def withdrawal_noted(row: dict) -> bool:
    """Design 4.1, withdrawal noted, as the facts compose it: a finding with no value or a positive one."""
    return not R.names_non_finding(row["code"]["text"]) and (not R.has_value(row) or R.positive(row))


@pytest.mark.parametrize(("code_text", "value"), [
    ("Opioid withdrawal risk", {"valueString": "Low"}),
    ("Opioid withdrawal risk", {"valueCodeableConcept": {"text": "Low"}}),
    ("Opioid withdrawal signs", {"valueCodeableConcept": NO}),
    ("Opioid withdrawal signs", {"valueString": "N"}),
    ("Opioid withdrawal signs", {"valueCodeableConcept": coded(R.YES_NO, "N")}),
    ("Opioid withdrawal signs", {"valueString": "Low"}),
    ("At risk for opioid withdrawal", {"valueString": "Yes"}),
    ("At risk for opioid withdrawal", {}),
])
def test_the_flowsheet_rows_the_review_found_are_no_withdrawal(code_text, value):
    assert not withdrawal_noted(observation(code={"text": code_text}, **value))


@pytest.mark.parametrize("value", [{}, {"valueString": "Yes"}, {"valueString": "present: yawning, tremor"},
                                   {"valueCodeableConcept": coded(R.SNOMED, "52101004", "Present")},
                                   {"valueBoolean": True}])
def test_a_withdrawal_finding_with_no_value_or_a_positive_one_is_noted(value):
    assert withdrawal_noted(observation(code={"text": "Opioid withdrawal signs"}, **value))


@pytest.mark.parametrize("text", [
    "Opioid withdrawal risk", "At risk for opioid withdrawal", "Withdrawal risks", "Opioid withdrawal screen",
    "Screening for opioid withdrawal", "Withdrawal assessment", "COWS assessment", "Opioid withdrawal?",
    "at-risk: opioid withdrawal",
])
def test_a_risk_screen_assessment_or_question_is_no_finding(text):
    assert R.names_non_finding(text)


@pytest.mark.parametrize("text", [
    "Opioid withdrawal", "Opioid withdrawal signs", "Drug withdrawal", "Withdrawal symptoms present",
    "Brisk reflexes, opioid withdrawal", "Screw-up", "Reassessed later: withdrawal", "", None,
])
def test_a_finding_is_a_finding(text):
    assert not R.names_non_finding(text)


def test_each_non_finding_word_of_the_design_is_read():
    for word in R.NON_FINDING:
        assert R.names_non_finding(f"Opioid withdrawal {word}"), word
