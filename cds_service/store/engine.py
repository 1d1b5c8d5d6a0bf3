"""Engines for the two databases we run on, each set up for many concurrent writers.

SQLite: WAL, so readers never wait for the writer; `synchronous=NORMAL`, which in WAL
mode keeps every acknowledged write through a killed process (the SIGKILL test in
tests/store proves it) without an fsync per hook call, which cost more than a whole
small hook call (benchmarks/README.md). Power-loss durability is PostgreSQL's
job: the embedded store is for local use and small sites; a busy timeout, so
writers queue instead of failing. Every write transaction starts with BEGIN IMMEDIATE:
a deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
another process committed in between (busy_timeout does not help there), which under
load is every few requests.
"""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path

import psycopg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from cds_service.outbound.deadline import remaining

SQLITE_BUSY_TIMEOUT_MS = 15_000
# Execution option naming how a SQLite transaction begins: "IMMEDIATE" (default) or "DEFERRED".
SQLITE_BEGIN = "sqlite_begin"
# libpq does not wait less than this for a connection, whatever connect_timeout says.
_LIBPQ_MIN_CONNECT_SECONDS = 2


def make_engine(database_url: str, operation_timeout: float | None = None) -> Engine:
    """An engine for the URL. With `operation_timeout` (PostgreSQL), every store operation ends
    within it: see _bounded_postgresql. Without, nothing is bounded (migrations, the CLI)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    # pre_ping: a PostgreSQL restart or a dropped idle connection costs a reconnect, not a 500.
    if operation_timeout is None:
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_timeout=operation_timeout)
    _bounded_postgresql(engine, operation_timeout)
    return engine


class BoundedConnection(psycopg.Connection):
    """psycopg's connection, whose every wait on the server ends by the thread's deadline
    (outbound/deadline.py; the store sets one per operation).

    A frozen server (stopped, or its disk hung) keeps accepting TCP and never answers, so its
    own statement_timeout never fires and libpq waits for ever. Past the deadline the
    connection is closed, since nothing more can be said on it, and the operation fails as a
    disconnect: SQLAlchemy drops the connection from its pool and the call is a 503.
    """

    def wait(self, gen, *args, **kwargs):
        left = remaining()
        if left is None:
            return super().wait(gen, *args, **kwargs)
        if left <= 0:
            self._give_up()
        given = kwargs.get("timeout")
        kwargs["timeout"] = left if given is None else min(given, left)
        try:
            return super().wait(gen, *args, **kwargs)
        except psycopg.OperationalError:
            if remaining() <= 0:
                self._give_up()
            raise

    def _give_up(self):
        self.close()
        raise psycopg.OperationalError("the database did not answer within the store's timeout")


def _bounded_postgresql(engine: Engine, timeout: float) -> None:
    """Each store operation ends within `timeout`: the pool wait (pool_timeout), the connect
    (connect_timeout, at most what is left), each statement and lock wait on the server
    (statement_timeout, lock_timeout: a slow server cancels cleanly) and every wait of ours
    (BoundedConnection: a frozen one cannot)."""
    milliseconds = int(timeout * 1000)
    server_side = f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}"

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, connection_record, cargs, cparams):
        left = remaining()
        if left is not None and left <= 0:
            raise psycopg.OperationalError("the store's timeout passed before a connection was made")
        budget = timeout if left is None else min(timeout, left)
        cparams["connect_timeout"] = max(_LIBPQ_MIN_CONNECT_SECONDS, math.ceil(budget))
        # After any options the URL gives (a search_path, say).
        cparams["options"] = f"{cparams.get('options', '')} {server_side}".strip()
        return BoundedConnection.connect(*cargs, **cparams)


def sqlite_path(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _sqlite_engine(url) -> Engine:
    path = sqlite_path(url.render_as_string(hide_password=False))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from the sqlite3 module, which would otherwise
        # BEGIN (deferred) on its own before the first write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _switch_to_wal(cursor) -> None:
    """Put the database in WAL mode, waiting out another process doing the same.

    Switching needs an exclusive lock; while another connection holds the write lock,
    SQLite answers "database is locked" at once rather than call the busy handler (waiting
    could deadlock), so workers starting together on a new file failed about one start in
    ten. WAL mode is stored in the file: the first connection switches, later ones find it
    set and pass straight through.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
