"""A buprenorphine start being selected or signed: check readiness and precipitated-withdrawal risk.

Timing and risk only, never a dose. A patient already on buprenorphine (renewed, or switched to an
injection) is not starting: no card. For a start, the card fires when there is no recent COWS,
when the latest is below the start threshold, or after recent fentanyl or methadone.
"""

from __future__ import annotations

from cards import content
from cards.advice import Reason
from cards.evidence import Facts
from cards.inputs import Inputs, Moment
from cards.rules import AllOf, AnyOf, Not
from cards.settings import EngineSettings
from cards.topic import Topic, Variant
from cards.topics.withdrawal_assessment import cows_order

ALTERNATIVES = ("Low-dose initiation (no withdrawal needed) or, in the ED, high-dose initiation are "
                "alternatives (ASAM 2023).")
CHECKS = ("Check the PDMP (CDC 2022, recommendation 9). If precipitated withdrawal occurs, treat it with more "
          "buprenorphine per the site protocol.")


def suggest(inputs: Inputs, settings: EngineSettings, facts: Facts):
    """Order a COWS when none is recent: the start waits for its score."""
    return cows_order(inputs, settings) if not facts["cows_current"] else None


TOPIC = Topic(
    code="buprenorphine-start",
    title="Buprenorphine start: readiness and precipitated-withdrawal risk",
    rule=AllOf("buprenorphine_ordered", Not("on_buprenorphine"),
               # An open COWS order counts as "no COWS yet" only until it is done: it is this card's own
               # suggestion, and an accepted suggestion settles its card (design section 3).
               AnyOf(AllOf(Not("cows_current"), Not("open_cows_order")), "cows_below_start",
                     "recent_fentanyl_or_methadone")),
    indicator="warning",
    min_age="buprenorphine_min_age_years",
    moments=frozenset({Moment.ORDER}),
    source="ca-bridge",
    summary="Buprenorphine start: a standard start waits for objective withdrawal (COWS)",
    reasoning=(
        "A standard start waits for objective withdrawal, e.g. COWS {cows_buprenorphine_threshold} or more; "
        "sooner risks precipitated withdrawal. " + ALTERNATIVES + " " + CHECKS
    ),
    variants=(
        Variant(
            when="recent_fentanyl_or_methadone",
            summary="Buprenorphine after recent fentanyl or methadone: precipitated withdrawal is likelier",
            reasoning=(
                "After fentanyl or methadone, withdrawal may come later than usual and precipitated withdrawal "
                "is likelier. Wait for COWS {cows_buprenorphine_threshold} or more, or consider low-dose "
                "initiation. " + CHECKS
            ),
        ),
    ),
    links=("high-potency-opioids", "low-dose-start", "cows"),
    site_links=("buprenorphine_protocol",),
    override_reasons=(
        *content.OVERRIDE_REASONS,
        Reason("not-a-new-start", "Not a new start (continuing or switching buprenorphine)"),
        Reason("initiation-per-protocol", "Low- or high-dose initiation per protocol"),
    ),
    suggest=suggest,
    app="cows-form",
)
