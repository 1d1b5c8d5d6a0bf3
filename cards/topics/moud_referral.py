"""Consider medication for opioid use disorder (MOUD): start it here, or refer.

The summary follows what the disorder signal rests on: only a diagnosis on record lets the card say
"opioid use disorder"; a test, a recorded use or an overdose asks the clinician to assess for it.
"""

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
NO_WAIVER = ("Any clinician whose DEA registration includes Schedule III may prescribe buprenorphine "
             "for OUD (no waiver since 2023).")
WHERE = ("Offer buprenorphine here (or methadone while admitted; outside hospital, methadone for OUD comes "
         "from an opioid treatment program). FindTreatment.gov lists programs.")


def suggest(inputs: Inputs, settings: EngineSettings, facts: Facts) -> Suggestion:
    resource = suggestions.service_request(inputs, ORDER_TEXT, settings.moud_referral_code)
    return Suggestion("Refer for MOUD evaluation",
                      "Create a draft referral for evaluation for medication for opioid use disorder", resource)


TOPIC = Topic(
    code="moud-referral",
    title="Consider MOUD: start here or refer",
    rule=AllOf("disorder_signal", Not("on_moud"), Not("open_moud_referral"), Not("end_of_life")),
    indicator="warning",
    min_age="adolescent_min_age_years",
    source="asam-2020",
    # Every path the disorder signal can take has its summary below; this one says no diagnosis.
    summary="Signs of opioid use: assess for opioid use disorder, offer MOUD",
    summaries=(
        ("rests_on_diagnosis", "Opioid use disorder, not on MOUD: offer buprenorphine here, or refer"),
        ("rests_on_overdose", "Opioid overdose: assess for opioid use disorder, offer MOUD"),
        ("rests_on_recorded_use", "Opioid use on record: assess for opioid use disorder, offer MOUD"),
        ("rests_on_test", "Unexplained {analyte} in a urine test: talk with the patient, assess for opioid use "
                          "disorder, offer MOUD if present"),
        ("rests_on_kratom", "Kratom use with withdrawal or dependence: consider buprenorphine or a supported taper"),
    ),
    reasoning=NO_WAIVER + " " + WHERE,
    variants=(
        Variant(
            when="pregnant",
            reasoning=(
                "In pregnancy, buprenorphine or methadone is recommended over medically supervised "
                "withdrawal, which carries a high risk of return to use (ACOG Committee Opinion 711). "
                "Co-manage with obstetrics. " + NO_WAIVER
            ),
            links=("pregnancy",),
        ),
        Variant(
            when="adolescent",
            reasoning=(
                "Under 18: involve an adolescent addiction specialist and the family (AAP 2016). "
                "Buprenorphine is labelled from 16. " + NO_WAIVER
            ),
            links=("adolescents", "findtreatment"),
        ),
        Variant(
            when="concentrated_7oh",
            reasoning=(
                "Concentrated 7-OH products are potent opioids (FDA 2025): treat their use as opioid use. "
                + NO_WAIVER + " " + WHERE
            ),
            links=("seven-oh", "findtreatment"),
        ),
        Variant(
            when="kratom_only",
            reasoning=(
                "No guideline covers kratom. Its withdrawal is opioid-like; case series support "
                "buprenorphine, and a supported taper is also used. FindTreatment.gov lists programs."
            ),
            links=("findtreatment",),
        ),
        Variant(
            when="overdose",
            reasoning=(
                "About one in twenty people die within a year of a nonfatal overdose; MOUD after an overdose "
                "lowers that risk. " + NO_WAIVER + " " + WHERE
            ),
            links=("overdose-moud", "overdose-mortality", "findtreatment"),
        ),
        Variant(
            when="benzodiazepine",
            reasoning=(
                "Do not withhold MOUD because of a benzodiazepine: untreated OUD is the greater harm (FDA "
                "2017). Taper the benzodiazepine where you can; never stop it abruptly (FDA 2020). " + NO_WAIVER
            ),
            links=("benzodiazepines", "benzodiazepine-taper", "findtreatment"),
        ),
        Variant(
            when="rests_on_test",
            reasoning=(
                "Discuss the result with the patient, confirm it when it matters, and never dismiss a patient "
                "over a result (CDC 2022, recommendation 10). " + NO_WAIVER
            ),
            links=("cdc-2022", "findtreatment"),
        ),
    ),
    shows=("disorder_signal",),
    links=("findtreatment", "ed-buprenorphine"),
    override_reasons=(*content.OVERRIDE_REASONS, content.ON_MOUD_ELSEWHERE),
    suggest=suggest,
)

