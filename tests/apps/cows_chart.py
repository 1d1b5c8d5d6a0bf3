"""What the COWS-form tests share: the published scale, a patient the assessment card fires for,
the hook call, and the Observations a FHIR server holds.

The patient has an active oxycodone order and a COWS of 6 from 30 hours ago: opioid use with
withdrawal, and no COWS in the last 24 hours, so patient-view shows `withdrawal-assessment`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import requests

PATIENT_ID = "cows-pt-1"
GIVEN, FAMILY, BIRTH = "Quilliam", "Zyxwer", "1979-03-14"
COWS_SYSTEM, COWS_CODE = "http://snomed.info/sct", "763699005"

# What the rules show once a COWS of 13 or more is saved for this patient: the latest COWS, from the
# last 12 hours, of 13 or more is moderate withdrawal or worse (cards/topics/withdrawal_severity.py).
TOPIC_AFTER_SEVERE_SCORE = "withdrawal-severity"

# The scale as the NCBI table prints it (https://www.ncbi.nlm.nih.gov/books/NBK64244/table/A72915/),
# typed in here separately from the form's own table (cds_service/apps/cows/scoring.js): a slip in
# either fails test_every_item_offers_its_published_anchors.
SCALE: list[tuple[str, list[tuple[int, str]]]] = [
    ("Resting pulse rate", [
        (0, "Pulse rate 80 or below"), (1, "Pulse rate 81–100"), (2, "Pulse rate 101–120"),
        (4, "Pulse rate greater than 120")]),
    ("Sweating", [
        (0, "No reports of chills or flushing"), (1, "Subjective reports of chills or flushing"),
        (2, "Flushed or observable moisture on face"), (3, "Beads of sweat on brow or face"),
        (4, "Sweat streaming off face")]),
    ("Restlessness", [
        (0, "Able to sit still"), (1, "Reports difficulty sitting still, but is able to do so"),
        (3, "Frequent shifting or extraneous movements of legs/arms"),
        (5, "Unable to sit still for more than a few seconds")]),
    ("Pupil size", [
        (0, "Pupils pinned or normal size for room light"), (1, "Pupils possibly larger than normal for room light"),
        (2, "Pupils moderately dilated"), (5, "Pupils so dilated that only the rim of the iris is visible")]),
    ("Bone or joint aches", [
        (0, "Not present"), (1, "Mild diffuse discomfort"),
        (2, "Patient reports severe diffuse aching of joints/muscles"),
        (4, "Patient is rubbing joints or muscles and is unable to sit still because of discomfort")]),
    ("Runny nose or tearing", [
        (0, "Not present"), (1, "Nasal stuffiness or unusually moist eyes"), (2, "Nose running or tearing"),
        (4, "Nose constantly running or tears streaming down cheeks")]),
    ("GI upset", [
        (0, "No GI symptoms"), (1, "Stomach cramps"), (2, "Nausea or loose stool"), (3, "Vomiting or diarrhea"),
        (5, "Multiple episodes of diarrhea or vomiting")]),
    ("Tremor", [
        (0, "No tremor"), (1, "Tremor can be felt, but not observed"), (2, "Slight tremor observable"),
        (4, "Gross tremor or muscle twitching")]),
    ("Yawning", [
        (0, "No yawning"), (1, "Yawning once or twice during assessment"),
        (2, "Yawning three or more times during assessment"), (4, "Yawning several times/minute")]),
    ("Anxiety or irritability", [
        (0, "None"), (1, "Patient reports increasing irritability or anxiousness"),
        (2, "Patient obviously irritable, anxious"),
        (4, "Patient so irritable or anxious that participation in the assessment is difficult")]),
    ("Gooseflesh skin", [
        (0, "Skin is smooth"), (3, "Piloerection of skin can be felt or hairs standing up on arms"),
        (5, "Prominent piloerection")]),
]


def age(birth: str = BIRTH, today: date | None = None) -> int:
    today = today or date.today()
    born = date.fromisoformat(birth)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def record(pid: str = PATIENT_ID) -> list[dict]:
    subject = {"reference": f"Patient/{pid}"}
    now = datetime.now(timezone.utc)
    return [
        {"resourceType": "Patient", "id": pid, "birthDate": BIRTH, "gender": "female",
         "name": [{"use": "official", "family": FAMILY, "given": [GIVEN]}]},
        {"resourceType": "MedicationRequest", "id": f"{pid}-oxy", "status": "active", "intent": "order",
         "subject": subject, "authoredOn": (now - timedelta(days=5)).isoformat(),
         "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                   "code": "1049621",
                                                   "display": "oxycodone hydrochloride 5 MG Oral Tablet"}]}},
        {"resourceType": "Observation", "id": f"{pid}-cows-old", "status": "final", "subject": subject,
         "code": {"coding": [{"system": COWS_SYSTEM, "code": COWS_CODE}], "text": "COWS"},
         "effectiveDateTime": (now - timedelta(hours=30)).isoformat(), "valueInteger": 6},
    ]


def patient_view(service: str, fhir_base: str, pid: str = PATIENT_ID, token: str | None = None) -> dict:
    """A patient-view call with no prefetch: the service reads the record from `fhir_base`."""
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": fhir_base,
            "context": {"userId": "Practitioner/dr-1", "patientId": pid}}
    if token:
        body["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer", "expires_in": 300,
                                     "scope": "patient/*.read", "subject": "withdrawal-cds"}
    response = requests.post(f"{service}/cds-services/withdrawal-patient-view", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return {card["source"]["topic"]["code"]: card for card in response.json()["cards"]}


def cows_observations(fhir, pid: str = PATIENT_ID) -> list[dict]:
    status, bundle = fhir.get(f"Observation?patient={pid}&code={COWS_SYSTEM}|{COWS_CODE}")
    assert status == 200, bundle
    return [entry["resource"] for entry in bundle.get("entry", [])]


def saved_cows(fhir, pid: str = PATIENT_ID) -> list[dict]:
    """The COWS Observations the form wrote (the old one in `record` has no identifier)."""
    return [o for o in cows_observations(fhir, pid) if o.get("identifier")]
