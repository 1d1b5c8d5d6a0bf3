"""Assess withdrawal severity with COWS: opioid or kratom use with signs of withdrawal, and no
recent COWS."""

from __future__ import annotations

from cards import suggestions
from cards.advice import Suggestion
from cards.evidence import Facts
from cards.inputs import Inputs
from cards.rules import AllOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic, Variant

# No national orderable code: see EngineSettings.cows_assessment_code. The record index finds
# this order again by the words "COWS" / "Clinical Opiate Withdrawal Scale".
ORDER_TEXT = "Clinical Opiate Withdrawal Scale (COWS) assessment"


def cows_order(inputs: Inputs, settings: EngineSettings, facts: Facts | None = None) -> Suggestion:
    resource = suggestions.service_request(inputs, ORDER_TEXT, settings.cows_assessment_code)
    return Suggestion("Order a COWS assessment",
                      "Create a draft order for a Clinical Opiate Withdrawal Scale (COWS) assessment", resource)


TOPIC = Topic(
    code="withdrawal-assessment",
    title="Assess withdrawal severity (COWS)",
    rule=AllOf("use", "withdrawal", Not("cows_recent"), Not("open_cows_order")),
    indicator="warning",
    min_age="adolescent_min_age_years",
    source="asam-2020",
    summary="Opioid use with signs of withdrawal: assess severity now with COWS",
    reasoning=(
        "No COWS score in the last {cows_recency_hours} hours. COWS (11 items, 0-48) grades withdrawal: "
        "5-12 mild, 13-24 moderate, 25-36 moderately severe, over 36 severe. The score guides symptom "
        "treatment and when buprenorphine can start."
    ),
    variants=(
        Variant(
            when="dependence_only",
            summary="Withdrawal on a prescribed opioid: assess severity with COWS",
            reasoning=(
                "Withdrawal on a prescribed opioid is expected physiological dependence, not by itself a "
                "use disorder (DSM-5). No COWS in the last {cows_recency_hours} hours: score it, treat the "
                "symptoms, and consider the pace of the taper."
            ),
            links=("dsm5-pain",),
        ),
        Variant(when="kratom_only", summary="Kratom use with signs of withdrawal: assess severity now with COWS"),
    ),
    links=("cows",),
    suggest=cows_order,
    app="cows-form",
)
