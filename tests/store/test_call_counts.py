"""Every call counts (design section 10): counts kept in memory, written in batches that add to the
stored rows, from every worker and across restarts; on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import requests
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from cds_service.store import Store
from cds_service.store.counts import CALLS, LATENCY, SNOOZED, CallCounts, latency_key
from cds_service.store.engine import make_engine
from cds_service.store.models import call_count
from tests.calls import PATIENT_VIEW, overridden, patient_view, topics
from tests.store.cardlog import T0
from tests.store.live_server import LiveServer

PV = "withdrawal-patient-view"


def stored(engine) -> dict[tuple, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(call_count.c.hour, call_count.c.issuer, call_count.c.tenant,
                                   call_count.c.service_id, call_count.c.hook, call_count.c.measure,
                                   call_count.c.key, call_count.c.count)).all()
    return {tuple(row[:-1]): row[-1] for row in rows}


def call(counts: CallCounts, at=T0, seconds=0.004, issuer=None, **topics_by_status):
    counts.add(at=at, issuer=issuer, tenant=None, service_id=PV, hook="patient-view",
               topics={status: tuple(names) for status, names in topics_by_status.items() if status != "snoozed"},
               snoozed=topics_by_status.get("snoozed", ()), seconds=seconds)


def test_latency_buckets_are_upper_bounds():
    assert [latency_key(s) for s in (0.0001, 0.002, 0.0021, 0.0999, 0.1, 11.0)] == ["2", "2", "5", "100", "100",
                                                                                      "+Inf"]


def test_counts_wait_in_memory_until_a_flush_then_add_to_the_stored_rows(store, store_settings):
    hour = T0.replace(minute=0)
    call(store.counts, at=T0 + timedelta(minutes=5), shown=["moud-referral", "naloxone"], silent=["counseling"])
    call(store.counts, at=T0 + timedelta(minutes=50), seconds=0.3, capped=["naloxone"], snoozed=["moud-referral"])
    call(store.counts, at=T0 + timedelta(hours=1))
    assert stored(store.engine) == {}
    assert store.counts.flush() == 3
    site = (hour, "", "", PV, "patient-view")
    next_hour = (hour + timedelta(hours=1), "", "", PV, "patient-view")
    first = {(*site, CALLS, ""): 2, (*site, LATENCY, "5"): 1, (*site, LATENCY, "300"): 1,
             (*site, "shown", "moud-referral"): 1, (*site, "shown", "naloxone"): 1, (*site, "silent", "counseling"): 1,
             (*site, "capped", "naloxone"): 1, (*site, SNOOZED, "moud-referral"): 1,
             (*next_hour, CALLS, ""): 1, (*next_hour, LATENCY, "5"): 1}
    assert stored(store.engine) == first

    # Another worker (its own Store) adds to the same rows; nothing is counted twice.
    other = Store.from_settings(store_settings)
    try:
        call(other.counts, shown=["naloxone"], issuer="https://ehr.example.org")
        call(other.counts, shown=["naloxone"])
        assert other.counts.flush() == 2
    finally:
        other.dispose()
    assert store.counts.flush() == 0
    ehr = (hour, "https://ehr.example.org", "", PV, "patient-view")
    assert stored(store.engine) == {**first, (*site, CALLS, ""): 3, (*site, LATENCY, "5"): 2,
                                    (*site, "shown", "naloxone"): 2,
                                    (*ehr, CALLS, ""): 1, (*ehr, LATENCY, "5"): 1, (*ehr, "shown", "naloxone"): 1}


def test_a_failed_write_keeps_the_counts_for_the_next_flush(store):
    failing = [True]

    def write(batch):
        if failing[0]:
            raise OperationalError("INSERT ...", {}, Exception("connection refused"))
        store.add_counts(batch)
    counts = CallCounts(write, flush_seconds=3600, flush_calls=2)
    call(counts, shown=["naloxone"])
    assert not counts.due()
    call(counts, shown=["naloxone"])
    assert counts.due()
    assert counts.flush() == 0 and counts.due()
    failing[0] = False
    assert counts.flush() == 2 and not counts.due()
    assert stored(store.engine)[(T0.replace(minute=0), "", "", PV, "patient-view", "shown", "naloxone")] == 2


def test_a_flush_is_due_after_its_interval():
    now = [0.0]
    counts = CallCounts(lambda batch: None, flush_seconds=10, flush_calls=1000, monotonic=lambda: now[0])
    assert not counts.due()
    now[0] = 11.0
    assert not counts.due()  # nothing waits
    call(counts)
    assert counts.due()
    counts.flush()
    assert not counts.due()


def test_a_call_that_makes_a_batch_due_writes_it_once_answered(database_url, tmp_path):
    from cds_service import create_app
    from cds_service.runtime import EXTENSION
    from tests.store.databases import settings_for
    settings = settings_for(database_url, tmp_path / "data")
    app = create_app(replace(settings, store=replace(settings.store, count_flush_calls=2, count_flush_seconds=3600)))
    store = app.extensions[EXTENSION].store
    try:
        client = app.test_client()

        def answered():
            response = client.post(f"/cds-services/{PATIENT_VIEW}", json=patient_view())
            assert response.status_code == 200
            response.close()  # as a WSGI server closes it, once the answer has gone
        answered()
        assert stored(store.engine) == {}
        answered()
        totals = _totals(stored(store.engine))
        assert totals[(CALLS, "")] == 2 and totals[("shown", "naloxone")] == 2
    finally:
        store.dispose()


CONFIG = """
[topics]
naloxone = "silent"

[store]
# Written only at exit here: what the test reads after a stop was written by the stopping workers.
count_flush_seconds = 3600
count_flush_calls = 100000
"""


def url_of(server: LiveServer) -> str:
    return f"{server.base_url}/cds-services/{PATIENT_VIEW}"


def test_two_workers_count_every_call_and_the_counts_survive_a_restart(database_url, tmp_path):
    engine = make_engine(database_url)
    try:
        server = LiveServer(database_url, tmp_path / "data", tmp_path / "server1.log", workers=2, config=CONFIG)
        try:
            server.wait_ready()
            for n in range(6):
                answer = requests.post(url_of(server), json=patient_view(f"pat-{n}"), timeout=30)
                assert answer.status_code == 200
            first = topics(answer.json())
            feedback = requests.post(f"{url_of(server)}/feedback", json={"feedback": [
                overridden(first["counseling"], "patient-declined")]}, timeout=30)
            assert feedback.status_code == 200, feedback.text
            server.stop()
            assert server.process.returncode == 0
        finally:
            server.close()
        after_one = _totals(stored(engine))
        assert after_one == {(CALLS, ""): 6, ("shown", "moud-referral"): 6, ("shown", "counseling"): 6,
                             ("shown", "depression-screen"): 6, ("silent", "naloxone"): 6, (LATENCY, "*"): 6}

        server = LiveServer(database_url, tmp_path / "data", tmp_path / "server2.log", workers=2, config=CONFIG)
        try:
            server.wait_ready()
            for n in range(3, 7):  # pat-5 overrode counseling above
                assert requests.post(url_of(server), json=patient_view(f"pat-{n}"), timeout=30).status_code == 200
            server.stop()
        finally:
            server.close()
        assert _totals(stored(engine)) == {(CALLS, ""): 10, ("shown", "moud-referral"): 10,
                                           ("shown", "counseling"): 9, (SNOOZED, "counseling"): 1,
                                           ("shown", "depression-screen"): 10, ("silent", "naloxone"): 10,
                                           (LATENCY, "*"): 10}
    finally:
        engine.dispose()


def _totals(rows: dict[tuple, int]) -> dict[tuple, int]:
    """Summed over hours (a run may cross one) and latency buckets (their sum is the calls)."""
    totals: dict[tuple, int] = {}
    for (_, issuer, tenant, service_id, hook, measure, key), count in rows.items():
        assert (issuer, tenant, service_id, hook) == ("", "", PV, "patient-view")
        name = (measure, "*" if measure == LATENCY else key)
        totals[name] = totals.get(name, 0) + count
    return totals
