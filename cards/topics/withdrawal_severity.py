"""Moderate or worse withdrawal measured now (the latest COWS, from the last hours): treat it.

A COWS is only scored when opioid withdrawal is suspected, so no other use evidence is needed;
it fires on MOUD too, where severe withdrawal soon after a buprenorphine start suggests
precipitated withdrawal.
"""

from __future__ import annotations

from cards.rules import AllOf
from cards.topic import Topic, Variant


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
    summary="COWS {score}: {band} opioid withdrawal now. Treat it",
    reasoning=(
        "The latest COWS, {score}, is {band} (13-24 moderate, 25-36 moderately severe, over 36 severe). "
        "Treat the symptoms now and score again; objective withdrawal is also when a standard "
        "buprenorphine start can begin."
    ),
    variants=(
        Variant(
            when=AllOf("buprenorphine_started_recently"),
            summary="COWS {score} after a recent buprenorphine start: possible precipitated withdrawal",
            reasoning=(
                "Buprenorphine was first given in the last {buprenorphine_start_window_hours} hours, and "
                "withdrawal this severe soon after a start suggests precipitated withdrawal. It is usually "
                "treated with more buprenorphine and symptom relief (CA Bridge): follow the site protocol."
            ),
            links=("low-dose-start",),
        ),
    ),
    shows=("latest_cows", "buprenorphine_started_recently"),
    links=("cows",),
    site_links=("withdrawal_order_set",),
    suggest=no_suggestion,
    app="cows-form",
)
