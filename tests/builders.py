"""Small builders for hook requests and FHIR resources used across the protocol tests."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Iterable

from cds_service.services import PREFETCH

PATIENT_ID = "pat-1"


def iso(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(timezone.utc) - delta).isoformat()


def patient(pid: str = PATIENT_ID, birth: str = "1980-04-01", name: str = "Zyxwer") -> dict:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth,
            "name": [{"family": name, "given": ["Quilliam"]}]}


def oud_condition(pid: str = PATIENT_ID, cid: str = "c-oud", code: str = "F11.20") -> dict:
    """An active opioid dependence diagnosis: OUD evidence on its own (design section 4)."""
    return {"resourceType": "Condition", "id": cid, "subject": {"reference": f"Patient/{pid}"},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                               "code": "confirmed"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]},
            "recordedDate": iso(timedelta(days=3))}


def searchset(resources: Iterable[dict]) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def full_prefetch(resources: Iterable[dict], pid: str = PATIENT_ID) -> dict:
    """Every prefetch key satisfied, resources sorted to their keys."""
    resources = list(resources)
    key_of = {"Condition": "conditions", "MedicationRequest": "medicationRequests", "Medication": "medicationRequests",
              "MedicationStatement": "medicationStatements", "Observation": "observations",
              "ServiceRequest": "serviceRequests", "Procedure": "procedures"}
    prefetch = {key: searchset([]) for key in PREFETCH if key != "patient"}
    for r in resources:
        if r["resourceType"] == "Patient":
            continue
        prefetch[key_of[r["resourceType"]]]["entry"].append({"resource": r})
    prefetch["patient"] = next((r for r in resources if r["resourceType"] == "Patient"), patient(pid))
    return prefetch


def hook_request(hook: str = "patient-view", resources: Iterable[dict] = (), *, pid: str = PATIENT_ID,
                 prefetch: dict | None = None, drafts: Iterable[dict] = (), selections: list[str] | None = None,
                 **extra) -> dict:
    context = {"userId": "Practitioner/doc-1", "patientId": pid}
    drafts = list(drafts)
    if hook in ("order-select", "order-sign"):
        context["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": d} for d in drafts]}
    if hook == "order-select":
        context["selections"] = selections or [f"{d['resourceType']}/{d['id']}" for d in drafts]
    body = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context, **extra}
    if prefetch is None and resources is not None:
        prefetch = full_prefetch(resources, pid)
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


SERVICE_OF = {"patient-view": "withdrawal-patient-view", "order-select": "withdrawal-order-select",
              "order-sign": "withdrawal-order-sign"}
