"""Offer naloxone: overdose risk rises as opioid tolerance falls."""

from __future__ import annotations

from cards import suggestions
from cards import valuesets as vs
from cards.advice import Suggestion
from cards.inputs import Inputs
from cards.rules import AllOf, AnyOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic

# RxNorm 1725059 naloxone hydrochloride 40 MG/ML Nasal Spray, from the curated rescue set.
NASAL_SPRAY = suggestions.coding((vs.RXNORM, "1725059"), vs.NALOXONE_RESCUE)


def suggest(inputs: Inputs, settings: EngineSettings) -> Suggestion:
    resource = suggestions.draft("MedicationRequest", inputs,
                                 medicationCodeableConcept={"coding": [NASAL_SPRAY], "text": NASAL_SPRAY["display"]})
    return Suggestion("Prescribe naloxone nasal spray", f"Create a draft prescription for {NASAL_SPRAY['display']}",
                      resource)


TOPIC = Topic(
    code="naloxone",
    title="Offer naloxone",
    rule=AllOf(AnyOf("oud", AllOf("use", "withdrawal")), Not("naloxone_on_hand"), Not("end_of_life")),
    indicator="info",
    source="cdc-2022",
    summary="Offer naloxone: overdose risk rises as opioid tolerance falls",
    reasoning=(
        "No naloxone rescue product is on record (buprenorphine/naloxone does not count). "
        "Tolerance falls during withdrawal, so a return to previous use carries a higher risk "
        "of overdose. CDC (2022, recommendation 8) advises offering naloxone to patients at "
        "increased risk, including those with a substance use disorder or at risk of "
        "returning to a high dose after losing tolerance."
    ),
    shows=("oud", "opioid_use", "kratom", "withdrawal"),
    links=("cdc-2022",),
    suggest=suggest,
)
