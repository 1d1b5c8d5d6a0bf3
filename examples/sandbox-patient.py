"""A test patient for the CDS Hooks Sandbox walk-through: prints a FHIR R4 transaction Bundle.

    python3 examples/sandbox-patient.py | curl -sS -X POST -H 'Content-Type: application/fhir+json' \
        --data-binary @- http://localhost:8090/fhir

Patient `withdrawal-demo`, 46 years old: opioid dependence (ICD-10-CM F11.20) recorded three days
ago and a COWS of 9 (mild withdrawal) scored 30 hours ago. Opened in the Sandbox, patient-view gives
five cards: withdrawal-assessment (withdrawal, but no COWS in the last 24 hours), moud-referral,
naloxone, counseling and depression-screen.

A script, not a JSON file, because the rules count time back from now: a COWS is withdrawal for 72
hours and an OUD diagnosis current for a year, so a fixed file would lose the withdrawal card
within two days of being written, and every card within a year. Entries are PUTs with
fixed ids, so running it again refreshes the dates instead of adding a second copy. Standard
library only: any python3 runs it, with or without the project's virtualenv.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

PATIENT_ID = "withdrawal-demo"


def bundle(now: datetime | None = None) -> dict:
    now = now or datetime.now(timezone.utc)

    def ago(**delta: float) -> str:
        return (now - timedelta(**delta)).isoformat(timespec="seconds")

    subject = {"reference": f"Patient/{PATIENT_ID}"}
    resources = [
        {"resourceType": "Patient", "id": PATIENT_ID, "birthDate": f"{now.year - 46}-01-01",
         "name": [{"family": "Demo", "given": ["Withdrawal"]}]},
        {"resourceType": "Condition", "id": f"{PATIENT_ID}-oud", "subject": subject,
         "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                        "code": "active"}]},
         "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                            "code": "confirmed"}]},
         "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F11.20",
                              "display": "Opioid dependence, uncomplicated"}]},
         "recordedDate": ago(days=3)},
        # The code the COWS form writes (docs/sandbox.md, "The COWS form"): the rules find it by this code.
        {"resourceType": "Observation", "id": f"{PATIENT_ID}-cows", "subject": subject, "status": "final",
         "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                   "code": "survey"}]}],
         "code": {"coding": [{"system": "http://snomed.info/sct", "code": "763699005",
                              "display": "Clinical Opiate Withdrawal Scale score (observable entity)"}],
                  "text": "Clinical Opiate Withdrawal Scale (COWS) score"},
         "valueInteger": 9, "effectiveDateTime": ago(hours=30)},
    ]
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
                      for r in resources]}


if __name__ == "__main__":
    print(json.dumps(bundle(), indent=2))
