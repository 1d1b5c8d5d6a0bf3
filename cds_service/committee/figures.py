"""The committee report's figures (design section 10), from the call counts and the card log.

Counts only: what is read is topics, hooks, weeks, outcomes, override reason codes and counts;
never a patient reference or anything of a record. Which count may be printed is `small.py`'s rule.

Definitions (docs/committee.md says them for the committee):
- calls: hook calls answered (200), from the call counts; cards shown, silent, capped and hidden by
  a snooze, per topic, from the same counts, so "per 100 calls" divides like by like.
- outcome of a shown card: its latest feedback (by outcomeTimestamp, no later than its receipt):
  accepted; overridden with a reason; dismissed (overridden without one); none (no feedback).
  Acceptance rate: accepted / shown cards logged in the period.
- latency percentiles: the upper bound of the histogram bucket the percentile falls in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import orjson
from sqlalchemy import and_, case, func, select, true

import cards
from cds_service.store import SHOWN, Store
from cds_service.store.counts import CALLS, LATENCY, LATENCY_KEYS, SLOWER, SNOOZED
from cds_service.store.models import call_count, feedback, issued_card
from cds_service.switches import CAPPED, SILENT

ACCEPTED, OVERRIDDEN, DISMISSED, NO_FEEDBACK = "accepted", "overridden", "dismissed", "no feedback"
OUTCOMES = (ACCEPTED, OVERRIDDEN, DISMISSED, NO_FEEDBACK)
CARD_MEASURES = (SHOWN, SILENT, CAPPED, SNOOZED)
PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class Scope:
    """The period (whole UTC days, both ends included) and the site (None: every caller)."""

    first_day: date
    last_day: date
    issuer: str | None = None
    tenant: str | None = None

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(), tzinfo=timezone.utc)

    def weeks(self) -> list[date]:
        """The Mondays of the weeks the period touches."""
        monday = self.first_day - timedelta(days=self.first_day.weekday())
        return [monday + timedelta(weeks=n) for n in range((self.last_day - monday).days // 7 + 1)]

    @property
    def site(self) -> str:
        if self.issuer is None:
            return "every caller"
        return self.issuer + (f" (tenant {self.tenant})" if self.tenant else "")


@dataclass
class Figures:
    scope: Scope
    topics: list[str]
    hooks: list[str]
    # (week monday, hook) -> calls
    calls: dict[tuple[date, str], int] = field(default_factory=dict)
    # (week monday, hook, topic, measure) -> cards
    cards: dict[tuple[date, str, str, str], int] = field(default_factory=dict)
    # topic -> outcome -> shown cards
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    # (topic, reason code) -> overridden cards
    reasons: dict[tuple[str, str], int] = field(default_factory=dict)
    # hook -> latency bucket key -> calls
    latency: dict[str, dict[str, int]] = field(default_factory=dict)
    # The snooze lengths the configuration in force sets (snooze.policy), said beside the cards they hid.
    snoozes: str = ""

    # --- sums the report prints --------------------------------------------------------------

    def calls_in(self, week: date | None = None, hook: str | None = None) -> int:
        return sum(n for (w, h), n in self.calls.items() if week in (None, w) and hook in (None, h))

    def cards_in(self, topic: str, measure: str, week: date | None = None, hook: str | None = None) -> int:
        return sum(n for (w, h, t, m), n in self.cards.items()
                   if t == topic and m == measure and week in (None, w) and hook in (None, h))

    def shown_logged(self, topic: str) -> int:
        return sum(self.outcomes.get(topic, {}).values())

    def top_reasons(self, limit: int = 10) -> list[tuple[str, int]]:
        by_reason: dict[str, int] = defaultdict(int)
        for (_, reason), n in self.reasons.items():
            by_reason[reason] += n
        return sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))[:limit]

    def percentile(self, hook: str, q: int) -> str | None:
        """The bucket bound (ms, or '+Inf') the q-th percentile of the hook's calls falls in."""
        buckets = self.latency.get(hook, {})
        total = sum(buckets.values())
        if not total:
            return None
        seen = 0
        for key in LATENCY_KEYS:
            seen += buckets.get(key, 0)
            if seen * 100 >= q * total:
                return key
        return SLOWER


def gather(store: Store, scope: Scope) -> Figures:
    with store.engine.connect() as conn:
        counted = conn.execute(_counts_query(scope)).all()
        tenants = _tenants_seen(conn, scope)
        refs = _source_refs(store, scope, tenants)
        outcomes = conn.execute(_outcomes_query(scope, refs)).all()
    figures = Figures(scope, topics=_known_and_seen(cards.TOPICS, {row.key for row in counted
                                                                   if row.measure in CARD_MEASURES}
                                                    | {row.topic for row in outcomes}),
                      hooks=_hooks_seen({row.hook for row in counted}))
    for row in counted:
        week = _monday(row.hour)
        if row.measure == CALLS:
            figures.calls[(week, row.hook)] = figures.calls.get((week, row.hook), 0) + row.count
        elif row.measure == LATENCY:
            figures.latency.setdefault(row.hook, {})
            figures.latency[row.hook][row.key] = figures.latency[row.hook].get(row.key, 0) + row.count
        elif row.measure in CARD_MEASURES:
            key = (week, row.hook, row.key, row.measure)
            figures.cards[key] = figures.cards.get(key, 0) + row.count
    for topic in figures.topics:
        figures.outcomes[topic] = dict.fromkeys(OUTCOMES, 0)
    for row in outcomes:
        outcome = (NO_FEEDBACK if row.outcome is None else ACCEPTED if row.outcome == "accepted"
                   else OVERRIDDEN if row.reason_code else DISMISSED)
        figures.outcomes[row.topic][outcome] += row.count
        if outcome == OVERRIDDEN:
            figures.reasons[(row.topic, row.reason_code)] = figures.reasons.get((row.topic, row.reason_code), 0) \
                + row.count
    return figures


def _site_filter(scope: Scope):
    if scope.issuer is None:
        return true()
    tenant = call_count.c.tenant == scope.tenant if scope.tenant is not None else true()
    return and_(call_count.c.issuer == scope.issuer, tenant)


def _counts_query(scope: Scope):
    return (select(call_count.c.hour, call_count.c.hook, call_count.c.measure, call_count.c.key,
                   func.sum(call_count.c.count).label("count"))
            .where(call_count.c.hour >= scope.start, call_count.c.hour < scope.end, _site_filter(scope))
            .group_by(call_count.c.hour, call_count.c.hook, call_count.c.measure, call_count.c.key))


def _tenants_seen(conn, scope: Scope) -> list[str | None]:
    """The site's tenants: the one asked for, else every one its calls carried (cards are logged
    under a keyed hash of issuer and tenant, so the tenants are found where they are written plainly)."""
    if scope.issuer is None:
        return []
    if scope.tenant is not None:
        return [scope.tenant]
    seen = conn.scalars(select(call_count.c.tenant).distinct()
                        .where(call_count.c.issuer == scope.issuer, call_count.c.hour >= scope.start,
                               call_count.c.hour < scope.end))
    return sorted({tenant or None for tenant in seen} | {None}, key=lambda t: t or "")


def _source_refs(store: Store, scope: Scope, tenants: list[str | None]) -> list[str] | None:
    if scope.issuer is None:
        return None
    # As Principal.source builds a verified caller's source (cds_service/auth/tokens.py).
    return [store.source_ref(orjson.dumps(["iss", scope.issuer, tenant]).decode()) for tenant in tenants]


def _outcomes_query(scope: Scope, source_refs: list[str] | None):
    """Per topic, outcome and reason: the shown cards of the period, each under its latest feedback."""
    happened = case((feedback.c.outcome_timestamp > feedback.c.received_at, feedback.c.received_at),
                    else_=feedback.c.outcome_timestamp)
    latest = (select(feedback.c.card_uuid, feedback.c.outcome, feedback.c.reason_code,
                     func.row_number().over(partition_by=feedback.c.card_uuid,
                                            order_by=(happened.desc(), feedback.c.id.desc())).label("rank"))
              .subquery())
    site = issued_card.c.source_ref.in_(source_refs) if source_refs is not None else true()
    joined = issued_card.outerjoin(latest, and_(latest.c.card_uuid == issued_card.c.card_uuid, latest.c.rank == 1))
    return (select(issued_card.c.topic, latest.c.outcome, latest.c.reason_code, func.count().label("count"))
            .select_from(joined)
            .where(issued_card.c.status == SHOWN, issued_card.c.issued_at >= scope.start,
                   issued_card.c.issued_at < scope.end, site)
            .group_by(issued_card.c.topic, latest.c.outcome, latest.c.reason_code))


def _monday(moment: datetime) -> date:
    day = moment.astimezone(timezone.utc).date()
    return day - timedelta(days=day.weekday())


def _known_and_seen(known: tuple[str, ...], seen: set[str]) -> list[str]:
    # Every registered topic, in the registry's order, even at zero; anything else found follows.
    return [*known, *sorted(seen - set(known))]


def _hooks_seen(seen: set[str]) -> list[str]:
    from cds_service.protocol.contexts import HOOKS
    return [*HOOKS, *sorted(seen - set(HOOKS))]
