"""Card shape (CDS Hooks 2.0 section 1.6), content and the suggestions' FHIR resources."""

from __future__ import annotations

import json
import re

import pytest
from builders import (
    ALL,
    F19_WITHDRAWAL,
    OUD,
    OXYCODONE,
    PID,
    ago,
    card_for,
    condition,
    cows,
    evaluate,
    kratom_note_obs,
    med_request,
    patient,
    topics,
)
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

import cards
from cards import content

FULL = [patient(), med_request(OXYCODONE), condition(F19_WITHDRAWAL, recorded=ago(hours=5)), cows(14)]
VERIFIED_URLS = {
    "https://www.cdc.gov/mmwr/volumes/71/rr/rr7103a1.htm",
    "https://www.asam.org/Quality-Science/quality/2020-national-practice-guideline",
    "https://nida.nih.gov/sites/default/files/ClinicalOpiateWithdrawalScale.pdf",
    content.LINKS["kratom"]["url"],
}
MODELS = {"ServiceRequest": ServiceRequest, "MedicationRequest": MedicationRequest}


def walk(value):
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


@pytest.fixture(scope="module")
def full_cards():
    return evaluate(*FULL, kratom_note_obs())


def test_full_record_raises_every_topic_once(full_cards):
    assert sorted(cards.topic_of(c) for c in full_cards) == sorted(ALL)


def test_cards_follow_the_card_contract(full_cards):
    json.dumps(full_cards)
    for card in full_cards:
        assert set(card) >= {"uuid", "summary", "detail", "indicator", "source", "suggestions",
                             "selectionBehavior", "overrideReasons", "links"}
        assert "systemActions" not in card
        assert len(card["summary"]) < 140
        assert card["indicator"] in ("info", "warning", "critical")
        assert card["source"]["label"] and card["source"]["url"] in VERIFIED_URLS
        assert card["source"]["topic"]["system"] == cards.TOPIC_SYSTEM
        assert card["source"]["topic"]["display"]
        assert card["selectionBehavior"] == "at-most-one"
        assert all(r["display"] for r in card["overrideReasons"])
        assert card["overrideReasons"] == list(cards.OVERRIDE_REASONS)
        for link in card["links"]:
            assert link["type"] == "absolute" and link["url"] in VERIFIED_URLS and link["label"]
        for suggestion in card["suggestions"]:
            assert suggestion["uuid"] and suggestion["isRecommended"] is True and suggestion["label"]
            assert all(a["type"] == "create" and a["description"] for a in suggestion["actions"])


def test_no_none_or_empty_values_anywhere(full_cards):
    for value in walk(full_cards):
        assert value is not None and value != "" and value != [] and value != {}


def test_uuids_are_fresh(full_cards):
    again = evaluate(*FULL)
    ids = [c["uuid"] for c in full_cards + again] + [
        s["uuid"] for c in full_cards + again for s in c["suggestions"]]
    assert len(ids) == len(set(ids))


def test_suggested_resources_are_valid_r4_drafts_for_the_patient(full_cards):
    for card in full_cards:
        resource = card["suggestions"][0]["actions"][0]["resource"]
        MODELS[resource["resourceType"]].model_validate(resource)
        assert resource["status"] == "draft"
        assert resource["subject"] == {"reference": f"Patient/{PID}"}


def test_suggestion_codes():
    by_topic = {cards.topic_of(c): c["suggestions"][0]["actions"][0]["resource"] for c in evaluate(*FULL)}
    assert by_topic["counseling"]["code"]["coding"][0]["code"] == "313071005"
    naloxone = by_topic["naloxone"]["medicationCodeableConcept"]["coding"][0]
    assert (naloxone["code"], naloxone["display"]) == ("1725059", "naloxone hydrochloride 40 MG/ML Nasal Spray")
    assert by_topic["withdrawal-assessment"]["code"]["text"] == content.COWS_ORDER_TEXT
    assert "coding" not in by_topic["moud-referral"]["code"]


def test_configured_site_codes_are_used_and_recognised():
    settings = cards.EngineSettings(moud_referral_code={"system": "urn:site", "code": "MOUD-REF"})
    card = card_for("moud-referral", patient(), condition(OUD), settings=settings)
    resource = card["suggestions"][0]["actions"][0]["resource"]
    assert resource["code"]["coding"] == [{"system": "urn:site", "code": "MOUD-REF"}]
    saved = {**resource, "id": "sr1", "status": "active", "code": {"coding": resource["code"]["coding"]}}
    assert "moud-referral" not in topics(patient(), condition(OUD), saved, settings=settings)


@pytest.mark.parametrize("status", ["draft", "active", "on-hold", "completed"])
def test_an_accepted_suggestion_settles_its_card(status):
    for card in evaluate(*FULL):
        resource = dict(card["suggestions"][0]["actions"][0]["resource"], id="saved", status=status)
        remaining = topics(*FULL, resource)
        assert cards.topic_of(card) not in remaining
        assert remaining == ALL - {cards.topic_of(card)}


def test_a_cancelled_suggestion_does_not_settle_its_card():
    for card in evaluate(*FULL):
        resource = card["suggestions"][0]["actions"][0]["resource"]
        ended = "revoked" if resource["resourceType"] == "ServiceRequest" else "cancelled"
        cancelled = dict(resource, id="x", status=ended)
        assert cards.topic_of(card) in topics(*FULL, cancelled)


@pytest.mark.parametrize("score, indicator", [(24, "warning"), (25, "critical"), (40, "critical")])
def test_moud_indicator_is_critical_at_cows_25(score, indicator):
    card = card_for("moud-referral", patient(), med_request(OXYCODONE), cows(score))
    assert card["indicator"] == indicator
    if indicator == "critical":
        assert str(score) in card["summary"]


def test_critical_follows_the_latest_cows_not_the_highest():
    card = card_for("moud-referral", patient(), med_request(OXYCODONE), cows(30, hours=40), cows(14, hours=30))
    assert card["indicator"] == "warning"


def test_detail_gives_evidence_with_dates():
    card = card_for("withdrawal-assessment", *FULL)
    assert "oxycodone hydrochloride 5 MG Oral Tablet (MedicationRequest" in card["detail"]
    assert "COWS score 14" in card["detail"]
    assert re.search(r"\d{4}-\d{2}-\d{2}", card["detail"])


def test_kratom_wording_and_link():
    card = card_for("counseling", patient(), kratom_note_obs())
    assert "partial mu-opioid agonist" in card["detail"]
    assert "Buprenorphine" in card["detail"]
    assert content.LINKS["kratom"]["url"] in {link["url"] for link in card["links"]}
    assert card["summary"].startswith("Kratom")
    plain = card_for("counseling", patient(), condition(OUD))
    assert "mitragynine" not in plain["detail"]


def test_no_x_waiver_anywhere():
    text = json.dumps(content.CARDS) + content.KRATOM_NOTE
    assert "waiver" not in text.lower() and "x-waiver" not in text.lower()


@pytest.mark.parametrize("topic", sorted(content.CARDS))
def test_every_summary_variant_fits(topic):
    for key, value in content.CARDS[topic].items():
        if key.startswith("summary"):
            assert len(str(value).format(score="48")) < 140


def test_cows_link_on_withdrawal_card():
    card = card_for("withdrawal-assessment", *FULL)
    assert content.LINKS["cows"]["url"] in {link["url"] for link in card["links"]}


def test_topic_of_other_things():
    assert cards.topic_of({}) == "" and cards.topic_of({"source": {"topic": {"system": "x", "code": "y"}}}) == ""
    assert cards.TOPICS == ("withdrawal-assessment", "moud-referral", "counseling", "naloxone")


def test_a_record_that_is_evidence_of_two_things_is_listed_once():
    from builders import TRAMADOL, WITHDRAWAL_SYNDROME, ago, card_for, condition, med_request, patient

    detail = card_for("moud-referral", patient(), med_request(TRAMADOL, authored=ago(days=10)),
                      condition(WITHDRAWAL_SYNDROME, onset=ago(hours=5)))["detail"]
    lines = [line for line in detail.splitlines() if "Opioid withdrawal syndrome" in line]
    assert len(lines) == 1
    assert lines[0].startswith("- Opioid use disorder; Withdrawal:")
