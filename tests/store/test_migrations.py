"""Migrations: they build exactly the tables the code uses, and many workers may start at once."""

from __future__ import annotations

import multiprocessing

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from cds_service.store import migrate
from cds_service.store.engine import make_engine
from cds_service.store.models import metadata
from tests.store.migration_worker import migrate_when_released


def test_the_migrated_schema_matches_the_models(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert migrate.current_revision(store.engine) == migrate.head_revision()


def test_starting_again_on_a_migrated_database_changes_nothing(store, store_settings):
    from cds_service.store import Store
    from tests.store.cardlog import issue
    issued = issue(store, "naloxone")
    again = Store.from_settings(store_settings)
    try:
        assert set(again.issued_cards([issued[0]["uuid"]])) == {issued[0]["uuid"]}
    finally:
        again.dispose()


def test_downgrade_to_base_and_back(database_url):
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        migrate.upgrade(engine, revision="head")
        from alembic import command
        config = migrate.alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)
        assert {"issued_card", "feedback", "seen_jti"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_workers_starting_together_migrate_once_without_errors(database_url):
    workers = 6
    # fork: the workers start in milliseconds, so they really do reach the lock together.
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(workers), context.Queue()
    processes = [context.Process(target=migrate_when_released, args=(database_url, barrier, results))
                 for _ in range(workers)]
    for p in processes:
        p.start()
    revisions = [results.get(timeout=60) for _ in processes]
    for p in processes:
        p.join(timeout=10)
    assert revisions == [migrate.head_revision()] * workers
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()
