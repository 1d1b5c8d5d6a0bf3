"""withdrawal-cds clinical engine: value sets, record index, evidence, and one module per card topic.

Pure Python with no web framework and no CDS Hooks JSON. ``cds_service`` calls ``evaluate`` with
plain ``Inputs`` (the patient, the ``Moment`` of care, the drafts), keeps the advice it will show
(snoozes), lets ``compose`` word them as one response, and turns each ``Advice`` (with its
``Suggestion``s) into a card, adding a line of its own where a detail leaves room under
``MAX_DETAIL``; ``TOPICS`` names the topics, for the report; ``EngineSettings`` holds the
windows and thresholds, and the bounds on one evaluation past which it raises
``RecordTooLarge``; ``warm_up`` readies the FHIR validators before a worker's first request;
``Sieve`` says which resources the rules would read at all.
"""

from __future__ import annotations

from cards.advice import Advice, Note, Suggestion
from cards.compose import compose
from cards.detail import MAX_DETAIL
from cards.engine import evaluate
from cards.inputs import Inputs, Moment
from cards.record import RecordTooLarge, Sieve, warm_up
from cards.settings import EngineSettings
from cards.topics import TOPICS as _TOPICS

TOPICS: tuple[str, ...] = tuple(topic.code for topic in _TOPICS)

__all__ = ["Advice", "EngineSettings", "Inputs", "MAX_DETAIL", "Moment", "Note", "RecordTooLarge", "Sieve",
           "Suggestion", "TOPICS", "compose", "evaluate", "warm_up"]
