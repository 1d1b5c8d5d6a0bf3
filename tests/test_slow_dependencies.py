"""Slow dependencies against the real server (`withdrawal-cds serve`: gunicorn, our worker): a FHIR
server that drips its answers, and a JWKS endpoint that does. Neither may stall calls that do not
need it, and the calls that do need it end by their deadline."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.calls import PATIENT_VIEW, hook_request, oud_condition, patient
from tests.store.live_server import LiveServer

PV = f"/cds-services/{PATIENT_VIEW}"
FHIR_DEADLINE = 1.5
# The answer may come a little after the deadline: the server still has to build and send it.
SLACK = 1.5


def only_fhir_server(server_url: str) -> dict:
    body = hook_request("patient-view", prefetch={}, fhirServer=server_url)
    del body["prefetch"]
    return body


@pytest.fixture
def fhir_deadline_server(tmp_path):
    config = f"[fhir]\ndeadline_seconds = {FHIR_DEADLINE}\npool_size = 8\n"
    live = LiveServer(f"sqlite:///{tmp_path / 'cds.db'}", tmp_path / "data", tmp_path / "server.log",
                      workers=1, config=config)
    try:
        live.wait_ready()
        yield live
    finally:
        live.close()


def test_a_dripping_fhir_server_does_not_starve_calls_to_a_healthy_one(fhir_deadline_server, fault_server):
    """Before: the dripped answers held every fetch thread far past the deadline (it was checked
    between 64 KiB chunks only, and the pool was shared first come, first served), so calls to a
    healthy server got 412 for as long as the drip went on."""
    drip = fault_server("drip", interval=1.0)
    healthy = fault_server("delayed_real", delay=0,
                           resources={"Patient": [patient()], "Condition": [oud_condition()]})
    url = fhir_deadline_server.base_url + PV
    stop = threading.Event()
    drip_calls: list[tuple[int, float]] = []

    def keep_dripping() -> None:
        session = requests.Session()
        while not stop.is_set():
            started = time.monotonic()
            status = session.post(url, json=only_fhir_server(drip.base_url), timeout=30).status_code
            drip_calls.append((status, time.monotonic() - started))

    with ThreadPoolExecutor(3) as callers:
        for _ in range(3):  # 21 dripped queries in flight: more than the 8 fetch threads
            callers.submit(keep_dripping)
        try:
            time.sleep(0.5)
            session = requests.Session()
            healthy_statuses = []
            for _ in range(15):
                healthy_statuses.append(session.post(url, json=only_fhir_server(healthy.base_url),
                                                     timeout=30).status_code)
                time.sleep(0.3)
        finally:
            stop.set()
    assert healthy_statuses == [200] * 15, fhir_deadline_server.log_tail()
    assert len(drip_calls) >= 3 and {status for status, _ in drip_calls} == {412}
    assert max(seconds for _, seconds in drip_calls) < FHIR_DEADLINE + SLACK
