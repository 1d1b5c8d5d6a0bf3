"""Screen for co-occurring depression (PHQ-2 / PHQ-9) when a use disorder is signalled."""

from __future__ import annotations

from cards import suggestions
from cards.advice import Suggestion
from cards.evidence import Facts
from cards.inputs import Inputs, Moment
from cards.rules import AllOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic

# No national orderable code: see EngineSettings.phq9_order_code. The record index finds this
# order again by the word "PHQ-9".
ORDER_TEXT = "Depression screening with the PHQ-9 (Patient Health Questionnaire)"


def suggest(inputs: Inputs, settings: EngineSettings, facts: Facts) -> Suggestion:
    resource = suggestions.service_request(inputs, ORDER_TEXT, settings.phq9_order_code)
    return Suggestion("Order a PHQ-9", "Create a draft order for a PHQ-9 depression screen", resource)


TOPIC = Topic(
    code="depression-screen",
    title="Screen for co-occurring depression (PHQ-2/PHQ-9)",
    rule=AllOf("disorder_signal", Not("depression_screened"), Not("depression"), Not("open_phq9_order"),
               Not("end_of_life")),
    indicator="info",
    moments=frozenset({Moment.CHART, Moment.DISCHARGE}),
    source="suicide-oud-2022",
    summary="Screen for co-occurring depression (PHQ-9)",
    reasoning=(
        "No PHQ-2 or PHQ-9 in the last {depression_window_days} days. Depression often co-occurs with "
        "opioid and kratom use disorders and with withdrawal, and raises the risk of suicidal thoughts."
    ),
    suggest=suggest,
)
