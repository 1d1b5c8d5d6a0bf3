"""Moderate or worse withdrawal measured now (the latest COWS, from the last hours): treat it.

A COWS is only scored when opioid withdrawal is suspected, so no other use evidence is needed. The
next step depends on the patient: a start for an untreated disorder, methadone continued for a
patient on it, a slower wean for dependence on a prescribed opioid, more buprenorphine after a start.
"""

from __future__ import annotations

from cards.rules import AllOf, Not
from cards.topic import Topic, Variant

TREAT = "Treat the symptoms now and score again."


def no_suggestion(inputs, settings, facts):
    # Treatment is the clinician's order set (linked where the site configures it), not a draft of ours.
    return None


TOPIC = Topic(
    code="withdrawal-severity",
    title="Treat moderate or worse withdrawal",
    rule=AllOf("cows_moderate"),
    indicator="warning",
    escalations=(("cows_severe", "critical"),),
    min_age="adolescent_min_age_years",
    source="asam-2020",
    summary="COWS {score}: {band} opioid withdrawal now. Treat it and re-score",
    reasoning="The latest COWS, {score}, is {band} (13-24 moderate, 25-36 moderately severe, over 36 severe). " + TREAT,
    variants=(
        Variant(
            when="precipitated_withdrawal_window",
            summary="COWS {score} within hours of a first buprenorphine dose: possible precipitated withdrawal",
            reasoning=(
                "Withdrawal this soon after the first buprenorphine dose suggests precipitated withdrawal. It "
                "is usually treated with more buprenorphine and symptom relief: follow the site protocol."
            ),
            links=("high-potency-opioids",),
        ),
        Variant(
            when="buprenorphine_started_recently",
            summary="COWS {score} after a recent buprenorphine start: the dose may be too low",
            reasoning=(
                "Buprenorphine was started in the last {buprenorphine_start_window_hours} hours; withdrawal "
                "now usually means the dose is too low. It is usually treated with more buprenorphine and "
                "symptom relief: follow the site protocol."
            ),
            links=("high-potency-opioids",),
        ),
        Variant(
            when="on_methadone",
            reasoning=(
                "The latest COWS, {score}, is {band}. Confirm the last methadone dose with the treatment "
                "program and continue methadone (missed doses are the usual cause); 21 CFR 1306.07(c) allows "
                "it in hospital. " + TREAT
            ),
            links=("methadone-in-hospital",),
        ),
        Variant(
            when=AllOf("disorder_signal", Not("on_moud"), Not("adolescent_under_16")),
            reasoning=(
                "The latest COWS, {score}, is {band}. " + TREAT + " Objective withdrawal is when a standard "
                "buprenorphine start can begin."
            ),
        ),
        Variant(
            when="dependence_only",
            reasoning=(
                "The latest COWS, {score}, is {band}, on a prescribed opioid: slow the wean or resume the "
                "opioid, and treat the symptoms. Score again."
            ),
            links=("hhs-tapering",),
        ),
    ),
    shows=("latest_cows", "buprenorphine_started_recently"),
    links=("cows",),
    site_links=("withdrawal_order_set",),
    suggest=no_suggestion,
    app="cows-form",
)
