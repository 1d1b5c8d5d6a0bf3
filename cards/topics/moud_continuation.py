"""Buprenorphine started here: bridge it to follow-up before the patient leaves (CA Bridge;
D'Onofrio 2015; Hawk, Ann Emerg Med 2021). No dose."""

from __future__ import annotations

from cards.advice import Suggestion
from cards.evidence import Facts
from cards.inputs import Inputs, Moment
from cards.rules import AllOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic
from cards.topics import moud_referral


def suggest(inputs: Inputs, settings: EngineSettings, facts: Facts) -> Suggestion | None:
    """A draft referral for MOUD follow-up (the MOUD referral's code), unless one is already open."""
    if facts["open_moud_referral"]:
        return None
    referral = moud_referral.suggest(inputs, settings, facts)
    return Suggestion("Refer for MOUD follow-up", "Create a draft referral for buprenorphine follow-up after discharge",
                      referral.resource)


TOPIC = Topic(
    code="moud-continuation",
    title="Bridge a buprenorphine start to follow-up",
    rule=AllOf("buprenorphine_started_recently", Not("outpatient_buprenorphine_prescription"), Not("end_of_life")),
    indicator="warning",
    min_age="buprenorphine_min_age_years",
    moments=frozenset({Moment.DISCHARGE}),
    source="ca-bridge",
    summary="Buprenorphine started here: bridge to follow-up",
    reasoning=(
        "No buprenorphine prescription to take home is on record. Prescribe a bridge supply to the first "
        "follow-up visit and book that visit before the patient leaves; give naloxone."
    ),
    shows=("buprenorphine_started_recently",),
    links=("ed-oud-consensus", "ed-buprenorphine", "findtreatment"),
    suggest=suggest,
)
