"""GET /metrics after real calls: the counters move by what happened, labels carry no patient
data, and under `withdrawal-cds serve` the workers' values are added up."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from cds_service.protocol.services import PREFETCH
from tests.calls import PATIENT_VIEW, accepted, hook_request, overridden, patient_view, topics

PV = f"/cds-services/{PATIENT_VIEW}"


def value(text: str, name: str, **labels: str) -> float:
    """A sample's value in a Prometheus exposition, 0 when the series does not exist yet."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200, response.data
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return response.get_data(as_text=True)


def test_a_hook_call_is_timed_per_service_and_its_cards_counted_per_topic_and_indicator(client):
    before = scrape(client)
    shown = topics(client.post(PV, json=patient_view()).get_json())
    after = scrape(client)

    count = "withdrawal_cds_hook_duration_seconds_count"
    assert value(after, count, service=PATIENT_VIEW) == value(before, count, service=PATIENT_VIEW) + 1
    assert value(after, "withdrawal_cds_hook_duration_seconds_sum", service=PATIENT_VIEW) > 0
    assert shown, "the chart must raise cards for this test to mean anything"
    for topic, card in shown.items():
        labels = {"service": PATIENT_VIEW, "topic": topic, "indicator": card["indicator"]}
        assert value(after, "withdrawal_cds_cards_total", **labels) == \
            value(before, "withdrawal_cds_cards_total", **labels) + 1, topic


def test_a_snoozed_card_is_not_counted_as_returned(client):
    card = topics(client.post(PV, json=patient_view()).get_json())["moud-referral"]
    client.post(f"{PV}/feedback", json={"feedback": [overridden(card, "patient-declined")]})
    before = scrape(client)
    shown = topics(client.post(PV, json=patient_view()).get_json())
    after = scrape(client)
    assert "moud-referral" not in shown
    labels = {"topic": "moud-referral", "indicator": card["indicator"]}
    assert value(after, "withdrawal_cds_cards_total", **labels) == value(before, "withdrawal_cds_cards_total", **labels)


def test_feedback_is_counted_once_per_stored_item_by_topic_and_outcome(client):
    shown = topics(client.post(PV, json=patient_view()).get_json())
    feedback = {"feedback": [overridden(shown["moud-referral"], "patient-declined"), accepted(shown["naloxone"])]}
    before = scrape(client)
    assert client.post(f"{PV}/feedback", json=feedback).get_json() == {"stored": 2, "duplicates": 0}
    assert client.post(f"{PV}/feedback", json=feedback).get_json() == {"stored": 0, "duplicates": 2}
    after = scrape(client)
    for topic, outcome in (("moud-referral", "overridden"), ("naloxone", "accepted")):
        labels = {"service": PATIENT_VIEW, "topic": topic, "outcome": outcome}
        assert value(after, "withdrawal_cds_feedback_total", **labels) == \
            value(before, "withdrawal_cds_feedback_total", **labels) + 1


@pytest.mark.parametrize("call, status, error", [
    (lambda c: c.post(PV, json={"hook": "patient-view"}), "400", "bad-request"),
    (lambda c: c.post("/cds-services/no-such-service", json=patient_view()), "404", "not-found"),
    (lambda c: c.post(PV, data=b"{", content_type="application/json"), "400", "bad-request"),
    (lambda c: c.get(PV), "405", "method-not-allowed"),
])
def test_error_answers_are_counted_by_status_and_error_name(client, call, status, error):
    before = scrape(client)
    assert str(call(client).status_code) == status
    after = scrape(client)
    name = "withdrawal_cds_http_errors_total"
    assert value(after, name, status=status, error=error) == value(before, name, status=status, error=error) + 1


def test_an_unknown_service_is_timed_under_one_label_not_its_name(client):
    client.post("/cds-services/made-up-by-a-scanner", json=patient_view())
    text = scrape(client)
    assert "made-up-by-a-scanner" not in text
    assert value(text, "withdrawal_cds_hook_duration_seconds_count", service="unknown") == 1


def test_a_store_outage_counts_a_store_error_and_a_503(app, client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def down(*args, **kwargs):
        raise OperationalError("INSERT ...", {}, ConnectionRefusedError("connection refused"))
    monkeypatch.setattr(app.extensions["withdrawal_cds"].store, "card_log", down)
    assert client.post(PV, json=patient_view()).status_code == 503
    text = scrape(client)
    assert value(text, "withdrawal_cds_store_errors_total", kind="ConnectionRefusedError") == 1
    assert value(text, "withdrawal_cds_http_errors_total", status="503", error="store-unavailable") == 1


def _fhir_call(base_url: str, token: str | None = None) -> dict:
    body = hook_request("patient-view", resources=None, fhirServer=base_url)
    if token:
        body["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer", "expires_in": 300,
                                     "scope": "patient/*.read", "subject": "withdrawal-cds"}
    return body


@pytest.mark.parametrize("kind, options, outcome", [
    ("delayed_real", {"delay": 0}, "ok"),
    ("slow", {"delay": 5.0}, "timeout"),
    ("custom", {"handler": lambda request: (401, "application/fhir+json", {"resourceType": "OperationOutcome"})},
     "refused"),
    ("custom", {"handler": lambda request: (403, "application/fhir+json", {"resourceType": "OperationOutcome"})},
     "refused"),
    ("error500", {}, "error"),
    ("not_json", {}, "error"),
])
def test_fhir_queries_are_counted_by_outcome(make_app, fault_server, kind, options, outcome):
    server = fault_server(kind, **options)
    client = make_app(fhir={"deadline_seconds": 1.0}).test_client()
    before = scrape(client)
    client.post(PV, json=_fhir_call(server.base_url, token="fhir-token-1"))
    after = scrape(client)
    name = "withdrawal_cds_fhir_fetches_total"
    # Every prefetch key but the patient's own is a query; the patient read may end otherwise
    # (a canned 404 is "no data"), so the count is checked for the search queries' outcome.
    assert value(after, name, outcome=outcome) - value(before, name, outcome=outcome) >= len(PREFETCH) - 1
    others = {"ok", "timeout", "refused", "error"} - {outcome}
    assert sum(value(after, name, outcome=o) - value(before, name, outcome=o) for o in others) <= 1


def test_no_patient_or_user_data_reaches_the_exposition(client):
    call = patient_view(patient_id="pat-Zyxwer-8675309")
    call["context"]["userId"] = "Practitioner/dr-Quilliam"
    client.post(PV, json=call)
    client.post(PV, json={**call, "context": {**call["context"], "patientId": 7}})  # a 400 naming the field
    text = scrape(client)
    assert "Zyxwer" not in text and "8675309" not in text and "Quilliam" not in text
    assert call["hookInstance"] not in text


# --- under gunicorn: every worker's values, added up ------------------------------------------

def test_the_server_master_imports_no_prometheus_client_before_it_chooses_multiprocess_mode(tmp_path):
    # prometheus_client picks its mode when first imported; the master forks workers from what it
    # has imported, so an early import would leave every worker counting only for itself. This runs
    # `serve` up to the moment gunicorn would start.
    code = ("import sys, cds_service.serving.server as server\n"
            "server.run_server = lambda settings, config: print('prometheus_client' in sys.modules)\n"
            "from cds_service.cli import main\n"
            "main(['serve', '--port', '0'])\n")
    env = {**os.environ, "WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.stdout.strip().splitlines()[-1:] == ["False"], result.stdout + result.stderr


def test_metrics_add_up_every_workers_calls(database_url, tmp_path, monkeypatch):
    from tests.store.live_server import LiveServer

    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left by an earlier run")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    server = LiveServer(database_url, tmp_path / "data", tmp_path / "server.log", workers=2)
    try:
        server.wait_ready()
        workers = set(server.worker_pids())
        # Which worker accepts a connection is the kernel's choice: call, from eight threads on
        # new connections, until both workers have taken calls (their histogram files exist).
        made, lock = [0], threading.Lock()

        def served() -> set[int]:
            return {int(name.removesuffix(".db").rsplit("_", 1)[1]) for name in os.listdir(metrics_dir)
                    if name.startswith("histogram_")}

        def call_until_both_served():
            while served() != workers and made[0] < 2000:
                with requests.Session() as session:
                    assert session.post(server.base_url + PV, json=patient_view(), timeout=30).status_code == 200
                with lock:
                    made[0] += 1
        threads = [threading.Thread(target=call_until_both_served) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert served() == workers, server.log_tail()
        assert not (metrics_dir / "counter_1.db").exists()  # an earlier run's values are not added in
        calls = made[0]
        for _ in range(2):  # whichever worker answers the scrape, it reports both workers' calls
            text = requests.get(server.base_url + "/metrics", timeout=10).text
            assert value(text, "withdrawal_cds_hook_duration_seconds_count", service=PATIENT_VIEW) == calls
            assert value(text, "withdrawal_cds_cards_total", service=PATIENT_VIEW, topic="moud-referral") == calls
    finally:
        server.close()
