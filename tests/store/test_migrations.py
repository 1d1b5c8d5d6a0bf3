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


def test_rows_written_before_0002_keep_their_history_but_lose_their_snoozes(database_url, tmp_path):
    """Nothing recorded which EHR a card went to before 0002, so its snooze cannot be scoped to
    one: it ends, and the advice comes back everywhere rather than staying hidden somewhere."""
    from datetime import timedelta

    from cds_service.store import Store
    from cds_service.store.models import feedback
    from cds_service.store.report import report
    from tests.store.cardlog import LOCAL, T0, issue, ref, snoozed, write_before_0002
    from tests.store.databases import TEST_KEY, settings_for

    old = write_before_0002(database_url, TEST_KEY, topic="moud-referral", patient="pat-1",
                            snoozed_until=T0 + timedelta(days=3650))
    store = Store.from_settings(settings_for(database_url, tmp_path / "data"))  # migrates to head
    try:
        assert migrate.current_revision(store.engine) == migrate.head_revision()
        card = store.issued_cards([old["uuid"]])[old["uuid"]]
        assert card.source_ref == "" and card.suggestion_uuids == (old["suggestion"],)
        assert card.override_reasons == ()  # revision 0003: nothing recorded which reasons it offered
        with store.engine.connect() as conn:
            assert conn.execute(feedback.select()).mappings().one()["snoozed_until"] is None
        ehr = '["iss", "https://ehr.example.org", null]'
        for source in (LOCAL, ehr):
            assert snoozed(store, ref(store, "pat-1", source), T0) == set()
            assert [c["source"]["topic"]["code"] for c in issue(store, "moud-referral", source=source)] == [
                "moud-referral"]
        moud = next(row for row in report(store) if row["topic"] == "moud-referral")
        assert (moud["issued"], moud["overridden"], moud["overridden_by_reason"]) == (3, 1, {"patient-declined": 1})
    finally:
        store.dispose()
