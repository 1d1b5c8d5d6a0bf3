"""Turn a rule that fired, and the facts behind it, into a CDS Hooks 2.0 Card."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time
from typing import Any

from cards import content
from cards.evidence import Evidence, Facts
from cards.rules import Rule
from cards.settings import EngineSettings
from cards.suggestions import suggestion

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
    what = item.what if len(item.what) <= MAX_WHAT else item.what[: MAX_WHAT - 1] + "…"
    what = _MARKDOWN_SPECIAL.sub(r"\\\1", what)
    return f"- {'; '.join(labels)}: {what} ({item.source}, {when_text(item.when)})"


def evidence_lines(rule: Rule, facts: Facts) -> list[str]:
    """One line per record, naming everything it is evidence of: an opioid withdrawal diagnosis
    is shown once as "Opioid use disorder; Withdrawal", not twice."""
    labels_of: dict[tuple, list[str]] = {}
    items: dict[tuple, Evidence] = {}
    for kind in rule.shows:
        for item in facts.evidence.get(kind, ()):
            record = (item.what, item.when, item.source)
            label = evidence_label(kind, item)
            labels = labels_of.setdefault(record, [])
            items.setdefault(record, item)
            if label not in labels:
                labels.append(label)
    lines = [evidence_line(labels_of[record], item) for record, item in items.items()]
    return lines[: content.MAX_EVIDENCE_LINES]


def kratom_only(facts: Facts) -> bool:
    return facts["kratom"] and not facts["opioid_use"] and not facts["oud"]


def card(rule: Rule, facts: Facts, *, patient_id: str, user_id: Any, settings: EngineSettings) -> dict:
    text = content.CARDS[rule.topic]
    indicator = rule.indicator_for(facts)
    score = f"{facts.latest_cows.score:g}" if facts.latest_cows else ""

    summary = str(text["summary"])
    if indicator == "critical" and "summary_critical" in text:
        summary = str(text["summary_critical"])
    elif kratom_only(facts) and "summary_kratom" in text:
        summary = str(text["summary_kratom"])

    paragraphs = [content.EVIDENCE_HEADING + "\n\n" + "\n".join(evidence_lines(rule, facts))]
    if indicator == "critical" and "reasoning_critical" in text:
        paragraphs.append(str(text["reasoning_critical"]).format(score=score))
    paragraphs.append(str(text["reasoning"]).format(score=score))
    links = list(text["links"])
    if facts["kratom"]:
        paragraphs.append(content.KRATOM_NOTE)
        links.append("kratom")

    guideline = content.GUIDELINES[str(text["source"])]
    # Built without empty values (the detail always has its heading, suggestions are built
    # from constants and the context's ids); the response schema prunes once more at the wire.
    return {
        "uuid": str(uuid.uuid4()),
        "summary": summary.format(score=score),
        "detail": "\n\n".join(paragraphs),  # evidence text is the record's: never .format() it
        "indicator": indicator,
        "source": {
            "label": guideline["label"],
            "url": guideline["url"],
            "topic": {
                "system": content.TOPIC_SYSTEM,
                "code": rule.topic,
                "display": content.TOPICS[rule.topic],
            },
        },
        "suggestions": [suggestion(rule.topic, patient_id, user_id, settings)],
        "selectionBehavior": "at-most-one",
        "overrideReasons": [dict(reason) for reason in content.OVERRIDE_REASONS],
        "links": [{**content.LINKS[name], "type": "absolute"} for name in dict.fromkeys(links)],
    }


_EMPTIABLE = (str, list, dict)


def prune(value: Any) -> Any:
    """Drop None and empty strings, lists and dicts, which CDS Hooks 2.0 forbids (0 and False stay).

    Every response passes through this (cds_service/schemas/response.py), so it is written for
    speed: one pass, no intermediate copies, containers recursed into only.
    """
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                item = prune(item)
            if item is None or (not item and isinstance(item, _EMPTIABLE)):
                continue
            kept[key] = item
        return kept
    if isinstance(value, list):
        kept_items = []
        for item in value:
            if isinstance(item, (dict, list)):
                item = prune(item)
            if item is None or (not item and isinstance(item, _EMPTIABLE)):
                continue
            kept_items.append(item)
        return kept_items
    return value
