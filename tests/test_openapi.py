"""/openapi.json describes the API, and schemathesis holds the live app to it.

The app under test runs open (no issuers) with a FHIR fetcher that never
leaves the process: generated requests name random fhirServer URLs, and a
missing prefetch must end as the documented 412, not as traffic to the internet.
"""

from __future__ import annotations

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from cds_service import create_app
from cds_service.api.openapi import build_spec
from cds_service.config import load_settings
from cds_service.fhir.fetch import FetchResult
from cds_service.protocol.request_schemas import request_schema
from cds_service.protocol.response_schemas import CardSchema
from cds_service.protocol.services import SERVICES
from tests.calls import hook_request, oud_condition, patient


def medication_request(mid: str, pid: str = "pat-1") -> dict:
    """A draft order for oxycodone 5 mg tablets (RxNorm 1049621)."""
    return {"resourceType": "MedicationRequest", "id": mid, "status": "draft", "intent": "order",
            "subject": {"reference": f"Patient/{pid}"},
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                      "code": "1049621"}]}}


class OfflineFetcher:
    """Every FHIR query fails at once, as if the server were down."""

    tells_reasons = True  # as FhirFetcher on loopback

    def __init__(self):
        self.calls = 0

    def fetch(self, base_url, token, queries, read=None):
        self.calls += 1
        return {key: FetchResult(None, "offline in tests") for key in queries}


def _open_app(data_dir):
    app = create_app(load_settings(environ={"WITHDRAWAL_CDS_DATA_DIR": str(data_dir)}))
    app.extensions["withdrawal_cds"].fetcher = OfflineFetcher()
    return app


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    app = _open_app(tmp_path_factory.mktemp("openapi-data"))
    yield app
    app.extensions["withdrawal_cds"].store.dispose()


@pytest.fixture(scope="module")
def api_schema(live_app):
    return schemathesis.openapi.from_wsgi("/openapi.json", live_app)


# Operation labels ("POST /cds-services/withdrawal-order-sign"), known without an app so pytest
# can show one test per operation; the operations themselves come from the live /openapi.json.
OPERATIONS = [f"{method.upper()} {path}" for path, ops in build_spec(auth_required=False)["paths"].items()
              for method in ops]
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


@pytest.mark.parametrize("label", OPERATIONS)
def test_live_app_matches_its_description(api_schema, label):
    operation = api_schema.find_operation_by_label(label)

    @given(data=st.data())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    def check(data):
        case = data.draw(operation.as_strategy())
        case.call_and_validate(checks=CHECKS)

    check()


# --- the document itself -------------------------------------------------------------------

@pytest.fixture(scope="module")
def document(live_app):
    return live_app.test_client().get("/openapi.json").get_json()


def test_is_openapi_3_1_with_every_endpoint(document):
    assert document["openapi"] == "3.1.0"
    expected = {"/cds-services", "/healthz", "/metrics"}
    for service_id in SERVICES:
        expected |= {f"/cds-services/{service_id}", f"/cds-services/{service_id}/feedback"}
    assert set(document["paths"]) == expected


def test_each_hook_has_its_own_request_schema_and_every_error(document):
    components = document["components"]["schemas"]
    for service in SERVICES.values():
        operation = document["paths"][f"/cds-services/{service.id}"]["post"]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        request = components[ref.rsplit("/", 1)[1]]
        assert request["properties"]["hook"]["enum"] == [service.hook]
        context = components[request["properties"]["context"]["$ref"].rsplit("/", 1)[1]]
        assert set(context["required"]) == {name for name, f in
                                            request_schema(service.hook).fields["context"].schema.fields.items()
                                            if f.required}
        assert set(operation["responses"]) == {"200", "400", "401", "404", "412", "413", "415", "500", "503",
                                               "414", "431"}
        for code in ("400", "401", "412", "500"):
            assert operation["responses"][code]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}


def test_card_schema_comes_from_the_marshmallow_schema(document):
    card = document["components"]["schemas"]["Card"]
    assert set(card["properties"]) == {f.data_key or name for name, f in CardSchema().fields.items()}
    assert card["properties"]["indicator"]["enum"] == ["info", "warning", "critical"]
    assert card["additionalProperties"] is False


def test_the_security_scheme_is_declared_and_each_operation_says_whether_it_is_asked(document, make_app, tmp_path):
    """Before, an open instance's description had neither: a client could not tell what a secured
    deployment would ask of it, nor that this one asks nothing."""
    scheme = document["components"]["securitySchemes"]["cdsHooksJwt"]
    assert scheme["scheme"] == "bearer" and "Not required by this instance" in scheme["description"]
    assert all(op["security"] == [] for path in document["paths"].values() for op in path.values())
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    secured = make_app(issuers=[{"iss": "https://ehr.example.org", "jwks_file": str(jwks)}],
                       server={"public_base_urls": ["https://cds.example.org"]}).test_client()
    response = secured.get("/openapi.json")  # open even when everything else needs a JWT
    assert response.status_code == 200
    secured_doc = response.get_json()
    assert secured_doc["components"]["securitySchemes"]["cdsHooksJwt"]["bearerFormat"] == "JWT"
    assert secured_doc["paths"]["/metrics"]["get"]["security"] == [{"cdsHooksJwt": []}, {"metricsScrapeToken": []}]
    for path, operations in secured_doc["paths"].items():
        for operation in operations.values():
            expected = {"/healthz": [], "/metrics": [{"cdsHooksJwt": []}, {"metricsScrapeToken": []}]}
            assert operation["security"] == expected.get(path, [{"cdsHooksJwt": []}]), path


def test_discovery_documents_its_503_and_every_operation_the_servers_414_and_431(document):
    discovery = document["paths"]["/cds-services"]["get"]["responses"]
    assert "replay" in discovery["503"]["description"]
    for operations in document["paths"].values():
        for operation in operations.values():
            for code in ("414", "431"):
                assert operation["responses"][code]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"}


def test_missing_prefetch_is_the_documented_412(live_app):
    client = live_app.test_client()
    body = {"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "fhirServer": "https://fhir.invalid/r4", "context": {"userId": "Practitioner/1", "patientId": "p1"}}
    response = client.post("/cds-services/withdrawal-patient-view", json=body)
    assert response.status_code == 412
    assert live_app.extensions["withdrawal_cds"].fetcher.calls >= 1


def test_cards_and_feedback_answers_match_the_description(api_schema):
    """Generated requests rarely carry a complete prefetch, so 200s are shown with real records."""
    for service in SERVICES.values():
        drafts = [medication_request("opioid-order")] if service.hook != "patient-view" else []
        body = hook_request(service.hook, [patient(), oud_condition()], drafts=drafts)
        call = api_schema.find_operation_by_label(f"POST /cds-services/{service.id}")
        answer = call.Case(body=body, media_type="application/json").call_and_validate(checks=CHECKS)
        assert answer.status_code == 200
        cards = answer.json()["cards"]
        if not cards:
            continue
        reason = cards[0]["overrideReasons"][0]
        feedback = {"feedback": [{"card": cards[0]["uuid"], "outcome": "overridden",
                                  "overrideReason": {"reason": {"system": reason["system"], "code": reason["code"]}},
                                  "outcomeTimestamp": "2024-05-01T10:00:00Z"}]}
        post = api_schema.find_operation_by_label(f"POST /cds-services/{service.id}/feedback")
        stored = post.Case(body=feedback, media_type="application/json").call_and_validate(checks=CHECKS)
        assert stored.status_code == 200


# --- the rules across fields (the schemas' @validates_schema methods) --------------------------

CARD = "0b8e2d8a-3c4f-4b7e-9d1a-2f6e5c4b3a21"
WHEN = "2026-01-05T10:05:31Z"
SUGGESTION = [{"id": "6c9f0f8e-2b1a-4c3d-8e7f-1a2b3c4d5e6f"}]
REASON = {"reason": {"system": "urn:withdrawal-cds:override-reason", "code": "patient-declined"}}
AUTH = {"access_token": "t", "token_type": "Bearer", "expires_in": 300, "scope": "patient/*.read",
        "subject": "cds"}


def _feedback(outcome: str, **extra) -> dict:
    return {"feedback": [{"card": CARD, "outcome": outcome, "outcomeTimestamp": WHEN, **extra}]}


CROSS_FIELD = [
    ("PatientViewRequest", lambda: {**hook_request("patient-view", [patient()]), "fhirAuthorization": AUTH}, False),
    ("PatientViewRequest", lambda: {**hook_request("patient-view", [patient()]), "fhirAuthorization": AUTH,
                                    "fhirServer": "https://ehr.example.org/fhir"}, True),
    ("FeedbackRequest", lambda: _feedback("accepted"), False),
    ("FeedbackRequest", lambda: _feedback("accepted", acceptedSuggestions=[]), False),
    ("FeedbackRequest", lambda: _feedback("accepted", acceptedSuggestions=SUGGESTION, overrideReason=REASON), False),
    ("FeedbackRequest", lambda: _feedback("overridden", acceptedSuggestions=SUGGESTION), False),
    ("FeedbackRequest", lambda: _feedback("accepted", acceptedSuggestions=SUGGESTION), True),
    ("FeedbackRequest", lambda: _feedback("overridden", overrideReason=REASON), True),
    ("FeedbackRequest", lambda: _feedback("overridden"), True),
]


@pytest.mark.parametrize("component, make, valid", CROSS_FIELD)
def test_the_description_states_the_rules_across_fields_as_the_service_applies_them(document, component, make,
                                                                                   valid):
    """Before, the description let through what the service refuses with a 400 (a client generated
    from it could not know)."""
    from jsonschema_rs import Draft202012Validator  # schemathesis's validator
    from marshmallow import ValidationError

    from cds_service.protocol.feedback_schemas import FeedbackRequestSchema

    body = make()
    # The described patterns end in Python's \\Z (end of string), which ECMA-262 regexes spell $.
    components = orjson.loads(orjson.dumps(document["components"]).replace(b"\\\\Z", b"$"))
    described = Draft202012Validator({"$ref": f"#/components/schemas/{component}",
                                      "components": components}).is_valid(body)
    schema = request_schema("patient-view") if component == "PatientViewRequest" else FeedbackRequestSchema()
    try:
        schema.load(body)
        applied = True
    except ValidationError:
        applied = False
    assert (described, applied) == (valid, valid)
