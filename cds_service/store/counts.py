"""Every call counts (design section 10), without a row per call.

Each hook call adds to counters in memory, keyed by the UTC hour, the site (issuer and tenant),
the service and the hook: one for the call, one per card by topic and what became of it (shown,
silent, capped, snoozed), one for the latency bucket it fell in. They are written in batches
(`flush`): when `flush_seconds` have passed or `flush_calls` calls wait, after the response that
made them due has gone (hooks.py hands `flush` to the response's close), and when the process
exits. A write adds to the stored row (INSERT ... ON CONFLICT DO UPDATE), so every worker of every
run adds to the same hours. A failed write puts its counts back for the next one; a worker killed
outright loses at most its unwritten batch, as Prometheus counters would.

Nothing here can identify a patient: the keys are a configured issuer, a tenant it vouched for,
our service ids, hooks and topics.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from cds_service.store.models import call_count

log = logging.getLogger("withdrawal_cds.store")

CALLS, SNOOZED, LATENCY = "calls", "snoozed", "latency"
# Upper bounds in milliseconds; the last bucket holds everything slower. Fine where calls are
# (a few to tens of milliseconds with prefetch), coarse toward the FHIR deadline.
LATENCY_BOUNDS_MS = (2, 5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000,
                     10000)
SLOWER = "+Inf"
LATENCY_KEYS = (*(str(bound) for bound in LATENCY_BOUNDS_MS), SLOWER)

# (hour, issuer, tenant, service_id, hook, measure, key)
Key = tuple[datetime, str, str, str, str, str, str]
_KEY_COLUMNS = ("hour", "issuer", "tenant", "service_id", "hook", "measure", "key")


def latency_key(seconds: float) -> str:
    ms = seconds * 1000
    return next((str(bound) for bound in LATENCY_BOUNDS_MS if ms <= bound), SLOWER)


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


class CallCounts:
    """One process's unwritten counts. `write` stores a batch (Store.add_counts)."""

    def __init__(self, write: Callable[[Mapping[Key, int]], None], flush_seconds: float = 10.0,
                 flush_calls: int = 1000, monotonic: Callable[[], float] = time.monotonic):
        self._write = write
        self._flush_seconds, self._flush_calls = flush_seconds, flush_calls
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._counts: Counter[Key] = Counter()
        self._calls = 0
        self._flushed_at = monotonic()
        # At exit, by weak reference: a store disposed of and dropped (tests build many) is not kept.
        atexit.register(_flush_at_exit, weakref.ref(self))

    def add(self, *, at: datetime, issuer: str | None, tenant: str | None, service_id: str, hook: str,
            topics: Mapping[str, Iterable[str]], snoozed: Iterable[str], seconds: float) -> None:
        """One answered call: `topics` the card topics by status (pipeline.Answer.topics), `snoozed` the topics
        a snooze hid, `seconds` its latency."""
        site = (hour_of(at), issuer or "", tenant or "", service_id, hook)
        with self._lock:
            counts = self._counts
            counts[(*site, CALLS, "")] += 1
            counts[(*site, LATENCY, latency_key(seconds))] += 1
            for status, names in topics.items():
                for topic in names:
                    counts[(*site, status, topic)] += 1
            for topic in snoozed:
                counts[(*site, SNOOZED, topic)] += 1
            self._calls += 1

    def due(self) -> bool:
        return self._calls >= self._flush_calls or (
            self._calls > 0 and self._monotonic() - self._flushed_at >= self._flush_seconds)

    def flush(self) -> int:
        """Write what waits; returns how many calls the batch held (0 if another thread is writing)."""
        if not self._flushing.acquire(blocking=False):
            return 0
        try:
            with self._lock:
                batch, calls = self._counts, self._calls
                self._counts, self._calls = Counter(), 0
                self._flushed_at = self._monotonic()
            if not batch:
                return 0
            try:
                self._write(batch)
            except Exception as exc:  # the next flush tries again; the call that triggered it is answered
                with self._lock:
                    self._counts.update(batch)
                    self._calls += calls
                log.warning("call counts not written yet (%d calls wait): %s", self._calls, type(exc).__name__)
                return 0
            return calls
        finally:
            self._flushing.release()


def upsert(conn: Connection, batch: Mapping[Key, int]) -> None:
    """Add `batch` to the stored counts. Rows in key order: two workers writing the same hours take
    their row locks in the same order, so they never deadlock (PostgreSQL)."""
    dialect = {"postgresql": postgresql, "sqlite": sqlite}[conn.dialect.name]
    statement = dialect.insert(call_count)
    statement = statement.on_conflict_do_update(index_elements=list(_KEY_COLUMNS),
                                                set_={"count": call_count.c.count + statement.excluded["count"]})
    rows = [{**dict(zip(_KEY_COLUMNS, key, strict=True)), "count": count} for key, count in sorted(batch.items())]
    conn.execute(statement, rows)


def _flush_at_exit(ref: weakref.ref) -> None:
    counts = ref()
    if counts is not None:
        counts.flush()
