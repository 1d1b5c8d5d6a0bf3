"""Assess withdrawal severity with COWS: opioid or kratom use with signs (or a suspicion) of
withdrawal, and no recent COWS, or a moderate one that is due to be scored again."""

from __future__ import annotations

from cards import suggestions
from cards.advice import Suggestion
from cards.evidence import Facts
from cards.inputs import Inputs
from cards.rules import AllOf, AnyOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic, Variant

# No national orderable code: see EngineSettings.cows_assessment_code. The record index finds
# this order again by the words "COWS" / "Clinical Opiate Withdrawal Scale".
ORDER_TEXT = "Clinical Opiate Withdrawal Scale (COWS) assessment"
BANDS = "COWS (11 items, 0-48): 5-12 mild, 13-24 moderate, 25-36 moderately severe, over 36 severe."


def cows_order(inputs: Inputs, settings: EngineSettings, facts: Facts | None = None) -> Suggestion:
    resource = suggestions.service_request(inputs, ORDER_TEXT, settings.cows_assessment_code)
    return Suggestion("Order a COWS assessment",
                      "Create a draft order for a Clinical Opiate Withdrawal Scale (COWS) assessment", resource)


TOPIC = Topic(
    code="withdrawal-assessment",
    title="Assess withdrawal severity (COWS)",
    rule=AllOf("use", "withdrawal_or_suspected", Not("open_cows_order"),
               AnyOf(Not("cows_recent"), "cows_rescore")),
    indicator="warning",
    min_age="adolescent_min_age_years",
    source="asam-2020",
    summary="Opioid use with signs of withdrawal: assess severity now with COWS",
    reasoning=(
        "No COWS in the last {cows_recency_hours} hours. " + BANDS + " The score guides symptom treatment "
        "and when buprenorphine can start."
    ),
    variants=(
        Variant(
            when="cows_rescore",
            summary="COWS {score} ({band}) over {cows_current_hours} hours ago: score withdrawal again",
            reasoning=(
                "The last COWS was moderate or worse and is over {cows_current_hours} hours old: score again "
                "to see whether treatment is working."
            ),
        ),
        Variant(
            when="dependence_only",
            summary="Withdrawal on a prescribed opioid: assess severity with COWS",
            reasoning=(
                "No COWS in the last {cows_recency_hours} hours. Withdrawal on a prescribed opioid is expected "
                "physiological dependence, not by itself a use disorder. Score it and treat the symptoms; if a "
                "taper is under way, slow it; if the patient "
                "ran out or cannot take the usual dose, resume or replace it."
            ),
            links=("dsm5-pain", "hhs-tapering"),
            source="cdc-2022",
        ),
        Variant(
            when="kratom_only",
            summary="Kratom use with signs of withdrawal: assess severity now with COWS",
            reasoning=(
                "No COWS in the last {cows_recency_hours} hours. COWS is not validated for kratom withdrawal: "
                "use it to follow change. " + BANDS
            ),
        ),
        Variant(
            when=AllOf("withdrawal_suspected", Not("withdrawal")),
            summary="Opioid withdrawal suspected: score it with COWS",
            reasoning="Withdrawal is suspected, not confirmed: a COWS score settles it. " + BANDS,
        ),
    ),
    links=("cows",),
    suggest=cows_order,
    app="cows-form",
)
