"""One response's advice, as the clinician reads it together: a note several cards would carry
(what kratom is; how long dismissing a card hides it) appears once, on the first card that has it,
with its link."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from cards.advice import Advice


def compose(advised: Sequence[Advice]) -> list[Advice]:
    """``advised`` in order (after snoozed topics are dropped), each note on its first card only,
    and each suggestion on the first card that offers it (the assessment card and a buprenorphine
    start both suggest a COWS order: it is offered once)."""
    shown: set[str] = set()
    offered: set[str] = set()
    composed = []
    for advice in advised:
        fresh_suggestions = tuple(s for s in advice.suggestions if s.label not in offered)
        offered.update(s.label for s in advice.suggestions)
        if fresh_suggestions != advice.suggestions:
            advice = dataclasses.replace(advice, suggestions=fresh_suggestions)
        fresh = [note for note in advice.notes if note.text not in shown]
        if fresh:
            shown.update(note.text for note in fresh)
            links = (*advice.links, *(note.link for note in fresh if note.link and note.link not in advice.links))
            advice = dataclasses.replace(advice, detail=advice.noted_detail, links=links)
        composed.append(advice)
    return composed
