"""The partial decode of a hook request (cds_service/protocol/decode.py) answers exactly as a
whole parse would: same status, same error fields, same cards. Each body is sent twice to the
same app, once as decoded and once with the partial decode switched off."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import cards
from benchmarks import records
from cds_service.protocol import decode
from cds_service.protocol.decode import decode_hook_request
from tests.calls import SERVICE_OF, hook_request, patient
from tests.cards.test_scenarios import SCENARIOS
from tests.junk import anything, draft, prefetch


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    """Post a body with the partial decode and without it; return both answers, comparable."""
    from cds_service import create_app
    from cds_service.config import load_settings

    app = create_app(load_settings(environ={"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path_factory.mktemp("twin"))}))
    client = app.test_client()
    real = decode.decode_hook_request

    def post(hook: str, body: bytes) -> tuple[tuple, tuple]:
        answers = []
        for partial in (True, False):
            decode.decode_hook_request = real if partial else (lambda body, sieve: None)
            try:
                response = client.post(f"/cds-services/{SERVICE_OF[hook]}", data=body,
                                       content_type="application/json")
            finally:
                decode.decode_hook_request = real
            answers.append(_comparable(response))
        return answers[0], answers[1]
    yield post
    app.extensions["withdrawal_cds"].store.dispose()


def _comparable(response) -> tuple:
    body = response.get_json()
    if response.status_code == 200:
        # uuids are fresh per call; everything else must match.
        return 200, [{k: v for k, v in card.items() if k not in ("uuid", "suggestions", "links")}
                     for card in body["cards"]]
    return response.status_code, body


def _scenario_body(row) -> tuple[str, bytes]:
    name, resources, expected, *inputs = row
    moment = inputs[0]["moment"] if inputs else cards.Moment.CHART
    hook = {cards.Moment.CHART: "patient-view", cards.Moment.ORDER: "order-sign",
            cards.Moment.DISCHARGE: "encounter-discharge"}[moment]
    drafts = inputs[0].get("drafts", ()) if inputs else ()
    pid = next((r["id"] for r in resources if r["resourceType"] == "Patient"), "pat-1")
    return hook, json.dumps(hook_request(hook, resources, pid=pid, drafts=drafts)).encode()


@pytest.mark.parametrize("row", SCENARIOS, ids=[row[0] for row in SCENARIOS])
def test_every_scenario_answers_the_same_decoded_partially_or_whole(twin, row):
    partial, whole = twin(*_scenario_body(row))
    assert partial == whole


def test_the_benchmark_record_answers_the_same_and_keeps_only_its_findings(twin):
    body = orjson.dumps(records.hook_request(1000))
    partial, whole = twin("patient-view", body)
    assert partial == whole and partial[0] == 200 and len(partial[1]) >= 3
    decoded = decode_hook_request(body, cards.Sieve())
    kept = sum(len(value.get("entry", ())) for value in decoded["prefetch"].values() if value)
    assert kept < 100  # of 1,000 resources: the findings, the medications and the patient


@given(hook=st.sampled_from(["patient-view", "order-select", "order-sign"]), junk_prefetch=prefetch,
       drafts=st.lists(draft, max_size=2), extra=st.dictionaries(st.sampled_from(["extension", "fhirServer", "x"]),
                                                                 anything, max_size=2))
@example(hook="patient-view", junk_prefetch={"observations": {"resourceType": "Bundle", "entry": [None]}}, drafts=[],
         extra={})
@example(hook="patient-view", junk_prefetch={"conditions": {"resourceType": "Bundle", "entry": [{"resource": 5}]}},
         drafts=[], extra={})
@example(hook="patient-view", junk_prefetch={"conditions": {"resourceType": "Bundle", "entry": [{}], "link": 3}},
         drafts=[], extra={})
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_fhir_shaped_junk_answers_the_same_decoded_partially_or_whole(twin, hook, junk_prefetch, drafts, extra):
    body = hook_request(hook, [patient()], drafts=drafts, **extra)
    body["prefetch"].update(junk_prefetch)
    raw = json.dumps(body).encode()
    partial, whole = twin(hook, raw)
    assert partial == whole


@pytest.mark.parametrize("body", [b"[]", b"5", b'{"prefetch": []}',
                                  b'{"prefetch": {"observations": {"resourceType": "Bundle", "entry": 7}}}',
                                  b'{"prefetch": {"observations": {"resourceType": "Bundle", "entry": [3]}}}',
                                  b'{"prefetch": {"c": {"resourceType": "Bundle", "entry": [{"resource": []}]}}}',
                                  b'{"context": ' + b"[" * 5000 + b"]" * 5000 + b"}", b"{",
                                  b'{"x": [1, 2,], "hook": "patient-view"}', b'{"x": "\\u12"}'])
def test_a_body_of_another_shape_is_left_to_the_whole_parse(body):
    assert decode_hook_request(body, cards.Sieve()) is None


# --- the FHIR server's answers, read the same way ----------------------------------------------

CHART_ROWS = [row for row in SCENARIOS if len(row) == 3][::4]  # chart-moment rows, every fourth


@pytest.fixture
def twin_fhir(twin, fault_server):
    """A hook call with only fhirServer, its FHIR server holding the record; read partially and whole."""
    from cds_service.protocol import decode

    def post(resources: list[dict]) -> tuple[tuple, tuple]:
        by_type: dict[str, list[dict]] = {}
        for resource in resources:
            by_type.setdefault(resource["resourceType"], []).append(resource)
        server = fault_server("delayed_real", delay=0, resources=by_type)
        pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
        body = json.dumps(hook_request("patient-view", resources=None, pid=pid, fhirServer=server.base_url)).encode()
        real = decode.decode_fhir_answer
        answers = []
        for partial in (True, False):
            decode.decode_fhir_answer = real if partial else (lambda answer, sieve: orjson.loads(answer))
            try:
                answers.append(twin("patient-view", body)[0])
            finally:
                decode.decode_fhir_answer = real
        return answers[0], answers[1]
    return post


@pytest.mark.parametrize("row", CHART_ROWS, ids=[row[0] for row in CHART_ROWS])
def test_a_record_from_the_fhir_server_answers_the_same_read_partially_or_whole(twin_fhir, row):
    partial, whole = twin_fhir(row[1])
    assert partial == whole and partial[0] == 200


@pytest.mark.parametrize("answer", [
    {"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01"},
    {"resourceType": "OperationOutcome", "issue": []},
    {"resourceType": "Bundle", "entry": "not a list"},
    {"resourceType": "Bundle", "type": "searchset", "link": [{"relation": "next", "url": "x"}], "entry": [
        {"resource": {"resourceType": "Observation", "code": {"coding": [{"system": "http://loinc.org",
                                                                           "code": "8867-4"}]}}},
        {"resource": {"resourceType": "Condition", "code": {"coding": [
            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F11.20"}]}}, "search": {"mode": "match"}}]},
    [1, 2],
])
def test_a_fhir_answer_is_what_a_whole_parse_gives_less_what_the_sieve_drops(answer):
    raw = orjson.dumps(answer)
    read = decode.decode_fhir_answer(raw, cards.Sieve())
    whole = orjson.loads(raw)
    if isinstance(whole, dict) and whole.get("resourceType") == "Bundle" and isinstance(whole.get("entry"), list):
        kept = [e for e in whole["entry"] if cards.Sieve().keeps({k: e["resource"].get(k) for k in cards.Sieve.FIELDS})]
        assert read == {**whole, "entry": kept}
    else:
        assert read == whole


def test_a_fhir_answer_that_is_not_json_raises_as_the_whole_parse_does():
    with pytest.raises(orjson.JSONDecodeError):
        decode.decode_fhir_answer(b"<html>oops</html>", cards.Sieve())


def test_a_member_no_one_reads_is_skipped_not_converted():
    # The one difference from a whole parse: a number beyond a double's range (which orjson
    # refuses) in a member nothing reads. It is dropped unread; the answer is the schema's.
    assert decode_hook_request(b'{"extension": {"a": 1e400}, "hook": "x"}', cards.Sieve()) == {"hook": "x"}


def test_what_the_sieve_drops_is_never_decoded():
    vital = {"resourceType": "Observation", "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
             "valueQuantity": {"value": 72}, "huge": ["x" * 10] * 1000}
    body = hook_request("patient-view", [patient(), vital])
    decoded = decode_hook_request(orjson.dumps(body), cards.Sieve())
    assert decoded["prefetch"]["observations"] == {"resourceType": "Bundle", "type": "searchset", "entry": []}
    assert decoded["prefetch"]["patient"] == body["prefetch"]["patient"]
    assert {k: decoded[k] for k in ("hook", "hookInstance", "context")} == \
        {k: body[k] for k in ("hook", "hookInstance", "context")}
