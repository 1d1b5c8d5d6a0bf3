"""Offer naloxone to a patient at increased risk of opioid overdose (CDC 2022 recommendation 8 for a
prescribed opioid with a risk; ASAM and SAMHSA's overdose toolkit otherwise)."""

from __future__ import annotations

from cards import content, suggestions
from cards import valuesets as vs
from cards.advice import Suggestion
from cards.evidence import Facts
from cards.inputs import Inputs
from cards.rules import AllOf, AnyOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic, Variant

# RxNorm 1725059 naloxone hydrochloride 40 MG/ML Nasal Spray, from the curated take-home set.
NASAL_SPRAY = suggestions.coding((vs.RXNORM, "1725059"), vs.NALOXONE_TAKE_HOME)
HAVE_IT = ("Naloxone nasal spray is sold over the counter since 2023: ask whether the patient has it, "
           "prescribe or hand out a kit before discharge where you can, and teach household members.")
# The risks of design 4.2, in the order the card names them; the evidence lines follow.
RISKS = ("disorder_signal", "oud_history", "overdose", "stimulant_use", "outpatient_opioid_risk")


def suggest(inputs: Inputs, settings: EngineSettings, facts: Facts) -> Suggestion:
    resource = suggestions.draft("MedicationRequest", inputs,
                                 medicationCodeableConcept={"coding": [NASAL_SPRAY], "text": NASAL_SPRAY["display"]})
    return Suggestion("Prescribe naloxone nasal spray", f"Create a draft prescription for {NASAL_SPRAY['display']}",
                      resource)


TOPIC = Topic(
    code="naloxone",
    title="Offer naloxone",
    rule=AllOf(AnyOf(*RISKS), Not("naloxone_on_hand"), Not("end_of_life")),
    indicator="info",
    min_age="adolescent_min_age_years",
    source="samhsa-overdose-toolkit",
    summary="Offer naloxone: this patient is at increased risk of opioid overdose",
    reasoning="No take-home naloxone on record (a dose given in hospital does not count). " + HAVE_IT,
    variants=(
        Variant(
            when="xylazine_overdose",
            reasoning=(
                "Xylazine is on record. Give naloxone for any suspected overdose; xylazine does not respond "
                "to it, so also support breathing and call 911. Check for wounds. " + HAVE_IT
            ),
        ),
        Variant(
            when=AllOf(AnyOf("outpatient_opioid", "disorder_signal"), AnyOf("withdrawal", "withdrawal_suspected")),
            reasoning=(
                "Tolerance falls during withdrawal or a taper, so a return to the previous dose can cause an "
                "overdose. " + HAVE_IT
            ),
        ),
    ),
    # CDC 2022 recommendation 8 is about a prescribed opioid with a risk; the toolkit covers the rest.
    sources=((AllOf("outpatient_opioid_risk", Not(AnyOf(*RISKS[:-1]))), "cdc-2022"),),
    risks=(
        ("rests_on_diagnosis", "opioid use disorder"),
        ("rests_on_overdose", "unexplained opioid overdose"),
        ("rests_on_recorded_use", "opioid use on record"),
        ("rests_on_test", "unexplained opioid in a urine test"),
        (AllOf("disorder_signal", "kratom_only"), "kratom use with withdrawal or a use disorder"),
        (AllOf("oud_history", Not("oud_active")), "history of opioid use disorder"),
        (AllOf("overdose", Not("unexplained_overdose")), "opioid overdose"),
        ("stimulant_use", "stimulant use"),
        (AllOf("outpatient_opioid", "benzodiazepine"), "opioid with a benzodiazepine"),
        (AllOf("outpatient_opioid", "gabapentinoid"), "opioid with a gabapentinoid"),
        (AllOf("outpatient_opioid", "withdrawal"), "opioid with withdrawal"),
        (AllOf("outpatient_opioid", "sud_any"), "opioid with a substance use disorder"),
        (AllOf("outpatient_opioid", "overdose_any", Not("overdose")), "opioid with a past overdose"),
    ),
    links=("otc-naloxone",),
    override_reasons=(*content.OVERRIDE_REASONS, content.HAS_NALOXONE),
    suggest=suggest,
)
