"""What the engine answers: plain values, one ``Advice`` per card topic that fired.

Nothing here is CDS Hooks JSON: ``cds_service`` gives each piece its wire form (uuids, the topic
coding, link types, selection behaviour) and prunes empty fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from cards.evidence import Evidence


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Reason:
    """An override reason a clinician may give; ``code`` also picks the snooze length."""

    code: str
    display: str


@dataclass(frozen=True)
class Note:
    """Background several cards could give (what kratom is): a response shows it once."""

    text: str
    link: Link | None = None


@dataclass(frozen=True)
class Suggestion:
    """A draft FHIR resource the clinician may accept; saving it settles the card."""

    label: str
    description: str
    resource: dict
    recommended: bool = True


@dataclass(frozen=True)
class Advice:
    topic: str
    title: str
    indicator: str
    summary: str
    detail: str
    source: Link
    links: tuple[Link, ...]
    suggestions: tuple[Suggestion, ...]
    override_reasons: tuple[Reason, ...]
    evidence: tuple[Evidence, ...]
    # An app the clinician can open from the card to act on it (e.g. "cows-form"); the service
    # links it only if it serves that app.
    app: str | None = None
    # Shared background this card would carry (cards.compose shows it on the first card of a
    # response that has it), and the detail to use on that card: the note within the same budget.
    notes: tuple[Note, ...] = ()
    noted_detail: str = ""
