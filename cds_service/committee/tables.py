"""The report's tables, as rows of printable cells: the HTML page and the CSV files write the same
ones, so the two never say different things. Every count goes through small.count, every rate
through small.rate."""

from __future__ import annotations

from dataclasses import dataclass

from cds_service.committee import small
from cds_service.committee.figures import ACCEPTED, DISMISSED, NO_FEEDBACK, OVERRIDDEN, PERCENTILES, Figures
from cds_service.store import SHOWN
from cds_service.store.counts import LATENCY_BOUNDS_MS, SLOWER, SNOOZED
from cds_service.store.report import printable
from cds_service.switches import CAPPED, SILENT


@dataclass(frozen=True)
class Table:
    name: str       # the CSV file's stem
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""


def calls_by_week(figures: Figures) -> Table:
    rows = [[week.isoformat(), hook, small.count(figures.calls_in(week, hook))]
            for week in figures.scope.weeks() for hook in figures.hooks]
    return Table("calls_by_week", "Calls by week and hook", ["week", "hook", "calls"], rows)


def cards_by_hook(figures: Figures) -> Table:
    """The whole period: per topic and hook, cards shown and silent per 100 calls."""
    rows = []
    for topic in figures.topics:
        for hook in figures.hooks:
            calls = figures.calls_in(hook=hook)
            shown, silent = figures.cards_in(topic, SHOWN, hook=hook), figures.cards_in(topic, SILENT, hook=hook)
            if shown or silent:
                rows.append([topic, hook, small.count(calls), small.count(shown), small.rate(shown, calls),
                             small.count(silent), small.rate(silent, calls)])
    return Table("cards_by_hook", "Cards per 100 calls, by topic and hook (whole period)",
                 ["topic", "hook", "calls", "shown", "shown per 100 calls", "silent", "silent per 100 calls"], rows,
                 "Silent: computed and logged, not shown (a topic switched to silent for a trial).")


def cards_by_week(figures: Figures) -> Table:
    """Per week, hook and topic: the cards shown and silent per 100 calls (the CSV's detail)."""
    rows = []
    for week in figures.scope.weeks():
        for hook in figures.hooks:
            calls = figures.calls_in(week, hook)
            for topic in figures.topics:
                shown = figures.cards_in(topic, SHOWN, week, hook)
                silent = figures.cards_in(topic, SILENT, week, hook)
                if shown or silent:
                    rows.append([week.isoformat(), hook, topic, small.count(calls), small.count(shown),
                                 small.rate(shown, calls), small.count(silent), small.rate(silent, calls)])
    return Table("cards_by_week", "Cards per 100 calls, by week, hook and topic",
                 ["week", "hook", "topic", "calls", "shown", "shown per 100 calls", "silent",
                  "silent per 100 calls"], rows)


def cards_per_week(figures: Figures) -> Table:
    """Weeks down, topics across: cards shown per 100 calls, every hook together (the HTML's view)."""
    topics = [topic for topic in figures.topics if figures.cards_in(topic, SHOWN)]
    rows = [[week.isoformat(), small.count(figures.calls_in(week))]
            + [small.rate(figures.cards_in(topic, SHOWN, week), figures.calls_in(week)) for topic in topics]
            for week in figures.scope.weeks()]
    return Table("cards_per_week", "Cards shown per 100 calls, by week (every hook)", ["week", "calls", *topics],
                 rows)


def outcomes(figures: Figures) -> Table:
    rows = []
    for topic in figures.topics:
        seen = figures.outcomes[topic]
        total = sum(seen.values())
        if not total:
            continue
        rows.append([topic, small.count(total), small.count(seen[ACCEPTED]), small.count(seen[OVERRIDDEN]),
                     small.count(seen[DISMISSED]), small.count(seen[NO_FEEDBACK]),
                     _percent(seen[ACCEPTED], total)])
    return Table("outcomes", "What clinicians did with the cards shown",
                 ["topic", "shown", "accepted", "overridden (a reason given)", "dismissed (no reason)", "no feedback",
                  "acceptance rate"], rows,
                 "Each card under its latest feedback. Acceptance rate: accepted / cards shown.")


def override_reasons(figures: Figures) -> Table:
    rows = [[topic, printable(reason), small.count(n)]
            for (topic, reason), n in sorted(figures.reasons.items(), key=lambda item: (item[0][0], -item[1]))]
    return Table("override_reasons", "Overridden, by topic and reason", ["topic", "reason", "cards"], rows)


def top_reasons(figures: Figures) -> Table:
    return Table("top_override_reasons", "Top override reasons (every topic)", ["reason", "cards"],
                 [[printable(reason), small.count(n)] for reason, n in figures.top_reasons()])


def held_back(figures: Figures) -> Table:
    rows = [[topic, small.count(figures.cards_in(topic, SNOOZED)), small.count(figures.cards_in(topic, SILENT)),
             small.count(figures.cards_in(topic, CAPPED))]
            for topic in figures.topics
            if any(figures.cards_in(topic, m) for m in (SNOOZED, SILENT, CAPPED))]
    return Table("held_back", "Cards not shown: hidden by a snooze, silent, over the cap",
                 ["topic", "hidden by a snooze", "silent", "capped (over max_cards)"], rows,
                 "Hidden by a snooze: the card would have fired but feedback on an earlier one hides its topic "
                 "for that patient for a while." + (f" {figures.snoozes}" if figures.snoozes else ""))


def latency(figures: Figures) -> Table:
    rows = [[hook, small.count(sum(figures.latency.get(hook, {}).values()))]
            + [_bound(figures.percentile(hook, q)) for q in PERCENTILES]
            for hook in figures.hooks if figures.latency.get(hook)]
    return Table("latency", "Time to answer, per hook (milliseconds)",
                 ["hook", "calls", *(f"p{q} (ms, at most)" for q in PERCENTILES)], rows,
                 "From the request's arrival to the answer, as the service measured it; each figure is the upper "
                 "bound of the histogram bucket the percentile falls in.")


def latency_histogram(figures: Figures) -> Table:
    rows = [[hook, key, small.count(n)] for hook in figures.hooks
            for key, n in figures.latency.get(hook, {}).items()]
    return Table("latency_histogram", "Calls per latency bucket", ["hook", "at most (ms)", "calls"],
                 sorted(rows, key=lambda row: (row[0], float("inf") if row[1] == SLOWER else float(row[1]))))


def every_table(figures: Figures) -> list[Table]:
    return [calls_by_week(figures), cards_by_hook(figures), cards_per_week(figures), cards_by_week(figures),
            outcomes(figures), override_reasons(figures), top_reasons(figures), held_back(figures),
            latency(figures), latency_histogram(figures)]


def _percent(numerator: int, denominator: int) -> str:
    value = small.rate_value(numerator, denominator)
    return "-" if value is None else f"{value:.0f}%"


def _bound(key: str | None) -> str:
    return "-" if key is None else f"> {LATENCY_BOUNDS_MS[-1]}" if key == SLOWER else key
