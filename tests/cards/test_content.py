"""What the advice says (design v2, 4.2 "Wording"): every variant, the evidence with its dates,
the budget of under 600 characters, notes once per response, links, the order of cards, and the
suggestions' FHIR resources (valid R4 drafts that, once saved, settle their card)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

import cards
from cards import Moment, compose, content
from cards.detail import MAX_DETAIL, MAX_WHAT
from cards.evidence import FACT_NAMES, Evidence, Facts
from cards.topics import TOPICS
from tests.cards.chart import (
    ALPRAZOLAM,
    FENTANYL_UDS,
    ICD10,
    LOINC,
    METHADONE,
    NOW,
    OPIOID_WITHDRAWAL,
    OUD,
    OXYCODONE,
    PHQ9,
    PID,
    PREGNANCY,
    SUBOXONE,
    administration,
    advice_for,
    ago,
    condition,
    cows,
    draft,
    evaluate,
    item9,
    kratom_note_obs,
    med_request,
    med_statement,
    observation,
    patient,
    phq,
    suggested,
    t40,
    topics,
    uds,
)

VERIFIED_URLS = {link.url for link in (*content.GUIDELINES.values(), *content.LINKS.values())}
MODELS = {"ServiceRequest": ServiceRequest, "MedicationRequest": MedicationRequest}
OXY = med_request(OXYCODONE)
BUP_ORDER = {"moment": Moment.ORDER, "drafts": (draft(SUBOXONE),)}

DISCHARGE = {"moment": Moment.DISCHARGE}
COCAINE_UDS = (LOINC, "3393-6", "Benzoylecgonine [Presence] in Urine")  # cocaine-urine-drug-screening-tests.csv

# One record per topic and variant ("" = the topic's own words), named by a fact its rule reads.
VARIANT_RECORDS = [
    ("withdrawal-assessment", "", [condition(OPIOID_WITHDRAWAL, recorded=ago(hours=5))], {}),
    ("withdrawal-assessment", "cows_rescore", [OXY, cows(15, hours=14)], {}),
    ("withdrawal-assessment", "dependence_only", [OXY, cows(6)], {}),
    ("withdrawal-assessment", "kratom_only", [kratom_note_obs(), cows(6)], {}),
    ("withdrawal-assessment", "withdrawal_suspected",
     [condition(OUD), condition(OPIOID_WITHDRAWAL, verification="provisional", recorded=ago(hours=5))], {}),
    ("withdrawal-severity", "", [cows(15, hours=2)], {}),
    ("withdrawal-severity", "precipitated_withdrawal_window",
     [condition(OUD), med_request(SUBOXONE, authored=ago(hours=3)), cows(28, hours=1)], {}),
    ("withdrawal-severity", "buprenorphine_started_recently",
     [condition(OUD), med_request(SUBOXONE, authored=ago(hours=30)), cows(28, hours=1)], {}),
    ("withdrawal-severity", "on_methadone", [med_statement(METHADONE), cows(15, hours=2)], {}),
    ("withdrawal-severity", "disorder_signal", [condition(OUD), cows(15, hours=2)], {}),
    ("withdrawal-severity", "dependence_only", [OXY, cows(15, hours=2)], {}),
    ("moud-referral", "", [condition(OUD)], {}),
    ("moud-referral", "pregnant", [condition(OUD), condition(PREGNANCY)], {}),
    ("moud-referral", "adolescent", [patient(birth="2009-01-01"), condition(OUD)], {}),
    ("moud-referral", "concentrated_7oh", [observation(text="Substance use history", when=ago(days=3),
                                                       value_string="Uses 7-OH tablets daily"), cows(6)], {}),
    ("moud-referral", "kratom_only", [kratom_note_obs(), cows(6)], {}),
    ("moud-referral", "overdose", [t40("T40.411A", "Poisoning by fentanyl, accidental")], {}),
    ("moud-referral", "benzodiazepine", [condition(OUD), med_request(ALPRAZOLAM)], {}),
    ("moud-referral", "rests_on_test", [uds(FENTANYL_UDS)], {}),
    ("buprenorphine-start", "", [condition(OUD)], BUP_ORDER),
    ("buprenorphine-start", "recent_fentanyl_or_methadone", [condition(OUD), uds(FENTANYL_UDS)], BUP_ORDER),
    ("moud-continuation", "", [condition(OUD), administration(SUBOXONE, when=ago(hours=20))], DISCHARGE),
    ("counseling", "", [condition(OUD)], {}),
    ("counseling", "stimulant_use", [condition(OUD), uds(COCAINE_UDS)], {}),
    ("counseling", "kratom_only", [kratom_note_obs(), cows(6)], {}),
    ("counseling", "depression", [condition(OUD), phq(PHQ9, 14)], {}),
    ("naloxone", "", [condition(OUD)], {}),
    ("naloxone", "xylazine_overdose", [uds(None, text="Xylazine, urine screen")], {}),
    ("naloxone", "withdrawal", [OXY, cows(6)], {}),
    ("depression-screen", "", [condition(OUD)], {}),
    ("depression-screen", "adolescent", [patient(birth="2009-01-01"), condition(OUD)], {}),
    ("suicide-risk", "", [condition(OUD), item9(2)], {}),
]
# What the MOUD card's summary rests on (design 4.2 v3): only a diagnosis says "opioid use disorder".
MOUD_SUMMARIES = [
    ([condition(OUD)], "Opioid use disorder, not on MOUD: offer buprenorphine here, or refer"),
    ([uds(FENTANYL_UDS)], "Unexplained fentanyl in a urine test: talk with the patient, assess for opioid use "
                          "disorder, offer MOUD if present"),
    ([condition((ICD10, "F11.90", "Opioid use, unspecified, uncomplicated"))],
     "Opioid use on record: assess for opioid use disorder, offer MOUD"),
    ([t40("T40.1X1A", "Poisoning by heroin, accidental")],
     "Opioid overdose: assess for opioid use disorder, offer MOUD"),
    ([kratom_note_obs(), cows(6)], "Kratom use with withdrawal or dependence: consider buprenorphine or a supported "
                                   "taper"),
]
TOPIC = {t.code: t for t in TOPICS}


def _variant(topic, name):
    return next((v for v in topic.variants if name and name in repr(v.when)), None)


def _people(record):
    return [] if any(r["resourceType"] == "Patient" for r in record) else [patient()]


@pytest.mark.parametrize("code, variant, record, inputs", VARIANT_RECORDS,
                         ids=[f"{code}:{variant or 'plain'}" for code, variant, _, _ in VARIANT_RECORDS])
def test_every_variant_renders(code, variant, record, inputs):
    advice = advice_for(code, *_people(record), *record, **inputs)
    chosen = _variant(TOPIC[code], variant)
    values = {**cards.EngineSettings().text_values, "score": "", "band": ""}
    latest = next((e for e in advice.evidence if e.kind == "cows"), None)
    if latest:
        from cards.topic import cows_band
        values.update(score=f"{latest.score:g}", band=cows_band(latest.score))
    reasoning = (chosen.reasoning if chosen and chosen.reasoning else TOPIC[code].reasoning).format_map(values)
    if chosen and chosen.summary:
        assert advice.summary == chosen.summary.format_map(values)
    assert reasoning in advice.detail
    assert len(advice.summary) < 140 and len(advice.detail) < 600


@pytest.mark.parametrize("record, summary", MOUD_SUMMARIES, ids=[s.split(":")[0] for _, s in MOUD_SUMMARIES])
def test_the_moud_summary_follows_what_the_signal_rests_on(record, summary):
    assert advice_for("moud-referral", patient(), *record).summary == summary


def test_every_variant_of_every_topic_has_a_record_above():
    covered = {(code, variant) for code, variant, _, _ in VARIANT_RECORDS}
    for topic in TOPICS:
        assert (topic.code, "") in covered
        for variant in topic.variants:
            assert any(code == topic.code and name and name in repr(variant.when) for code, name in covered), \
                (topic.code, variant.when)


def _worst_facts(when) -> Facts:
    """Every fact holds, with seven records each of the longest text a line shows, and a score."""
    long_what = "W" * (MAX_WHAT + 40)
    evidence = {name: [Evidence(kind, long_what + str(i), when - timedelta(hours=i), "MedicationStatement", 48.0)
                       for i in range(7)] for name in FACT_NAMES for kind in [name]}
    return Facts(evidence=evidence, age=40)


@pytest.mark.parametrize("topic", TOPICS, ids=[t.code for t in TOPICS])
def test_the_longest_rendering_of_every_variant_stays_under_600(topic):
    """Every fact true, seven long records behind each, every variant forced, the kratom note on:
    the detail still fits, because evidence lines give way to "and N more"."""
    facts = _worst_facts(NOW)
    facts.evidence["kratom_use"] = [dataclasses.replace(e, kind="kratom_use") for e in facts.evidence["kratom_use"]]
    inputs = cards.Inputs(PID, Moment.ORDER, "Practitioner/u1")
    for variant in (None, *topic.variants):
        forced = dataclasses.replace(topic, variants=(dataclasses.replace(variant, when="use"),) if variant else ())
        advice = forced.advise(facts, inputs, cards.EngineSettings(), NOW)
        for detail in (advice.detail, advice.noted_detail):
            assert len(detail) <= MAX_DETAIL, (topic.code, variant, len(detail))
        assert "more" in advice.detail  # the budget had to cut: the test did render the long case
        assert len(advice.summary) < 140


def test_advice_is_complete_and_cites_only_verified_pages():
    for _, _, record, inputs in VARIANT_RECORDS:
        for advice in evaluate(*_people(record), *record, **inputs):
            assert advice.title and advice.summary and advice.detail
            assert advice.indicator in ("info", "warning", "critical")
            assert advice.source.label and advice.source.url in VERIFIED_URLS
            assert all(link.label and link.url in VERIFIED_URLS for link in advice.links)
            assert advice.source.url not in {link.url for link in advice.links}, "the source link is repeated"
            assert content.OVERRIDE_REASONS[0] in advice.override_reasons


def test_moud_referral_offers_on_moud_elsewhere_as_a_reason():
    advice = advice_for("moud-referral", patient(), condition(OUD))
    assert content.ON_MOUD_ELSEWHERE in advice.override_reasons
    assert "no waiver" in advice.detail and content.LINKS["findtreatment"] in advice.links


SUGGESTING = [("withdrawal-assessment", [OXY, cows(6)], {}), ("moud-referral", [condition(OUD)], {}),
              ("counseling", [condition(OUD)], {}), ("naloxone", [condition(OUD)], {}),
              ("depression-screen", [condition(OUD)], {}), ("buprenorphine-start", [condition(OUD)], BUP_ORDER)]


@pytest.mark.parametrize("code, record, inputs", SUGGESTING, ids=[s[0] for s in SUGGESTING])
def test_suggested_resources_are_valid_r4_drafts_for_the_patient(code, record, inputs):
    resource = suggested(advice_for(code, patient(), *record, **inputs))
    MODELS[resource["resourceType"]].model_validate(resource)
    assert (resource["status"], resource["intent"]) == ("draft", "proposal")
    assert resource["subject"] == {"reference": f"Patient/{PID}"}
    assert resource["requester"] == {"reference": "Practitioner/u1"}


@pytest.mark.parametrize("status", ["draft", "active", "on-hold", "completed"])
@pytest.mark.parametrize("code, record, inputs", SUGGESTING, ids=[s[0] for s in SUGGESTING])
def test_an_accepted_suggestion_settles_its_card_and_only_it(code, record, inputs, status):
    before = topics(patient(), *record, **inputs)
    saved = dict(suggested(advice_for(code, patient(), *record, **inputs)), id="saved", status=status)
    assert topics(patient(), *record, saved, **inputs) == before - {code}


@pytest.mark.parametrize("code, record, inputs", SUGGESTING, ids=[s[0] for s in SUGGESTING])
def test_a_cancelled_suggestion_does_not_settle_its_card(code, record, inputs):
    resource = suggested(advice_for(code, patient(), *record, **inputs))
    ended = "revoked" if resource["resourceType"] == "ServiceRequest" else "cancelled"
    assert code in topics(patient(), *record, dict(resource, id="x", status=ended), **inputs)


def test_suggestion_codes():
    by_topic = {code: suggested(advice_for(code, patient(), *record, **inputs)) for code, record, inputs in SUGGESTING}
    assert by_topic["counseling"]["code"]["coding"][0]["code"] == "313071005"
    naloxone = by_topic["naloxone"]["medicationCodeableConcept"]["coding"][0]
    assert (naloxone["code"], naloxone["display"]) == ("1725059", "naloxone hydrochloride 40 MG/ML Nasal Spray")
    assert by_topic["withdrawal-assessment"]["code"] == {"text": "Clinical Opiate Withdrawal Scale (COWS) assessment"}
    assert by_topic["buprenorphine-start"] == by_topic["withdrawal-assessment"]
    assert "coding" not in by_topic["moud-referral"]["code"] and "coding" not in by_topic["depression-screen"]["code"]


def test_buprenorphine_start_suggests_a_cows_only_when_none_is_recent():
    assert advice_for("buprenorphine-start", patient(), condition(OUD), cows(4, hours=1), **BUP_ORDER).suggestions == ()


def test_configured_site_codes_are_used_and_recognised():
    settings = cards.EngineSettings(moud_referral_code={"system": "urn:site", "code": "MOUD-REF"},
                                    phq9_order_code={"system": "urn:site", "code": "PHQ9"})
    for code in ("moud-referral", "depression-screen"):
        resource = suggested(advice_for(code, patient(), condition(OUD), settings=settings))
        saved = {**resource, "id": "sr1", "status": "active", "code": {"coding": resource["code"]["coding"]}}
        assert code not in topics(patient(), condition(OUD), saved, settings=settings)


def test_site_pages_are_linked_where_configured():
    page = {"label": "Our withdrawal order set", "url": "https://ehr.example.org/order-sets/ows"}
    settings = cards.EngineSettings(withdrawal_order_set=page)
    advice = advice_for("withdrawal-severity", patient(), cows(15, hours=1), settings=settings)
    assert page["url"] in {link.url for link in advice.links}
    assert page["url"] not in {link.url for link in advice_for("withdrawal-severity", patient(),
                                                                 cows(15, hours=1)).links}


@pytest.mark.parametrize("score, indicator", [(12, None), (13, "warning"), (24, "warning"), (25, "critical"),
                                              (40, "critical")])
def test_severity_is_critical_from_cows_25(score, indicator):
    found = [a for a in evaluate(patient(), cows(score, hours=1)) if a.topic == "withdrawal-severity"]
    assert [a.indicator for a in found] == ([indicator] if indicator else [])
    if indicator:
        assert str(score) in found[0].summary


def test_severity_follows_the_latest_cows_not_the_highest():
    assert "withdrawal-severity" not in topics(patient(), cows(30, hours=6), cows(9, hours=2))
    advice = advice_for("withdrawal-severity", patient(), cows(9, hours=6), cows(26, hours=2))
    assert advice.indicator == "critical" and "26" in advice.summary and "COWS 9" not in advice.detail


def test_cards_are_ordered_critical_warning_info():
    advised = evaluate(patient(), OXY, condition(OUD), cows(30, hours=1))
    assert [a.indicator for a in advised] == sorted((a.indicator for a in advised),
                                                    key=("critical", "warning", "info").index)
    assert advised[0].topic == "withdrawal-severity"


def test_card_text_states_the_configured_thresholds_and_windows():
    settings = cards.EngineSettings(cows_recency_hours=12, cows_buprenorphine_threshold=10, counseling_window_days=60)
    assert "in the last 12 hours" in advice_for("withdrawal-assessment", patient(), OXY, cows(8, hours=14),
                                                settings=settings).detail
    assert "COWS 10 or more" in advice_for("buprenorphine-start", patient(), condition(OUD), settings=settings,
                                           **BUP_ORDER).detail
    assert "last 60 days" in advice_for("counseling", patient(), condition(OUD), settings=settings).detail


def test_detail_lists_only_the_evidence_that_fired_newest_first_with_hours_only_when_recent():
    advice = advice_for("naloxone", patient(), OXY, med_request(ALPRAZOLAM, authored=ago(days=10)),
                        cows(3, hours=2))  # the low COWS is no risk: it is not shown
    lines = [line for line in advice.detail.splitlines() if line.startswith("- ")]
    assert lines[0] == "- Risk: opioid with a benzodiazepine"  # the risk first (design 4.2 v3)
    assert lines[1].startswith("- Benzodiazepine: alprazolam") and lines[1].endswith("(2025-05-22)")
    assert lines[2].startswith("- Opioid medication: oxycodone") and "COWS" not in advice.detail
    recent = advice_for("withdrawal-severity", patient(), cows(15, hours=3)).detail
    assert "(2025-06-01 09:00 UTC)" in recent


def test_a_draft_order_is_marked_as_a_draft():
    advice = advice_for("buprenorphine-start", patient(), condition(OUD), **BUP_ORDER)
    assert "(draft order)" in advice.detail


def test_a_record_that_is_evidence_of_two_things_is_listed_once():
    detail = advice_for("withdrawal-assessment", patient(),
                        condition(OPIOID_WITHDRAWAL, recorded=ago(hours=5))).detail
    lines = [line for line in detail.splitlines() if "Opioid dependence with withdrawal" in line]
    assert len(lines) == 1 and lines[0].startswith("- Opioid use disorder; Withdrawal diagnosis:")


def test_the_dependence_only_card_says_it_is_not_a_use_disorder():
    advice = advice_for("withdrawal-assessment", patient(), OXY, cows(6))
    assert "not by itself a use disorder" in advice.detail and "taper" in advice.detail
    assert "Opioid use disorder" not in advice.detail


def test_the_kratom_note_is_shown_once_per_response_on_the_first_kratom_card():
    record = [patient(), kratom_note_obs(), cows(6)]
    advised = evaluate(*record)
    composed = compose(advised)
    carrying = [a.topic for a in composed if content.KRATOM_NOTE in a.detail]
    kratom_cards = [a.topic for a in composed if any(e.kind == "kratom_use" for e in a.evidence)]
    assert len(kratom_cards) >= 2 and carrying == kratom_cards[:1]
    assert [a.topic for a in composed if content.LINKS["kratom"] in a.links] == carrying
    # The first one snoozed: the note moves to the next kratom card.
    later = compose([a for a in advised if a.topic != carrying[0]])
    assert [a.topic for a in later if content.KRATOM_NOTE in a.detail] == kratom_cards[1:2]


def test_no_card_gives_a_dose_or_mentions_a_waiver_requirement():
    texts = json.dumps([[t.summary, t.reasoning, *(v.summary or "" for v in t.variants),
                         *(v.reasoning or "" for v in t.variants)] for t in TOPICS])
    assert not re.search(r"\d\s*mg\b", texts, re.I)
    assert "waiver" not in texts.replace("no waiver", "").lower()


def test_topics_are_named():
    assert set(cards.TOPICS) == {"withdrawal-assessment", "withdrawal-severity", "moud-referral",
                                 "buprenorphine-start", "moud-continuation", "counseling", "naloxone",
                                 "depression-screen", "suicide-risk"}
