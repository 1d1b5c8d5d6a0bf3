"""Suicide risk on record (PHQ-9 item 9, an attempt, an intentional overdose) with opioid use,
an OUD history or an overdose: assess suicide risk today."""

from __future__ import annotations

from cards.rules import AllOf, AnyOf
from cards.topic import Topic


def no_suggestion(inputs, settings, facts):
    # No verified orderable for a suicide risk assessment; the 988 link and the reasoning stand.
    return None


TOPIC = Topic(
    code="suicide-risk",
    title="Assess suicide risk today",
    rule=AllOf("suicide_risk", AnyOf("use", "oud_history", "overdose")),
    indicator="warning",
    min_age="adolescent_min_age_years",
    source="suicide-oud-2022",
    summary="Suicide risk on record beside opioid use: assess suicide risk today",
    reasoning=(
        "Assess suicide risk today and make a safety plan with the patient. Naloxone and MOUD also "
        "prevent overdose deaths. The 988 Suicide & Crisis Lifeline answers calls and texts."
    ),
    shows=("suicide_risk",),
    links=("988",),
    suggest=no_suggestion,
)
