"""The committee's report (per topic: cards issued, accepted, overridden by reason) and the
retention purge. The CLI's `withdrawal-cds report` and `withdrawal-cds purge` call these.

Counting rules:
- A card counts under every outcome it received: accepted, overridden, or both. A card accepted
  and then overridden (a suggestion taken, then the card dismissed; or the reverse) is counted in
  `accepted`, in `overridden` and once in `both`, so neither clinician action disappears; then
  issued = no feedback + accepted + overridden - both. Cards with no feedback are "no feedback"
  (CDS Hooks clients send nothing for a card that was simply ignored).
- An overridden card counts once by reason: the reason of its latest override (by outcomeTimestamp,
  taken as no later than when we received it: a client clock set years ahead, or a hostile one,
  cannot make one override the latest for ever).
- `since` selects cards by when they were issued; their feedback counts whenever it came.
- Override rate = overridden / issued, so ignored cards lower it rather than vanish.
- Reason codes are printed escaped and shortened (`printable`): since store revision 0003 they
  can only be the reasons our cards offer, but older rows hold whatever clients sent.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, case, delete, func, or_, select, true

import cards
from cds_service.store import SHOWN, Store
from cds_service.store.models import call_count, feedback, issued_card

NO_REASON = "(none)"
MAX_PRINTED_CODE = 64
BOTH_NOTE = ("A card both accepted and overridden counts in accepted, in overridden and once in both; "
             "overridden by reason: its latest override's reason.")


def parse_since(text: str) -> datetime:
    """`2025-01-31` (midnight UTC) or an ISO date-time with an offset, as an aware UTC datetime."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=timezone.utc)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD) or an ISO date-time: {text!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"give the time zone, e.g. {text}Z or {text}+00:00")
    return moment.astimezone(timezone.utc)


def report(store: Store, since: datetime | None = None) -> list[dict]:
    """One row per topic: topic, issued, accepted, overridden, both, no_feedback, override_rate
    (None when nothing was issued) and overridden_by_reason ({reason code: count})."""
    # Cards the EHR was shown: silent and capped cards are logged too, but nobody saw them.
    issued_filter = and_(issued_card.c.status == SHOWN,
                         issued_card.c.issued_at >= since if since is not None else true())
    issued_counts = (select(issued_card.c.topic, func.count())
                     .where(issued_filter).group_by(issued_card.c.topic))
    # One row per card and outcome it received: the latest feedback of that outcome. A feedback
    # happened no later than we received it, whatever its outcomeTimestamp says.
    happened = case((feedback.c.outcome_timestamp > feedback.c.received_at, feedback.c.received_at),
                    else_=feedback.c.outcome_timestamp)
    ranked = (select(issued_card.c.topic, feedback.c.card_uuid, feedback.c.outcome, feedback.c.reason_code,
                     func.row_number().over(partition_by=(feedback.c.card_uuid, feedback.c.outcome),
                                            order_by=(happened.desc(), feedback.c.id.desc())).label("rank"))
              .join(feedback, feedback.c.card_uuid == issued_card.c.card_uuid)
              .where(issued_filter)
              .subquery())
    outcomes = select(ranked).where(ranked.c.rank == 1).subquery()
    outcome_counts = (select(outcomes.c.topic, outcomes.c.outcome, outcomes.c.reason_code, func.count())
                      .group_by(outcomes.c.topic, outcomes.c.outcome, outcomes.c.reason_code))
    with_both = (select(outcomes.c.topic, outcomes.c.card_uuid)
                 .group_by(outcomes.c.topic, outcomes.c.card_uuid)
                 .having(func.count() > 1)
                 .subquery())
    both_counts = select(with_both.c.topic, func.count()).group_by(with_both.c.topic)
    with store.engine.connect() as conn:
        issued = dict(conn.execute(issued_counts).all())
        counted = conn.execute(outcome_counts).all()
        both = dict(conn.execute(both_counts).all())

    by_topic: dict[str, dict] = {topic: _empty_row(topic) for topic in _topics(issued)}
    for topic, outcome, reason, count in counted:
        row = by_topic.setdefault(topic, _empty_row(topic))
        row[outcome] += count
        if outcome == "overridden":
            row["overridden_by_reason"][reason or NO_REASON] += count
    for topic, row in by_topic.items():
        row["issued"] = issued.get(topic, 0)
        row["both"] = both.get(topic, 0)
        row["no_feedback"] = row["issued"] - row["accepted"] - row["overridden"] + row["both"]
        row["override_rate"] = row["overridden"] / row["issued"] if row["issued"] else None
        row["overridden_by_reason"] = dict(sorted(row["overridden_by_reason"].items()))
    return list(by_topic.values())


def format_report(rows: list[dict], since: datetime | None = None) -> str:
    """A plain text table, one line per topic and a total line."""
    total = _total(rows)
    header = ["topic", "issued", "accepted", "overridden", "both", "no feedback", "override rate",
              "overridden by reason"]
    lines = [header] + [_cells(row) for row in [*rows, total]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    numeric = range(1, 7)

    def render(line: list[str]) -> str:
        cells = [cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(line)]
        return "  ".join(cells).rstrip()

    title = f"Cards issued since {since:%Y-%m-%d %H:%M} UTC" if since else "All cards issued"
    rule = "-" * len(render(header))
    return "\n".join([title, "", render(header), rule, *map(render, lines[1:-1]), rule, render(lines[-1]), "",
                      BOTH_NOTE]) + "\n"


def purge(store: Store, older_than_days: int, now: datetime) -> dict[str, int]:
    """Delete cards issued, feedback received and call counts of hours more than `older_than_days`
    ago, and expired jti.

    Feedback whose snooze is still running is kept until the snooze ends, so a purge never
    brings back advice a clinician dismissed.
    """
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    cutoff = now - timedelta(days=older_than_days)
    snooze_over = or_(feedback.c.snoozed_until.is_(None), feedback.c.snoozed_until <= now)
    with store.writing() as conn:
        cards_deleted = conn.execute(delete(issued_card).where(issued_card.c.issued_at < cutoff)).rowcount
        feedback_deleted = conn.execute(delete(feedback).where(and_(feedback.c.received_at < cutoff,
                                                                    snooze_over))).rowcount
        counts_deleted = conn.execute(delete(call_count).where(call_count.c.hour < cutoff)).rowcount
    return {"cards": cards_deleted, "feedback": feedback_deleted, "counts": counts_deleted,
            "jti": store.purge_expired_jti(now)}


def _topics(issued: dict[str, int]) -> list[str]:
    # Every known topic appears, even at zero; anything else found in the log follows.
    return [*cards.TOPICS, *sorted(set(issued) - set(cards.TOPICS))]


def _empty_row(topic: str) -> dict:
    return {"topic": topic, "issued": 0, "accepted": 0, "overridden": 0, "both": 0, "no_feedback": 0,
            "override_rate": None, "overridden_by_reason": defaultdict(int)}


def _total(rows: list[dict]) -> dict:
    total = _empty_row("all")
    for row in rows:
        for key in ("issued", "accepted", "overridden", "both", "no_feedback"):
            total[key] += row[key]
        for reason, count in row["overridden_by_reason"].items():
            total["overridden_by_reason"][reason] += count
    total["override_rate"] = total["overridden"] / total["issued"] if total["issued"] else None
    total["overridden_by_reason"] = dict(sorted(total["overridden_by_reason"].items()))
    return total


def printable(code: str) -> str:
    """A stored code as it may be printed: no control character (a terminal escape) unescaped, at
    most MAX_PRINTED_CODE characters."""
    escaped = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in code)
    return escaped if len(escaped) <= MAX_PRINTED_CODE else escaped[:MAX_PRINTED_CODE - 1] + "…"


def _cells(row: dict) -> list[str]:
    rate = "-" if row["override_rate"] is None else f"{row['override_rate']:.1%}"
    reasons = ", ".join(f"{printable(reason)} {count}" for reason, count in row["overridden_by_reason"].items())
    return [row["topic"], str(row["issued"]), str(row["accepted"]), str(row["overridden"]), str(row["both"]),
            str(row["no_feedback"]), rate, reasons or "-"]
