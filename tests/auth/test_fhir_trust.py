"""The EHR's access token goes only to a fhirServer its issuer vouches for; nothing secret reaches the logs."""

from __future__ import annotations

import logging
import uuid

import pytest

from tests.auth.conftest import BASE, bearer
from tests.calls import hook_request, oud_condition, patient

PV = "/cds-services/withdrawal-patient-view"
# Strings that must never appear in a log: distinctive so a hit cannot be a coincidence.
PATIENT_NAME = "Quorvellianx"
ACCESS_TOKEN = "fhir-access-" + uuid.uuid4().hex
# A resource id can be an MRN: an invalid resource is logged, but not by its id.
RECORD_ID = "mrn-5550199-" + uuid.uuid4().hex[:8]


def fhir_authorization(token: str = ACCESS_TOKEN) -> dict:
    return {"access_token": token, "token_type": "Bearer", "expires_in": 300, "scope": "patient/*.read",
            "subject": "withdrawal-cds"}


def record(pid: str = "pat-1") -> dict:
    """The patient's record as a FHIR server holds it."""
    return {"Patient": [patient(pid, name=PATIENT_NAME)], "Condition": [oud_condition(pid)]}


@pytest.fixture
def trusting(make_secured, issuer_config, fault_server):
    """(client, allowed server, canary outside the allowlist) for the ehr issuer."""
    allowed = fault_server("delayed_real", delay=0, resources=record())
    canary = fault_server("canary")
    client = make_secured(issuers=[issuer_config(fhir_servers=[allowed.base_url])]).test_client()
    return client, allowed, canary


def test_fhir_server_outside_the_allowlist_is_never_contacted(trusting, ehr):
    client, allowed, canary = trusting
    body = hook_request("patient-view", resources=None, fhirServer=canary.base_url,
                        fhirAuthorization=fhir_authorization())
    response = client.post(PV, json=body, headers=bearer(ehr.token(BASE + PV)))
    # Treated as if no fhirServer were given: the data the rules need is missing.
    assert response.status_code == 412, response.get_json()
    assert response.get_json()["error"] == "precondition-failed"
    # And it says so: an integrator must not go looking for a slow server.
    assert "fhirServer is not one this issuer's fhir_servers lists" in response.get_json()["message"]
    assert canary.requests == []
    assert allowed.requests == []


def test_allowed_fhir_server_gets_the_token_and_only_it(trusting, ehr):
    client, allowed, canary = trusting
    body = hook_request("patient-view", resources=None, fhirServer=allowed.base_url + "/",
                        fhirAuthorization=fhir_authorization())
    response = client.post(PV, json=body, headers=bearer(ehr.token(BASE + PV)))
    assert response.status_code == 200, response.get_json()
    assert allowed.requests, "the allowed server should have been asked for the record"
    assert {r.authorization for r in allowed.requests} == {f"Bearer {ACCESS_TOKEN}"}
    assert canary.requests == []


def test_prefetch_alone_needs_no_fhir_server(trusting, ehr, caplog):
    client, allowed, canary = trusting
    body = hook_request("patient-view", [patient(), oud_condition()], fhirServer=canary.base_url,
                        fhirAuthorization=fhir_authorization())
    with caplog.at_level(logging.INFO, logger="withdrawal_cds"):
        response = client.post(PV, json=body, headers=bearer(ehr.token(BASE + PV)))
    assert response.status_code == 200, response.get_json()
    assert canary.requests == []
    # A server that was not needed is not a warning on every call (the Sandbox always sends one).
    assert any(r.getMessage().startswith("hook service=") for r in caplog.records), "the log was not captured"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_an_issuer_without_fhir_servers_may_use_none(make_secured, issuer_config, ehr, fault_server):
    canary = fault_server("canary")
    client = make_secured(issuers=[issuer_config(fhir_servers=[])]).test_client()
    body = hook_request("patient-view", resources=None, fhirServer=canary.base_url)
    assert client.post(PV, json=body, headers=bearer(ehr.token(BASE + PV))).status_code == 412
    assert canary.requests == []


def test_open_local_mode_may_use_any_fhir_server(make_app, fault_server):
    server = fault_server("delayed_real", delay=0, resources=record())
    client = make_app().test_client()
    body = hook_request("patient-view", resources=None, fhirServer=server.base_url,
                        fhirAuthorization=fhir_authorization())
    assert client.post(PV, json=body).status_code == 200
    assert server.requests


def test_logs_hold_no_token_and_no_patient_name(trusting, ehr, caplog):
    """A session of calls of every kind, with every logger at DEBUG: no JWT, no access token, no name,
    no id of a resource in the record."""
    client, allowed, canary = trusting
    caplog.set_level(logging.DEBUG)
    for name in ("withdrawal_cds", "cards", "urllib3", "requests", "werkzeug", "sqlalchemy"):
        caplog.set_level(logging.DEBUG, logger=name)
    jwts = []

    def call(method, path, **kwargs):
        token = ehr.token(BASE + path)
        jwts.append(token)
        return getattr(client, method)(path, headers=bearer(token), **kwargs)

    assert call("get", "/cds-services").status_code == 200
    unreadable = {**oud_condition(cid=RECORD_ID), "code": "F11.20 opioid dependence"}
    from_prefetch = call("post", PV, json=hook_request("patient-view", [patient(name=PATIENT_NAME), oud_condition(),
                                                                        unreadable],
                                                       fhirServer=allowed.base_url,
                                                       fhirAuthorization=fhir_authorization()))
    assert from_prefetch.status_code == 200
    fetched = call("post", PV, json=hook_request("patient-view", resources=None, fhirServer=allowed.base_url,
                                                 fhirAuthorization=fhir_authorization()))
    assert fetched.status_code == 200 and allowed.requests
    refused = call("post", PV, json=hook_request("patient-view", resources=None, fhirServer=canary.base_url,
                                                 fhirAuthorization=fhir_authorization()))
    assert refused.status_code == 412
    invalid = hook_request("patient-view", [patient(name=PATIENT_NAME)], fhirAuthorization=fhir_authorization())
    assert call("post", PV, json=invalid).status_code == 400  # fhirAuthorization without fhirServer
    cards = fetched.get_json()["cards"]
    assert cards and cards[0]["uuid"], "an OUD diagnosis should yield cards"
    feedback = {"feedback": [{"card": cards[0]["uuid"], "outcome": "overridden",
                              "outcomeTimestamp": "2024-05-01T10:00:00Z"}]}
    assert call("post", PV + "/feedback", json=feedback).status_code == 200
    replayed = jwts[0]
    assert client.get("/cds-services", headers=bearer(replayed)).status_code == 401

    assert caplog.records, "nothing was logged: the scan would prove nothing"
    assert any("iss=" in r.getMessage() for r in caplog.records)
    assert any("skipped invalid Condition" in r.getMessage() for r in caplog.records)
    logged = caplog.text + "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    secrets = {"access token": ACCESS_TOKEN, "patient name": PATIENT_NAME, "resource id": RECORD_ID}
    secrets |= {f"jwt {n}": t for n, t in enumerate(jwts)}
    secrets |= {f"jwt signature {n}": t.rsplit(".", 1)[1] for n, t in enumerate(jwts)}
    leaked = [what for what, secret in secrets.items() if secret in logged]
    assert leaked == []
