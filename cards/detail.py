"""A card's detail: the evidence that made it fire, one line per record, with dates."""

from __future__ import annotations

import re
from datetime import datetime, time

from cards import content
from cards.evidence import Evidence, Facts

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|])")
MAX_WHAT = 90


def when_text(when: datetime | None) -> str:
    if when is None:
        return content.UNDATED
    if when.timetz().replace(tzinfo=None) == time(0, 0):
        return when.strftime("%Y-%m-%d")
    return when.strftime("%Y-%m-%d %H:%M %Z").strip()


def evidence_label(kind: str, item: Evidence) -> str:
    label = content.EVIDENCE_LABELS.get(item.kind) or content.EVIDENCE_LABELS.get(kind, kind)
    return label + (f" {item.score:g}" if item.score is not None else "")


def evidence_line(labels: list[str], item: Evidence) -> str:
    # The text is the record's own: shortened, and escaped so it cannot restyle the card.
    what = item.what if len(item.what) <= MAX_WHAT else item.what[: MAX_WHAT - 1] + "…"
    what = _MARKDOWN_SPECIAL.sub(r"\\\1", what)
    return f"- {'; '.join(labels)}: {what} ({item.source}, {when_text(item.when)})"


def shown_evidence(shows: tuple[str, ...], facts: Facts) -> dict[tuple, tuple[Evidence, list[str]]]:
    """The records behind the facts ``shows`` names, each with every label it earns, in order.

    An opioid withdrawal diagnosis is one record that is evidence of two things: it is shown
    once as "Opioid use disorder; Withdrawal", not twice.
    """
    shown: dict[tuple, tuple[Evidence, list[str]]] = {}
    for kind in shows:
        for item in facts.evidence[kind]:
            _, labels = shown.setdefault((item.what, item.when, item.source), (item, []))
            label = evidence_label(kind, item)
            if label not in labels:
                labels.append(label)
    return shown


def evidence_lines(shown: dict[tuple, tuple[Evidence, list[str]]]) -> list[str]:
    lines = [evidence_line(labels, item) for item, labels in shown.values()]
    return lines[: content.MAX_EVIDENCE_LINES]
