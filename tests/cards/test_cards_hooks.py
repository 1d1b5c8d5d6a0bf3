"""order-select / order-sign: cards only when a selected or signed draft is an opioid, MOUD or naloxone."""

from __future__ import annotations

import pytest
from builders import (
    AMOXICILLIN_TEXT,
    NALOXONE_SPRAY,
    NOW,
    OUD,
    OXYCODONE,
    SUBOXONE,
    bundle,
    condition,
    cows,
    med_request,
    patient,
    topics,
)

import cards

RECORD = [patient(), condition(OUD)]


def draft(code, id):
    return med_request(code, status="draft", intent="proposal", id=id)


def order(hook, *drafts, selections=None):
    context = {"draftOrders": bundle(*drafts)}
    if hook == "order-select":
        context["selections"] = selections if selections is not None else [
            f"MedicationRequest/{d['id']}" for d in drafts]
    return {"hook": hook, "context": context}


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_an_antibiotic_order_raises_nothing(hook):
    assert topics(*RECORD, **order(hook, draft(AMOXICILLIN_TEXT, "d1"))) == set()


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_an_opioid_order_raises_the_patients_cards(hook):
    assert topics(*RECORD, **order(hook, draft(OXYCODONE, "d1"))) == {"moud-referral", "counseling", "naloxone"}


def test_order_select_reads_only_the_selected_draft():
    drafts = (draft(OXYCODONE, "d1"), draft(AMOXICILLIN_TEXT, "d2"))
    assert topics(*RECORD, **order("order-select", *drafts, selections=["MedicationRequest/d2"])) == set()
    assert topics(*RECORD, **order("order-select", *drafts, selections=["MedicationRequest/d1"]))


def test_order_sign_reads_every_draft():
    drafts = (draft(AMOXICILLIN_TEXT, "d2"), draft(OXYCODONE, "d1"))
    assert topics(*RECORD, **order("order-sign", *drafts))


def test_a_draft_moud_order_counts_as_on_moud():
    assert topics(*RECORD, **order("order-sign", draft(SUBOXONE, "d1"))) == {"counseling", "naloxone"}


def test_a_draft_naloxone_order_counts_as_naloxone_on_hand():
    assert topics(*RECORD, **order("order-sign", draft(NALOXONE_SPRAY, "d1"))) == {"moud-referral", "counseling"}


def test_a_draft_opioid_is_opioid_use():
    record = [patient(), cows(7)]
    assert topics(*record, **order("order-sign", draft(OXYCODONE, "d1"))) == {
        "withdrawal-assessment", "counseling", "naloxone"}
    assert topics(*record) == set()


def test_draft_referencing_a_contained_medication():
    mr = med_request(OXYCODONE, status="draft", id="d1")
    del mr["medicationCodeableConcept"]
    mr["contained"] = [{"resourceType": "Medication", "id": "m", "code": {"coding": [
        {"system": OXYCODONE[0], "code": OXYCODONE[1]}]}}]
    mr["medicationReference"] = {"reference": "#m"}
    assert topics(*RECORD, **order("order-sign", mr))


def test_medication_reference_in_the_record():
    mr = med_request(OXYCODONE)
    del mr["medicationCodeableConcept"]
    mr["medicationReference"] = {"reference": "Medication/m1"}
    medication = {"resourceType": "Medication", "id": "m1", "code": {"text": "oxycodone 5 mg tablet"}}
    assert topics(patient(), mr, medication, cows(6)) == {"withdrawal-assessment", "counseling", "naloxone"}


@pytest.mark.parametrize("context", [{}, {"draftOrders": "junk"}, {"draftOrders": {"entry": [1, None]}},
                                     {"draftOrders": bundle(draft(OXYCODONE, "d1")), "selections": "x"}])
def test_bad_order_contexts_give_no_cards(context):
    assert topics(*RECORD, hook="order-select", context=context) == set()


def test_unknown_hook_gives_no_cards():
    assert cards.evaluate(RECORD, hook="encounter-start", context={"patientId": "p1"}, now=NOW) == []
