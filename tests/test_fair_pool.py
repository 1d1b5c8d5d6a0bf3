"""The fetch pool: one key (FHIR server) runs at most its share of the threads; the others keep the rest."""

from __future__ import annotations

import threading

from cds_service.outbound.fair_pool import FairPool


def test_a_key_beyond_its_share_waits_while_other_keys_run():
    pool = FairPool(size=4, per_key=2, name="test")
    release = threading.Event()
    started: list[str] = []

    def task(name: str) -> str:
        started.append(name)
        release.wait(10)
        return name

    slow = [pool.submit("slow", task, f"slow-{n}") for n in range(5)]
    other = pool.submit("other", lambda: "done")
    assert other.result(timeout=5) == "done"          # not queued behind the slow key's five
    assert sorted(started) == ["slow-0", "slow-1"]      # two running, three waiting off the threads
    release.set()
    assert [f.result(timeout=5) for f in slow] == [f"slow-{n}" for n in range(5)]


def test_a_task_cancelled_while_it_waits_never_runs():
    pool = FairPool(size=2, per_key=1, name="test")
    release, ran = threading.Event(), []
    first = pool.submit("k", release.wait, 10)
    waiting = pool.submit("k", ran.append, "late")
    assert waiting.cancel()
    release.set()
    assert first.result(timeout=5) is True
    assert pool.submit("k", lambda: "next").result(timeout=5) == "next"
    assert ran == []


def test_an_exception_reaches_the_caller_and_frees_the_slot():
    pool = FairPool(size=1, per_key=1, name="test")

    def fail():
        raise ValueError("boom")

    assert isinstance(pool.submit("k", fail).exception(timeout=5), ValueError)
    assert pool.submit("k", lambda: 1).result(timeout=5) == 1
