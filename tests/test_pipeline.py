"""The hook call and the feedback post as plain functions (cds_service/pipeline.py): no Flask app,
plain values in and out; and the command line's `evaluate` giving what the server gives."""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import timedelta

import orjson
import pytest

from cds_service.auth.tokens import OPEN
from cds_service.cli import main
from cds_service.fhir.fetch import FhirFetcher
from cds_service.pipeline import answer_hook, receive_feedback, request_from_bundle
from cds_service.protocol.services import SERVICES
from cds_service.runtime import utcnow
from cds_service.snooze import footer
from cds_service.store import SHOWN, Store
from cds_service.switches import CAPPED, SILENT, Switchboard
from tests.calls import overridden, patient_view, topics
from tests.serving import REPO

PV = SERVICES["withdrawal-patient-view"]


@pytest.fixture
def settings(make_settings):
    return make_settings()


@pytest.fixture
def store(settings):
    store = Store.from_settings(settings)
    yield store
    store.dispose()


def call(settings, store, body: dict, now, **extra):
    return answer_hook(PV, orjson.dumps(body), OPEN, now=now, settings=settings, fetcher=FhirFetcher(settings.fhir),
                       store=store, **extra)


def test_a_hook_call_logs_exactly_the_cards_it_returns_as_values(settings, store):
    now = utcnow()
    body = patient_view()
    answer = call(settings, store, body, now)
    shown = topics(answer.body)
    assert set(shown) == {"moud-referral", "counseling", "naloxone", "depression-screen"}
    assert answer.topics == {SHOWN: tuple(card["source"]["topic"]["code"] for card in answer.body["cards"])}
    logged = store.issued_cards(card["uuid"] for card in answer.body["cards"])
    assert set(logged) == {card["uuid"] for card in answer.body["cards"]}
    for wire in answer.body["cards"]:
        entry = logged[wire["uuid"]]
        assert entry.topic == wire["source"]["topic"]["code"] and entry.status == SHOWN
        assert entry.suggestion_uuids == tuple(s["uuid"] for s in wire.get("suggestions", ()))
        assert entry.override_reasons == tuple((r["system"], r["code"]) for r in wire["overrideReasons"])
        assert (entry.hook, entry.hook_instance, entry.issued_at) == ("patient-view", body["hookInstance"], now)


def test_feedback_through_the_pipeline_hides_the_topic_on_the_next_call(settings, store):
    now = utcnow()
    moud = topics(call(settings, store, patient_view(), now).body)["moud-referral"]
    feedback = {"feedback": [overridden(moud, "patient-declined")]}
    received = receive_feedback(PV, orjson.dumps(feedback), OPEN, now=now, settings=settings, store=store)
    assert (len(received.stored), received.duplicates) == (1, 0)
    assert received.stored[0].snoozed_until == now + timedelta(days=90)
    again = call(settings, store, patient_view(), now + timedelta(days=1))
    assert "moud-referral" not in topics(again.body) and again.snoozed == ("moud-referral",)
    later = call(settings, store, patient_view(), now + timedelta(days=90, seconds=1))
    assert "moud-referral" in topics(later.body) and later.snoozed == ()


def test_switches_hold_cards_back_and_the_log_says_which(settings, store):
    switches = Switchboard({"counseling": "silent", "max_cards": 2})
    answer = call(settings, store, patient_view(), utcnow(), switches=switches)
    assert len(answer.shown) == 2 and "counseling" not in topics(answer.body)
    assert answer.topics[SILENT] == ("counseling",) and len(answer.topics[CAPPED]) == 1


def test_without_a_store_nothing_is_logged_and_nothing_is_snoozed(settings, store):
    answer = call(settings, None, patient_view(), utcnow())
    assert len(answer.shown) == 4 and answer.snoozed == ()
    assert store.issued_cards(card["uuid"] for card in answer.body["cards"]) == {}


def test_the_response_says_once_how_long_dismissing_hides_a_card(settings, store):
    details = [card["detail"] for card in call(settings, store, patient_view(), utcnow()).body["cards"]]
    line = footer(settings.snooze)
    assert sum(detail.count(line) for detail in details) == 1
    assert details[0].endswith("\n\n" + line) and all(len(detail) < 600 for detail in details)


def _sandbox_bundle() -> dict:
    spec = importlib.util.spec_from_file_location("sandbox_patient", REPO / "examples" / "sandbox-patient.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.bundle(utcnow())


def _without_uuids(response: dict) -> str:
    """The response with every uuid (fresh per call) replaced by a placeholder."""
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", json.dumps(response))


def test_evaluate_on_the_command_line_gives_what_the_server_gives(make_app, tmp_path, capsys, monkeypatch):
    """The same request to the server (at the address `serve` listens on by default) and to
    `withdrawal-cds evaluate`: the same cards, word for word, the line on dismissing and the
    links to the COWS form included."""
    request = request_from_bundle(_sandbox_bundle())
    served = make_app().test_client().post("/cds-services/withdrawal-patient-view", json=request,
                                          base_url="http://127.0.0.1:8080")
    assert served.status_code == 200
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    monkeypatch.setenv("WITHDRAWAL_CDS_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.delenv("WITHDRAWAL_CDS_CONFIG", raising=False)
    assert main(["evaluate", str(path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert _without_uuids(printed) == _without_uuids(served.get_json())
    said = json.dumps(printed)
    assert "Score COWS now" in said and footer(make_app().extensions["withdrawal_cds"].settings.snooze) in said
