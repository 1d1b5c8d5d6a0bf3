"""Prefetch and the FHIR server: satisfied / null / missing / failed keys, fetching the rest from a
real FHIR server (sekmet-fhir on loopback), and every way a FHIR server can fail us."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from cards import EngineSettings
from cds_service.protocol.card_json import topic_of
from cds_service.protocol.services import PREFETCH
from tests.calls import PATIENT_ID, hook_request, oud_condition, patient, searchset
from tests.fhir_servers import operation_outcome

PV = "/cds-services/withdrawal-patient-view"
TOKEN = "ehr-access-token-5f3c"
RECORD = [patient(), oud_condition()]
ALL_KEYS = set(PREFETCH)


def _auth(server: str) -> dict:
    return {"fhirServer": server,
            "fhirAuthorization": {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300,
                                  "scope": "patient/*.read", "subject": "withdrawal-cds"}}


def _topics(response) -> set[str]:
    assert response.status_code == 200, response.get_json()
    return {topic_of(c) for c in response.get_json()["cards"]}


# --- prefetch alone ---------------------------------------------------------------------------

def test_full_prefetch_needs_no_server(client):
    assert _topics(client.post(PV, json=hook_request("patient-view", RECORD))) >= {"moud-referral", "naloxone"}


def test_null_prefetch_value_means_no_data_not_missing(client):
    body = hook_request("patient-view", RECORD)
    body["prefetch"]["observations"] = None
    body["prefetch"]["procedures"] = None
    assert client.post(PV, json=body).status_code == 200


@pytest.mark.parametrize("key", sorted(ALL_KEYS))
def test_missing_key_without_server_is_412_naming_it(client, key):
    body = hook_request("patient-view", RECORD)
    del body["prefetch"][key]
    response = client.post(PV, json=body)
    assert response.status_code == 412
    assert response.get_json()["missing"] == [key]


def test_operation_outcome_in_prefetch_without_server_is_412(client):
    body = hook_request("patient-view", RECORD)
    body["prefetch"]["conditions"] = operation_outcome("EHR search failed")
    response = client.post(PV, json=body)
    assert response.status_code == 412
    assert response.get_json()["missing"] == ["conditions"]


def test_no_prefetch_no_server_is_412_with_every_key(client):
    body = hook_request("patient-view", prefetch={})
    del body["prefetch"]
    response = client.post(PV, json=body)
    assert response.status_code == 412
    assert set(response.get_json()["missing"]) == ALL_KEYS


# --- the real FHIR server ---------------------------------------------------------------------

def test_only_fhir_server_like_the_sandbox(client, clean_fhir_server):
    """The Sandbox with an open server sends fhirServer and no prefetch, no token."""
    clean_fhir_server.load(RECORD)
    body = hook_request("patient-view", prefetch={}, fhirServer=clean_fhir_server.base_url)
    del body["prefetch"]
    assert _topics(client.post(PV, json=body)) >= {"moud-referral", "counseling", "naloxone"}
    queried = {r.rel_path.split("/")[0] for r in clean_fhir_server.requests_seen}
    assert queried == {"Patient", "Condition", "MedicationRequest", "MedicationStatement", "MedicationDispense",
                       "MedicationAdministration", "Observation", "ServiceRequest", "Procedure"}


def test_token_is_sent_as_bearer_on_every_query(client, fhir_server_factory):
    server = fhir_server_factory(token=TOKEN)  # answers 401 to anything else
    server.load(RECORD)
    body = hook_request("patient-view", prefetch={}, **_auth(server.base_url))
    del body["prefetch"]
    assert _topics(client.post(PV, json=body)) >= {"moud-referral"}
    assert server.requests_seen and all(r.authorization == f"Bearer {TOKEN}" for r in server.requests_seen)


def test_only_missing_and_failed_keys_are_fetched(client, clean_fhir_server):
    clean_fhir_server.load(RECORD)
    body = hook_request("patient-view", [patient()], **_auth(clean_fhir_server.base_url))
    del body["prefetch"]["conditions"]  # missing: the OUD diagnosis must come from the server
    body["prefetch"]["observations"] = operation_outcome("timeout")
    assert "moud-referral" in _topics(client.post(PV, json=body))
    assert sorted(r.rel_path for r in clean_fhir_server.requests_seen) == ["Condition", "Observation"]


def test_paginated_prefetch_bundle_is_continued_from_its_next_link(client, clean_fhir_server):
    clean_fhir_server.load(RECORD)
    body = hook_request("patient-view", [patient()], **_auth(clean_fhir_server.base_url))
    body["prefetch"]["conditions"] = {
        "resourceType": "Bundle", "type": "searchset", "entry": [],
        "link": [{"relation": "next", "url": f"{clean_fhir_server.base_url}/Condition?patient={PATIENT_ID}"}]}
    assert "moud-referral" in _topics(client.post(PV, json=body))
    assert [r.rel_path for r in clean_fhir_server.requests_seen] == ["Condition"]


def test_paging_is_followed_across_pages(client, clean_fhir_server, make_app):
    many = [oud_condition(cid=f"c-{i}", code="Z00.00") for i in range(5)] + [oud_condition(cid="c-real")]
    clean_fhir_server.load([patient()] + many)
    client = make_app(fhir={"page_size": 2}).test_client()
    body = hook_request("patient-view", prefetch={}, fhirServer=clean_fhir_server.base_url)
    del body["prefetch"]
    assert "moud-referral" in _topics(client.post(PV, json=body))
    assert len([r for r in clean_fhir_server.requests_seen if r.rel_path == "Condition"]) == 3


def test_patient_that_does_not_exist_is_no_data_not_an_error(client, clean_fhir_server):
    body = hook_request("patient-view", prefetch={}, fhirServer=clean_fhir_server.base_url)
    del body["prefetch"]
    response = client.post(PV, json=body)
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


# --- a FHIR server that fails --------------------------------------------------------------------

def _only_server(url: str) -> dict:
    body = hook_request("patient-view", prefetch={}, **_auth(url))
    del body["prefetch"]
    return body


@pytest.mark.parametrize("kind", ["down", "error500", "not_json"])
def test_failing_server_is_412_not_500(client, fault_server, kind):
    server = fault_server(kind)
    response = client.post(PV, json=_only_server(server.base_url))
    assert response.status_code == 412
    assert set(response.get_json()["missing"]) == ALL_KEYS
    assert all(f"{key}: " in response.get_json()["message"] for key in ALL_KEYS)


def test_slow_server_is_cut_off_at_the_deadline(make_app, fault_server):
    server = fault_server("slow", delay=20)
    client = make_app(fhir={"deadline_seconds": 0.5}).test_client()
    started = time.monotonic()
    response = client.post(PV, json=_only_server(server.base_url))
    assert response.status_code == 412
    # Not a speed test: a call that waited for the server would take 20 s.
    assert time.monotonic() - started < 5


def test_server_that_pages_forever_is_cut_off_at_max_pages(make_app, fault_server):
    server = fault_server("paging_forever")
    client = make_app(fhir={"max_pages": 3}).test_client()
    response = client.post(PV, json=_only_server(server.base_url))
    assert response.status_code == 412
    pages_of_conditions = [r for r in server.requests if r.rel_path == "Condition"]
    assert len(pages_of_conditions) == 3


def test_next_link_to_another_host_never_gets_the_token(client, fault_server):
    canary = fault_server("canary")
    outside = f"{canary.base_url}/Condition?patient={PATIENT_ID}"
    body = hook_request("patient-view", [patient()], **_auth("https://ehr.example.org/fhir"))
    body["prefetch"]["conditions"] = {"resourceType": "Bundle", "type": "searchset", "entry": [],
                                      "link": [{"relation": "next", "url": outside}]}
    response = client.post(PV, json=body)
    assert response.status_code == 412
    assert canary.requests == []
    # The answer says why, key by key: an integrator looking at it should not hunt for a slow server.
    assert "conditions: next link points outside fhirServer" in response.get_json()["message"]


def test_server_answering_operation_outcome_for_a_search_is_412(client, fault_server):
    server = fault_server("custom", handler=lambda req: (200, "application/fhir+json", operation_outcome("no")))
    assert client.post(PV, json=_only_server(server.base_url)).status_code == 412


def test_prefetch_searchset_outcome_entries_are_not_data(client):
    body = hook_request("patient-view", RECORD)
    bundle = body["prefetch"]["conditions"]
    bundle["entry"].append({"resource": operation_outcome("unknown parameter", severity="warning"),
                            "search": {"mode": "outcome"}})
    assert client.post(PV, json=body).status_code == 200


def test_sandbox_shaped_request(client, clean_fhir_server):
    """As the CDS Hooks Sandbox sends it to a service in open local mode: its own JWT (ignored
    here), fhirServer always, no fhirAuthorization, and prefetch keys it could not fill (or that
    came back empty) left out rather than sent as null."""
    clean_fhir_server.load(RECORD)
    body = {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "hook": "patient-view",
            "fhirServer": clean_fhir_server.base_url,
            "context": {"userId": "Practitioner/COREPRACTITIONER1", "patientId": PATIENT_ID},
            "prefetch": {"patient": patient(), "conditions": searchset([oud_condition()])}}
    response = client.post(PV, json=body, headers={"Authorization": "Bearer eyJhbGciOiJFUzM4NCJ9.e30.c2ln"})
    assert _topics(response) == {"moud-referral", "counseling", "naloxone", "depression-screen"}
    assert sorted(r.rel_path for r in clean_fhir_server.requests_seen) == [
        "MedicationAdministration", "MedicationDispense", "MedicationRequest", "MedicationStatement", "Observation",
        "Procedure", "ServiceRequest"]


@pytest.mark.parametrize("escape", ["/../admin/x", "/%2e%2e/admin/x", "/%2E%2E/admin/x", "/..%2fadmin",
                                    "/Condition/../../admin", "/./../admin", "/%2e./admin"])
def test_a_next_link_climbing_out_of_fhir_server_by_dot_segments_is_never_followed(client, fault_server, escape):
    """`<base>/../admin` passes a textual prefix test, and the server reads `/admin`: before, the
    request went there, with the bearer token."""
    server = fault_server("canary")
    body = hook_request("patient-view", [patient()], **_auth(server.base_url))
    body["prefetch"]["conditions"] = {"resourceType": "Bundle", "type": "searchset", "entry": [],
                                      "link": [{"relation": "next", "url": server.base_url + escape}]}
    response = client.post(PV, json=body)
    assert response.status_code == 412 and response.get_json()["missing"] == ["conditions"]
    assert server.requests == []


def test_a_next_link_is_sent_as_it_was_checked_in_normal_form(client, fault_server):
    server = fault_server("canary")
    body = hook_request("patient-view", [patient()], **_auth(server.base_url))
    link = server.base_url.replace("http://", "HTTP://") + "/Observation/./../Condition?page=2"
    body["prefetch"]["conditions"] = {"resourceType": "Bundle", "type": "searchset", "entry": [],
                                      "link": [{"relation": "next", "url": link}]}
    assert client.post(PV, json=body).status_code == 200
    assert [(r.path, r.query) for r in server.requests] == [("/fhir/Condition", "page=2&_count=1000")]


@pytest.mark.parametrize("field, value", [("patientId", ".."), ("patientId", "."), ("encounterId", ".."),
                                          ("userId", "Practitioner/..")])
def test_an_id_that_is_a_dot_segment_is_a_400(client, fault_server, field, value):
    server = fault_server("canary")
    body = hook_request("patient-view", prefetch={}, **_auth(server.base_url))
    del body["prefetch"]
    body["context"][field] = value
    response = client.post(PV, json=body)
    assert response.status_code == 400 and f"context.{field}" in response.get_json()["fields"]
    assert server.requests == []


# --- dispenses and administrations (design 4.1: four medication sources, all in prefetch) ----------

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# fentanyl-type-medications.csv and the opioid analgesics; oxycodone-medications.csv.
FENTANYL_INJECTION = {"system": RXNORM, "code": "1735003", "display": "2 ML fentanyl 0.05 MG/ML Injection"}
OXYCODONE = {"system": RXNORM, "code": "1049621", "display": "oxycodone hydrochloride 5 MG Oral Tablet"}


def _administration(aid: str, days_ago: float) -> dict:
    """Fentanyl given in care (the ED, EMS) `days_ago`."""
    return {"resourceType": "MedicationAdministration", "id": aid, "status": "completed",
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
            "medicationCodeableConcept": {"coding": [FENTANYL_INJECTION]},
            "effectiveDateTime": (datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat()}


def _dispense() -> dict:
    """An oxycodone fill, its product a Medication the search includes (as requests' are)."""
    return {"resourceType": "MedicationDispense", "id": "md-oxy", "status": "completed",
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
            "medicationReference": {"reference": "Medication/med-oxy"},
            "whenHandedOver": (datetime.now(timezone.utc) - timedelta(days=4)).isoformat()}


MEDICATION = {"resourceType": "Medication", "id": "med-oxy", "code": {"coding": [OXYCODONE]}}


@pytest.fixture
def records_read(monkeypatch):
    """The Record each evaluation reads (cards.engine hands it to the facts)."""
    from cards import engine
    seen = []
    real = engine.find_facts

    def spy(record, settings, now):
        seen.append(record)
        return real(record, settings, now)
    monkeypatch.setattr(engine, "find_facts", spy)
    return seen


def _opioid_ids(record) -> set[str]:
    return {item.resource["id"] for item in record.by_tag.get("opioid", ())}


def test_dispenses_and_administrations_in_prefetch_reach_the_record(client, records_read):
    body = hook_request("patient-view", RECORD)
    # Under the keys discovery publishes for them, as an EHR sends them.
    body["prefetch"]["medicationAdministrations"] = searchset([_administration("ma-fent", 2)])
    body["prefetch"]["medicationDispenses"] = searchset([_dispense(), MEDICATION])
    assert client.post(PV, json=body).status_code == 200
    [record] = records_read
    assert _opioid_ids(record) == {"ma-fent", "md-oxy"}
    assert {item.type for item in record.by_tag["fentanyl_type"]} == {"MedicationAdministration"}


def test_the_fhir_server_is_asked_for_dispenses_and_for_administrations_as_far_back_as_the_rules_read(
        make_app, clean_fhir_server, records_read):
    clinical = EngineSettings()
    # An administration explains a test or an overdose for the days after it (design 4.1 v3).
    reach = max(clinical.use_window + clinical.given_explaining_window,
                clinical.overdose_window + clinical.given_explaining_window)
    reach_days = reach.days
    clean_fhir_server.load(RECORD + [MEDICATION, _dispense(), _administration("ma-recent", 2),
                                     _administration("ma-in-reach", reach_days - 2),
                                     _administration("ma-too-old", reach_days + 30)])
    body = hook_request("patient-view", prefetch={}, fhirServer=clean_fhir_server.base_url)
    del body["prefetch"]
    before = datetime.now(timezone.utc)
    assert make_app().test_client().post(PV, json=body).status_code == 200
    after = datetime.now(timezone.utc)

    [administrations] = clean_fhir_server.requests_to("MedicationAdministration")
    [since] = administrations.params["effective-time"]
    # No later than the reach before now (a day earlier: a bare date is read in the server's zone).
    assert since in {f"ge{(when - reach - timedelta(days=1)).date()}" for when in (before, after)}
    assert administrations.params["_include"] == ["MedicationAdministration:medication"]
    [dispenses] = clean_fhir_server.requests_to("MedicationDispense")
    assert "patient" in dispenses.params and not set(dispenses.params) & {"whenhandedover", "effective-time"}
    [record] = records_read
    assert _opioid_ids(record) == {"ma-recent", "ma-in-reach", "md-oxy"}


def test_the_administrations_fetched_follow_the_configured_windows(make_app, clean_fhir_server, records_read):
    clean_fhir_server.load(RECORD + [_administration("ma-recent", 2), _administration("ma-month", 30)])
    body = hook_request("patient-view", prefetch={}, fhirServer=clean_fhir_server.base_url)
    del body["prefetch"]
    short = {"use_window_days": 7, "given_explaining_window_days": 1, "overdose_window_days": 7}
    assert make_app(clinical=short).test_client().post(PV, json=body).status_code == 200
    [record] = records_read
    assert _opioid_ids(record) == {"ma-recent"}


def test_a_prefetched_administrations_bundle_is_continued_as_the_ehr_began_it(client, clean_fhir_server):
    """Its next link is the EHR's search (patient-wide, as the template): followed as given."""
    clean_fhir_server.load(RECORD)
    body = hook_request("patient-view", RECORD, **_auth(clean_fhir_server.base_url))
    link = f"{clean_fhir_server.base_url}/MedicationAdministration?patient={PATIENT_ID}&page=2"
    body["prefetch"]["medicationAdministrations"] = {"resourceType": "Bundle", "type": "searchset", "entry": [],
                                                     "link": [{"relation": "next", "url": link}]}
    assert client.post(PV, json=body).status_code == 200
    [continued] = clean_fhir_server.requests_seen
    assert continued.rel_path == "MedicationAdministration" and "effective-time" not in continued.params


def test_discovery_publishes_dispenses_and_administrations_patient_wide_and_keeps_every_earlier_key(client):
    earlier = {"patient": "Patient/{{context.patientId}}",
               "conditions": "Condition?patient={{context.patientId}}",
               "medicationRequests": "MedicationRequest?patient={{context.patientId}}"
                                     "&_include=MedicationRequest:medication",
               "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
               "observations": "Observation?patient={{context.patientId}}",
               "serviceRequests": "ServiceRequest?patient={{context.patientId}}",
               "procedures": "Procedure?patient={{context.patientId}}"}
    for service in client.get("/cds-services").get_json()["services"]:
        prefetch = service["prefetch"]
        # EHRs are configured with these: the keys, and what each asks for, stay.
        assert {key: prefetch.get(key) for key in earlier} == earlier
        # A 2.0 template cannot name a date (no today()): the new ones are patient-wide.
        assert prefetch["medicationDispenses"] == \
            "MedicationDispense?patient={{context.patientId}}&_include=MedicationDispense:medication"
        assert prefetch["medicationAdministrations"] == \
            "MedicationAdministration?patient={{context.patientId}}&_include=MedicationAdministration:medication"
