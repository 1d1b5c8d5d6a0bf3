"""A buprenorphine order being selected or signed: check readiness and precipitated-withdrawal risk.

Timing and risk only, never a dose. The card fires when there is no recent COWS (nor a COWS
order), when the latest is below the start threshold, or after recent fentanyl or methadone.
"""

from __future__ import annotations

from cards.evidence import Facts
from cards.inputs import Inputs, Moment
from cards.rules import AllOf, AnyOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic, Variant
from cards.topics.withdrawal_assessment import cows_order


def suggest(inputs: Inputs, settings: EngineSettings, facts: Facts):
    """Order a COWS when none is recent: the start waits for its score."""
    return cows_order(inputs, settings) if not facts["cows_current"] else None


TOPIC = Topic(
    code="buprenorphine-start",
    title="Buprenorphine start: readiness and precipitated-withdrawal risk",
    rule=AllOf("buprenorphine_ordered",
               AnyOf(AllOf(Not("cows_current"), Not("open_cows_order")), "cows_below_start",
                     "recent_fentanyl_or_methadone")),
    indicator="warning",
    moments=frozenset({Moment.ORDER}),
    source="ca-bridge",
    summary="Buprenorphine order: a standard start waits for objective withdrawal (COWS)",
    reasoning=(
        "Standard starts wait for objective withdrawal, COWS {cows_buprenorphine_threshold} or more; "
        "starting sooner risks precipitated withdrawal. Low-dose initiation is an option. This card "
        "advises on timing and risk only, never on the dose."
    ),
    variants=(
        Variant(
            when="recent_fentanyl_or_methadone",
            summary="Buprenorphine after recent fentanyl or methadone: precipitated withdrawal is likelier",
            reasoning=(
                "After fentanyl or methadone, withdrawal may come later than usual (even past 72 hours) "
                "and precipitated withdrawal is likelier. Wait for COWS {cows_buprenorphine_threshold} or "
                "more, or consider low-dose initiation. Timing and risk only, never a dose."
            ),
        ),
    ),
    links=("low-dose-start", "cows"),
    site_links=("buprenorphine_protocol",),
    suggest=suggest,
    app="cows-form",
)
