"""Hook calls and feedback as EHRs send them, and the few FHIR resources they carry."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Iterable

from cds_service.protocol.services import PREFETCH, PREFETCH_KEY_OF

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
    prefetch = {key: searchset([]) for key in PREFETCH if key != "patient"}
    for r in resources:
        if r["resourceType"] == "Patient":
            continue
        prefetch[PREFETCH_KEY_OF[r["resourceType"]]]["entry"].append({"resource": r})
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
    if hook == "encounter-discharge":
        context["encounterId"] = "enc-1"
    body = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context, **extra}
    if prefetch is None and resources is not None:
        prefetch = full_prefetch(resources, pid)
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


SERVICE_OF = {"patient-view": "withdrawal-patient-view", "order-select": "withdrawal-order-select",
              "order-sign": "withdrawal-order-sign", "encounter-discharge": "withdrawal-encounter-discharge"}


# --- a patient-view call that raises cards, and feedback on them -----------------------------

PATIENT_VIEW = "withdrawal-patient-view"
REASON_SYSTEM = "urn:withdrawal-cds:override-reason"


def patient_view(patient_id: str = "pat-1") -> dict:
    """A 40-year-old with opioid use disorder (ICD-10-CM F11.20) recorded three days ago: the engine
    advises MOUD referral, counseling, naloxone and a depression screen."""
    oud = {"resourceType": "Condition", "id": "oud", "subject": {"reference": f"Patient/{patient_id}"},
           "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                          "code": "active"}]},
           "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F11.20"}]},
           "recordedDate": iso(timedelta(days=3))}
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/dr-1", "patientId": patient_id},
        "prefetch": full_prefetch([{"resourceType": "Patient", "id": patient_id, "birthDate": "1986-01-01"}, oud],
                                  patient_id),
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
