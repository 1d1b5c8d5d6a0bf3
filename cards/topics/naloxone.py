"""Offer naloxone to a patient at increased risk of opioid overdose (CDC 2022, recommendation 8)."""

from __future__ import annotations

from cards import suggestions
from cards import valuesets as vs
from cards.advice import Suggestion
from cards.evidence import Facts
from cards.inputs import Inputs
from cards.rules import AllOf, AnyOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic, Variant

# RxNorm 1725059 naloxone hydrochloride 40 MG/ML Nasal Spray, from the curated rescue set.
NASAL_SPRAY = suggestions.coding((vs.RXNORM, "1725059"), vs.NALOXONE_RESCUE)


def suggest(inputs: Inputs, settings: EngineSettings, facts: Facts) -> Suggestion:
    resource = suggestions.draft("MedicationRequest", inputs,
                                 medicationCodeableConcept={"coding": [NASAL_SPRAY], "text": NASAL_SPRAY["display"]})
    return Suggestion("Prescribe naloxone nasal spray", f"Create a draft prescription for {NASAL_SPRAY['display']}",
                      resource)


TOPIC = Topic(
    code="naloxone",
    title="Offer naloxone",
    rule=AllOf(
        # The risks of design 4.2; the evidence line names the one(s) that fired it.
        AnyOf("disorder_signal", "oud_history", "overdose", "use_with_withdrawal", "rec8_risk"),
        Not("naloxone_on_hand"),
        Not("end_of_life"),
    ),
    indicator="info",
    min_age="adolescent_min_age_years",
    source="cdc-2022",
    summary="Offer naloxone: this patient is at increased risk of opioid overdose",
    reasoning=(
        "No naloxone rescue product on record (buprenorphine/naloxone does not count). Naloxone nasal "
        "spray is sold over the counter since 2023: ask whether the patient has it, and teach household "
        "members to use it."
    ),
    variants=(
        Variant(
            when=AllOf("use_with_withdrawal", Not("disorder_signal"), Not("overdose"), Not("oud_history")),
            reasoning=(
                "Tolerance falls during withdrawal, so a return to the previous dose can cause an overdose. "
                "No naloxone rescue product on record; it is sold over the counter since 2023: ask whether "
                "the patient has it, and teach household members."
            ),
        ),
    ),
    links=("otc-naloxone",),
    suggest=suggest,
)
