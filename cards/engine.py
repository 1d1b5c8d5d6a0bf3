"""The seam the service calls: a patient's record and a hook in, CDS Hooks cards out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from cards.evidence import gather
from cards.record import Record, medication_tags
from cards.render import card
from cards.rules import firing
from cards.settings import EngineSettings

PATIENT_VIEW = "patient-view"
ORDER_HOOKS = ("order-select", "order-sign")
# A draft of one of these makes an order hook relevant; ordering an antibiotic does not.
TRIGGERING_MEDICATIONS = frozenset({"opioid", "moud", "naloxone"})

__all__ = ["EngineSettings", "evaluate"]


def evaluate(
    resources: Iterable[dict],
    *,
    hook: str,
    context: dict,
    now: datetime,
    settings: EngineSettings | None = None,
) -> list[dict]:
    """Cards for one hook call. Never raises for bad data: bad resources are skipped and logged.

    A bug raises. It is not turned into "no cards": an empty answer that is really a failure
    would tell the EHR, and the clinician, that there was nothing to advise.
    """
    settings = settings or EngineSettings()
    context = context if isinstance(context, dict) else {}
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    if hook != PATIENT_VIEW and hook not in ORDER_HOOKS:
        return []
    return _evaluate(resources, hook, context, now, settings)


def _evaluate(
    resources: Iterable[Any], hook: str, context: dict, now: datetime, settings: EngineSettings
) -> list[dict]:
    patient_id = context.get("patientId") if isinstance(context.get("patientId"), str) else None
    drafts = draft_orders(context) if hook in ORDER_HOOKS else []
    record = Record.build(
        resources if resources is not None else (),
        drafts=drafts,
        settings=settings,
        patient_id=patient_id,
    )
    if hook in ORDER_HOOKS and not any(
        triggers(record, draft) for draft in selected(hook, context, drafts)
    ):
        return []
    facts = gather(record, settings, now)
    patient = record.patient() or {}
    patient_id = patient_id or patient.get("id")
    if not isinstance(patient_id, str) or not patient_id:
        return []
    return [
        card(rule, facts, patient_id=patient_id, user_id=context.get("userId"), settings=settings)
        for rule in firing(facts)
    ]


def draft_orders(context: dict) -> list[dict]:
    bundle = context.get("draftOrders")
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    if not isinstance(entries, list):
        return []
    return [
        entry["resource"]
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
    ]


def selected(hook: str, context: dict, drafts: list[dict]) -> list[dict]:
    """order-sign: every draft. order-select: the drafts named in ``selections``."""
    if hook == "order-sign":
        return drafts
    selections = context.get("selections")
    if not isinstance(selections, list):
        return []
    wanted = {s for s in selections if isinstance(s, str)}
    return [d for d in drafts if f"{d.get('resourceType')}/{d.get('id')}" in wanted]


def triggers(record: Record, draft: dict) -> bool:
    if draft.get("resourceType") not in ("MedicationRequest", "MedicationStatement"):
        return False
    medication, _ = record.medication_of(draft)
    return bool(medication_tags(medication) & TRIGGERING_MEDICATIONS) and record.is_valid(draft)
