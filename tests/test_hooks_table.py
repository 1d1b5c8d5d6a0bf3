"""The hook table (cds_service/protocol/contexts.py): each hook's context becomes the engine's
inputs; a new hook is a row and a service, with no change under cards/; a service whose hook has
no row stops the start; encounter-discharge answers as patient-view does."""

from __future__ import annotations

import re

import pytest
from marshmallow import fields

from cards import Moment
from cds_service import create_app
from cds_service.protocol import contexts, services
from cds_service.protocol.card_json import topic_of
from tests.auth.conftest import BASE, FIXTURES, bearer
from tests.auth.test_sandbox import SANDBOX_ISS, sandbox_token
from tests.calls import SERVICE_OF, hook_request, oud_condition, patient

OPIOID = {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1049621"}
ANTIBIOTIC = {"text": "amoxicillin 500 MG Oral Capsule"}


def draft(rid, medication):
    return {"resourceType": "MedicationRequest", "id": rid, "status": "draft", "intent": "proposal",
            "subject": {"reference": "Patient/pat-1"}, "medicationCodeableConcept": medication}


def loaded_context(hook: str, **changes) -> dict:
    body = hook_request(hook, drafts=[draft("d1", {"coding": [OPIOID]}), draft("d2", ANTIBIOTIC)], **changes)
    return contexts.HOOKS[hook].context().load(body["context"])


def test_patient_view_is_the_chart_with_no_drafts():
    inputs = contexts.HOOKS["patient-view"].inputs(loaded_context("patient-view"))
    assert (inputs.patient_id, inputs.moment, inputs.user_ref) == ("pat-1", Moment.CHART, "Practitioner/doc-1")
    assert inputs.drafts == inputs.acted_on == ()


def test_order_select_acts_on_the_selected_drafts_only():
    inputs = contexts.HOOKS["order-select"].inputs(loaded_context("order-select", selections=["MedicationRequest/d2"]))
    assert inputs.moment is Moment.ORDER
    assert [d["id"] for d in inputs.drafts] == ["d1", "d2"] and [d["id"] for d in inputs.acted_on] == ["d2"]


def test_order_sign_acts_on_every_draft():
    inputs = contexts.HOOKS["order-sign"].inputs(loaded_context("order-sign"))
    assert [d["id"] for d in inputs.acted_on] == ["d1", "d2"]


def test_encounter_discharge_is_the_discharge_moment():
    inputs = contexts.HOOKS["encounter-discharge"].inputs(loaded_context("encounter-discharge"))
    assert inputs.moment is Moment.DISCHARGE and inputs.drafts == ()


def test_a_selection_cannot_name_a_draft_without_an_id(client):
    nameless = draft("d1", {"coding": [OPIOID]})
    del nameless["id"]
    body = hook_request("order-select", [patient(), oud_condition()], drafts=[nameless],
                        selections=["MedicationRequest/None"])
    response = client.post("/cds-services/withdrawal-order-select", json=body)
    assert response.status_code == 400 and "context.selections.0" in response.get_json()["fields"]


def test_every_service_has_a_hook_row_and_discovery_lists_four(client):
    assert {s.hook for s in services.SERVICES.values()} <= set(contexts.HOOKS)
    listed = client.get("/cds-services").get_json()["services"]
    assert [s["hook"] for s in listed] == ["patient-view", "order-select", "order-sign", "encounter-discharge"]


def test_a_service_whose_hook_has_no_row_stops_the_start(make_settings, monkeypatch):
    toy = services.Service("toy-service", "appointment-book", "Toy", "A toy", services.PREFETCH)
    monkeypatch.setitem(services.SERVICES, toy.id, toy)
    with pytest.raises(LookupError, match="appointment-book"):
        create_app(make_settings())


class AppointmentBookContextSchema(contexts.PatientViewContextSchema):
    appointments = fields.Dict(required=True)


def test_a_new_hook_is_a_row_and_a_service(make_app, monkeypatch):
    """What adding a hook takes: nothing under cards/ (the row says which moment it is)."""
    monkeypatch.setitem(contexts.HOOKS, "appointment-book",
                        contexts.Hook("appointment-book", AppointmentBookContextSchema, Moment.CHART))
    monkeypatch.setitem(services.SERVICES, "toy-booking",
                        services.Service("toy-booking", "appointment-book", "Toy", "A toy", services.PREFETCH))
    client = make_app().test_client()
    body = hook_request("patient-view", [patient(), oud_condition()])
    body["hook"] = "appointment-book"
    assert client.post("/cds-services/toy-booking", json=body).get_json()["fields"] == {
        "context.appointments": ["Missing data for required field."]}
    body["context"]["appointments"] = {"resourceType": "Bundle", "entry": []}
    response = client.post("/cds-services/toy-booking", json=body)
    assert response.status_code == 200
    assert {topic_of(c) for c in response.get_json()["cards"]} == {"moud-referral", "counseling", "naloxone",
                                                                    "depression-screen"}
    assert "toy-booking" in {s["id"] for s in client.get("/cds-services").get_json()["services"]}


def test_encounter_discharge_needs_its_encounter(client):
    body = hook_request("encounter-discharge", [patient(), oud_condition()])
    del body["context"]["encounterId"]
    response = client.post(f"/cds-services/{SERVICE_OF['encounter-discharge']}", json=body)
    assert response.status_code == 400 and "context.encounterId" in response.get_json()["fields"]


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _without_uuids(cards: list[dict]) -> str:
    return UUID.sub("U", repr(cards))


def test_encounter_discharge_answers_a_sandbox_shaped_call_with_the_patient_view_cards(make_app, clean_fhir_server):
    """Shaped as the CDS Hooks Sandbox calls: its own JWT, fhirServer always, a prefetch with the
    keys it could not fill (or found empty) left out, so the service fetches those itself."""
    clean_fhir_server.load([patient(), oud_condition()])
    client = make_app(issuers=[{"iss": SANDBOX_ISS, "jwks_file": str(FIXTURES / "sandbox-jwks.json"),
                                "fhir_servers": [clean_fhir_server.base_url]}],
                      server={"public_base_urls": [BASE]}).test_client()
    answers = {}
    for hook in ("patient-view", "encounter-discharge"):
        body = hook_request(hook, prefetch={"patient": patient()}, fhirServer=clean_fhir_server.base_url)
        path = f"/cds-services/{SERVICE_OF[hook]}"
        response = client.post(path, json=body, headers=bearer(sandbox_token(BASE + path)))
        assert response.status_code == 200, response.get_json()
        answers[hook] = response.get_json()["cards"]
    assert {topic_of(c) for c in answers["encounter-discharge"]} == {"moud-referral", "counseling", "naloxone",
                                                                      "depression-screen"}
    assert _without_uuids(answers["encounter-discharge"]) == _without_uuids(answers["patient-view"])
