"""Evidence the generator never writes, injected into its Bundles: the v2 facts (an ICD-10-CM T40
overdose, a fentanyl screen, PHQ-9 item 9, OUD in remission, withdrawal on a prescribed opioid)
and the v3 records hospitals write (design section 9: a naloxone dose given in the ED, an opioid
given in care before a screen, a relative's kratom use, a buprenorphine renewal being signed,
methadone for pain, pharmacy fills), each with the cards it must raise and the cards it must not.
Run over every alive adult whose own record raises no disorder card, this measures recall as well
as precision.

Codes come from the shipped value sets (cards/valuesets/) or, for T40, from the CDC NCHS list the
engine reads by pattern (clinical-content.md section 7). Every injected resource is valid FHIR R4
(tests/test_population_inject.py).
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
RX_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ITEM9_DISPLAY = "Thoughts that you would be better off dead, or of hurting yourself in some way"
DISORDER_CARDS = frozenset({"moud-referral", "counseling", "depression-screen"})
EVERY_CARD = frozenset({"withdrawal-severity", "suicide-risk", "buprenorphine-start", "withdrawal-assessment",
                        "moud-referral", "moud-continuation", "naloxone", "counseling", "depression-screen"})

# (system, code, display), each from the value set named beside it (cards/valuesets/)
OXYCODONE = (RXNORM, "1049621", "oxycodone hydrochloride 5 MG Oral Tablet")  # oxycodone-medications
FENTANYL_INJECTION = (RXNORM, "1735003", "2 ML fentanyl 0.05 MG/ML Injection")  # fentanyl-type-medications
NALOXONE_INJECTABLE = (RXNORM, "1191222",
                       "naloxone hydrochloride 0.4 MG/ML Injectable Solution")  # naloxone-medications
NALOXONE_SPRAY = (RXNORM, "1725059", "naloxone hydrochloride 40 MG/ML Nasal Spray")  # naloxone-medications
SUBOXONE = (RXNORM, "1010606",
            "buprenorphine 8 MG / naloxone 2 MG Sublingual Film [Suboxone]")  # buprenorphine-medications
METHADONE = (RXNORM, "864706", "methadone hydrochloride 10 MG Oral Tablet")  # methadone-medications
ALPRAZOLAM = (RXNORM, "141928", "alprazolam 0.5 MG Oral Tablet [Xanax]")  # benzodiazepine-medications
HEROIN_OVERDOSE = (SNOMED, "295175007", "Accidental heroin overdose (disorder)")  # opioid-poisoning
FENTANYL_SCREEN = (LOINC, "59673-4",
                   "fentaNYL [Presence] in Urine by Screen method")  # fentanyl-type-urine-drug-screening-tests
POSITIVE = (SNOMED, "10828004", "Positive")  # design 4: the allow-list of positive codings


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


def _oud(pid: str, now: datetime, days: float = 20) -> dict:
    return _condition(pid, ICD10, "F11.20", "Opioid dependence, uncomplicated", _ago(now, days=days))


def _concept(code: tuple[str, str, str]) -> dict:
    return {"coding": [{"system": code[0], "code": code[1], "display": code[2]}], "text": code[2]}


def _prescription(pid: str, code: tuple[str, str, str], authored: str, *, status: str = "active",
                  intent: str = "order", category: str | None = "outpatient") -> dict:
    """A MedicationRequest; an outpatient one carries a dispenseRequest (the patient takes it home)."""
    request = {"resourceType": "MedicationRequest", "id": f"inj-{uuid.uuid4().hex[:12]}", "status": status,
               "intent": intent, "subject": {"reference": f"Patient/{pid}"}, "authoredOn": authored,
               "medicationCodeableConcept": _concept(code)}
    if category:
        request["category"] = [{"coding": [{"system": RX_CATEGORY, "code": category}]}]
        request["dispenseRequest"] = {"numberOfRepeatsAllowed": 0, "expectedSupplyDuration": {
            "value": 7, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}}
    return request


def _given(pid: str, code: tuple[str, str, str], when: str) -> dict:
    """A dose given in care (MedicationAdministration)."""
    return {"resourceType": "MedicationAdministration", "id": f"inj-{uuid.uuid4().hex[:12]}",
            "status": "completed", "subject": {"reference": f"Patient/{pid}"},
            "medicationCodeableConcept": _concept(code), "effectiveDateTime": when}


def _filled(pid: str, code: tuple[str, str, str], when: str) -> dict:
    """A pharmacy fill (MedicationDispense), handed over `when`."""
    return {"resourceType": "MedicationDispense", "id": f"inj-{uuid.uuid4().hex[:12]}", "status": "completed",
            "subject": {"reference": f"Patient/{pid}"}, "medicationCodeableConcept": _concept(code),
            "whenHandedOver": when}


def _positive_screen(pid: str, code: tuple[str, str, str], when: str) -> dict:
    return _observation(pid, *code, when, valueCodeableConcept=_concept(POSITIVE),
                        interpretation=[{"coding": [{"system": INTERPRETATION, "code": "POS"}]}])


def _social_history(pid: str, said: str, when: str) -> dict:
    """What the patient said, in a social-history Observation's valueString."""
    return {"resourceType": "Observation", "id": f"inj-{uuid.uuid4().hex[:12]}", "status": "final",
            "category": [{"coding": [{"system": OBS_CATEGORY, "code": "social-history"}]}],
            "subject": {"reference": f"Patient/{pid}"}, "code": {"text": "Substance use history"},
            "effectiveDateTime": when, "valueString": said}


def _cows(pid: str, now: datetime, score: int, hours: float) -> dict:
    return _observation(pid, SNOMED, "763699005", "Clinical Opiate Withdrawal Scale score", _ago(now, hours=hours),
                        valueInteger=score)


@dataclass(frozen=True)
class Injection:
    name: str
    resources: Callable[[str, datetime], list[dict]]
    expect: frozenset[str]  # every one of these must fire
    # None of these may fire, unless the patient's own record already raised it (the generator's
    # opioid and overdose records raise naloxone for some: the injection did not add it).
    forbid: frozenset[str] = frozenset()
    # Orders being signed: the record is then evaluated at order-sign with these as draftOrders.
    drafts: Callable[[str, datetime], list[dict]] | None = None
    version: str = "v2"  # the design version whose rule the row checks


INJECTIONS: tuple[Injection, ...] = (
    Injection("fentanyl overdose, T40.411A, 30 days ago",
              lambda pid, now: [_condition(pid, ICD10, "T40.411A", "Poisoning by fentanyl, accidental",
                                           _ago(now, days=30))],
              frozenset({"moud-referral", "naloxone"})),
    # Coded Positive as a lab reports it: v3 reads an interpretation with no value as no evidence
    # (design section 4, "a result means what it says"), and v2's row carried only an interpretation.
    Injection("positive fentanyl screen, 10 days ago",
              lambda pid, now: [_positive_screen(pid, FENTANYL_SCREEN, _ago(now, days=10))],
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
    # --- v3 (design section 9): what hospitals record ------------------------------------------
    Injection("v3 (a) heroin overdose yesterday, naloxone vial given in the ED",
              lambda pid, now: [_condition(pid, *HEROIN_OVERDOSE, _ago(now, days=1)),
                                _given(pid, NALOXONE_INJECTABLE, _ago(now, days=1))],
              # A dose given in care is not naloxone on hand: the take-home card still fires.
              frozenset({"naloxone", "moud-referral"}), version="v3"),
    Injection("v3 (b) fentanyl given in the ED, fentanyl-positive screen the next day",
              lambda pid, now: [_given(pid, FENTANYL_INJECTION, _ago(now, days=2)),
                                _positive_screen(pid, FENTANYL_SCREEN, _ago(now, days=1))],
              frozenset(), EVERY_CARD, version="v3"),
    Injection("v3 (c) oxycodone taper, withdrawal (COWS 9, 30 h ago), 'Mother uses kratom'",
              lambda pid, now: [_prescription(pid, OXYCODONE, _ago(now, days=10)), _cows(pid, now, 9, 30),
                                _social_history(pid, "Mother uses kratom", _ago(now, days=5))],
              frozenset({"withdrawal-assessment", "naloxone"}),
              DISORDER_CARDS | {"buprenorphine-start", "suicide-risk", "moud-continuation"}, version="v3"),
    Injection("v3 (d) on buprenorphine (OUD, Suboxone, naloxone at home), renewal signed",
              lambda pid, now: [_oud(pid, now, days=200), _prescription(pid, SUBOXONE, _ago(now, days=20)),
                                _prescription(pid, NALOXONE_SPRAY, _ago(now, days=30))],
              frozenset(), frozenset({"buprenorphine-start"}),
              drafts=lambda pid, now: [_prescription(pid, SUBOXONE, now.isoformat(), status="draft",
                                                     intent="proposal")],
              version="v3"),
    Injection("v3 (e) methadone for pain (outpatient, no OUD) with alprazolam",
              lambda pid, now: [_prescription(pid, METHADONE, _ago(now, days=20)),
                                _prescription(pid, ALPRAZOLAM, _ago(now, days=20))],
              frozenset({"naloxone"}), DISORDER_CARDS | {"moud-continuation"}, version="v3"),
    Injection("v3 (f) oxycodone and alprazolam known only from pharmacy fills",
              lambda pid, now: [_filled(pid, OXYCODONE, _ago(now, days=10)),
                                _filled(pid, ALPRAZOLAM, _ago(now, days=10))],
              frozenset({"naloxone"}), DISORDER_CARDS, version="v3"),
)
