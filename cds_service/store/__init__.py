"""The store: card log, feedback and snoozes, and seen JWT ids, in SQLite or PostgreSQL.

`Store.from_settings(settings)` opens the database named by `settings.store.database_url`
(a SQLite file by default, PostgreSQL from WITHDRAWAL_CDS_DATABASE_URL), applies the Alembic
migrations, and loads the patient key. Every write is committed before the method returns,
so a caller that acknowledges after calling us never acknowledges a lost write.

On PostgreSQL every operation (a method here) ends within `store.timeout_seconds`, whatever
the server does (store/engine.py); past it the method raises and the call is a 503. A card log
whose COMMIT was sent but not answered may still land when the server comes back, for a call
that was answered 503: those cards are deleted again once the store answers (`_Withdrawn`),
so the log never holds a card the client was not given.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import Connection, Engine, Insert, Table, bindparam, delete, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError

from cds_service.outbound.deadline import bounded
from cds_service.store import counts, database_url, migrate, patient_key
from cds_service.store.counts import CallCounts
from cds_service.store.engine import SQLITE_BEGIN, SQLITE_BUSY_TIMEOUT_MS, make_engine, sqlite_path
from cds_service.store.models import feedback, issued_card, seen_jti
from cds_service.switches import SHOWN  # the card log's status of a card returned to the EHR

__all__ = ["Store", "CardLog", "IssuedCard", "FeedbackRow", "SHOWN"]

log = logging.getLogger("withdrawal_cds.store")

# The two statements of a hook call's card log (Store.card_log).
_SNOOZED_TOPICS = (select(feedback.c.topic).distinct()
                   .where(feedback.c.patient_ref == bindparam("patient_ref"),
                          feedback.c.snoozed_until > bindparam("now")))

# Expired jti rows are swept at most this often per process; they are harmless meanwhile.
_JTI_PURGE_INTERVAL_SECONDS = 60.0
# A withdrawn card is looked for this long after the store first answers again: a COMMIT the
# server had received lands within moments of it coming back, before a new connection is served.
_WITHDRAWN_WATCH_SECONDS = 300.0


@dataclass(frozen=True)
class IssuedCard:
    """One card of the log: what feedback on it is checked against, and what the report counts.
    `status` says what became of it (SHOWN: returned; switches.SILENT or CAPPED: held back)."""

    card_uuid: str
    service_id: str
    topic: str
    patient_ref: str
    suggestion_uuids: tuple[str, ...]
    issued_at: datetime
    source_ref: str
    override_reasons: tuple[tuple[str, str], ...]
    hook: str = ""
    hook_instance: str = ""
    status: str = SHOWN


@dataclass(frozen=True)
class FeedbackRow:
    card_uuid: str
    outcome: str
    outcome_timestamp: datetime
    reason_system: str
    reason_code: str
    accepted_suggestions: tuple[str, ...]
    service_id: str
    topic: str
    patient_ref: str
    snoozed_until: datetime | None


class Store:
    def __init__(self, engine: Engine, key: bytes, timeout_seconds: float | None = None, *,
                 count_flush_seconds: float = 10.0, count_flush_calls: int = 1000):
        self.engine = engine
        self._key = key
        self._timeout = timeout_seconds
        self._jti_purged_at = 0.0
        self._jti_purge_lock = threading.Lock()
        # SQLite has one writer at a time; PostgreSQL needs no turn-taking of ours.
        self._writers = threading.Lock() if engine.dialect.name == "sqlite" else None
        self._withdrawn = _Withdrawn()
        self._card_log_sql = _CardLogSql(engine.dialect)
        # Calls are counted in memory and written in batches (store/counts.py).
        self.counts = CallCounts(self.add_counts, count_flush_seconds, count_flush_calls)

    @classmethod
    def from_settings(cls, settings, *, bounded: bool = True) -> "Store":
        """`bounded=False` for the command line: a report over a large log may take its time."""
        url = settings.store.database_url
        # Migrations run without timeouts: rewriting a large table may take a while, once.
        migrating = make_engine(url)
        try:
            migrate.upgrade(migrating)
        finally:
            migrating.dispose()
        timeout = settings.store.timeout_seconds if bounded else None
        engine = make_engine(url, operation_timeout=timeout)
        try:
            key = settings.patient_key or patient_key.load_or_create(_key_path(settings))
        except BaseException:
            engine.dispose()
            raise
        log.info("store ready: %s", database_url.shown(url))
        return cls(engine, key, timeout, count_flush_seconds=settings.store.count_flush_seconds,
                   count_flush_calls=settings.store.count_flush_calls)

    def dispose(self) -> None:
        self.counts.flush()
        self.engine.dispose()

    def ping(self) -> bool:
        try:
            with self._reading() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception as exc:  # a health check reports, it does not raise
            log.warning("store unreachable: %s", type(exc).__name__)
            return False

    def patient_ref(self, source: str, patient_id: str) -> str:
        """The keyed hash a patient is known by: the id within its source (Principal.source)."""
        return patient_key.patient_ref(self._key, source, patient_id)

    def source_ref(self, source: str) -> str:
        return patient_key.source_ref(self._key, source)

    # --- cards -------------------------------------------------------------------------------

    @contextmanager
    def card_log(self, patient_ref: str, now: datetime) -> Iterator[CardLog]:
        """One call's card log, as one transaction: the topics snoozed for the patient at `now`
        (`log.snoozed`), then the cards issued (`log.add`), committed when the block ends, so
        before the answer leaves. One transaction: half the round trips of two, and feedback
        cannot land between the lookup and the log."""
        self._settle_withdrawn()
        logged: list[str] = []
        sql = self._card_log_sql
        with self.writing(in_doubt=lambda: self._withdrawn.add(logged)) as conn:
            found = conn.exec_driver_sql(sql.snoozed, sql.snoozed_params(patient_ref, now))
            snoozed = frozenset(row[0] for row in found)
            yield CardLog(conn, snoozed, logged, sql)

    def issued_cards(self, card_uuids: Iterable[str]) -> dict[str, IssuedCard]:
        wanted = sorted(set(card_uuids))
        if not wanted:
            return {}
        # Only cards the EHR was given can have feedback: a silent or capped card's uuid never left.
        query = select(issued_card).where(issued_card.c.card_uuid.in_(wanted), issued_card.c.status == SHOWN)
        with self._reading() as conn:
            return {row.card_uuid: IssuedCard(
                card_uuid=row.card_uuid, service_id=row.service_id, topic=row.topic, patient_ref=row.patient_ref,
                suggestion_uuids=tuple(row.suggestion_uuids), issued_at=row.issued_at, source_ref=row.source_ref,
                override_reasons=tuple((system, code) for system, code in row.override_reasons),
                hook=row.hook, hook_instance=row.hook_instance, status=row.status)
                for row in conn.execute(query)}

    # --- call counts -------------------------------------------------------------------------

    def add_counts(self, batch: Mapping[counts.Key, int]) -> None:
        """Add a batch of call counts to the stored ones (CallCounts writes through this)."""
        with self.writing() as conn:
            counts.upsert(conn, batch)

    # --- feedback ----------------------------------------------------------------------------

    def record_feedback(self, rows: Sequence[FeedbackRow], received_at: datetime) -> list[FeedbackRow]:
        """Store feedback in one transaction; returns the rows stored, duplicates left out.

        A duplicate (same card, outcome, outcome timestamp and reason) is left as it was, so
        resending an override does not move its snooze.
        """
        stored = []
        with self.writing() as conn:
            for row in rows:
                values = {**asdict(row), "accepted_suggestions": list(row.accepted_suggestions),
                          "received_at": received_at}
                inserted = conn.execute(_insert_ignoring_duplicates(conn, feedback).values(**values)
                                        .returning(feedback.c.id)).first()
                if inserted is not None:
                    stored.append(row)
        return stored

    # --- JWT replay protection ---------------------------------------------------------------

    def remember_jti(self, iss: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        """True if this (iss, jti) is new, and is now remembered until `expires_at`.

        The unique key decides, so two workers racing with the same token cannot both win.
        An id seen before counts as new again only after its earlier token expired.
        """
        with self.writing() as conn:
            fresh = conn.execute(_insert_ignoring_duplicates(conn, seen_jti)
                                 .values(iss=iss, jti=jti, expires_at=expires_at)
                                 .returning(seen_jti.c.id)).first() is not None
            if not fresh:
                result = conn.execute(update(seen_jti)
                                      .where(seen_jti.c.iss == iss, seen_jti.c.jti == jti,
                                             seen_jti.c.expires_at <= now)
                                      .values(expires_at=expires_at))
                fresh = result.rowcount == 1
        self._purge_expired_jti_now_and_then(now)
        return fresh

    def purge_expired_jti(self, now: datetime) -> int:
        with self.writing() as conn:
            return conn.execute(delete(seen_jti).where(seen_jti.c.expires_at <= now)).rowcount

    def _purge_expired_jti_now_and_then(self, now: datetime) -> None:
        with self._jti_purge_lock:
            if time.monotonic() - self._jti_purged_at < _JTI_PURGE_INTERVAL_SECONDS:
                return
            self._jti_purged_at = time.monotonic()
        try:
            self.purge_expired_jti(now)
        except Exception as exc:  # housekeeping must not fail the request that triggered it
            log.warning("purging expired jti failed: %s", type(exc).__name__)

    def _settle_withdrawn(self) -> None:
        """Delete the cards of calls answered 503 whose log commit was in doubt (see the module)."""
        pending = self._withdrawn.pending()
        if not pending:
            return
        try:
            with self.writing() as conn:
                deleted = set(conn.scalars(delete(issued_card).where(issued_card.c.card_uuid.in_(pending))
                                           .returning(issued_card.c.card_uuid)))
        except DBAPIError as exc:  # still down: the call itself will say so
            log.warning("withdrawn cards not settled yet: %s", type(exc.orig).__name__ if exc.orig else "")
            return
        self._withdrawn.answered(deleted)
        if deleted:
            log.warning("deleted %d logged card(s) of calls answered 503", len(deleted))

    @contextmanager
    def writing(self, in_doubt: Callable[[], None] | None = None) -> Iterator[Connection]:
        """A write transaction, committed when the block ends. `in_doubt` is called when the
        commit itself fails: the server may have it, and may yet apply it.

        On SQLite the threads of this process take turns before asking SQLite: its busy handler
        waits by sleeping in growing steps of up to 100 ms, so threads contending for the write
        lock saw waits past a second under load (benchmarks/README.md). A Python lock hands over
        the moment the holder commits. Other processes still meet at
        SQLite's lock, but with one waiter each, not one per thread.
        """
        turn = self._writers
        if turn is not None and not turn.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise OperationalError("waiting for this process's SQLite writers", None,
                                   TimeoutError("write lock not free"))
        committing = False
        try:
            with self._within_timeout(), self.engine.begin() as conn:
                yield conn
                committing = True
        except DBAPIError:
            if committing and in_doubt is not None:
                in_doubt()
            raise
        finally:
            if turn is not None:
                turn.release()

    # --- internals ---------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        # Reads need no write lock; on SQLite a deferred transaction lets them run beside a writer.
        with self._within_timeout(), self.engine.connect() as conn:
            yield conn.execution_options(**{SQLITE_BEGIN: "DEFERRED"})

    def _within_timeout(self):
        return bounded(time.monotonic() + self._timeout) if self._timeout is not None else nullcontext()


class CardLog:
    """The card log of one call, inside its transaction (Store.card_log)."""

    def __init__(self, conn: Connection, snoozed: frozenset[str], logged: list[str], sql: _CardLogSql):
        # The topics feedback hides for this patient now: their cards are not issued.
        self.snoozed = snoozed
        self._conn = conn
        self._logged = logged
        self._sql = sql

    def add(self, cards: Sequence[IssuedCard]) -> None:
        if not cards:
            return
        self._logged.extend(card.card_uuid for card in cards)
        self._conn.exec_driver_sql(self._sql.log, self._sql.log_rows(cards))


class _CardLogSql:
    """The card log's two statements compiled once for the store's database, and the columns' own
    conversions (JSON, UTC times) looked up once: a hook call pays for the driver's work, not for
    building, compiling and converting through SQLAlchemy on every call. The cards go in one
    executemany (psycopg pipelines it: one round trip). Executed with exec_driver_sql, so a
    driver's error is still a DBAPIError (a 503)."""

    def __init__(self, dialect):
        columns = [field.name for field in fields(IssuedCard)]  # each is a column of issued_card
        log = insert(issued_card).compile(dialect=dialect, column_keys=columns)
        snoozed = _SNOOZED_TOPICS.compile(dialect=dialect)
        self.log, self.snoozed = log.string, snoozed.string
        # qmark drivers (sqlite3) take a tuple in the statement's order; named ones (psycopg) a dict.
        self._log_positional, self._snoozed_order = log.positiontup is not None, snoozed.positiontup
        self._convert = [(name, issued_card.c[name].type._cached_bind_processor(dialect))
                         for name in (log.positiontup or columns)]
        self._time = feedback.c.snoozed_until.type._cached_bind_processor(dialect)

    def snoozed_params(self, patient_ref: str, now: datetime):
        params = {"patient_ref": patient_ref, "now": self._time(now) if self._time else now}
        return tuple(params[name] for name in self._snoozed_order) if self._snoozed_order else params

    def log_rows(self, cards: Sequence[IssuedCard]) -> list:
        rows = [tuple(convert(getattr(card, name)) if convert else getattr(card, name)
                      for name, convert in self._convert) for card in cards]
        if self._log_positional:
            return rows
        return [dict(zip((name for name, _ in self._convert), row, strict=True)) for row in rows]


class _Withdrawn:
    """Card uuids logged by a commit that failed in doubt, for calls answered 503. Each is deleted
    when the store answers again, and looked for a while after that, in case the commit lands
    late."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cards: dict[str, float | None] = {}  # uuid -> when the store first answered since

    def add(self, uuids: list[str]) -> None:
        with self._lock:
            self._cards.update(dict.fromkeys(uuids))

    def pending(self) -> list[str]:
        with self._lock:
            return list(self._cards)

    def answered(self, deleted: set[str]) -> None:
        now = time.monotonic()
        with self._lock:
            for uuid in list(self._cards):
                since = self._cards[uuid]
                if uuid in deleted or since is not None and now - since > _WITHDRAWN_WATCH_SECONDS:
                    del self._cards[uuid]
                elif since is None:
                    self._cards[uuid] = now


def _insert_ignoring_duplicates(conn: Connection, table: Table) -> Insert:
    # ON CONFLICT DO NOTHING ... RETURNING: a row comes back only if this call inserted it
    # (rowcount after ON CONFLICT is not reliable across drivers).
    dialect = {"postgresql": postgresql, "sqlite": sqlite}[conn.dialect.name]
    return dialect.insert(table).on_conflict_do_nothing()


def _key_path(settings) -> Path:
    db_file = sqlite_path(settings.store.database_url)
    if db_file is not None:
        return db_file.parent / patient_key.KEY_FILE_NAME
    # Each host would generate its own key and snoozes would not follow a patient across
    # hosts: a shared database needs the key from the environment.
    log.warning("no patient key in WITHDRAWAL_CDS_PATIENT_KEY; using a key generated in %s, which "
                "other hosts sharing this database will not have", settings.data_dir)
    return Path(settings.data_dir) / patient_key.KEY_FILE_NAME
