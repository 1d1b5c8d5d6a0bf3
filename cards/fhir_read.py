"""What a FHIR resource says, read from its plain JSON: the codes and words of a concept, a note, a
value; a record's status, a Condition's state, the dates each type carries, a scale's score and
whether a finding is affirmed. The finders (cards/evidence.py) read resources through these (and
medication records through cards/medications.py, results through cards/results.py); what counts
is in cards/criteria.py. Those a finder's keep test calls run before the resource is validated,
and read junk as nothing.

A text is read up to the bound it is given: the record's clinical.max_text_chars, so that a record
stuffed with text cannot buy CPU with it; what reads a text after these reads it cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cards import dates, results, terms
from cards import valuesets as vs
from cards.criteria import (
    ACTIVE_CLINICAL,
    EXCLUDED_STATUS,
    EXCLUDED_VERIFICATION,
    INACTIVE_CLINICAL,
    UNCONFIRMED_VERIFICATION,
)

if TYPE_CHECKING:  # the index reads these readers; an Item is only passed through them
    from cards.record import Item


# --- concepts and text ------------------------------------------------------------------------


@dataclass(frozen=True)
class Concept:
    """The codings and the human-readable text of a CodeableConcept (or a bare string)."""

    keys: tuple[vs.Key, ...] = ()
    text: str = ""

    @property
    def label(self) -> str:
        return self.text.split(" | ", 1)[0]


EMPTY = Concept()


def concept(value: object, bound: int) -> Concept:
    """`bound`: the most of any text read (the record's clinical.max_text_chars)."""
    if isinstance(value, str):
        return Concept((), value[:bound])
    if not isinstance(value, dict):
        return EMPTY
    keys: list[vs.Key] = []
    parts: list[str] = []
    text = value.get("text")
    if isinstance(text, str) and text:
        parts.append(text[:bound])
    codings = value.get("coding")
    if isinstance(codings, list):
        for coding in codings:
            if isinstance(coding, dict):
                key = vs.normalize(coding.get("system"), coding.get("code"))
                if key is not None:
                    keys.append(key)
                display = coding.get("display")
                if isinstance(display, str) and display:
                    parts.append(display[:bound])
    return Concept(tuple(keys), " | ".join(parts)[:bound])


def keys_of(value: object) -> tuple[vs.Key, ...]:
    """A CodeableConcept's codings as (system, code) keys, its text unread."""
    codings = value.get("coding") if isinstance(value, dict) else None
    if not isinstance(codings, list):
        return ()
    return tuple(key for coding in codings if isinstance(coding, dict)
                 and (key := vs.normalize(coding.get("system"), coding.get("code"))) is not None)


def codes_in(value: object) -> set[str]:
    """The codes of a CodeableConcept's codings, whatever their system (a category, a status)."""
    codings = value.get("coding") if isinstance(value, dict) else None
    if not isinstance(codings, list):
        return set()
    return {c["code"] for c in codings if isinstance(c, dict) and isinstance(c.get("code"), str)}


def note_text(resource: dict, bound: int) -> str:
    notes = resource.get("note")
    if not isinstance(notes, list):
        return ""
    return " | ".join(n["text"][:bound] for n in notes
                      if isinstance(n, dict) and isinstance(n.get("text"), str))[:bound]


def value_text(resource: dict, bound: int) -> str:
    """An Observation's valueString, as far as the rules read any text."""
    value = resource.get("valueString")
    return value[:bound] if isinstance(value, str) else ""


def medication_concept(medication: dict, bound: int) -> Concept:
    """A Medication resource's code and its ingredients' codes, as one concept."""
    found = concept(medication.get("code"), bound)
    ingredients = [
        concept(part.get("itemCodeableConcept"), bound)
        for part in medication.get("ingredient") or ()
        if isinstance(part, dict)
    ]
    keys = found.keys + tuple(key for part in ingredients for key in part.keys)
    text = " | ".join(t for t in [found.text, *(p.text for p in ingredients)] if t)
    return Concept(keys, text[:bound])


# --- status, state, dates, scores -------------------------------------------------------------


def status_ok(item: Item) -> bool:
    """Not an excluded status. Read before validation by keep tests: a status that is no string is junk."""
    status = item.resource.get("status")
    return (status is None or isinstance(status, str)) and status not in EXCLUDED_STATUS.get(item.type, ())


def codes_of(value: object) -> set[str]:
    return {key[1] for key in keys_of(value)} | {
        c.get("code") for c in _codings(value) if isinstance(c.get("code"), str)
    }


def _codings(value: object) -> list[dict]:
    codings = value.get("coding") if isinstance(value, dict) else None
    return [c for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []


def condition_state(resource: dict) -> str | None:
    """'excluded', 'unconfirmed', 'active', 'inactive' or None (no clinical status given)."""
    verification = codes_of(resource.get("verificationStatus"))
    if verification & EXCLUDED_VERIFICATION:
        return "excluded"
    if verification & UNCONFIRMED_VERIFICATION:
        return "unconfirmed"
    clinical = codes_of(resource.get("clinicalStatus"))
    if clinical & ACTIVE_CLINICAL:
        return "active"
    if clinical & INACTIVE_CLINICAL:
        return "inactive"
    return None


ASSERTED_DATE = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate"


def condition_when(resource: dict) -> datetime | None:
    """The latest of a Condition's onset, recorded and asserted dates (design 4.1)."""
    asserted = next((e.get("valueDateTime") for e in resource.get("extension") or ()
                     if isinstance(e, dict) and e.get("url") == ASSERTED_DATE), None)
    return dates.latest(resource.get("recordedDate"), resource.get("onsetDateTime"), asserted,
                        dates.period_latest(resource.get("onsetPeriod")))


def observation_when(resource: dict) -> datetime | None:
    effective = dates.latest(resource.get("effectiveDateTime"), resource.get("effectiveInstant"))
    effective = effective or dates.period_latest(resource.get("effectivePeriod"))
    return effective or dates.parse(resource.get("issued"))


def order_when(resource: dict) -> datetime | None:
    if resource.get("resourceType") == "Procedure":
        return dates.parse(resource.get("performedDateTime")) or dates.period_latest(
            resource.get("performedPeriod")
        )
    return dates.latest(
        resource.get("authoredOn"),
        resource.get("occurrenceDateTime"),
    ) or dates.period_latest(resource.get("occurrencePeriod"))


def within(when: datetime | None, now: datetime, window: timedelta) -> bool:
    return when is not None and when >= now - window


def numeric_value(value_holder: dict) -> float | None:
    """valueInteger, valueQuantity.value, or a number written as valueString (US Core's PHQ-9
    example writes its total so)."""
    quantity = value_holder.get("valueQuantity")
    raw = quantity.get("value") if isinstance(quantity, dict) else value_holder.get("valueInteger")
    if raw is None and isinstance(value_holder.get("valueString"), str):
        raw = value_holder["valueString"]
    if isinstance(raw, bool):
        return None
    try:
        return float(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def scale_score(resource: dict, bound: int) -> float | None:
    """A scale's total: the value, or a component that says it is the total (its code's text read
    up to `bound` characters). None when the scale was not done (a dataAbsentReason, or no score at
    all)."""
    if "dataAbsentReason" in resource:
        return None
    score = numeric_value(resource)
    if score is not None:
        return score
    for component in resource.get("component") or ():
        if isinstance(component, dict) and "dataAbsentReason" not in component:
            code = concept(component.get("code"), bound)
            if (terms.TOTAL.search(code.text) or any(key in vs.COWS_OBSERVABLES for key in code.keys)):
                return numeric_value(component)
    return None


def answer_score(resource: dict) -> float | None:
    """A questionnaire item's answer as its score: a number, or a LOINC answer code (PHQ-9's
    LA6568-5 "Not at all" is 0)."""
    score = numeric_value(resource)
    if score is not None:
        return score
    for key in keys_of(resource.get("valueCodeableConcept")):
        if key in vs.PHQ_ANSWER_SCORES:
            return float(vs.PHQ_ANSWER_SCORES[key])
    return None


def affirms(resource: dict) -> bool:
    """A finding ("opioid withdrawal signs") is affirmed by no value at all or by a positive one
    (design 4: a result means what it says). A number is not a yes (a checklist item, an unknown
    scale); "Low", "N", a coded No or anything else is no evidence."""
    if "dataAbsentReason" in resource or any(k in resource for k in ("valueQuantity", "valueInteger")):
        return False
    return not results.has_value(resource) or results.positive(resource)


def condition_counts(item: Item, now: datetime, window: timedelta) -> bool:
    """An active Condition, or one with no clinical status dated within ``window``."""
    state = condition_state(item.resource)
    return state == "active" or (state is None and within(condition_when(item.resource), now, window))
