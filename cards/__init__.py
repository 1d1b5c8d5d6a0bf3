"""withdrawal-cds clinical engine: value sets, record index, evidence, and one module per card topic.

Pure Python with no web framework and no CDS Hooks JSON. ``cds_service`` calls ``evaluate`` with
plain ``Inputs`` (the patient, the ``Moment`` of care, the drafts) and turns each ``Advice`` it
returns (with its ``Suggestion``s) into a card; ``TOPICS`` names the topics, for the report;
``EngineSettings`` holds the windows and thresholds, and the bounds on one evaluation past which
it raises ``RecordTooLarge``; ``warm_up`` readies the FHIR validators before a worker's first request.
"""

from __future__ import annotations

from cards.advice import Advice, Suggestion
from cards.engine import evaluate
from cards.inputs import Inputs, Moment
from cards.record import RecordTooLarge, warm_up
from cards.settings import EngineSettings
from cards.topics import TOPICS as _TOPICS

TOPICS: tuple[str, ...] = tuple(topic.code for topic in _TOPICS)

__all__ = ["Advice", "EngineSettings", "Inputs", "Moment", "RecordTooLarge", "Suggestion", "TOPICS", "evaluate",
           "warm_up"]
