"""The registry: every card topic the engine evaluates, in the order cards are listed.

A topic is one module here that builds ``TOPIC``; adding one is that module plus a line below
(tests/cards/test_cards_topics.py fails for a module that is not listed).
"""

from __future__ import annotations

from cards.topic import Topic
from cards.topics import counseling, moud_referral, naloxone, withdrawal_assessment

TOPICS: tuple[Topic, ...] = (
    withdrawal_assessment.TOPIC,
    moud_referral.TOPIC,
    counseling.TOPIC,
    naloxone.TOPIC,
)
