"""The draft FHIR R4 resources a card suggests. Each one, once saved, settles its card.

Every resource is ``status: draft`` and ``intent: proposal`` (the clinician decides), for the
patient in the hook context. Codes come from the value sets or from site settings; the record
index (``cards.record``) recognises each resource again by the same code or text.
"""

from __future__ import annotations

import uuid
from typing import Any

from cards import content
from cards import valuesets as vs
from cards.settings import Code, EngineSettings

COUNSELING_CODE = (vs.SNOMED, "313071005")
NALOXONE_NASAL_SPRAY = (vs.RXNORM, "1725059")
REQUESTER_TYPES = ("Practitioner/", "PractitionerRole/")


def _coding(key: vs.Key, value_set: vs.ValueSet) -> dict[str, str]:
    if key not in value_set:
        raise LookupError(f"{key} is not in {value_set.name}")  # a CSV edit broke a suggestion
    return {"system": key[0], "code": key[1], "display": value_set.display(key)}


def _code(text: str, configured: Code | None = None, coding: dict | None = None) -> dict:
    codings = [c for c in (configured.as_coding() if configured else None, coding) if c]
    return {"coding": codings, "text": text} if codings else {"text": text}


def _common(patient_id: str, user_id: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    if isinstance(user_id, str) and user_id.startswith(REQUESTER_TYPES):
        resource["requester"] = {"reference": user_id}
    return resource


def cows_assessment(patient_id: str, user_id: Any, settings: EngineSettings) -> dict:
    return {
        "resourceType": "ServiceRequest",
        **_common(patient_id, user_id),
        "code": _code(content.COWS_ORDER_TEXT, settings.cows_assessment_code),
    }


def moud_referral(patient_id: str, user_id: Any, settings: EngineSettings) -> dict:
    return {
        "resourceType": "ServiceRequest",
        **_common(patient_id, user_id),
        "code": _code(str(content.CARDS["moud-referral"]["order_text"]), settings.moud_referral_code),
    }


def counseling(patient_id: str, user_id: Any, settings: EngineSettings) -> dict:
    coding = _coding(COUNSELING_CODE, vs.COUNSELING)
    return {
        "resourceType": "ServiceRequest",
        **_common(patient_id, user_id),
        "code": _code("Substance use counseling", coding=coding),
    }


def naloxone(patient_id: str, user_id: Any, settings: EngineSettings) -> dict:
    coding = _coding(NALOXONE_NASAL_SPRAY, vs.NALOXONE_RESCUE)
    return {
        "resourceType": "MedicationRequest",
        **_common(patient_id, user_id),
        "medicationCodeableConcept": {"coding": [coding], "text": coding["display"]},
    }


BUILDERS = {
    "withdrawal-assessment": cows_assessment,
    "moud-referral": moud_referral,
    "counseling": counseling,
    "naloxone": naloxone,
}


def suggestion(topic: str, patient_id: str, user_id: Any, settings: EngineSettings) -> dict:
    resource = BUILDERS[topic](patient_id, user_id, settings)
    text = content.CARDS[topic]
    medication = resource.get("medicationCodeableConcept", {}).get("text", "")
    return {
        "label": text["suggestion"],
        "uuid": str(uuid.uuid4()),
        "isRecommended": True,
        "actions": [
            {
                "type": "create",
                "description": str(text["action"]).format(medication=medication),
                "resource": resource,
            }
        ],
    }
