"""The SQLite engine: a new database file is put in WAL mode even when another process is busy with it."""

from __future__ import annotations

import sqlite3
import threading

from cds_service.store.engine import make_engine


def test_wal_switch_waits_for_another_connection_instead_of_failing(tmp_path):
    path = tmp_path / "store.db"
    # Another worker, mid-way through its own start, holds the new file's write lock: here
    # SQLite refuses the switch at once instead of calling the busy handler.
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    threading.Timer(0.3, holder.execute, args=("COMMIT",)).start()
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
        holder.close()
