"""Consider medication for opioid use disorder (MOUD): start it here, or refer."""

from __future__ import annotations

from cards import content, suggestions
from cards.advice import Suggestion
from cards.evidence import Facts
from cards.inputs import Inputs
from cards.rules import AllOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic, Variant

# No national orderable code: see EngineSettings.moud_referral_code. The record index finds
# this order again by "referral" together with MOUD words.
ORDER_TEXT = "Referral for evaluation for medication for opioid use disorder (MOUD)"
# Since the Consolidated Appropriations Act 2023 (section 1262) removed the X-waiver.
NO_WAIVER = ("Any clinician whose DEA registration includes Schedule III can prescribe buprenorphine "
             "for OUD, with no waiver since 2023.")


def suggest(inputs: Inputs, settings: EngineSettings, facts: Facts) -> Suggestion:
    resource = suggestions.service_request(inputs, ORDER_TEXT, settings.moud_referral_code)
    return Suggestion("Refer for MOUD evaluation",
                      "Create a draft referral for evaluation for medication for opioid use disorder", resource)


TOPIC = Topic(
    code="moud-referral",
    title="Consider MOUD: start here or refer",
    rule=AllOf("disorder_signal", Not("on_moud"), Not("open_moud_referral"), Not("end_of_life")),
    indicator="warning",
    source="asam-2020",
    summary="Opioid use disorder: offer buprenorphine or methadone here, or refer",
    reasoning=(
        NO_WAIVER + " Starting buprenorphine here engages more patients in treatment than referral alone "
        "(D'Onofrio 2015). For referral, FindTreatment.gov lists programs."
    ),
    variants=(
        Variant(
            when="kratom_only",
            summary="Kratom use with withdrawal or a use disorder: consider buprenorphine, or refer",
            reasoning=(
                "No guideline covers kratom. Its withdrawal is opioid-like; case series support "
                "buprenorphine, and a supported taper is also used. FindTreatment.gov lists programs."
            ),
        ),
        Variant(
            when="pregnant",
            summary="Opioid use disorder in pregnancy: buprenorphine or methadone is recommended",
            reasoning=(
                "In pregnancy, buprenorphine or methadone is recommended and medically supervised "
                "withdrawal is not (ACOG, ASAM). Co-manage with obstetrics. " + NO_WAIVER
            ),
            links=("pregnancy",),
        ),
        Variant(
            when="overdose",
            summary="After an opioid overdose: offer MOUD here, or refer",
            reasoning=(
                "About one in twenty people die in the year after a nonfatal overdose; MOUD lowers that "
                "risk. " + NO_WAIVER + " FindTreatment.gov lists programs."
            ),
            links=("overdose-survivors",),
        ),
        Variant(
            when="benzodiazepine",
            summary="Opioid use disorder with a benzodiazepine: do not withhold MOUD, manage the risk",
            reasoning=(
                "Do not withhold buprenorphine or methadone because of benzodiazepines: untreated OUD is "
                "the greater harm (FDA 2017). Manage the risk; taper the benzodiazepine where you can. "
                + NO_WAIVER
            ),
            links=("benzodiazepines",),
        ),
    ),
    links=("findtreatment", "ed-buprenorphine"),
    override_reasons=(*content.OVERRIDE_REASONS, content.ON_MOUD_ELSEWHERE),
    suggest=suggest,
)
