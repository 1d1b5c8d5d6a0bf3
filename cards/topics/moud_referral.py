"""Consider medication for opioid use disorder (MOUD) and refer."""

from __future__ import annotations

from cards import suggestions
from cards.advice import Suggestion
from cards.inputs import Inputs
from cards.rules import AllOf, AnyOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic, Variant

# No national orderable code: see EngineSettings.moud_referral_code. The record index finds
# this order again by "referral" together with MOUD words.
ORDER_TEXT = "Referral for evaluation for medication for opioid use disorder (MOUD)"


def suggest(inputs: Inputs, settings: EngineSettings) -> Suggestion:
    resource = suggestions.service_request(inputs, ORDER_TEXT, settings.moud_referral_code)
    return Suggestion("Refer for MOUD evaluation",
                      "Create a draft referral for evaluation for medication for opioid use disorder", resource)


TOPIC = Topic(
    code="moud-referral",
    title="Consider MOUD and refer",
    rule=AllOf(
        AnyOf("oud", AllOf("use", "withdrawal_condition"), AllOf("use", "cows_moud")),
        Not("on_moud"),
        Not("open_moud_referral"),
        Not("end_of_life"),
    ),
    indicator="warning",
    escalations=(("cows_critical", "critical"),),
    source="asam-2020",
    summary="Consider medication for opioid use disorder (MOUD) and refer for evaluation",
    reasoning=(
        "No buprenorphine, methadone or extended-release naltrexone is on record for the last "
        "{use_window_days} days, and no MOUD referral is open. CDC (2022, recommendation 12) and ASAM "
        "advise offering or arranging MOUD; withdrawal management on its own, without MOUD, is not "
        "recommended."
    ),
    variants=(
        Variant(
            when="cows_critical",
            summary="COWS {score}: moderately severe or worse withdrawal. Treat now and consider MOUD",
            lead=(
                "The latest COWS score is {score} ({cows_critical_threshold} or more: moderately severe or "
                "worse). Treat withdrawal now."
            ),
        ),
        Variant(when="kratom_only", summary="Kratom use with withdrawal: consider buprenorphine (MOUD) and refer"),
    ),
    shows=("oud", "opioid_use", "kratom", "withdrawal_condition", "cows_moud"),
    links=("asam-2020", "cdc-2022", "cows"),
    suggest=suggest,
)
