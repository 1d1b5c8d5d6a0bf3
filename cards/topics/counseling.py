"""Offer substance use counseling or behavioral therapy."""

from __future__ import annotations

from cards import suggestions
from cards import valuesets as vs
from cards.advice import Suggestion
from cards.inputs import Inputs
from cards.rules import AllOf, AnyOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic, Variant

# SNOMED 313071005 "Counseling for substance abuse (procedure)", from the IG's
# substance-misuse-behavioral-counseling set: the record index recognises it as counseling.
COUNSELING = suggestions.coding((vs.SNOMED, "313071005"), vs.COUNSELING)
ORDER_TEXT = "Substance use counseling"


def suggest(inputs: Inputs, settings: EngineSettings) -> Suggestion:
    resource = suggestions.service_request(inputs, ORDER_TEXT, standard=COUNSELING)
    return Suggestion("Refer for substance use counseling", "Create a draft order for substance use counseling",
                      resource)


TOPIC = Topic(
    code="counseling",
    title="Offer counseling or behavioral therapy",
    rule=AllOf(
        AnyOf("oud", "kratom", AllOf("opioid_use", "withdrawal")),
        Not("recent_counseling"),
        Not("end_of_life"),
    ),
    indicator="info",
    source="asam-2020",
    summary="Offer substance use counseling or behavioral therapy",
    reasoning=(
        "No substance use counseling is on record for the last {counseling_window_days} days. ASAM "
        "recommends offering psychosocial treatment, such as counseling or behavioral therapy, "
        "alongside medication for opioid use disorder."
    ),
    variants=(Variant(when="kratom_only", summary="Kratom use: offer substance use counseling or behavioral therapy"),),
    shows=("oud", "kratom", "opioid_use", "withdrawal"),
    links=("asam-2020",),
    suggest=suggest,
)
