"""Run in separate processes by test_migrations: one gunicorn worker's start, reduced to the store."""

from __future__ import annotations

from cds_service.store import migrate
from cds_service.store.engine import make_engine


def migrate_when_released(database_url: str, barrier, results) -> None:
    engine = make_engine(database_url)
    try:
        barrier.wait(timeout=30)
        migrate.upgrade(engine)
        results.put(migrate.current_revision(engine))
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")
    finally:
        engine.dispose()
