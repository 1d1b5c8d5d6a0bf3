"""Evidence the generator never writes, injected into its Bundles: the v2 facts (an ICD-10-CM T40
overdose, a fentanyl screen, PHQ-9 item 9, OUD in remission, withdrawal on a prescribed opioid),
each with the cards it must raise and the cards it must not. Run over every alive adult whose own
record raises no disorder card, this measures recall as well as precision.

Codes come from the shipped value sets (cards/valuesets/) or, for T40, from the CDC NCHS list the
engine reads by pattern (clinical-content.md section 7).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ITEM9_DISPLAY = "Thoughts that you would be better off dead, or of hurting yourself in some way"
DISORDER_CARDS = frozenset({"moud-referral", "counseling", "depression-screen"})


def _ago(now: datetime, **delta: float) -> str:
    return (now - timedelta(**delta)).isoformat()


def _condition(pid: str, system: str, code: str, display: str, recorded: str) -> dict:
    return {"resourceType": "Condition", "id": f"inj-{uuid.uuid4().hex[:12]}",
            "subject": {"reference": f"Patient/{pid}"},
            "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
            "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
            "recordedDate": recorded}


def _observation(pid: str, system: str, code: str, display: str, when: str, **value) -> dict:
    return {"resourceType": "Observation", "id": f"inj-{uuid.uuid4().hex[:12]}", "status": "final",
            "subject": {"reference": f"Patient/{pid}"},
            "code": {"coding": [{"system": system, "code": code, "display": display}]},
            "effectiveDateTime": when, **value}


def _oxycodone(pid: str, authored: str) -> dict:
    return {"resourceType": "MedicationRequest", "id": f"inj-{uuid.uuid4().hex[:12]}", "status": "active",
            "intent": "order", "subject": {"reference": f"Patient/{pid}"}, "authoredOn": authored,
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "1049621",
                                                      "display": "oxycodone hydrochloride 5 MG Oral Tablet"}]}}


def _oud(pid: str, now: datetime) -> dict:
    return _condition(pid, ICD10, "F11.20", "Opioid dependence, uncomplicated", _ago(now, days=20))


@dataclass(frozen=True)
class Injection:
    name: str
    resources: Callable[[str, datetime], list[dict]]
    expect: frozenset[str]  # every one of these must fire
    forbid: frozenset[str] = frozenset()  # none of these may fire


INJECTIONS: tuple[Injection, ...] = (
    Injection("fentanyl overdose, T40.411A, 30 days ago",
              lambda pid, now: [_condition(pid, ICD10, "T40.411A", "Poisoning by fentanyl, accidental",
                                           _ago(now, days=30))],
              frozenset({"moud-referral", "naloxone"})),
    Injection("positive fentanyl screen, 10 days ago",
              lambda pid, now: [_observation(
                  pid, LOINC, "59673-4", "fentaNYL [Presence] in Urine by Screen method", _ago(now, days=10),
                  interpretation=[{"coding": [{"system": INTERPRETATION, "code": "POS"}]}])],
              frozenset({"moud-referral", "naloxone", "counseling"})),
    Injection("accidental overdose on own oxycodone, T40.2X1A",
              lambda pid, now: [_oxycodone(pid, _ago(now, days=40)),
                                _condition(pid, ICD10, "T40.2X1A", "Poisoning by other opioids, accidental",
                                           _ago(now, days=20))],
              frozenset({"naloxone"}), DISORDER_CARDS),
    Injection("OUD in remission, F11.21",
              lambda pid, now: [_condition(pid, ICD10, "F11.21", "Opioid dependence, in remission",
                                           _ago(now, days=60))],
              frozenset({"naloxone"}), DISORDER_CARDS),
    Injection("OUD with PHQ-9 item 9 'several days'",
              lambda pid, now: [_oud(pid, now), _observation(
                  pid, LOINC, "44260-8", ITEM9_DISPLAY, _ago(now, days=5),
                  valueCodeableConcept={"coding": [{"system": LOINC, "code": "LA6569-3", "display": "Several days"}]})],
              frozenset({"suicide-risk", "moud-referral", "naloxone"})),
    Injection("withdrawal on a prescribed opioid (dependence only), COWS 8, 30 h ago",
              lambda pid, now: [_oxycodone(pid, _ago(now, days=20)), _observation(
                  pid, SNOMED, "763699005", "Clinical Opiate Withdrawal Scale score", _ago(now, hours=30),
                  valueInteger=8)],
              frozenset({"withdrawal-assessment", "naloxone"}),
              # Design 4.2: dependence only raises at most assessment, severity and naloxone.
              DISORDER_CARDS | {"buprenorphine-start", "suicide-risk"}),
)
