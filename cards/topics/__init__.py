"""The registry: every card topic the engine evaluates, in the order cards of one indicator are
listed (the engine lists critical, then warning, then info).

A topic is one module here that builds ``TOPIC``; adding one is that module plus a line below
(tests/cards/test_topics.py fails for a module that is not listed).
"""

from __future__ import annotations

from cards.topic import Topic
from cards.topics import (
    buprenorphine_start,
    counseling,
    depression_screen,
    moud_continuation,
    moud_referral,
    naloxone,
    suicide_risk,
    withdrawal_assessment,
    withdrawal_severity,
)

TOPICS: tuple[Topic, ...] = (
    withdrawal_severity.TOPIC,
    suicide_risk.TOPIC,
    buprenorphine_start.TOPIC,
    withdrawal_assessment.TOPIC,
    moud_referral.TOPIC,
    moud_continuation.TOPIC,
    naloxone.TOPIC,
    counseling.TOPIC,
    depression_screen.TOPIC,
)
