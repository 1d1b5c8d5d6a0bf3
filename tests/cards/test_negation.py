"""A negated mention never counts (design 4 "What a mention means"), seen through the rules: the
cue table itself is tested cue by cue in tests/cards/test_mentions.py."""

from __future__ import annotations

import pytest

from cards import mentions, terms
from tests.cards.chart import condition, cows, observation, patient, topics

# The cue before the term, as a clinician writes it.
BEFORE = {"denies": "Denies kratom use", "denied": "Patient denied kratom",
          "no": "No kratom", "not": "Not using kratom", "never": "Never takes kratom",
          "negative": "Negative for kratom", "without": "Without kratom since March",
          "absent": "Absent: kratom", "ruled out": "Ruled out kratom withdrawal", "none": "None - kratom",
          "free of": "Free of kratom since March", "-free": "Kratom-free for a year"}
# The cues that may also follow what they negate.
AFTER = {"absent": "kratom absent", "negative": "kratom negative", "ruled out": "kratom use ruled out",
         "denied": "kratom use denied", "none": "kratom: none"}


def test_every_negation_cue_of_the_design_is_tested_here():
    assert set(BEFORE) == set(mentions.NEGATED)


@pytest.mark.parametrize("cue", sorted(BEFORE))
def test_a_cue_before_the_term_negates_it(cue):
    assert not mentions.affirmed(terms.KRATOM, BEFORE[cue])
    assert mentions.affirmed(terms.KRATOM, BEFORE[cue].replace(cue.capitalize(), "").replace(cue, ""))


@pytest.mark.parametrize("cue", sorted(AFTER))
def test_a_cue_after_the_term_negates_it(cue):
    assert not mentions.affirmed(terms.KRATOM, AFTER[cue])


@pytest.mark.parametrize("text", [
    "Denies alcohol. Uses kratom daily",             # another sentence
    "No nausea, but kratom withdrawal this morning",  # "but" ends the clause
    "No headache reported at the visit on Monday and kratom use",  # the cue is too far away
    "Kratom use; no vomiting",                        # the cue governs what follows it, not kratom
])
def test_a_cue_in_another_clause_or_far_away_does_not(text):
    assert mentions.affirmed(terms.KRATOM, text)


@pytest.mark.parametrize("cue", sorted(BEFORE))
def test_a_negated_kratom_mention_raises_nothing_beside_withdrawal(cue):
    note = observation(text="Substance use history", value_string=BEFORE[cue])
    assert topics(patient(), note, cows(8)) == set()
    affirmed = observation(text="Substance use history", value_string="Uses kratom daily")
    assert topics(patient(), affirmed, cows(8))


@pytest.mark.parametrize("cue", ["no", "denies", "without", "negative for", "never"])
def test_negated_withdrawal_in_a_diagnosis_raises_nothing(cue):
    negated = condition(None, text=f"{cue.capitalize()} opioid withdrawal", recorded="2025-06-01T09:00:00+00:00")
    affirmed = condition(None, text="Opioid withdrawal", recorded="2025-06-01T09:00:00+00:00")
    from tests.cards.chart import OXYCODONE, med_request
    assert topics(patient(), med_request(OXYCODONE), negated) == set()
    assert topics(patient(), med_request(OXYCODONE), affirmed) == {"withdrawal-assessment", "naloxone"}
