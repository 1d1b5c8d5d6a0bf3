"""The seam the service calls: a patient's record and plain inputs in, ``Advice`` out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from cards.advice import Advice
from cards.evidence import find_facts
from cards.inputs import Inputs, Moment
from cards.record import Record, medication_tags
from cards.settings import EngineSettings
from cards.topics import TOPICS

# A draft of one of these makes the order moment relevant; ordering an antibiotic does not.
TRIGGERING_MEDICATIONS = frozenset({"opioid", "moud", "naloxone"})
SEVERITY = ("critical", "warning", "info")


def evaluate(
    resources: Iterable[dict],
    inputs: Inputs,
    now: datetime,
    settings: EngineSettings | None = None,
    *,
    cpu_until: float | None = None,
) -> list[Advice]:
    """The advice for one patient at one moment. Bad resources are skipped and logged.

    `cpu_until` bounds the evaluation's CPU (see `Record.build`): the sieve's, when the caller
    sieved the request, so that sieving and evaluating share `max_cpu_seconds`.

    A bug raises. It is not turned into "no advice": an empty answer that is really a failure
    would tell the EHR, and the clinician, that there was nothing to advise.
    """
    settings = settings or EngineSettings()
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    record = Record.build(resources if resources is not None else (), drafts=inputs.drafts,
                          acted_on=inputs.acted_on, settings=settings, patient_id=inputs.patient_id,
                          cpu_until=cpu_until)
    if inputs.moment is Moment.ORDER and not any(triggers(record, draft) for draft in inputs.acted_on):
        return []
    facts = find_facts(record, settings, now)
    advised = [topic.advise(facts, inputs, settings, now) for topic in TOPICS
               if topic.code not in inputs.skip and topic.applies(inputs.moment, facts, settings)]
    # Critical first, then warning, then info (design 4.2); the registry orders within each.
    return sorted(advised, key=lambda advice: SEVERITY.index(advice.indicator))


def triggers(record: Record, draft: dict) -> bool:
    if draft.get("resourceType") not in ("MedicationRequest", "MedicationStatement"):
        return False
    medication, _ = record.medication_of(draft)
    return bool(medication_tags(medication) & TRIGGERING_MEDICATIONS) and record.is_valid(draft)
