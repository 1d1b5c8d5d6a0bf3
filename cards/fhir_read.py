"""What a FHIR resource says, read from its plain JSON: the codes and words of a concept, a note, a
value. A text is read up to the bound it is given: the record's clinical.max_text_chars, so that
a record stuffed with text cannot buy CPU with it; what reads a text after these reads it cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from cards import valuesets as vs


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

