"""The switches through the real service (`withdrawal-cds serve`, its workers, the store on SQLite and
PostgreSQL): a silent card is logged and not returned, an off topic is not computed, the cap keeps
the highest-ranked card and logs the rest as capped."""

from __future__ import annotations

import requests
from sqlalchemy import select

from cds_service.store.engine import make_engine
from cds_service.store.models import issued_card
from tests.calls import PATIENT_VIEW, patient_view, topics
from tests.store.live_server import LiveServer

CONFIG = """
[topics]
max_cards = 1
naloxone = "silent"
counseling = { default = "on", patient-view = "off" }
"""


def test_silent_off_and_cap_through_the_running_service(database_url, tmp_path):
    server = LiveServer(database_url, tmp_path / "data", tmp_path / "server.log", workers=1, config=CONFIG)
    try:
        server.wait_ready()
        answer = requests.post(f"{server.base_url}/cds-services/{PATIENT_VIEW}", json=patient_view("pat-1"),
                               timeout=30)
        assert answer.status_code == 200, answer.text
        # With every topic on: moud-referral (warning), naloxone, counseling, depression-screen (info).
        assert list(topics(answer.json())) == ["moud-referral"]
    finally:
        server.close()
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            logged = dict(conn.execute(select(issued_card.c.topic, issued_card.c.status)).all())
    finally:
        engine.dispose()
    # counseling is off at patient-view: never computed, so never logged.
    assert logged == {"moud-referral": "shown", "naloxone": "silent", "depression-screen": "capped"}
