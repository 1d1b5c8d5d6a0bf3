"""Deterministic patient records for the benchmark: a patient-view request with N resources.

The mix is what an EHR chart looks like to a CDS service: about 60% vital-sign
Observations, 30% lab Observations, the rest Conditions, MedicationRequests and
Procedures that no rule cares about, plus three findings that make cards fire
(an active OUD diagnosis, a COWS of 14 six hours ago, an oxycodone order 10
days ago). With them the service answers moud-referral, counseling and naloxone.

Codes (never invented):
- vital signs: the well-known LOINC vital-sign codes (FHIR R4 vital-signs profile);
- labs: LOINC 2345-7 (glucose) and 718-7 (hemoglobin), a urine drug screen from
  ../shared/reference/codes/cannabinoid-urine-drug-screening-tests.csv, and a few
  labs carried as code.text only (as many sites send them);
- conditions, medications, procedures: rows of ../shared/reference/codes/*.csv
  (file named next to each code); a code whose file has no display has none here;
- findings: F11.20 (opioid-misuse-disorders.csv), SNOMED 763699005 COWS
  (withdrawal-codes.csv), RxNorm 1049621 (oxycodone-medications.csv).

The inpatient shape (design section 7, v3: "a long stay with thousands of
MedicationAdministrations, most of them not opioids") is about 60% MedicationAdministrations
over the last 30 days, 98% of them ordinary inpatient drugs and 2% fentanyl or morphine
injections, then 25% vital signs, 10% labs, the rest other, with the same three findings.
Its drugs: RxNorm codes of the AHRQ nonopioid-pain-medications and stool-softeners-and-laxatives
value sets (../shared/reference/codes/ahrq-pain-mgmt-summary/, which store no displays),
temazepam (benzodiazepine-medications.csv), and products coded by text only, as many sites send
them (ondansetron, heparin, cefazolin, pantoprazole, saline); the opioids: RxNorm 1735003
(fentanyl-type-medications.csv) and 1728805 (non-synthetic-opioid-medications.csv).

Everything but the timestamps is a pure function of (n, seed, shape); timestamps are
offsets from `now` (default: the current time) so the time windows of the rules
see the findings as recent.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from cds_service.protocol.services import PREFETCH, PREFETCH_KEY_OF

PATIENT_ID = "bench-pat-1"
SERVICE_ID = "withdrawal-patient-view"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
COND_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
COND_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
COND_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"

# code, display, unit (UCUM), low, high, decimals
VITALS = [
    ("8867-4", "Heart rate", "/min", 52, 112, 0),
    ("8480-6", "Systolic blood pressure", "mm[Hg]", 98, 162, 0),
    ("8462-4", "Diastolic blood pressure", "mm[Hg]", 58, 102, 0),
    ("8310-5", "Body temperature", "Cel", 36.1, 38.2, 1),
    ("9279-1", "Respiratory rate", "/min", 11, 24, 0),
    ("2708-6", "Oxygen saturation in Arterial blood", "%", 91, 100, 0),
    ("29463-7", "Body weight", "kg", 58, 96, 1),
    ("8302-2", "Body height", "cm", 158, 192, 1),
]
# (system, code, display) or (None, None, text) for text-only labs; unit, low, high, decimals
LABS = [
    (LOINC, "2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 68, 182, 0),
    (LOINC, "718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 10.8, 17.2, 1),
    (None, None, "Sodium, serum", "mmol/L", 133, 147, 0),
    (None, None, "Potassium, serum", "mmol/L", 3.3, 5.3, 1),
    (None, None, "Creatinine, serum", "mg/dL", 0.55, 1.4, 2),
    (None, None, "White blood cell count", "10*3/uL", 3.8, 11.5, 1),
]
# cannabinoid-urine-drug-screening-tests.csv
URINE_SCREEN = (LOINC, "70145-8", "Cannabinoids [Presence] in Urine by Screen method >50 ng/mL")
CONDITIONS = [
    # conditions-documenting-sleep-disordered-breathing.csv
    (SNOMED, "1101000119103", "Obstructive sleep apnea of adult (disorder)"),
    (SNOMED, "10948005", None),    # ahrq .../conditions-associated-with-chronic-pain_*.csv (no display there)
    (SNOMED, "1380006", None),     # ahrq .../anxiety_*.csv (no display there)
]
MEDICATIONS = [
    (RXNORM, "208464", "temazepam 15 MG Oral Capsule [Restoril]"),  # benzodiazepine-medications.csv
    (RXNORM, "1001437", None),     # ahrq .../nonopioid-pain-medications_*.csv (no display there)
]
PROCEDURES = [
    (SNOMED, "408957008", "Chronic pain control management (procedure)"),  # pain-management-procedure.csv
    # pdmp-review-procedure.csv
    (SNOMED, "461621000124108", "Review of prescription drug monitoring program record (procedure)"),
    (SNOMED, "185463005", "Visit out of hours (procedure)"),                                     # office-visit.csv
]
# (system, code, display) or (None, None, text): what a ward gives all day
INPATIENT_DRUGS = [
    (RXNORM, "1001437", None),     # ahrq .../nonopioid-pain-medications_*.csv (no display there)
    (RXNORM, "1006079", None),     # ahrq .../nonopioid-pain-medications_*.csv
    (RXNORM, "1001679", None),     # ahrq .../stool-softeners-and-laxatives_*.csv
    (RXNORM, "208464", "temazepam 15 MG Oral Capsule [Restoril]"),  # benzodiazepine-medications.csv
    (None, None, "ondansetron 4 MG in 2 ML Injection"),
    (None, None, "heparin sodium 5000 UNT/ML Injectable Solution"),
    (None, None, "cefazolin 2 GM Injection"),
    (None, None, "pantoprazole 40 MG Injection"),
    (None, None, "sodium chloride 0.9 % Injectable Solution"),
]
INPATIENT_OPIOIDS = [
    (RXNORM, "1735003", "2 ML fentanyl 0.05 MG/ML Injection"),        # fentanyl-type-medications.csv
    (RXNORM, "1728805", "2 ML morphine sulfate 1 MG/ML Injection"),   # non-synthetic-opioid-medications.csv
]
OPIOID_EVERY = 50  # one administration in 50 is an opioid
COWS_TEXT = "Clinical Opiate Withdrawal Scale (COWS) total score"
FINDINGS = 3  # OUD condition, COWS observation, opioid order


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def _concept(system: str | None, code: str | None, display: str | None, text: str | None = None) -> dict:
    concept: dict[str, Any] = {}
    if code:
        coding = {"system": system, "code": code}
        if display:
            coding["display"] = display
        concept["coding"] = [coding]
    if text or display:
        concept["text"] = text or display
    return concept


def _subject() -> dict:
    return {"reference": f"Patient/{PATIENT_ID}"}


def patient() -> dict:
    return {"resourceType": "Patient", "id": PATIENT_ID, "meta": {"versionId": "3"},
            "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": "MRN-0042117"}],
            "active": True, "name": [{"use": "official", "family": "Zyxwer", "given": ["Quilliam"]}],
            "gender": "male", "birthDate": "1980-04-01"}


def _observation(oid: str, category: str, code: dict, when: datetime, value: dict, extra: dict | None = None) -> dict:
    obs = {"resourceType": "Observation", "id": oid, "meta": {"lastUpdated": _iso(when + timedelta(minutes=7))},
           "status": "final",
           "category": [{"coding": [{"system": OBS_CATEGORY, "code": category}]}],
           "code": code, "subject": _subject(), "encounter": {"reference": f"Encounter/enc-{oid[-4:]}"},
           "effectiveDateTime": _iso(when), "issued": _iso(when + timedelta(minutes=5)), **value}
    if extra:
        obs.update(extra)
    return obs


def _quantity(rng: random.Random, unit: str, low: float, high: float, decimals: int) -> dict:
    value = round(rng.uniform(low, high), decimals)
    if decimals == 0:
        value = int(value)
    return {"valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}


def vital(rng: random.Random, i: int, now: datetime) -> dict:
    code, display, unit, low, high, dec = VITALS[i % len(VITALS)]
    when = now - timedelta(seconds=rng.randrange(3600, 3 * 365 * 86400))
    return _observation(f"vs-{i:06d}", "vital-signs", _concept(LOINC, code, display), when,
                        _quantity(rng, unit, low, high, dec))


def lab(rng: random.Random, i: int, now: datetime) -> dict:
    when = now - timedelta(seconds=rng.randrange(3600, 3 * 365 * 86400))
    if i % 20 == 19:  # one lab in twenty is a (negative) urine drug screen
        system, code, display = URINE_SCREEN
        return _observation(f"lab-{i:06d}", "laboratory", _concept(system, code, display), when,
                            {"valueCodeableConcept": {"text": "Negative"}})
    system, code, text, unit, low, high, dec = LABS[i % len(LABS)]
    concept = _concept(system, code, text if code else None, text)
    value = _quantity(rng, unit, low, high, dec)
    ref = {"referenceRange": [{"low": {"value": low, "unit": unit, "system": UCUM, "code": unit},
                               "high": {"value": high, "unit": unit, "system": UCUM, "code": unit}}]}
    return _observation(f"lab-{i:06d}", "laboratory", concept, when, value, ref)


def other(rng: random.Random, i: int, now: datetime) -> dict:
    when = now - timedelta(seconds=rng.randrange(86400, 6 * 365 * 86400))
    kind = i % 3
    if kind == 0:
        system, code, display = CONDITIONS[(i // 3) % len(CONDITIONS)]
        status = rng.choice(["active", "resolved", "inactive"])
        return {"resourceType": "Condition", "id": f"cond-{i:06d}",
                "clinicalStatus": {"coding": [{"system": COND_CLINICAL, "code": status}]},
                "verificationStatus": {"coding": [{"system": COND_VERIFICATION, "code": "confirmed"}]},
                "category": [{"coding": [{"system": COND_CATEGORY, "code": "problem-list-item"}]}],
                "code": _concept(system, code, display), "subject": _subject(),
                "onsetDateTime": _iso(when), "recordedDate": _iso(when + timedelta(days=1))}
    if kind == 1:
        system, code, display = MEDICATIONS[(i // 3) % len(MEDICATIONS)]
        return {"resourceType": "MedicationRequest", "id": f"mr-{i:06d}",
                "status": rng.choice(["completed", "stopped"]), "intent": "order",
                "medicationCodeableConcept": _concept(system, code, display), "subject": _subject(),
                "authoredOn": _iso(when), "requester": {"reference": "Practitioner/doc-7"},
                "dosageInstruction": [{"text": "1 tablet by mouth at bedtime as needed"}]}
    system, code, display = PROCEDURES[(i // 3) % len(PROCEDURES)]
    return {"resourceType": "Procedure", "id": f"proc-{i:06d}", "status": "completed",
            "code": _concept(system, code, display), "subject": _subject(), "performedDateTime": _iso(when)}


def administration(rng: random.Random, i: int, now: datetime) -> dict:
    """A dose given on the ward in the last 30 days (a long stay): mostly not an opioid."""
    when = now - timedelta(seconds=rng.randrange(600, 30 * 86400))
    opioid = i % OPIOID_EVERY == OPIOID_EVERY - 1
    system, code, display = (INPATIENT_OPIOIDS[(i // OPIOID_EVERY) % len(INPATIENT_OPIOIDS)] if opioid
                             else INPATIENT_DRUGS[i % len(INPATIENT_DRUGS)])
    concept = _concept(system, code, display if code else None, None if code else display)
    return {"resourceType": "MedicationAdministration", "id": f"ma-{i:06d}", "status": "completed",
            "medicationCodeableConcept": concept, "subject": _subject(),
            "context": {"reference": "Encounter/enc-stay"}, "effectiveDateTime": _iso(when),
            "performer": [{"actor": {"reference": "Practitioner/nurse-3"}}],
            "dosage": {"route": {"text": "intravenous" if opioid else "per protocol"}, "text": "as ordered"}}


def findings(now: datetime) -> list[dict]:
    """The three resources that make cards fire (design section 4)."""
    oud = {"resourceType": "Condition", "id": "cond-oud",
           "clinicalStatus": {"coding": [{"system": COND_CLINICAL, "code": "active"}]},
           "verificationStatus": {"coding": [{"system": COND_VERIFICATION, "code": "confirmed"}]},
           "category": [{"coding": [{"system": COND_CATEGORY, "code": "problem-list-item"}]}],
           "code": _concept(ICD10CM, "F11.20", "Opioid dependence, uncomplicated"),
           "subject": _subject(), "recordedDate": _iso(now - timedelta(days=30))}
    cows = _observation("obs-cows", "survey",
                        _concept(SNOMED, "763699005", "Clinical Opiate Withdrawal Scale score (observable entity)",
                                 COWS_TEXT),
                        now - timedelta(hours=6), {"valueInteger": 14})
    oxy = {"resourceType": "MedicationRequest", "id": "mr-oxy", "status": "active", "intent": "order",
           "medicationCodeableConcept": _concept(RXNORM, "1049621", "oxycodone hydrochloride 5 MG Oral Tablet"),
           "subject": _subject(), "authoredOn": _iso(now - timedelta(days=10)),
           "requester": {"reference": "Practitioner/doc-7"},
           "dosageInstruction": [{"text": "1 tablet by mouth every 6 hours as needed for pain"}]}
    return [oud, cows, oxy]


# shape: (administrations, vitals, labs) as fractions of the record; the rest is other
SHAPES = {"chart": (0.0, 0.6, 0.3), "inpatient": (0.6, 0.25, 0.1)}
_default_shape = ["chart"]


def use_shape(shape: str) -> None:
    """The shape every record of this process gets unless told otherwise (bench.py --record)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown record shape {shape!r}; shapes: {', '.join(SHAPES)}")
    _default_shape[0] = shape


def resources(n: int, seed: int = 7, now: datetime | None = None, shape: str | None = None) -> list[dict]:
    """n resources (Patient included) in the given shape (SHAPES), plus the findings. The chart: ~60%
    vital signs, ~30% labs, the rest other; the inpatient stay: ~60% MedicationAdministrations."""
    if n < 1 + FINDINGS:
        raise ValueError(f"a record needs at least {1 + FINDINGS} resources")
    shape = shape or _default_shape[0]
    now = now or datetime.now(timezone.utc)
    # The chart keeps its seed string, so its records are the ones earlier runs measured.
    rng = random.Random(f"{seed}:{n}" if shape == "chart" else f"{seed}:{n}:{shape}")
    f_admin, f_vitals, f_labs = SHAPES[shape]
    n_admin, n_vitals, n_labs = round(f_admin * n), round(f_vitals * n), round(f_labs * n)
    n_other = max(0, n - 1 - FINDINGS - n_admin - n_vitals - n_labs)
    n_labs = n - 1 - FINDINGS - n_admin - n_vitals - n_other
    out = [patient()]
    out += [administration(rng, i, now) for i in range(n_admin)]
    out += [vital(rng, i, now) for i in range(n_vitals)]
    out += [lab(rng, i, now) for i in range(n_labs)]
    out += [other(rng, i, now) for i in range(n_other)]
    found = findings(now)
    # Findings sit inside the record, not at its end: nothing may depend on their position.
    for k, resource in enumerate(found):
        out.insert(1 + (k + 1) * len(out) // (len(found) + 1), resource)
    assert len(out) == n
    return out


def _searchset(rs: list[dict]) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(rs),
            "entry": [{"fullUrl": f"urn:uuid:{uuid.UUID(int=hash_id(r))}", "resource": r,
                       "search": {"mode": "match"}} for r in rs]}


def hash_id(resource: dict) -> int:
    """A stable 128-bit number from a resource's type and id (for fullUrl)."""
    return int.from_bytes(hashlib.blake2b(f"{resource['resourceType']}/{resource['id']}".encode(),
                                          digest_size=16).digest(), "big")


def by_type(rs: list[dict]) -> dict[str, list[dict]]:
    """The record split by resource type (what a FHIR server holds)."""
    out: dict[str, list[dict]] = {}
    for r in rs:
        out.setdefault(r["resourceType"], []).append(r)
    return out


# A service that declares no key for a type (before v3: MedicationAdministration) still gets the
# resources under this key: it parses the whole body, as the floor does, and reads none of them.
UNDECLARED_KEY = {"MedicationAdministration": "medicationAdministrations"}


def hook_request(n: int, seed: int = 7, now: datetime | None = None, *, prefetch: bool = True,
                 fhir_server: str | None = None, shape: str | None = None) -> dict:
    """A patient-view request: every prefetch key filled from the record, or (prefetch=False) only fhirServer."""
    rs = resources(n, seed, now, shape)
    body: dict[str, Any] = {"hookInstance": str(uuid.UUID(int=random.Random(seed).getrandbits(128), version=4)),
                            "hook": "patient-view",
                            "context": {"userId": "Practitioner/doc-7", "patientId": PATIENT_ID}}
    if fhir_server:
        body["fhirServer"] = fhir_server
    if prefetch:
        groups: dict[str, list[dict]] = {key: [] for key in PREFETCH if key != "patient"}
        for r in rs:
            if r["resourceType"] != "Patient":
                kind = r["resourceType"]
                groups.setdefault(PREFETCH_KEY_OF.get(kind) or UNDECLARED_KEY[kind], []).append(r)
        body["prefetch"] = {"patient": rs[0], **{key: _searchset(group) for key, group in groups.items()}}
    return body


class RequestBody:
    """A serialized request whose hookInstance changes on every `next()` (each call is a new hook instance)."""

    def __init__(self, body: dict):
        self.instance = body["hookInstance"].encode()
        self.raw = orjson.dumps(body)
        assert self.raw.count(self.instance) == 1

    def next(self) -> bytes:
        # The UUID is among the first bytes: replace() finds it at once, no re-serialization.
        return self.raw.replace(self.instance, str(uuid.uuid4()).encode(), 1)

    def __len__(self) -> int:
        return len(self.raw)
