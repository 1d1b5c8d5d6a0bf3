"""CDS Hooks 2.0 protocol: discovery, request validation, error answers, response shape, CORS."""

from __future__ import annotations

import json
import re

import pytest

from cards.record import Record
from cds_service.protocol.response_schemas import CardsResponseSchema
from tests.calls import SERVICE_OF, hook_request, oud_condition, overridden, patient

PV = "/cds-services/withdrawal-patient-view"


@pytest.fixture(scope="module")
def app(module_app):
    # One app for the module: each test checks a validation or the shape of one answer, and none
    # reads what another wrote. Tests that need other settings build their own (make_app).
    return module_app


def _empty_anywhere(value) -> list:
    """Paths of null or empty values (the standard forbids them)."""
    found = []

    def walk(v, path):
        if v is None or v in ("", [], {}):
            found.append(path)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{path}.{k}")
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{path}.{i}")
    walk(value, "$")
    return found


# --- discovery -------------------------------------------------------------------------

def test_discovery_lists_one_service_per_hook_with_prefetch(client):
    services = client.get("/cds-services").get_json()["services"]
    assert {s["hook"] for s in services} == {"patient-view", "order-select", "order-sign", "encounter-discharge"}
    for s in services:
        assert s["id"] and s["title"] and s["description"] and s["prefetch"]
        assert client.post(f"/cds-services/{s['id']}", json={}).status_code == 400  # the id routes


def test_discovery_templates_are_cds_hooks_2_0(client):
    for service in client.get("/cds-services").get_json()["services"]:
        for template in service["prefetch"].values():
            tokens = re.findall(r"\{\{(.*?)\}\}", template)
            assert tokens, template
            # 2.0 allows context.<field> and the user tokens; today() is 3.0.
            assert all(re.fullmatch(r"context\.[A-Za-z]+|user(Practitioner|PractitionerRole|Patient|RelatedPerson)Id",
                                    t.strip()) for t in tokens), template


def test_discovery_covers_what_the_rules_read(client):
    """Every type the record reads is searched for, or included with a search (Medications)."""
    for service in client.get("/cds-services").get_json()["services"]:
        templates = service["prefetch"].values()
        searched = {t.split("?")[0].split("/")[0] for t in templates}
        included = {"Medication" for t in templates if re.search(r"_include=\w+:medication\b", t)}
        assert searched | included == set(Record._INDEXERS), service["id"]


def test_discovery_has_no_empty_values(client):
    assert _empty_anywhere(client.get("/cds-services").get_json()["services"]) == []


# --- request validation: 400 with the field path -----------------------------------------

def _without(d: dict, dotted: str) -> dict:
    *parents, last = dotted.split(".")
    target = d
    for p in parents:
        target = target[p]
    del target[last]
    return d


def _with(d: dict, dotted: str, value) -> dict:
    *parents, last = dotted.split(".")
    target = d
    for p in parents:
        target = target[p]
    target[last] = value
    return d


_DRAFT = {"resourceType": "MedicationRequest", "id": "mr-1", "status": "draft", "intent": "order",
          "subject": {"reference": "Patient/pat-1"},
          "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                    "code": "1049621"}]}}


@pytest.mark.parametrize("hook,mutate,path", [
    ("patient-view", lambda r: _without(r, "hook"), "hook"),
    ("patient-view", lambda r: _with(r, "hook", "order-sign"), "hook"),
    ("patient-view", lambda r: _without(r, "hookInstance"), "hookInstance"),
    ("patient-view", lambda r: _with(r, "hookInstance", "not-a-uuid"), "hookInstance"),
    ("patient-view", lambda r: _without(r, "context"), "context"),
    ("patient-view", lambda r: _without(r, "context.patientId"), "context.patientId"),
    ("patient-view", lambda r: _without(r, "context.userId"), "context.userId"),
    ("patient-view", lambda r: _with(r, "context.patientId", "has spaces/and slash"), "context.patientId"),
    ("patient-view", lambda r: _with(r, "context", ["not", "an", "object"]), "context"),
    ("patient-view", lambda r: _with(r, "fhirAuthorization", {"access_token": "t", "token_type": "Bearer",
                                                            "expires_in": 300, "scope": "patient/*.read",
                                                            "subject": "cds"}), "fhirServer"),
    ("patient-view", lambda r: _with(_with(r, "fhirServer", "https://ehr.example.org/r4"), "fhirAuthorization",
                                     {"access_token": "t", "token_type": "MAC", "expires_in": 300,
                                      "scope": "patient/*.read", "subject": "cds"}), "fhirAuthorization.token_type"),
    ("patient-view", lambda r: _with(r, "fhirServer", "not a url"), "fhirServer"),
    ("patient-view", lambda r: _with(r, "prefetch", {"patient": "Patient/1"}), "prefetch.patient"),
    ("order-sign", lambda r: _without(r, "context.draftOrders"), "context.draftOrders"),
    ("order-sign", lambda r: _with(r, "context.draftOrders", {"resourceType": "MedicationRequest"}),
     "context.draftOrders.resourceType"),
    ("order-sign", lambda r: _with(r, "context.draftOrders", {"resourceType": "Bundle", "entry": [{"x": 1}]}),
     "context.draftOrders.entry.0.resource"),
    ("order-select", lambda r: _without(r, "context.selections"), "context.selections"),
    ("order-select", lambda r: _with(r, "context.selections", []), "context.selections"),
    ("order-select", lambda r: _with(r, "context.selections", ["MedicationRequest/not-a-draft"]),
     "context.selections.0"),
])
def test_malformed_request_is_400_naming_the_field(client, hook, mutate, path):
    body = mutate(hook_request(hook, [patient()], drafts=[_DRAFT]))
    response = client.post(f"/cds-services/{SERVICE_OF[hook]}", json=body)
    assert response.status_code == 400
    fields = response.get_json()["fields"]
    assert path in fields, fields


_AUTHORIZATION = {"access_token": "tok-1", "token_type": "Bearer", "expires_in": 300, "scope": "patient/*.read",
                  "subject": "cds", "patient": "pat-1"}


@pytest.mark.parametrize("hook, path", [
    ("patient-view", "hookInstance"), ("patient-view", "context.patientId"), ("patient-view", "context.userId"),
    ("patient-view", "context.encounterId"), ("patient-view", "fhirServer"),
    ("patient-view", "fhirAuthorization.patient"), ("patient-view", "fhirAuthorization.access_token"),
    ("encounter-discharge", "context.encounterId"), ("order-select", "context.selections.0"),
])
def test_a_trailing_newline_makes_any_validated_value_invalid(client, hook, path):
    """`$` matches before a final newline, so a `$`-anchored pattern takes "pat1\n", which then
    splits a log line or a header. Every pattern here must match to the very end."""
    body = hook_request(hook, [patient()], drafts=[_DRAFT], fhirServer="https://ehr.example.org/r4",
                        fhirAuthorization=dict(_AUTHORIZATION))
    body["context"].setdefault("encounterId", "enc-1")
    *parents, name = path.split(".")
    holder = body
    for part in parents:
        holder = holder[int(part)] if part.isdigit() else holder[part]
    key = int(name) if name.isdigit() else name
    holder[key] = holder[key] + "\n"
    response = client.post(f"/cds-services/{SERVICE_OF[hook]}", json=body)
    assert response.status_code == 400, response.get_json()
    assert path in response.get_json()["fields"]


@pytest.mark.parametrize("value", ["tok en", "tok\r\nX-Injected: 1", "tök"])
def test_an_access_token_that_is_not_a_bearer_token_is_a_400(client, value):
    body = hook_request("patient-view", [patient()], fhirServer="https://ehr.example.org/r4",
                        fhirAuthorization={**_AUTHORIZATION, "access_token": value})
    response = client.post("/cds-services/withdrawal-patient-view", json=body)
    assert response.status_code == 400 and "fhirAuthorization.access_token" in response.get_json()["fields"]


def test_every_bad_field_is_reported_at_once(client):
    body = hook_request("patient-view", [patient()])
    del body["hookInstance"]
    del body["context"]["patientId"]
    fields = client.post(PV, json=body).get_json()["fields"]
    assert {"hookInstance", "context.patientId"} <= set(fields)


def test_unknown_fields_and_extensions_are_ignored(client):
    body = hook_request("patient-view", [patient(), oud_condition()])
    body["extension"] = {"com.example.flag": True}
    body["somethingNew"] = [1, 2]
    body["context"]["com.example.extra"] = "x"
    response = client.post(PV, json=body)
    assert response.status_code == 200
    assert response.get_json()["cards"]


def test_unknown_service_is_404(client):
    response = client.post("/cds-services/no-such-service", json=hook_request())
    assert response.status_code == 404
    assert "no-such-service" in response.get_json()["message"]


def test_body_that_is_not_json_is_400(client):
    response = client.post(PV, data=b"{not json", content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["message"]


def test_json_that_is_not_an_object_is_400(client):
    assert client.post(PV, json=[1, 2, 3]).status_code == 400


def test_other_media_type_is_415(client):
    response = client.post(PV, data="hook=patient-view", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.get_json()["error"] == "unsupported-media-type"


@pytest.mark.parametrize("path", [PV, PV + "/feedback"])
def test_a_post_with_no_content_type_is_415(client, path):
    """A browser page can POST a body with no Content-Type (sendBeacon, a plain fetch of a Blob)
    without a CORS preflight: it must not run a hook or store feedback."""
    request = hook_request("patient-view", [patient(), oud_condition()])
    card = client.post(PV, json=request).get_json()["cards"][0]
    body = request if path == PV else {"feedback": [overridden(card)]}
    response = client.post(path, data=json.dumps(body))
    assert response.status_code == 415
    assert response.get_json() == {"error": "unsupported-media-type",
                                   "message": "send the request as application/json, with a Content-Type header"}
    # The same body as JSON is taken: only the media type was missing.
    assert client.post(path, data=json.dumps(body), content_type="application/json").status_code == 200


@pytest.mark.parametrize("media_type", ["application/json; charset=utf-8", "application/fhir+json"])
def test_json_media_types_are_read(client, media_type):
    body = json.dumps(hook_request("patient-view", [patient(), oud_condition()]))
    assert client.post(PV, data=body, content_type=media_type).get_json()["cards"]


def test_oversized_body_is_413(make_app):
    client = make_app(server={"max_body_bytes": 4096}).test_client()
    body = hook_request("patient-view", [patient()])
    body["padding"] = "x" * 5000
    assert client.post(PV, json=body).status_code == 413


def test_nesting_bomb_is_400_not_a_crash(client):
    bomb = b'{"hook":' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert client.post(PV, data=bomb, content_type="application/json").status_code == 400


def test_wrong_method_is_405_json(client):
    response = client.get(PV)
    assert response.status_code == 405
    assert response.get_json()["error"] == "method-not-allowed"


# --- responses ---------------------------------------------------------------------------

def test_cards_are_valid_2_0_cards_with_no_empty_values(client):
    response = client.post(PV, json=hook_request("patient-view", [patient(), oud_condition()]))
    assert response.status_code == 200
    body = response.get_json()
    assert body["cards"], "an OUD diagnosis should raise cards"
    assert set(body) == {"cards"}  # never systemActions
    CardsResponseSchema().load(body)  # raises on any 2.0 model violation
    assert _empty_anywhere(body["cards"]) == []


def test_no_evidence_is_an_empty_card_list(client):
    response = client.post(PV, json=hook_request("patient-view", [patient()]))
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


# --- CORS ---------------------------------------------------------------------------------

def test_cors_preflight_allows_authorization_and_content_type(client):
    response = client.options(PV, headers={"Origin": "http://localhost:3000",
                                           "Access-Control-Request-Method": "POST",
                                           "Access-Control-Request-Headers": "authorization, content-type"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_cors_headers_on_actual_responses_and_errors(client):
    ok = client.get("/cds-services", headers={"Origin": "http://sandbox.example"})
    bad = client.post(PV, json={}, headers={"Origin": "http://sandbox.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "*"
    assert bad.status_code == 400 and bad.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_origin_allowlist(make_app):
    client = make_app(server={"cors_origins": ["https://sandbox.cds-hooks.org"]}).test_client()
    allowed = client.get("/cds-services", headers={"Origin": "https://sandbox.cds-hooks.org"})
    other = client.get("/cds-services", headers={"Origin": "https://evil.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://sandbox.cds-hooks.org"
    assert "Access-Control-Allow-Origin" not in other.headers


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_a_bug_in_the_engine_is_a_500_not_an_empty_answer_and_the_log_holds_no_phi(client, monkeypatch, caplog):
    """An empty card list that is really a failure would tell the clinician there was nothing to
    advise; the EHR gets a 500 it can count, and the log says where, not what the record held."""
    import cards.engine

    def broken(record, settings, now):
        raise KeyError("Quilliam Zyxwer, born 1980-04-01")
    monkeypatch.setattr(cards.engine, "find_facts", broken)
    with caplog.at_level("INFO"):
        response = client.post(PV, json=hook_request("patient-view", [patient(), oud_condition()]))
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal-error", "message": "internal error"}
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "KeyError at test_protocol.py" in logged and "(broken)" in logged and "engine.py" in logged
    assert "Quilliam" not in logged and "1980" not in logged


def test_store_outage_is_503_not_500(app, client, monkeypatch):
    """A database that fails mid-call (a fault a real store will not produce on demand)."""
    from sqlalchemy.exc import OperationalError

    def down(*args, **kwargs):
        raise OperationalError("INSERT ...", {}, Exception("connection refused"))
    monkeypatch.setattr(app.extensions["withdrawal_cds"].store, "card_log", down)
    response = client.post(PV, json=hook_request("patient-view", [patient(), oud_condition()]))
    assert response.status_code == 503
    assert response.get_json()["error"] == "store-unavailable"


def test_each_services_description_names_every_card_its_hook_can_raise():
    """Before, every description named the same 4 of the 8 cards, and no buprenorphine card at all."""
    from cards.topics import TOPICS
    from cds_service.protocol.contexts import HOOKS
    from cds_service.protocol.services import SERVICES

    for service in SERVICES.values():
        moment = HOOKS[service.hook].moment
        for topic in TOPICS:
            named = topic.title.lower() in service.description.lower()
            assert named == (moment in topic.moments), (service.id, topic.code)
