"""Moments of care: at the order moment the engine answers only when a draft being acted on is an
opioid, a MOUD product or naloxone; drafts count as record; each topic applies at its moments."""

from __future__ import annotations

import pytest

import cards
from cards import Moment
from cards.topics import TOPICS
from tests.cards.chart import (
    AMOXICILLIN_TEXT,
    NALOXONE_SPRAY,
    NOW,
    OUD,
    OXYCODONE,
    SUBOXONE,
    condition,
    cows,
    med_request,
    patient,
    topics,
)

RECORD = [patient(), condition(OUD)]
ORDER = Moment.ORDER


def draft(code, id):
    return med_request(code, status="draft", intent="proposal", id=id)


def test_an_antibiotic_order_raises_nothing():
    assert topics(*RECORD, moment=ORDER, drafts=(draft(AMOXICILLIN_TEXT, "d1"),)) == set()


def test_an_opioid_order_raises_the_patients_cards():
    # Counseling is a chart and discharge card (design 4.2 v3), not an order-hook one.
    assert topics(*RECORD, moment=ORDER, drafts=(draft(OXYCODONE, "d1"),)) == {"moud-referral", "naloxone"}


def test_only_the_drafts_acted_on_trigger():
    opioid, antibiotic = draft(OXYCODONE, "d1"), draft(AMOXICILLIN_TEXT, "d2")
    assert topics(*RECORD, moment=ORDER, drafts=(opioid, antibiotic), acted_on=(antibiotic,)) == set()
    assert topics(*RECORD, moment=ORDER, drafts=(opioid, antibiotic), acted_on=(opioid,))
    assert topics(*RECORD, moment=ORDER, drafts=(antibiotic, opioid))


def test_no_draft_acted_on_raises_nothing_at_the_order_moment():
    assert topics(*RECORD, moment=ORDER) == set()
    assert topics(*RECORD, moment=ORDER, drafts=(draft(OXYCODONE, "d1"),), acted_on=()) == set()


def test_a_draft_moud_order_counts_as_on_moud():
    # No MOUD card; the buprenorphine order raises its own readiness check (no COWS on record).
    assert topics(*RECORD, moment=ORDER, drafts=(draft(SUBOXONE, "d1"),)) == {"buprenorphine-start", "naloxone"}


def test_a_draft_naloxone_order_counts_as_naloxone_on_hand():
    assert topics(*RECORD, moment=ORDER, drafts=(draft(NALOXONE_SPRAY, "d1"),)) == {"moud-referral"}


def test_a_draft_opioid_is_opioid_use():
    record = [patient(), cows(7)]
    assert topics(*record, moment=ORDER, drafts=(draft(OXYCODONE, "d1"),)) == {"withdrawal-assessment", "naloxone"}
    assert topics(*record) == set()


def test_draft_referencing_a_contained_medication():
    mr = med_request(OXYCODONE, status="draft", id="d1")
    del mr["medicationCodeableConcept"]
    mr["contained"] = [{"resourceType": "Medication", "id": "m", "code": {"coding": [
        {"system": OXYCODONE[0], "code": OXYCODONE[1]}]}}]
    mr["medicationReference"] = {"reference": "#m"}
    assert topics(*RECORD, moment=ORDER, drafts=(mr,))


def test_medication_reference_in_the_record():
    mr = med_request(OXYCODONE)
    del mr["medicationCodeableConcept"]
    mr["medicationReference"] = {"reference": "Medication/m1"}
    medication = {"resourceType": "Medication", "id": "m1", "code": {"text": "oxycodone 5 mg tablet"}}
    assert topics(patient(), mr, medication, cows(6)) == {"withdrawal-assessment", "naloxone"}


@pytest.mark.parametrize("moment", [Moment.CHART, Moment.DISCHARGE])
def test_chart_and_discharge_evaluate_the_whole_record(moment):
    assert topics(*RECORD, moment=moment) == {"moud-referral", "counseling", "naloxone", "depression-screen"}


def test_topics_that_do_not_apply_at_the_order_moment_are_left_out():
    """depression-screen is for the chart and discharge; buprenorphine-start only for orders."""
    assert "depression-screen" not in topics(*RECORD, moment=ORDER, drafts=(draft(OXYCODONE, "d1"),))
    assert "buprenorphine-start" not in topics(*RECORD, med_request(SUBOXONE, status="draft", id="d1"))


def test_a_topic_answers_only_at_its_moments(monkeypatch):
    """A topic's moments are data: one that does not apply at discharge is not evaluated there."""
    import dataclasses

    import cards.engine

    chart_only = tuple(dataclasses.replace(t, moments=frozenset({Moment.CHART})) if t.code == "naloxone" else t
                       for t in TOPICS)
    monkeypatch.setattr(cards.engine, "TOPICS", chart_only)
    assert "naloxone" in topics(*RECORD, moment=Moment.CHART)
    assert "naloxone" not in topics(*RECORD, moment=Moment.DISCHARGE)


def test_odd_drafts_never_raise():
    for junk in ({}, {"resourceType": "MedicationRequest"}, {"resourceType": 5}, {"resourceType": "Observation"}):
        assert cards.evaluate(RECORD, cards.Inputs("p1", ORDER, drafts=(junk,), acted_on=(junk,)), NOW) == []
