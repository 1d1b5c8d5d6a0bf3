"""Offer substance use counseling or behavioral therapy (never as a condition of MOUD)."""

from __future__ import annotations

from cards import suggestions
from cards import valuesets as vs
from cards.advice import Suggestion
from cards.evidence import Facts
from cards.inputs import Inputs, Moment
from cards.rules import AllOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic, Variant

# SNOMED 313071005, from the IG's substance-misuse-behavioral-counseling set: the record index
# recognises it as counseling. Its display says "substance abuse"; the order says "Substance use
# counseling" instead (NIDA, Words Matter), keeping the code.
COUNSELING = {key: value for key, value in suggestions.coding((vs.SNOMED, "313071005"), vs.COUNSELING).items()
              if key != "display"}
ORDER_TEXT = "Substance use counseling"
NOT_A_CONDITION = "Do not delay or withhold MOUD if counseling is declined or unavailable."


def suggest(inputs: Inputs, settings: EngineSettings, facts: Facts) -> Suggestion:
    resource = suggestions.service_request(inputs, ORDER_TEXT, standard=COUNSELING)
    return Suggestion("Refer for substance use counseling", "Create a draft order for substance use counseling",
                      resource)


TOPIC = Topic(
    code="counseling",
    title="Offer counseling or behavioral therapy",
    rule=AllOf("disorder_signal", Not("recent_counseling"), Not("end_of_life")),
    indicator="info",
    min_age="adolescent_min_age_years",
    moments=frozenset({Moment.CHART, Moment.DISCHARGE}),
    source="asam-2020",
    summary="Offer substance use counseling or behavioral therapy",
    reasoning=(
        "No substance use counseling in the last {counseling_window_days} days. ASAM advises offering "
        "psychosocial treatment with MOUD. " + NOT_A_CONDITION
    ),
    variants=(
        Variant(
            when="stimulant_use",
            summary="Substance use with stimulants: offer counseling (contingency management)",
            reasoning=(
                "No counseling in the last {counseling_window_days} days. For stimulant use, contingency "
                "management has the strongest evidence (SAMHSA). " + NOT_A_CONDITION
            ),
            links=("stimulants",),
        ),
        Variant(
            when="depression",
            summary="Substance use with depression: offer integrated counseling",
            reasoning=(
                "Depression is on record beside the substance use: treat both together. " + NOT_A_CONDITION
            ),
        ),
        Variant(
            when="kratom_only",
            summary="Kratom use: offer counseling (CBT), support groups and aftercare",
            reasoning=(
                "No counseling in the last {counseling_window_days} days. For kratom use disorder, cognitive "
                "behavioral therapy, support groups and aftercare planning are used; no guideline is "
                "specific to kratom."
            ),
        ),
    ),
    shows=("disorder_signal",),
    suggest=suggest,
)
