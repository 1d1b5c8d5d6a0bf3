"""Suicide risk on record (PHQ-9 item 9, an attempt, an intentional overdose) beside opioid use, an
OUD history or an overdose: assess suicide risk today (The Joint Commission NPSG 15.01.01)."""

from __future__ import annotations

from cards import suggestions
from cards.advice import Suggestion
from cards.evidence import Facts
from cards.inputs import Inputs
from cards.rules import AllOf, AnyOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic

ORDER_TEXT = "Suicide risk assessment"


def suggest(inputs: Inputs, settings: EngineSettings, facts: Facts) -> Suggestion | None:
    """A validated screen (C-SSRS, ASQ) where the site names its orderable; none is national."""
    if settings.suicide_screen_code is None:
        return None
    resource = suggestions.service_request(inputs, settings.suicide_screen_code.display or ORDER_TEXT,
                                           settings.suicide_screen_code)
    return Suggestion("Order a suicide risk screen", "Create a draft order for the site's suicide risk screen",
                      resource)


TOPIC = Topic(
    code="suicide-risk",
    title="Assess suicide risk today",
    rule=AllOf("suicide_risk", AnyOf("use", "oud_history", "overdose")),
    indicator="warning",
    min_age="adolescent_min_age_years",
    source="tjc-npsg-15",
    summary="Suicide risk on record beside opioid use: assess suicide risk today",
    summaries=((AllOf("oud_history", Not("use")), "Suicide risk on record beside a history of opioid use "
                "disorder: assess suicide risk today"),),
    reasoning=(
        "Assess suicide risk today and make a safety plan. Limit access to lethal means: smaller opioid "
        "supplies, a lock box, firearms. Naloxone and MOUD also prevent overdose deaths. 988 answers calls "
        "and texts."
    ),
    shows=("suicide_risk",),
    links=("988",),
    suggest=suggest,
)
