"""A card's detail: the evidence that made it fire (newest first, one line per record), then the
reasoning, within a budget of characters (design 4.2: under 600 in every variant)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from cards import content
from cards.evidence import Evidence, Facts
from cards.plain_text import plain
from cards.rules import AllOf, AnyOf, Expr, Not, holds

MAX_DETAIL = 599
MAX_WHAT = 60
# Evidence this recent is dated to the hour: in withdrawal the hours matter.
RECENT = timedelta(hours=72)


def when_text(item: Evidence, now: datetime) -> str:
    if item.draft:
        return "draft order"
    if item.when is None:
        return content.UNDATED
    if now - RECENT <= item.when <= now + RECENT:
        return item.when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return item.when.strftime("%Y-%m-%d")


def fired_evidence(expr: Expr, facts: Facts) -> list[Evidence]:
    """The evidence behind the parts of a rule that hold: only what made this card fire."""
    if isinstance(expr, str):
        return list(facts.evidence[expr])
    if isinstance(expr, Not):
        return []
    parts = expr.parts if isinstance(expr, AllOf) else [p for p in expr.parts if holds(p, facts)]
    assert isinstance(expr, (AllOf, AnyOf))
    return [item for part in parts for item in fired_evidence(part, facts)]


def label(item: Evidence) -> str:
    text = content.EVIDENCE_LABELS.get(item.kind, item.kind.replace("_", " ").capitalize())
    if item.score is None:
        return text
    words = content.SCORE_WORDS.get(item.kind, {}).get(int(item.score))
    return f"{text}: {words}" if words else f"{text} {item.score:g}"


def by_record(items: list[Evidence]) -> list[tuple[Evidence, list[str]]]:
    """One entry per record, with every label it earns, newest first (drafts first, undated last).

    An opioid withdrawal diagnosis is one record that is evidence of two things: it is shown
    once as "Opioid use disorder; Withdrawal diagnosis", not twice.
    """
    records: dict[tuple, tuple[Evidence, list[str], set[str]]] = {}
    for item in items:
        _, labels, kinds = records.setdefault((item.what, item.when, item.source, item.draft), (item, [], set()))
        if kinds & content.SUBSUMED_BY.get(item.kind, set()):
            continue
        kinds.add(item.kind)
        if label(item) not in labels:
            labels.append(label(item))
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    entries = [(item, labels) for item, labels, _ in records.values()]
    return sorted(entries, key=lambda entry: (entry[0].draft, entry[0].when or epoch), reverse=True)


def evidence_line(item: Evidence, labels: list[str], now: datetime) -> str:
    # The text is the record's own: inert (design 4.2): one line, no control or bidi characters,
    # shortened, escaped so no markdown, HTML, link or e-mail in it takes effect.
    what = plain(item.what, limit=MAX_WHAT)
    return f"- {'; '.join(labels)}: {what} ({when_text(item, now)})"


def detail_cut(text: str) -> int:
    """How many evidence lines a detail left out ("- and N more"), 0 when none."""
    match = _MORE.search(text)
    return int(match.group(1)) if match else 0


_MORE = re.compile("^" + re.escape(content.MORE_EVIDENCE).replace(r"\{n\}", r"(\d+)") + "$", re.M)


def detail(items: list[Evidence], paragraphs: list[str], now: datetime, first: str | None = None) -> str:
    """The evidence lines (after ``first``, a line of the card's own such as "Risk: ..."), then
    ``paragraphs``, in at most MAX_DETAIL characters: lines that do not fit become "and N more"."""
    fixed = sum(len(p) + 2 for p in paragraphs) + len(content.EVIDENCE_HEADING) + 1
    lines: list[str] = [f"- {first}"] if first else []
    entries = by_record(items)
    for n, (item, labels) in enumerate(entries):
        line = evidence_line(item, labels, now)
        rest = len(entries) - n - 1
        more = len(content.MORE_EVIDENCE.format(n=rest)) + 1 if rest else 0
        if fixed + sum(len(x) + 1 for x in lines) + len(line) + more > MAX_DETAIL:
            lines.append(content.MORE_EVIDENCE.format(n=len(entries) - n))
            break
        lines.append(line)
    return "\n\n".join([content.EVIDENCE_HEADING + "\n" + "\n".join(lines), *paragraphs])
