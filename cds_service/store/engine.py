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

import sqlite3
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 15_000
# Execution option naming how a SQLite transaction begins: "IMMEDIATE" (default) or "DEFERRED".
SQLITE_BEGIN = "sqlite_begin"


def make_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    # pre_ping: a PostgreSQL restart or a dropped idle connection costs a reconnect, not a 500.
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


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
