"""CDS Hooks requests that make the real engine issue cards, and feedback for those cards."""

from __future__ import annotations

import uuid

PATIENT_VIEW = "withdrawal-patient-view"
REASON_SYSTEM = "urn:withdrawal-cds:override-reason"


def _searchset(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"resource": r} for r in resources]}


def patient_view(patient_id: str = "pat-1") -> dict:
    """A 40-year-old with active opioid use disorder (ICD-10-CM F11.20): the engine advises
    MOUD referral, counseling and naloxone."""
    oud = {"resourceType": "Condition", "id": "oud", "subject": {"reference": f"Patient/{patient_id}"},
           "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                          "code": "active"}]},
           "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F11.20"}]}}
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr-1", "patientId": patient_id},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": patient_id, "birthDate": "1986-01-01"},
            "conditions": _searchset(oud),
            "medicationRequests": _searchset(),
            "medicationStatements": _searchset(),
            "observations": _searchset(),
            "serviceRequests": _searchset(),
            "procedures": _searchset(),
        },
    }


def topics(response_json: dict) -> dict[str, dict]:
    return {card["source"]["topic"]["code"]: card for card in response_json["cards"]}


def accepted(card: dict, when: str = "2026-01-05T10:05:31Z") -> dict:
    return {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": when,
            "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}]}


def overridden(card: dict, reason: str | None = None, when: str = "2026-01-05T10:05:31Z") -> dict:
    """As the CDS Hooks Sandbox sends it: the reason has system and code only, no display, no comment."""
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": when}
    if reason:
        item["overrideReason"] = {"reason": {"system": REASON_SYSTEM, "code": reason}}
    return item
