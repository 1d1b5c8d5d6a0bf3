"""One response's advice, as the clinician reads it together: a note several cards would carry
(what kratom is) appears once, on the first card that has it, with its link."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from cards.advice import Advice


def compose(advised: Sequence[Advice]) -> list[Advice]:
    """``advised`` in order (after snoozed topics are dropped), each note on its first card only."""
    shown: set[str] = set()
    composed = []
    for advice in advised:
        fresh = [note for note in advice.notes if note.text not in shown]
        if fresh:
            shown.update(note.text for note in fresh)
            links = (*advice.links, *(note.link for note in fresh if note.link not in advice.links))
            advice = dataclasses.replace(advice, detail=advice.noted_detail, links=links)
        composed.append(advice)
    return composed
