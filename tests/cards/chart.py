"""Small builders of patient records, so each scenario reads in a few lines. Times are relative to NOW."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import cards
from cards import Advice, Inputs, Moment

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
PID = "p1"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"

# Codes, each from a shipped value set (tests/cards/test_valuesets.py checks membership).
OXYCODONE = (RXNORM, "1049621", "oxycodone hydrochloride 5 MG Oral Tablet")
TRAMADOL = (RXNORM, "835603", "tramadol hydrochloride 50 MG Oral Tablet")
SUBOXONE = (RXNORM, "1010606", "buprenorphine 8 MG / naloxone 2 MG Sublingual Film [Suboxone]")
BUP_SL = (RXNORM, "351265", "buprenorphine 8 MG Sublingual Tablet")
SUBLOCADE = (RXNORM, "1996189", "0.5 ML buprenorphine 200 MG/ML Prefilled Syringe [Sublocade]")
BELBUCA = (RXNORM, "1716063", "buprenorphine 0.15 MG Buccal Film [Belbuca]")
BUTRANS = (RXNORM, "904870", "168 HR buprenorphine 0.01 MG/HR Transdermal System")
BUPRENEX = (RXNORM, "238129", "1 ML buprenorphine 0.3 MG/ML Injection")
METHADONE = (RXNORM, "864706", "methadone hydrochloride 10 MG Oral Tablet")
NALTREXONE_ER = (RXNORM, "637213", "naltrexone 380 MG Injection")
NALOXONE_SPRAY = (RXNORM, "1725059", "naloxone hydrochloride 40 MG/ML Nasal Spray")
PENTAZOCINE_NALOXONE = (RXNORM, "312289", "naloxone 0.5 MG / pentazocine 50 MG Oral Tablet")
AMOXICILLIN_TEXT = (None, None, "amoxicillin 500 MG Oral Capsule")

OUD = (ICD10, "F11.20", "Opioid dependence, uncomplicated")
OUD_SNOMED = (SNOMED, "5602001", "Opioid abuse (disorder)")
OPIOID_WITHDRAWAL = (ICD10, "F11.23", "Opioid dependence with withdrawal")
WITHDRAWAL_SYNDROME = (SNOMED, "87132004", "Opioid withdrawal syndrome (disorder)")
F19_WITHDRAWAL = (ICD10, "F19.230", "Other psychoactive substance dependence with withdrawal, uncomplicated")
HOSPICE = (SNOMED, "385763009", "Hospice care (regime/therapy)")
TERMINAL = (SNOMED, "300936002", "Terminal illness (finding)")
COUNSELING = (SNOMED, "313071005", "Counseling for substance abuse (procedure)")
COWS_SNOMED = (SNOMED, "763699005", "Clinical Opiate Withdrawal Scale score (observable entity)")
MITRAGYNINE_PRESENCE = (LOINC, "73995-3", "Mitragynine [Presence] in Urine by Confirmatory method")
MITRAGYNINE_MASS = (LOINC, "72732-1", "Mitragynine [Mass/volume] in Urine by Confirmatory method")
HEART_RATE = (LOINC, "8867-4", "Heart rate")

_ids = itertools.count(1)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat()


def cc(code: tuple | None = None, text: str | None = None) -> dict:
    out: dict[str, Any] = {}
    if code is not None and code[0] is not None:
        out["coding"] = [{"system": code[0], "code": code[1], "display": code[2]}]
    elif code is not None:
        out["text"] = code[2]
    if text:
        out["text"] = text
    return out


def _base(resource_type: str, id: str | None) -> dict:
    return {"resourceType": resource_type, "id": id or f"{resource_type[:3].lower()}{next(_ids)}",
            "subject": {"reference": f"Patient/{PID}"}}


def patient(birth: str = "1980-01-01", id: str = PID, **extra: Any) -> dict:
    return {"resourceType": "Patient", "id": id, "birthDate": birth,
            "name": [{"family": "Zebedee", "given": ["Quentin"]}], **extra}


def condition(code: tuple | None = OUD, *, text: str | None = None, clinical: str | None = "active",
              verification: str | None = None, recorded: str | None = None, onset: str | None = None,
              note: str | None = None, id: str | None = None) -> dict:
    c = _base("Condition", id)
    c["code"] = cc(code, text)
    if clinical:
        c["clinicalStatus"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}]}
    if verification:
        c["verificationStatus"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]}
    if recorded:
        c["recordedDate"] = recorded
    if onset:
        c["onsetDateTime"] = onset
    if note:
        c["note"] = [{"text": note}]
    return c


def med_request(code: tuple = OXYCODONE, *, status: str = "active", authored: str | None = None,
                text: str | None = None, id: str | None = None, intent: str = "order") -> dict:
    m = _base("MedicationRequest", id)
    m.update(status=status, intent=intent, medicationCodeableConcept=cc(code, text))
    if authored:
        m["authoredOn"] = authored
    return m


def med_statement(code: tuple | None = None, *, text: str | None = None, status: str = "active",
                  effective: str | None = None, note: str | None = None, id: str | None = None) -> dict:
    m = _base("MedicationStatement", id)
    m.update(status=status, medicationCodeableConcept=cc(code, text))
    if effective:
        m["effectiveDateTime"] = effective
    if note:
        m["note"] = [{"text": note}]
    return m


def observation(code: tuple | None = None, *, text: str | None = None, when: str | None = None,
                value: float | None = None, value_string: str | None = None,
                interpretation: str | None = None, status: str = "final", note: str | None = None,
                id: str | None = None, **extra: Any) -> dict:
    o = _base("Observation", id)
    o.update(status=status, code=cc(code, text), effectiveDateTime=when or ago(hours=1))
    if value is not None:
        o["valueQuantity"] = {"value": value}
    if value_string is not None:
        o["valueString"] = value_string
    if interpretation:
        o["interpretation"] = [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
            "code": interpretation}]}]
    if note:
        o["note"] = [{"text": note}]
    o.update(extra)
    return o


def cows(score: float, *, hours: float = 30, coded: bool = False, **kw: Any) -> dict:
    if coded:
        return observation(COWS_SNOMED, value=score, when=ago(hours=hours), **kw)
    return observation(text="COWS total score", value=score, when=ago(hours=hours), **kw)


def sows(score: float, *, hours: float = 10) -> dict:
    return observation(text="Subjective Opiate Withdrawal Scale (SOWS)", value=score, when=ago(hours=hours))


def service_request(code: tuple | None = None, *, text: str | None = None, status: str = "active",
                    authored: str | None = None, id: str | None = None) -> dict:
    s = _base("ServiceRequest", id)
    s.update(status=status, intent="order", code=cc(code, text))
    if authored:
        s["authoredOn"] = authored
    return s


def procedure(code: tuple = COUNSELING, *, status: str = "completed", performed: str | None = None,
              text: str | None = None) -> dict:
    p = _base("Procedure", None)
    p.update(status=status, code=cc(code, text))
    if performed:
        p["performedDateTime"] = performed
    return p


def evaluate(*resources: Any, moment: Moment = Moment.CHART, drafts: tuple = (), acted_on: tuple | None = None,
             user: str | None = "Practitioner/u1", settings: cards.EngineSettings | None = None,
             now: datetime = NOW) -> list[Advice]:
    """The engine's advice for PID. Drafts are acted on (signed) unless ``acted_on`` says otherwise."""
    inputs = Inputs(patient_id=PID, moment=moment, user_ref=user, drafts=tuple(drafts),
                    acted_on=tuple(drafts if acted_on is None else acted_on))
    return cards.evaluate(list(resources), inputs, now, settings)


def topics(*resources: Any, **kw: Any) -> set[str]:
    return {advice.topic for advice in evaluate(*resources, **kw)}


def advice_for(topic: str, *resources: Any, **kw: Any) -> Advice:
    found = [advice for advice in evaluate(*resources, **kw) if advice.topic == topic]
    assert found, f"no {topic} advice"
    return found[0]


def suggested(advice: Advice) -> dict:
    """The resource of an advice's (single) suggestion."""
    (suggestion,) = advice.suggestions
    return suggestion.resource


def bundle(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r} for r in resources]}


ALL = {"withdrawal-assessment", "moud-referral", "counseling", "naloxone"}


def kratom_note_obs(days: float = 10) -> dict:
    return observation(text="Substance use history", value_string="Uses kratom powder daily", when=ago(days=days))
