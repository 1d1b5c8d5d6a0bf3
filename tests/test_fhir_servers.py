"""Self-tests for the loopback FHIR test servers in tests/fhir_servers.py."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.fhir_servers import FaultServer

AUTH = {"Authorization": "Bearer test-token-123", "Accept": "application/fhir+json"}
PID = "fs-pat-1"


def _ids(bundle: dict, mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e.get("search", {}).get("mode") == mode]


def _next(bundle: dict) -> str | None:
    return next((link["url"] for link in bundle.get("link", []) if link["relation"] == "next"), None)


def _patient_data(pid: str = PID) -> list[dict]:
    subj = {"reference": f"Patient/{pid}"}
    return [
        {"resourceType": "Patient", "id": pid, "name": [{"family": "Tester", "given": ["Opal"]}],
         "gender": "female", "birthDate": "1980-02-03"},
        {"resourceType": "Medication", "id": f"{pid}-med", "code": {"coding": [
            {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "351264",
             "display": "buprenorphine 8 MG / naloxone 2 MG Sublingual Tablet"}]}},
        {"resourceType": "Condition", "id": f"{pid}-cond", "subject": subj,
         "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                        "code": "active"}]},
         "code": {"coding": [{"system": "http://snomed.info/sct", "code": "5602001",
                              "display": "Opioid abuse"}]}},
        *[{"resourceType": "MedicationRequest", "id": f"{pid}-mr{i}", "status": "active", "intent": "order",
           "subject": subj, "medicationReference": {"reference": f"Medication/{pid}-med"}} for i in range(5)],
        {"resourceType": "MedicationStatement", "id": f"{pid}-ms", "status": "active", "subject": subj,
         "medicationCodeableConcept": {"text": "kratom"}},
        {"resourceType": "Observation", "id": f"{pid}-obs", "status": "final", "subject": subj,
         "code": {"text": "COWS score"}, "valueInteger": 14},
        {"resourceType": "ServiceRequest", "id": f"{pid}-sr", "status": "active", "intent": "order",
         "subject": subj, "code": {"text": "Addiction medicine referral"}},
        {"resourceType": "Procedure", "id": f"{pid}-proc", "status": "completed", "subject": subj,
         "code": {"text": "Counseling"}},
    ]


# ---------------------------------------------------------------------------
# sekmet
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def loaded(fhir_server):
    fhir_server.load(_patient_data())
    return fhir_server


def test_sekmet_is_loopback_and_up(fhir_server):
    assert fhir_server.base_url.startswith("http://127.0.0.1:") and fhir_server.base_url.endswith("/fhir")
    r = requests.get(fhir_server.url("metadata"), headers=AUTH, timeout=5)
    assert r.status_code == 200 and r.json()["resourceType"] == "CapabilityStatement"


def test_sekmet_read_and_patient_searches(loaded):
    s = loaded
    r = requests.get(s.url(f"Patient/{PID}"), headers=AUTH, timeout=5)
    assert r.status_code == 200 and r.json()["name"][0]["family"] == "Tester"
    assert requests.get(s.url("Patient/nobody"), headers=AUTH, timeout=5).status_code == 404
    expected = {"Condition": 1, "MedicationRequest": 5, "MedicationStatement": 1, "Observation": 1,
                "ServiceRequest": 1, "Procedure": 1}
    for rtype, n in expected.items():
        for pval in (PID, f"Patient/{PID}"):
            b = requests.get(s.url(rtype), params={"patient": pval}, headers=AUTH, timeout=5).json()
            assert b["type"] == "searchset" and b["total"] == n and len(_ids(b)) == n, (rtype, pval, b)
    b = requests.get(s.url("Condition"), params={"patient": "someone-else"}, headers=AUTH, timeout=5).json()
    assert b["total"] == 0 and "entry" not in b


def test_sekmet_paging_and_include(loaded):
    s = loaded
    b = requests.get(s.url("MedicationRequest"), params={"patient": PID, "_count": 2}, headers=AUTH,
                     timeout=5).json()
    assert b["total"] == 5 and len(_ids(b)) == 2
    seen = _ids(b)
    url = _next(b)
    assert url and url.startswith(s.base_url + "/MedicationRequest?")
    while url:
        b = requests.get(url, headers=AUTH, timeout=5).json()
        seen += _ids(b)
        url = _next(b)
    assert sorted(seen) == sorted(f"{PID}-mr{i}" for i in range(5))

    b = requests.get(s.url("MedicationRequest"), headers=AUTH, timeout=5,
                     params={"patient": PID, "_include": "MedicationRequest:medication"}).json()
    assert len(_ids(b)) == 5 and _ids(b, "include") == [f"{PID}-med"]


def test_sekmet_records_requests_with_authorization(loaded):
    s = loaded
    s.clear_requests()
    requests.get(s.url("Condition"), params={"patient": PID}, headers=AUTH, timeout=5)
    seen = s.requests_to("Condition")
    assert len(seen) == 1
    assert seen[0].authorization == AUTH["Authorization"]
    assert seen[0].params == {"patient": [PID]} and seen[0].path == "/fhir/Condition"


def test_clean_fhir_server_is_empty(clean_fhir_server):
    s = clean_fhir_server
    assert s.requests_seen == []
    b = requests.get(s.url("Condition"), params={"patient": PID}, headers=AUTH, timeout=5).json()
    assert b["total"] == 0
    s.load(_patient_data())  # restore for anything else using the session server


def test_sekmet_factory_with_required_token(fhir_server_factory):
    t0 = time.monotonic()
    s = fhir_server_factory(token="sekrit")
    assert time.monotonic() - t0 < 5
    s.load(_patient_data("tok-pat"))  # load() sends the token itself
    assert requests.get(s.url("Patient/tok-pat"), timeout=5).status_code == 401
    assert requests.get(s.url("Patient/tok-pat"), headers={"Authorization": "Bearer wrong"},
                        timeout=5).status_code == 401
    assert requests.get(s.url("Patient/tok-pat"), headers={"Authorization": "Bearer sekrit"},
                        timeout=5).status_code == 200


def test_sekmet_load_errors_are_loud(fhir_server_factory):
    s = fhir_server_factory(validation="strict")
    with pytest.raises(RuntimeError, match="rejected"):
        s.load([{"resourceType": "Patient", "id": "bad", "gender": {"not": "a code"}}])


# ---------------------------------------------------------------------------
# fault servers
# ---------------------------------------------------------------------------

def test_down(fault_server):
    s = fault_server("down")
    assert s.base_url.startswith("http://127.0.0.1:")
    with pytest.raises(requests.ConnectionError):
        requests.get(s.url("Patient/x"), timeout=2)


def test_error500(fault_server):
    s = fault_server("error500")
    r = requests.get(s.url("Condition"), params={"patient": "p"}, headers=AUTH, timeout=5)
    assert r.status_code == 500 and r.json()["resourceType"] == "OperationOutcome"
    assert s.requests[0].authorization == AUTH["Authorization"]
    assert s.requests[0].rel_path == "Condition" and s.requests[0].params == {"patient": ["p"]}
    assert requests.get(fault_server("error500", status=503).url("x"), timeout=5).status_code == 503


def test_slow_delays_and_ends_fast(fault_server):
    s = fault_server("slow", delay=0.4)
    t0 = time.monotonic()
    r = requests.get(s.url("Observation"), params={"patient": "p"}, timeout=5)
    assert time.monotonic() - t0 >= 0.4
    assert r.json()["type"] == "searchset" and r.json()["total"] == 0
    # default delay (5 s): the client times out; teardown must not wait for the sleeping handler
    s5 = fault_server("slow")
    with pytest.raises(requests.Timeout):
        requests.get(s5.url("Observation"), timeout=0.3)
    assert len(s5.requests) == 1
    t0 = time.monotonic()
    s5.close()
    assert time.monotonic() - t0 < 1


def test_not_json(fault_server):
    s = fault_server("not_json")
    r = requests.get(s.url("Patient/p"), timeout=5)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert r.text == "<html>oops</html>"
    with pytest.raises(ValueError):
        r.json()


def test_paging_forever(fault_server):
    s = fault_server("paging_forever")
    url = s.url("MedicationRequest?patient=p1&_count=1")
    ids = []
    for _ in range(5):
        b = requests.get(url, timeout=5).json()
        assert len(b["entry"]) == 1
        ids.append(b["entry"][0]["resource"]["id"])
        url = _next(b)
        assert url.startswith(s.base_url + "/MedicationRequest?") and "patient=p1" in url
    assert ids == [f"page-{i}" for i in range(5)]
    assert [r.params.get("page") for r in s.requests] == [None, ["1"], ["2"], ["3"], ["4"]]


def test_delayed_real(fault_server):
    data = _patient_data()
    by_type: dict[str, list[dict]] = {}
    for r in data + _patient_data("other"):
        by_type.setdefault(r["resourceType"], []).append(r)
    s = fault_server("delayed_real", delay=0.2, resources=by_type)
    t0 = time.monotonic()
    p = requests.get(s.url(f"Patient/{PID}"), timeout=5)
    assert time.monotonic() - t0 >= 0.2
    assert p.status_code == 200 and p.json()["id"] == PID
    assert requests.get(s.url("Patient/nobody"), timeout=5).status_code == 404
    b = requests.get(s.url("MedicationRequest"), params={"patient": PID}, timeout=5).json()
    assert b["total"] == 5 and all(i.startswith(PID) for i in _ids(b))
    assert requests.get(s.url("Procedure"), params={"patient": "nobody"}, timeout=5).json()["total"] == 0
    # parallel requests are delayed concurrently, not serialised
    t0 = time.monotonic()
    ths = [threading.Thread(target=requests.get, args=(s.url("Condition?patient=other"),), kwargs={"timeout": 5})
           for _ in range(8)]
    [t.start() for t in ths]
    [t.join() for t in ths]
    assert time.monotonic() - t0 < 0.8


def test_canary_records(fault_server):
    s = fault_server("canary")
    r = requests.post(s.url("Condition/_search"), data={"patient": "p"},
                      headers={"Authorization": "Bearer leak-me"}, timeout=5)
    assert r.json()["type"] == "searchset"
    requests.get(s.url("Patient/p"), timeout=5)
    assert [(x.method, x.rel_path) for x in s.requests] == [("POST", "Condition/_search"), ("GET", "Patient/p")]
    assert s.requests[0].authorization == "Bearer leak-me" and s.requests[0].body == b"patient=p"
    assert s.requests[1].authorization is None


def test_custom(fault_server):
    s = fault_server("custom", handler=lambda req: (429, "application/fhir+json", {"resourceType": "Bundle"},
                                                    {"Retry-After": "1"}))
    r = requests.get(s.url("Condition"), timeout=5)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"


def test_session_factory_and_unknown_kind(fault_server_session):
    s = fault_server_session("canary")
    assert isinstance(s, FaultServer) and str(s) == s.base_url
    with pytest.raises(ValueError):
        fault_server_session("nope")
