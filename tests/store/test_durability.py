"""Fifty concurrent clients against the real server (gunicorn, several workers) on each database:
cards are issued while feedback streams in, one worker is SIGKILLed mid-load, then the whole
server is. Every write the service acknowledged with a 200 must be in the database afterwards."""

from __future__ import annotations

import queue
import random
import threading
from dataclasses import dataclass, field

import pytest
import requests
from sqlalchemy import select

from cds_service.store.engine import make_engine
from cds_service.store.models import feedback, issued_card
from tests.calls import PATIENT_VIEW, accepted, overridden, patient_view
from tests.store.live_server import LiveServer

CLIENTS = 50
ISSUERS = 20
HOOK_ACKS_BEFORE_WORKER_KILL = 80
HOOK_ACKS_BEFORE_SERVER_KILL = 200


@dataclass
class Acknowledged:
    lock: threading.Lock = field(default_factory=threading.Lock)
    cards: dict[str, tuple[str, str]] = field(default_factory=dict)       # card uuid -> (topic, patient)
    feedback: set[tuple[str, str, str]] = field(default_factory=set)       # (card, outcome, timestamp)
    hook_calls: int = 0
    failures: int = 0
    reached: dict[int, threading.Event] = field(default_factory=dict)

    def hook_acknowledged(self, patient: str, cards: list[dict]) -> None:
        with self.lock:
            for card in cards:
                self.cards[card["uuid"]] = (card["source"]["topic"]["code"], patient)
            self.hook_calls += 1
            for threshold, event in self.reached.items():
                if self.hook_calls >= threshold:
                    event.set()


@pytest.fixture
def server(database_url, tmp_path):
    live = LiveServer(database_url, tmp_path / "data", tmp_path / "gunicorn.log")
    try:
        live.wait_ready()
        yield live
    finally:
        live.close()


def test_every_acknowledged_write_survives_load_and_sigkill(server, database_url):
    acked = Acknowledged()
    worker_kill = acked.reached[HOOK_ACKS_BEFORE_WORKER_KILL] = threading.Event()
    server_kill = acked.reached[HOOK_ACKS_BEFORE_SERVER_KILL] = threading.Event()
    stop = threading.Event()
    to_review: queue.Queue[dict] = queue.Queue()

    def issue_cards(n: int) -> None:
        session = requests.Session()
        while not stop.is_set():
            patient = f"load-{n}-{random.randrange(1000)}"
            try:
                response = session.post(f"{server.base_url}/cds-services/{PATIENT_VIEW}",
                                        json=patient_view(patient), timeout=30)
            except requests.RequestException:
                with acked.lock:
                    acked.failures += 1
                continue
            if response.status_code == 200:
                cards = response.json()["cards"]
                acked.hook_acknowledged(patient, cards)
                for card in cards:
                    to_review.put(card)

    def send_feedback(n: int) -> None:
        session = requests.Session()
        while not stop.is_set():
            try:
                card = to_review.get(timeout=0.2)
            except queue.Empty:
                continue
            when = f"2026-01-05T10:{n % 60:02d}:{random.randrange(60):02d}Z"
            item = accepted(card, when) if random.random() < 0.5 else overridden(
                card, random.choice([None, "patient-declined", "managed-elsewhere"]), when)
            try:
                response = session.post(f"{server.base_url}/cds-services/{PATIENT_VIEW}/feedback",
                                        json={"feedback": [item]}, timeout=30)
            except requests.RequestException:
                with acked.lock:
                    acked.failures += 1
                continue
            if response.status_code == 200:
                with acked.lock:
                    acked.feedback.add((item["card"], item["outcome"], item["outcomeTimestamp"]))

    clients = [threading.Thread(target=issue_cards if n < ISSUERS else send_feedback, args=(n,), daemon=True)
               for n in range(CLIENTS)]
    for client in clients:
        client.start()
    try:
        assert worker_kill.wait(timeout=60), f"load never reached the first kill\n{server.log_tail()}"
        killed = server.kill_worker()
        assert server_kill.wait(timeout=60), f"load did not go on after a worker died\n{server.log_tail()}"
        assert server.reaped(killed), server.log_tail()
        server.kill_all()
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=35)

    with acked.lock:
        expected_cards, expected_feedback = dict(acked.cards), set(acked.feedback)
    # Patients recur, so snoozes thin out later calls' cards; the load was still real.
    assert acked.hook_calls >= HOOK_ACKS_BEFORE_SERVER_KILL and len(expected_cards) > HOOK_ACKS_BEFORE_SERVER_KILL
    assert len(expected_feedback) > 50
    assert acked.failures > 0, "no request was cut off: the kills did not land mid-load"

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            stored_cards = {row.card_uuid: row.topic for row in conn.execute(select(issued_card))}
            stored_feedback = {(row.card_uuid, row.outcome, row.outcome_timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"))
                               for row in conn.execute(select(feedback))}
    finally:
        engine.dispose()
    missing_cards = {uuid for uuid, (topic, _) in expected_cards.items() if stored_cards.get(uuid) != topic}
    assert not missing_cards, f"{len(missing_cards)} acknowledged cards lost"
    lost_feedback = expected_feedback - stored_feedback
    assert not lost_feedback, f"{len(lost_feedback)} acknowledged feedback lost"
