"""What the advice says: summaries, evidence with dates, links, guidelines, and the suggestions'
FHIR resources (valid R4 drafts that, once saved, settle their card)."""

from __future__ import annotations

import json
import re

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

import cards
from cards import content
from cards.topics import TOPICS
from tests.cards.chart import (
    ALL,
    F19_WITHDRAWAL,
    OUD,
    OXYCODONE,
    PID,
    advice_for,
    ago,
    condition,
    cows,
    evaluate,
    kratom_note_obs,
    med_request,
    patient,
    suggested,
    topics,
)

FULL = [patient(), med_request(OXYCODONE), condition(F19_WITHDRAWAL, recorded=ago(hours=5)), cows(14)]
VERIFIED_URLS = {
    "https://www.cdc.gov/mmwr/volumes/71/rr/rr7103a1.htm",
    "https://www.asam.org/Quality-Science/quality/2020-national-practice-guideline",
    "https://nida.nih.gov/sites/default/files/ClinicalOpiateWithdrawalScale.pdf",
    content.LINKS["kratom"].url,
}
MODELS = {"ServiceRequest": ServiceRequest, "MedicationRequest": MedicationRequest}


@pytest.fixture(scope="module")
def full_advice():
    return evaluate(*FULL, kratom_note_obs())


def test_full_record_raises_every_topic_once(full_advice):
    assert sorted(a.topic for a in full_advice) == sorted(ALL)


def test_advice_is_complete(full_advice):
    for advice in full_advice:
        assert advice.title and advice.summary and advice.detail
        assert len(advice.summary) < 140
        assert advice.indicator in ("info", "warning", "critical")
        assert advice.source.label and advice.source.url in VERIFIED_URLS
        assert advice.override_reasons == content.OVERRIDE_REASONS
        assert all(link.label and link.url in VERIFIED_URLS for link in advice.links)
        assert [s.recommended for s in advice.suggestions] == [True]
        assert all(s.label and s.description for s in advice.suggestions)


def test_suggested_resources_are_valid_r4_drafts_for_the_patient(full_advice):
    for advice in full_advice:
        resource = suggested(advice)
        MODELS[resource["resourceType"]].model_validate(resource)
        assert resource["status"] == "draft"
        assert resource["subject"] == {"reference": f"Patient/{PID}"}
        assert resource["requester"] == {"reference": "Practitioner/u1"}


@pytest.mark.parametrize("user", [None, "", "Patient/p1", "RelatedPerson/r1"])
def test_a_suggestion_names_a_requester_only_for_a_practitioner(user):
    for advice in evaluate(*FULL, user=user):
        assert "requester" not in suggested(advice)


def test_suggestion_codes():
    by_topic = {a.topic: suggested(a) for a in evaluate(*FULL)}
    assert by_topic["counseling"]["code"]["coding"][0]["code"] == "313071005"
    naloxone = by_topic["naloxone"]["medicationCodeableConcept"]["coding"][0]
    assert (naloxone["code"], naloxone["display"]) == ("1725059", "naloxone hydrochloride 40 MG/ML Nasal Spray")
    assert by_topic["withdrawal-assessment"]["code"] == {"text": "Clinical Opiate Withdrawal Scale (COWS) assessment"}
    assert "coding" not in by_topic["moud-referral"]["code"]


def test_configured_site_codes_are_used_and_recognised():
    settings = cards.EngineSettings(moud_referral_code={"system": "urn:site", "code": "MOUD-REF"})
    resource = suggested(advice_for("moud-referral", patient(), condition(OUD), settings=settings))
    assert resource["code"]["coding"] == [{"system": "urn:site", "code": "MOUD-REF"}]
    saved = {**resource, "id": "sr1", "status": "active", "code": {"coding": resource["code"]["coding"]}}
    assert "moud-referral" not in topics(patient(), condition(OUD), saved, settings=settings)


@pytest.mark.parametrize("status", ["draft", "active", "on-hold", "completed"])
def test_an_accepted_suggestion_settles_its_card(status):
    for advice in evaluate(*FULL):
        resource = dict(suggested(advice), id="saved", status=status)
        remaining = topics(*FULL, resource)
        assert advice.topic not in remaining
        assert remaining == ALL - {advice.topic}


def test_a_cancelled_suggestion_does_not_settle_its_card():
    for advice in evaluate(*FULL):
        resource = suggested(advice)
        ended = "revoked" if resource["resourceType"] == "ServiceRequest" else "cancelled"
        assert advice.topic in topics(*FULL, dict(resource, id="x", status=ended))


@pytest.mark.parametrize("score, indicator", [(24, "warning"), (25, "critical"), (40, "critical")])
def test_moud_indicator_is_critical_at_cows_25(score, indicator):
    advice = advice_for("moud-referral", patient(), med_request(OXYCODONE), cows(score))
    assert advice.indicator == indicator
    if indicator == "critical":
        assert str(score) in advice.summary


def test_critical_follows_the_latest_cows_not_the_highest():
    advice = advice_for("moud-referral", patient(), med_request(OXYCODONE), cows(30, hours=40), cows(14, hours=30))
    assert advice.indicator == "warning"


def test_card_text_states_the_configured_threshold_not_the_default():
    settings = cards.EngineSettings(cows_critical_threshold=20, cows_recency_hours=12)
    critical = advice_for("moud-referral", patient(), med_request(OXYCODONE), cows(22), settings=settings)
    assert critical.indicator == "critical" and "(20 or more" in critical.detail and "25 or more" not in critical.detail
    assessment = advice_for("withdrawal-assessment", patient(), med_request(OXYCODONE), cows(8), settings=settings)
    assert "for the last 12 hours" in assessment.detail


def test_detail_gives_evidence_with_dates():
    advice = advice_for("withdrawal-assessment", *FULL)
    assert "oxycodone hydrochloride 5 MG Oral Tablet (MedicationRequest" in advice.detail
    assert "COWS score 14" in advice.detail
    assert re.search(r"\d{4}-\d{2}-\d{2}", advice.detail)
    assert {e.kind for e in advice.evidence} >= {"opioid", "cows", "withdrawal"}


def test_kratom_wording_and_link():
    advice = advice_for("counseling", patient(), kratom_note_obs())
    assert "partial mu-opioid agonist" in advice.detail
    assert "Buprenorphine" in advice.detail
    assert content.LINKS["kratom"] in advice.links
    assert advice.summary.startswith("Kratom")
    plain = advice_for("counseling", patient(), condition(OUD))
    assert "mitragynine" not in plain.detail


def test_no_x_waiver_anywhere():
    text = json.dumps([[t.summary, t.reasoning, *(v.summary or "" for v in t.variants)] for t in TOPICS])
    assert "waiver" not in (text + content.KRATOM_NOTE).lower()


@pytest.mark.parametrize("topic", TOPICS, ids=[t.code for t in TOPICS])
def test_every_summary_variant_fits(topic):
    values = {**cards.EngineSettings().text_values, "score": "48"}
    for summary in [topic.summary, *(v.summary for v in topic.variants if v.summary)]:
        assert len(summary.format_map(values)) < 140


def test_cows_link_on_withdrawal_card():
    assert content.LINKS["cows"] in advice_for("withdrawal-assessment", *FULL).links


def test_topics_are_named():
    assert cards.TOPICS == ("withdrawal-assessment", "moud-referral", "counseling", "naloxone")


def test_a_record_that_is_evidence_of_two_things_is_listed_once():
    from tests.cards.chart import TRAMADOL, WITHDRAWAL_SYNDROME

    detail = advice_for("moud-referral", patient(), med_request(TRAMADOL, authored=ago(days=10)),
                        condition(WITHDRAWAL_SYNDROME, onset=ago(hours=5))).detail
    lines = [line for line in detail.splitlines() if "Opioid withdrawal syndrome" in line]
    assert len(lines) == 1
    assert lines[0].startswith("- Opioid use disorder; Withdrawal:")
