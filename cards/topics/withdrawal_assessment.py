"""Assess withdrawal severity with COWS: use and withdrawal, and no recent COWS."""

from __future__ import annotations

from cards import suggestions
from cards.advice import Suggestion
from cards.inputs import Inputs
from cards.rules import AllOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic, Variant

# No national orderable code: see EngineSettings.cows_assessment_code. The record index finds
# this order again by the words "COWS" / "Clinical Opiate Withdrawal Scale".
ORDER_TEXT = "Clinical Opiate Withdrawal Scale (COWS) assessment"


def suggest(inputs: Inputs, settings: EngineSettings) -> Suggestion:
    resource = suggestions.service_request(inputs, ORDER_TEXT, settings.cows_assessment_code)
    return Suggestion("Order a COWS assessment",
                      "Create a draft order for a Clinical Opiate Withdrawal Scale (COWS) assessment", resource)


TOPIC = Topic(
    code="withdrawal-assessment",
    title="Assess withdrawal severity (COWS)",
    rule=AllOf("use", "withdrawal", Not("cows_recent"), Not("open_cows_order")),
    indicator="warning",
    source="asam-2020",
    summary="Opioid use with signs of withdrawal: assess severity now with COWS",
    reasoning=(
        "No COWS score is on record for the last {cows_recency_hours} hours. The Clinical Opiate "
        "Withdrawal Scale (11 items, 0-48) grades withdrawal: 5-12 mild, 13-24 moderate, 25-36 "
        "moderately severe, over 36 severe. The score guides symptom treatment and when "
        "buprenorphine can be started."
    ),
    variants=(
        Variant(when="kratom_only", summary="Kratom use with signs of withdrawal: assess severity now with COWS"),
    ),
    shows=("opioid_use", "oud", "kratom", "withdrawal"),
    links=("cows", "asam-2020"),
    suggest=suggest,
    app="cows-form",
)
