"""Screen for co-occurring depression (PHQ-2 / PHQ-9; PHQ-A under 18) when a use disorder is
signalled (USPSTF 2023 adults, 2022 adolescents)."""

from __future__ import annotations

from cards import suggestions
from cards.advice import Suggestion
from cards.evidence import Facts
from cards.inputs import Inputs, Moment
from cards.rules import AllOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic, Variant

# No national orderable code: see EngineSettings.phq9_order_code. The record index finds this
# order again by the word "PHQ-9".
ORDER_TEXT = "Depression screening with the PHQ-9 (Patient Health Questionnaire)"
# PHQ-9 items (sleep, appetite, energy, restlessness, concentration) overlap withdrawal's symptoms.
AFTER_WITHDRAWAL = "Screen once withdrawal is treated: PHQ-9 items overlap its symptoms."


def suggest(inputs: Inputs, settings: EngineSettings, facts: Facts) -> Suggestion:
    resource = suggestions.service_request(inputs, ORDER_TEXT, settings.phq9_order_code)
    return Suggestion("Order a PHQ-9", "Create a draft order for a PHQ-9 depression screen", resource)


TOPIC = Topic(
    code="depression-screen",
    title="Screen for co-occurring depression (PHQ-2/PHQ-9)",
    rule=AllOf("disorder_signal", Not("depression_screened"), Not("depression"), Not("open_phq9_order"),
               Not("end_of_life")),
    indicator="info",
    min_age="adolescent_min_age_years",
    moments=frozenset({Moment.CHART, Moment.DISCHARGE}),
    source="uspstf-depression",
    summary="Screen for co-occurring depression (PHQ-9)",
    reasoning=(
        "No PHQ-2 or PHQ-9 in the last {depression_window_days} days. Depression often co-occurs with "
        "substance use and raises the risk of suicide; USPSTF advises screening adults. " + AFTER_WITHDRAWAL
    ),
    variants=(
        Variant(
            when="adolescent",
            summary="Screen for co-occurring depression (PHQ-A)",
            reasoning=(
                "No PHQ-2 or PHQ-9 in the last {depression_window_days} days. USPSTF advises screening "
                "adolescents 12-18 for depression; use the PHQ-9 modified for adolescents (PHQ-A). "
                + AFTER_WITHDRAWAL
            ),
            links=("uspstf-adolescents",),
        ),
    ),
    shows=("disorder_signal",),
    suggest=suggest,
)
