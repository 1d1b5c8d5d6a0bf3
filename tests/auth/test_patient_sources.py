"""A patient id names a patient only within its source: the issuer (and tenant) that vouches for the
call, or in open mode the FHIR server. An override at one EHR never hides a card at another, and
one EHR cannot give feedback on another's cards."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.auth.conftest import BASE, Ehr, bearer
from tests.calls import PATIENT_VIEW, overridden, patient_view, topics

PV = f"/cds-services/{PATIENT_VIEW}"
FEEDBACK = f"{PV}/feedback"

def _every_topic() -> set[str]:
    """The topics patient_view's record raises with nothing snoozed: the rules' answer, not a copy of it."""
    from datetime import datetime, timezone

    import cards
    from cds_service.fhir.prefetch import bundle_resources
    from cds_service.protocol.contexts import HOOKS

    body = patient_view("123")
    record = [r for value in body["prefetch"].values()
              for r in (bundle_resources(value) if value["resourceType"] == "Bundle" else [value])]
    advised = cards.evaluate(record, HOOKS["patient-view"].inputs(body["context"]), datetime.now(timezone.utc))
    return {advice.topic for advice in advised}


ALL = _every_topic()


@pytest.fixture
def other_ehr(ehr_keys, tmp_path) -> Ehr:
    client = Ehr("https://other-ehr.example.org", ec.generate_private_key(ec.SECP384R1()), ehr_keys[1],
                 tmp_path / "other-ehr-jwks.json")
    client.jwks_path.write_text(json.dumps(client.jwks()))
    return client


@pytest.fixture
def two_ehrs(make_secured, issuer_config, ehr, other_ehr):
    issuers = [issuer_config(), {"iss": other_ehr.iss, "jwks_file": str(other_ehr.jwks_path)}]
    return make_secured(issuers=issuers).test_client()


def call(client, ehr: Ehr, patient_id: str = "123", **claims) -> dict[str, dict]:
    response = client.post(PV, json=patient_view(patient_id), headers=bearer(ehr.token(BASE + PV, **claims)))
    assert response.status_code == 200, response.get_json()
    return topics(response.get_json())


def feedback(client, ehr: Ehr, *items, **claims):
    return client.post(FEEDBACK, json={"feedback": list(items)}, headers=bearer(ehr.token(BASE + FEEDBACK, **claims)))


def test_an_override_at_one_ehr_does_not_hide_the_card_for_another_ehrs_patient_with_the_same_id(
        two_ehrs, ehr, other_ehr):
    at_a = call(two_ehrs, ehr)
    assert set(call(two_ehrs, other_ehr)) == ALL
    assert feedback(two_ehrs, ehr, overridden(at_a["moud-referral"], "patient-declined")).status_code == 200
    assert set(call(two_ehrs, ehr)) == ALL - {"moud-referral"}      # snoozed where it was dismissed
    assert set(call(two_ehrs, other_ehr)) == ALL                   # and only there


def test_feedback_only_touches_cards_issued_to_the_same_issuer(two_ehrs, ehr, other_ehr):
    at_a = call(two_ehrs, ehr)
    response = feedback(two_ehrs, other_ehr, overridden(at_a["moud-referral"], "patient-declined"))
    assert response.status_code == 400
    # The same words as for a card never issued: nothing tells B that A has such a card.
    assert response.get_json()["fields"] == {"feedback.0.card": ["no card with this uuid was issued by this service"]}
    assert set(call(two_ehrs, ehr)) == ALL


def test_tenants_of_one_issuer_are_separate_sources(make_secured, issuer_config, ehr):
    client = make_secured(issuers=[issuer_config(tenants=["clinic-1", "clinic-2"])]).test_client()
    at_one = call(client, ehr, tenant="clinic-1")
    assert feedback(client, ehr, overridden(at_one["naloxone"]), tenant="clinic-1").status_code == 200
    assert set(call(client, ehr, tenant="clinic-1")) == ALL - {"naloxone"}
    assert set(call(client, ehr, tenant="clinic-2")) == ALL
    assert feedback(client, ehr, overridden(at_one["counseling"]), tenant="clinic-2").status_code == 400


def test_open_mode_keys_the_patient_on_the_fhir_server_named(make_app):
    client = make_app().test_client()

    def open_call(server: str | None) -> dict[str, dict]:
        body = patient_view("123")
        if server:
            body["fhirServer"] = server
        response = client.post(PV, json=body)
        assert response.status_code == 200, response.get_json()
        return topics(response.get_json())

    at_a = open_call("https://ehr-a.example.org/fhir")
    assert client.post(FEEDBACK, json={"feedback": [overridden(at_a["counseling"])]}).status_code == 200
    # The same server however it is spelled: case, default port, trailing slash.
    assert set(open_call("HTTPS://EHR-A.example.org:443/fhir/")) == ALL - {"counseling"}
    assert set(open_call("https://ehr-b.example.org/fhir")) == ALL
    assert set(open_call(None)) == ALL


def _legacy_card(database_url) -> dict:
    from datetime import timedelta

    from tests.store.cardlog import T0, write_before_0002
    from tests.store.databases import TEST_KEY
    old = write_before_0002(database_url, TEST_KEY, topic="naloxone", patient="123",
                            snoozed_until=T0 + timedelta(days=3650))
    return {"uuid": old["uuid"]}


def test_a_card_logged_before_revision_0002_takes_feedback_from_no_verified_caller(
        database_url, make_secured, ehr):
    card = _legacy_card(database_url)
    client = make_secured(store={"database_url": database_url}).test_client()
    assert set(call(client, ehr)) == ALL                     # its old snooze has ended
    response = feedback(client, ehr, overridden(card, "patient-declined"))
    assert response.status_code == 400 and "feedback.0.card" in response.get_json()["fields"]


def test_in_open_mode_feedback_on_a_card_from_before_0002_is_kept_and_snoozes_nothing(database_url, make_app):
    card = _legacy_card(database_url)
    client = make_app(store={"database_url": database_url}).test_client()
    # It recorded no override reasons (revision 0003), so it takes an override without one only.
    with_reason = client.post(FEEDBACK, json={"feedback": [overridden(card, "patient-declined")]})
    assert with_reason.status_code == 400 and "feedback.0.overrideReason.reason" in with_reason.get_json()["fields"]
    assert client.post(FEEDBACK, json={"feedback": [overridden(card)]}).status_code == 200
    response = client.post(PV, json=patient_view("123"))
    assert set(topics(response.get_json())) == ALL
