"""The store on both databases: card log, snooze lookups, feedback dedup, jti replay memory."""

from __future__ import annotations

import os
import re
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from cds_service.store import Store
from cds_service.store.engine import make_engine
from cds_service.store.models import feedback, issued_card, seen_jti
from tests.store.cardlog import LOCAL, T0, accept, feedback_row, issue, override, ref, snoozed
from tests.store.databases import settings_for


def test_ping_answers_true_for_a_live_database(store):
    assert store.ping() is True


def test_ping_is_false_not_an_exception_when_the_database_is_gone():
    unreachable = Store(make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1"), b"k" * 32)
    try:
        assert unreachable.ping() is False
    finally:
        unreachable.dispose()


def test_patient_ref_is_a_keyed_hash_that_reveals_nothing(store, tmp_path):
    known = ref(store, "example-patient-123")
    assert re.fullmatch(r"[0-9a-f]{64}", known)
    assert known == ref(store, "example-patient-123")
    assert known != ref(store, "example-patient-124")
    other_key = Store(store.engine, b"another-key-0123456789abcdef0123")
    assert ref(other_key, "example-patient-123") != known


def test_the_same_id_in_two_sources_is_two_patients(store):
    ehr_a = '["iss", "https://ehr-a.example.org", null]'
    ehr_b = '["iss", "https://ehr-b.example.org", null]'
    tenant = '["iss", "https://ehr-a.example.org", "clinic-2"]'
    refs = {ref(store, "123", source) for source in (ehr_a, ehr_b, tenant, LOCAL)}
    assert len(refs) == 4
    assert store.source_ref(ehr_a) != store.source_ref(ehr_b)
    # Neither part can spill into the other: the parts are kept apart, not concatenated.
    assert ref(store, "3", '["iss", "x"') != ref(store, '", "3', '["iss", "x')


def test_issue_cards_keeps_one_row_per_card_and_nothing_else_about_the_patient(store):
    issued = issue(store, "moud-referral", "naloxone", patient="patient-with-a-findable-id", at=T0)
    with store.engine.connect() as conn:
        rows = conn.execute(select(issued_card).order_by(issued_card.c.id)).mappings().all()
    assert [r["card_uuid"] for r in rows] == [c["uuid"] for c in issued]
    assert [r["topic"] for r in rows] == ["moud-referral", "naloxone"]
    assert rows[0]["suggestion_uuids"] == [s["uuid"] for s in issued[0]["suggestions"]]
    assert rows[0]["issued_at"] == T0 and rows[0]["issued_at"].tzinfo is not None
    assert rows[0]["patient_ref"] == ref(store, "patient-with-a-findable-id")
    assert rows[0]["service_id"] == "withdrawal-patient-view" and rows[0]["hook"] == "patient-view"
    assert "patient-with-a-findable-id" not in repr([dict(r) for r in rows])


def test_issued_cards_are_committed_when_issue_cards_returns(store, store_settings):
    issued = issue(store, "counseling")
    other = Store.from_settings(store_settings)  # another worker, its own connections
    try:
        assert set(other.issued_cards([issued[0]["uuid"]])) == {issued[0]["uuid"]}
    finally:
        other.dispose()


def test_times_in_other_offsets_are_stored_as_the_same_instant(store):
    plus_two = T0.astimezone(timezone(timedelta(hours=2)))
    issued = issue(store, "naloxone", at=plus_two)
    assert store.issued_cards([issued[0]["uuid"]])[issued[0]["uuid"]].issued_at == T0


def test_an_override_snoozes_that_topic_for_that_patient_until_its_end(store):
    moud, naloxone = issue(store, "moud-referral", "naloxone", patient="p1")
    issue(store, "moud-referral", patient="p2")
    override(store, moud, days=90, received_at=T0)
    p1, p2 = ref(store, "p1"), ref(store, "p2")
    assert snoozed(store, p1, T0) == {"moud-referral"}
    assert snoozed(store, p1, T0 + timedelta(days=90) - timedelta(seconds=1)) == {"moud-referral"}
    assert snoozed(store, p1, T0 + timedelta(days=90)) == set()
    assert snoozed(store, p2, T0) == set()


def test_issue_cards_drops_and_does_not_log_a_snoozed_topic_until_the_snooze_ends(store):
    (moud,) = issue(store, "moud-referral", patient="p1")
    override(store, moud, days=90, received_at=T0)
    shown = issue(store, "moud-referral", "naloxone", patient="p1", at=T0 + timedelta(days=1))
    assert [c["source"]["topic"]["code"] for c in shown] == ["naloxone"]
    assert [c["source"]["topic"]["code"] for c in issue(store, "moud-referral", patient="p2")] == ["moud-referral"]
    later = issue(store, "moud-referral", patient="p1", at=T0 + timedelta(days=90))
    assert [c["source"]["topic"]["code"] for c in later] == ["moud-referral"]
    with store.engine.connect() as conn:
        logged = conn.execute(select(issued_card.c.topic, issued_card.c.patient_ref)
                              .order_by(issued_card.c.id)).all()
    p1, p2 = ref(store, "p1"), ref(store, "p2")
    assert logged == [("moud-referral", p1), ("naloxone", p1), ("moud-referral", p2), ("moud-referral", p1)]


def test_acceptance_does_not_snooze(store):
    (moud,) = issue(store, "moud-referral")
    accept(store, moud)
    assert snoozed(store, ref(store, "pat-1"), T0) == set()


def test_the_snooze_lookup_a_hook_call_runs_is_one_query_on_the_snooze_index(store):
    (moud,) = issue(store, "moud-referral")
    override(store, moud)
    sql = store._card_log_sql  # the statement Store.card_log runs, as compiled for this database
    params = sql.snoozed_params(ref(store, "pat-1"), T0)
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql.snoozed}", params))
        else:
            # A table this small is always scanned; forbid that to see whether the index serves.
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {sql.snoozed}", params))
    assert "ix_feedback_snooze" in plan, plan


def test_the_same_feedback_twice_is_stored_once_and_does_not_move_the_snooze(store):
    (moud,) = issue(store, "moud-referral")
    assert len(override(store, moud, days=7, received_at=T0)) == 1
    assert override(store, moud, days=7, received_at=T0 + timedelta(days=5)) == []
    with store.engine.connect() as conn:
        rows = conn.execute(select(feedback.c.snoozed_until)).scalars().all()
    assert rows == [T0 + timedelta(days=7)]


def test_feedback_differing_in_reason_or_time_is_stored_separately(store):
    (moud,) = issue(store, "moud-referral")
    rows = [feedback_row(store, moud, "overridden", reason="patient-declined"),
            feedback_row(store, moud, "overridden", reason="managed-elsewhere"),
            feedback_row(store, moud, "overridden", reason="managed-elsewhere", at=T0 + timedelta(minutes=1)),
            feedback_row(store, moud, "overridden"),
            feedback_row(store, moud, "overridden")]
    assert len(store.record_feedback(rows, T0)) == 4  # of 5: one duplicate


def test_remember_jti_says_new_once_per_issuer(store):
    exp = datetime.now(timezone.utc) + timedelta(minutes=5)
    now = datetime.now(timezone.utc)
    assert store.remember_jti("https://ehr.example", "jti-1", exp, now) is True
    assert store.remember_jti("https://ehr.example", "jti-1", exp, now) is False
    assert store.remember_jti("https://other.example", "jti-1", exp, now) is True


def test_a_jti_is_new_again_only_after_its_token_expired_and_expired_rows_are_purged(store):
    assert store.remember_jti("iss", "jti", T0 + timedelta(minutes=5), T0)
    assert not store.remember_jti("iss", "jti", T0 + timedelta(minutes=9), T0 + timedelta(minutes=4))
    assert store.remember_jti("iss", "jti", T0 + timedelta(minutes=11), T0 + timedelta(minutes=6))
    store.remember_jti("iss", "other", T0 + timedelta(minutes=7), T0 + timedelta(minutes=6))
    assert store.purge_expired_jti(T0 + timedelta(minutes=8)) == 1
    with store.engine.connect() as conn:
        assert conn.execute(select(seen_jti.c.jti)).scalars().all() == ["jti"]


def test_one_jti_raced_by_many_workers_is_new_exactly_once(store, store_settings):
    second_worker = Store.from_settings(store_settings)
    exp = datetime.now(timezone.utc) + timedelta(minutes=5)
    start = threading.Barrier(16)

    def attempt(i):
        start.wait()
        return (store if i % 2 else second_worker).remember_jti("iss", "raced", exp, datetime.now(timezone.utc))

    try:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(attempt, range(16)))
    finally:
        second_worker.dispose()
    assert results.count(True) == 1


def test_local_mode_generates_the_patient_key_once_beside_the_database(tmp_path):
    db_dir = tmp_path / "somewhere"
    settings = settings_for(f"sqlite:///{db_dir / 'cds.db'}", tmp_path / "data", patient_key=None)
    first = Store.from_settings(settings)
    known = ref(first, "p")
    first.dispose()
    key_file = db_dir / "patient-key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    again = Store.from_settings(settings)
    try:
        assert ref(again, "p") == known
    finally:
        again.dispose()
    assert sorted(p.name for p in db_dir.iterdir() if not p.name.startswith("cds.db")) == ["patient-key"]


def test_a_key_from_the_environment_is_used_and_no_key_file_is_written(tmp_path):
    key = b"env-secret-of-at-least-32-characters"
    settings = settings_for(f"sqlite:///{tmp_path / 'cds.db'}", tmp_path / "data", patient_key=key)
    s = Store.from_settings(settings)
    try:
        import hashlib
        import hmac
        assert ref(s, "p") == hmac.new(key, b'["patient","[\\"local\\"]","p"]', hashlib.sha256).hexdigest()
    finally:
        s.dispose()
    assert not (tmp_path / "patient-key").exists()


def test_workers_creating_the_key_at_once_all_get_the_same_key(tmp_path):
    from cds_service.store.patient_key import load_or_create
    path = tmp_path / "patient-key"
    start = threading.Barrier(12)

    def create(_):
        start.wait()
        return load_or_create(path)

    with ThreadPoolExecutor(12) as pool:
        keys = set(pool.map(create, range(12)))
    assert len(keys) == 1 and len(next(iter(keys))) == 64
    assert [p.name for p in tmp_path.iterdir()] == ["patient-key"]


def test_sqlite_runs_in_wal_mode(tmp_path):
    s = Store.from_settings(settings_for(f"sqlite:///{tmp_path / 'new' / 'cds.db'}", tmp_path / "data"))
    try:
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL: durable through SIGKILL in WAL
    finally:
        s.dispose()


def test_many_threads_writing_at_once_all_commit(store):
    start = threading.Barrier(16)

    def write(i):
        start.wait()
        return [c["uuid"] for _ in range(10) for c in issue(store, "naloxone", patient=f"p{i}")]

    with ThreadPoolExecutor(16) as pool:
        written = [u for uuids in pool.map(write, range(16)) for u in uuids]
    assert len(written) == 160
    assert set(store.issued_cards(written)) == set(written)


def test_a_failed_write_gives_the_next_writer_its_turn(store):
    with pytest.raises(IntegrityError):
        with store.writing() as conn:
            conn.execute(issued_card.insert().values(card_uuid="x"))  # NOT NULL columns missing
    (card,) = issue(store, "counseling")
    assert set(store.issued_cards([card["uuid"]])) == {card["uuid"]}


def test_a_sqlite_writer_that_never_gets_its_turn_fails_as_a_store_error_not_a_hang(tmp_path, monkeypatch):
    import cds_service.store as store_module

    s = Store.from_settings(settings_for(f"sqlite:///{tmp_path / 'cds.db'}", tmp_path / "data"))
    monkeypatch.setattr(store_module, "SQLITE_BUSY_TIMEOUT_MS", 200)
    held = threading.Event()
    release = threading.Event()

    def hold_the_write_turn():
        with s.writing():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_write_turn)
    holder.start()
    try:
        held.wait(5)
        with pytest.raises(OperationalError) as raised:
            issue(s, "naloxone")
        assert isinstance(raised.value.orig, TimeoutError)
    finally:
        release.set()
        holder.join(10)
        s.dispose()


def test_withdrawn_cards_are_looked_for_until_found_or_a_while_after_the_store_answers(monkeypatch):
    import cds_service.store as store_module
    clock = [1000.0]
    monkeypatch.setattr(store_module.time, "monotonic", lambda: clock[0])
    withdrawn = store_module._Withdrawn()
    withdrawn.add(["found", "late", "never"])
    withdrawn.answered(deleted={"found"})            # the store answers: one deleted at once
    assert sorted(withdrawn.pending()) == ["late", "never"]
    clock[0] += store_module._WITHDRAWN_WATCH_SECONDS / 2
    withdrawn.answered(deleted={"late"})              # its commit landed late, and is deleted then
    assert withdrawn.pending() == ["never"]
    clock[0] += store_module._WITHDRAWN_WATCH_SECONDS
    withdrawn.answered(deleted=set())                 # never committed: no longer looked for
    assert withdrawn.pending() == []
