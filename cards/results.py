"""A result means what it says (design section 4): a test or flowsheet value counts as positive only
when it says so. Read on plain FHIR JSON (the record is plain dicts).

A resource says positive when one of its readings does and none says no:
- its value: a coding in ALLOWED_CODINGS; `valueBoolean` true; a string (valueString, or the text
  or a coding's display of a value coded only locally) whose first word is in ALLOWED_WORDS
  ("present: yawning, tremor"); a number at or above the test's cutoff where the record gives one;
- its interpretation: a code in ALLOWED_INTERPRETATIONS, or interpretation text whose first word
  is in ALLOWED_WORDS.
A reading that says no (DENIED_CODINGS, DENIED_INTERPRETATIONS, DENIED_WORDS, `valueBoolean` false,
a number below its cutoff or written "<") vetoes the others: a result that contradicts itself does
not say positive. No value at all is no evidence, whatever the interpretation, and so is a test
still `registered` (no result yet), `cancelled` or `entered-in-error`.

The cutoff of a number, in this order of trust:
- the lab's own reading: an interpretation in ALLOWED_INTERPRETATIONS (H, HH, HU, H>, HX, >) or in
  DENIED_INTERPRETATIONS (N, L, ...);
- `referenceRange.high`: the top of the normal range, inclusive (FHIR R4 Observation.referenceRange:
  "the high bound of the reference range endpoint is inclusive of the value"), so a value counts
  only when it is above it;
- `referenceRange.text` written as a cutoff, read in the value's unit: "<300 ng/mL" or "Negative
  <300" (negative below 300: 300 and over is positive), "cutoff 300", "cut-off: 300 ng/mL" (at or
  above).
A range in other units than the value is no cutoff for it. A number with no cutoff says nothing.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

SNOMED = "http://snomed.info/sct"
YES_NO = "http://terminology.hl7.org/CodeSystem/v2-0136"
# The same table under its FHIR STU3 name (hl7.fhir.r3.core 3.0.2 ValueSet v2-0136): records
# converted from older feeds still carry it.
YES_NO_STU3 = "http://hl7.org/fhir/v2/0136"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ABNORMAL_FLAGS = "http://terminology.hl7.org/CodeSystem/v2-0078"
INTERPRETATION_STU3 = "http://hl7.org/fhir/v3/ObservationInterpretation"

# Codes that say yes (design section 4). SNOMED qualifier values, displays as in the SMART Health
# Cards / WHO DDCC "lab-test-qual-result-snomed" value set (Positive, Detected), DICOM PS3.16
# CID 240 "Present-Absent" (Present) and CID 231 "Yes-No Only" (Yes); HL7 v2 table 0136 Y.
ALLOWED_CODINGS = frozenset({
    (SNOMED, "10828004"),   # Positive
    (SNOMED, "52101004"),   # Present
    (SNOMED, "373066001"),  # Yes
    (SNOMED, "260373001"),  # Detected
    (YES_NO, "Y"),          # Yes
    (YES_NO_STU3, "Y"),
})
# Codes that say no, from the same sources: they veto a reading that says yes.
DENIED_CODINGS = frozenset({
    (SNOMED, "260385009"),  # Negative
    (SNOMED, "272519000"),  # Absent (DICOM CID 240)
    (SNOMED, "373067005"),  # No (DICOM CID 231)
    (SNOMED, "260415000"),  # Not detected
    (YES_NO, "N"),          # No
    (YES_NO_STU3, "N"),
})
# The systems whose codes decide on their own: a value coded in one of them is read by its code,
# never by its words ("419984006 Inconclusive" with the text "positive?" is not positive).
CODE_SYSTEMS = frozenset(system for system, _ in ALLOWED_CODINGS | DENIED_CODINGS)

# First words that say yes (design section 4), and first words that say no.
ALLOWED_WORDS = ("positive", "pos", "detected", "present", "yes", "y", "+")
DENIED_WORDS = ("negative", "neg", "no", "n", "not", "none", "absent", "undetected", "nondetected", "-", "<")

# v3-ObservationInterpretation (FHIR R4 4.0.1; HL7 v2 table 0078 holds the same codes). Positive,
# detected, and the lab's flags for a value over its high limit or threshold: how a lab says a
# number is at or over its cutoff. Not A/AA (abnormal: no direction, and labs flag a dilute or
# adulterated specimen abnormal too), not RR/WR (reactive: serology, not these tests), not IND/E
# (indeterminate, equivocal), not EX (outside a threshold, either side).
ALLOWED_INTERPRETATIONS = frozenset({"POS", "DET", "H", "HH", "HU", "H>", "HX", ">"})
# Negative, not detected, normal (design: "an interpretation NEG, N or ND means no"), non-reactive,
# and the flags for a value under its low limit or threshold.
DENIED_INTERPRETATIONS = frozenset({"NEG", "ND", "N", "NR", "L", "LL", "LU", "L<", "LX", "<"})
INTERPRETATION_SYSTEMS = frozenset({INTERPRETATION, ABNORMAL_FLAGS, INTERPRETATION_STU3})

# Statuses with no result to read: not yet (registered), never (cancelled), or void.
NO_RESULT = frozenset({"registered", "cancelled", "entered-in-error"})

# A code or text that names a risk, a screen, an assessment or a question is not a finding
# (design 4.1, withdrawal noted).
NON_FINDING = ("risk", "at risk", "screen", "assessment", "?")

_FIRST_WORD = re.compile(r"""\s*["'(\[]*(\++|<|-|[^\W\d_]+)""")
_CUTOFF_TEXT = re.compile(r"^\s*(?:(?:negative\s*:?\s*)?<\s*|cut-?\s?off\s*(?:[:=]|is|of)?\s*)(\d+(?:\.\d+)?)",
                          re.IGNORECASE)
_NON_FINDING = re.compile(
    "|".join(r"\?" if word == "?" else r"\b" + r"\s+".join(word.split()) + r"(?:s|ed|ing)?\b" for word in NON_FINDING),
    re.IGNORECASE,
)


def positive(resource: dict) -> bool:
    """Whether a test or flowsheet value (an Observation as plain JSON) says positive."""
    if not isinstance(resource, dict) or resource.get("status") in NO_RESULT or "dataAbsentReason" in resource:
        return False
    if not has_value(resource):
        return False
    readings = [*_value_readings(resource), *_interpretation_readings(resource)]
    return True in readings and False not in readings


def has_value(resource: dict) -> bool:
    """Whether an Observation carries a value at all (a finding recorded with no value is read by
    the facts as present; see design 4.1, withdrawal noted)."""
    return any(key.startswith("value") and resource[key] not in (None, "", {}, []) for key in resource)


def first_word(text: str) -> str:
    """The first word of a value, lower case: a run of letters, or "+", "-" or "<" ("3+" has none)."""
    found = _FIRST_WORD.match(text) if isinstance(text, str) else None
    if not found:
        return ""
    word = found.group(1).lower()
    return "+" if word.startswith("+") else word


def says(text: str) -> bool | None:
    """What a value written in words says: True (its first word is in ALLOWED_WORDS), False (in
    DENIED_WORDS) or None (neither: "Low", "Presumptive positive", "See note")."""
    word = first_word(text)
    if word in ALLOWED_WORDS:
        return True
    if word in DENIED_WORDS:
        return False
    return None


def names_non_finding(text: str) -> bool:
    """Whether a code's text or display names a risk, a screen, an assessment or a question rather
    than a finding ("Opioid withdrawal risk", "At risk for opioid withdrawal", "Withdrawal screen",
    "Withdrawal assessment", "Opioid withdrawal?"): such a row is no withdrawal, whatever its value.

    For withdrawal findings only. A COWS or SOWS observation is a scale, read elsewhere by its score:
    "COWS assessment" is true here and must never drop a score.
    """
    return isinstance(text, str) and _NON_FINDING.search(text) is not None


# --- readings ----------------------------------------------------------------------------------------

def _codings(concept: object) -> list[dict]:
    codings = concept.get("coding") if isinstance(concept, dict) else None
    return [c for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []


def _concept_reading(concept: object) -> Iterator[bool | None]:
    """A coded value: by its codes where it has a code of CODE_SYSTEMS, else by its words."""
    codings = _codings(concept)
    coded = [(c.get("system"), c.get("code")) for c in codings if c.get("system") in CODE_SYSTEMS]
    if coded:
        yield from (True if key in ALLOWED_CODINGS else False if key in DENIED_CODINGS else None for key in coded)
        return
    words = [concept.get("text") if isinstance(concept, dict) else None, *(c.get("display") for c in codings)]
    yield from (says(w) for w in words if isinstance(w, str) and w.strip())


def _value_readings(resource: dict) -> Iterator[bool | None]:
    if isinstance(resource.get("valueBoolean"), bool):
        yield resource["valueBoolean"]
    if isinstance(resource.get("valueString"), str):
        yield says(resource["valueString"])
    if "valueCodeableConcept" in resource:
        yield from _concept_reading(resource["valueCodeableConcept"])
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, dict):
        yield _number_reading(quantity.get("value"), quantity.get("comparator"), _unit(quantity), resource)
    elif "valueInteger" in resource:
        yield _number_reading(resource["valueInteger"], None, None, resource)


def _interpretation_readings(resource: dict) -> Iterator[bool | None]:
    for concept in resource.get("interpretation") or ():
        codings = _codings(concept)
        codes = [str(c.get("code")).upper() for c in codings
                 if c.get("system") in INTERPRETATION_SYSTEMS or c.get("system") is None]
        if codes:
            yield from (True if code in ALLOWED_INTERPRETATIONS else False if code in DENIED_INTERPRETATIONS
                        else None for code in codes)
        else:
            yield from _concept_reading(concept)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _unit(quantity: dict) -> str | None:
    unit = quantity.get("code") or quantity.get("unit")
    return unit.strip().lower() if isinstance(unit, str) and unit.strip() else None


def _number_reading(raw: object, comparator: object, unit: str | None, resource: dict) -> bool | None:
    value = _number(raw)
    if value is None:
        return None
    if comparator in ("<", "<=") or value <= 0:
        return False
    readings = [value > high if strictly else value >= high for high, strictly in _cutoffs(resource, unit)]
    if not readings:
        return None
    return all(readings)


def _cutoffs(resource: dict, unit: str | None) -> Iterable[tuple[float, bool]]:
    """Each cutoff the record gives for a number: (cutoff, whether the value must be above it)."""
    for reference in resource.get("referenceRange") or ():
        if not isinstance(reference, dict):
            continue
        high = reference.get("high")
        if isinstance(high, dict) and _number(high.get("value")) is not None:
            if unit is None or _unit(high) is None or _unit(high) == unit:
                yield _number(high["value"]), True
            continue
        found = _CUTOFF_TEXT.match(reference.get("text") or "") if isinstance(reference.get("text"), str) else None
        if found:
            yield float(found.group(1)), False
