"""Scenario suite (design v2 section 4): one patient record per row and the topics it must raise.

Rows are grouped by the fact or topic they exercise, negatives beside positives, so that every
fact of 4.1 and every row of 4.2 is shown to switch on and to stay off. Every record is valid FHIR
R4 (checked below). The patient is 45 unless a row says otherwise; "now" is chart.NOW.
"""

from __future__ import annotations

import pytest
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.servicerequest import ServiceRequest

from cards import Moment
from tests.cards.chart import (
    AGONIST_THERAPY,
    ALPRAZOLAM,
    AMOXICILLIN_TEXT,
    BUPRENORPHINE_UDS,
    BUTRANS,
    COUNSELING,
    COWS_SNOMED,
    DEPENDENT_DRUG_ABUSE,
    F19_ABUSE,
    F19_DEPENDENCE,
    F19_REMISSION,
    F19_WITHDRAWAL,
    FENTANYL_PATCH,
    FENTANYL_UDS,
    HEART_RATE,
    HEROIN_OVERDOSE,
    HEROIN_UDS,
    HEROIN_UDS_CUTOFF,
    HOSPICE,
    HYDROCODONE,
    ICD10,
    MAJOR_DEPRESSION,
    METHADONE,
    METHADONE_UDS,
    MITRAGYNINE_MASS,
    MITRAGYNINE_PRESENCE,
    NALOXONE_SPRAY,
    NALTREXONE_ER,
    NALTREXONE_UDS,
    NARCOTIC_USER,
    OPIATE_OVERDOSE,
    OPIATES_UDS,
    OPIOID_INTOXICATION,
    OPIOID_USE_WITHDRAWAL,
    OPIOID_WITHDRAWAL,
    OUD,
    OUD_REMISSION,
    OUD_REMISSION_SNOMED,
    OUD_SNOMED,
    OXYCODONE,
    OXYCODONE_UDS,
    PENTAZOCINE_NALOXONE,
    PHQ2,
    PHQ9,
    PREGNANCY,
    SUBLOCADE,
    SUBOXONE,
    SUICIDE_ATTEMPT,
    SYNTHEA_OVERDOSE,
    TERMINAL,
    TRAMADOL,
    WITHDRAWAL_SYNDROME,
    ago,
    condition,
    cows,
    draft,
    item9,
    med_request,
    med_statement,
    observation,
    patient,
    phq,
    procedure,
    service_request,
    sows,
    t40,
    topics,
    uds,
)

SEV, SUI, BUP = "withdrawal-severity", "suicide-risk", "buprenorphine-start"
W, M, N, C, D = "withdrawal-assessment", "moud-referral", "naloxone", "counseling", "depression-screen"
DS = {M, N, C, D}  # a disorder signal, in an adult with nothing else on record
DEPENDENCE = {W, N}  # withdrawal on a prescribed opioid, no COWS in 24 hours
ORDER = {"moment": Moment.ORDER}


def oxy(**kw):
    return med_request(OXYCODONE, **kw)


def f19(hours: float = 10, **kw):
    return condition(F19_WITHDRAWAL, recorded=ago(hours=hours), **kw)


def kratom_note(days: float = 10, text: str = "Uses kratom powder daily"):
    return observation(text="Substance use history", value_string=text, when=ago(days=days))


def oud(days: float = 30, **kw):
    return condition(OUD, recorded=ago(days=days), **kw)


def withdrawal_obs(value: str | None = "present", text: str = "Opioid withdrawal signs", **kw):
    return observation(text=text, value_string=value, **kw)


def cows_component(score: int, hours: float = 30):
    o = observation(COWS_SNOMED, when=ago(hours=hours))
    o["component"] = [{"code": {"text": "COWS total score"}, "valueInteger": score}]
    return o


ANTIBIOTIC_DRAFT = draft(AMOXICILLIN_TEXT, id="d2")


def order(*drafts, acted_on=None):
    return {"moment": Moment.ORDER, "drafts": drafts, "acted_on": drafts if acted_on is None else acted_on}


# (name, resources, expected topics[, engine inputs])
SCENARIOS = [
    # --- precision: nothing to say ----------------------------------------------------------
    ("adult, empty record", [patient()], set()),
    ("opioid analgesic alone", [patient(), oxy()], set()),
    ("opioid analgesic with vital signs", [patient(), oxy(), observation(HEART_RATE, value=110)], set()),
    ("opioid analgesic, completed 2 years ago", [patient(), oxy(status="completed", authored=ago(days=730))], set()),
    ("tramadol statement", [patient(), med_statement(TRAMADOL, effective=ago(days=3))], set()),
    ("benzodiazepine alone", [patient(), med_request(ALPRAZOLAM)], set()),
    ("dependent drug abuse, no opioid", [patient(), condition(DEPENDENT_DRUG_ABUSE)], set()),
    ("pregnancy alone", [patient(), condition(PREGNANCY)], set()),
    ("major depression alone", [patient(), condition(MAJOR_DEPRESSION)], set()),
    ("PHQ-9 item 9 answered, no opioid", [patient(), item9(2)], set()),
    ("suicide attempt, no opioid", [patient(), condition(SUICIDE_ATTEMPT, recorded=ago(days=40))], set()),
    ("entered-in-error OUD diagnosis", [patient(), oud(clinical=None, verification="entered-in-error")], set()),
    ("refuted OUD diagnosis", [patient(), oud(verification="refuted")], set()),
    ("alcohol withdrawal with opioid", [patient(), oxy(),
        condition(None, text="Alcohol withdrawal", recorded=ago(hours=5))], set()),
    ("cancelled opioid + F19 withdrawal", [patient(), oxy(status="cancelled"), f19()], set()),
    ("F19 withdrawal alone (no use)", [patient(), f19()], set()),
    ("entered-in-error opioid + COWS 6", [patient(), oxy(status="entered-in-error"), cows(6)], set()),
    ("antibiotic + COWS 10", [patient(), med_request(AMOXICILLIN_TEXT), cows(10)], set()),
    # v3: opioid intoxication is recorded nonmedical use, a disorder signal (the MOUD card asks to assess).
    ("SNOMED opioid intoxication, no prescription: nonmedical use", [patient(), condition(OPIOID_INTOXICATION)], DS),
    ("11 years old with OUD", [patient(birth="2014-01-01"), oud()], set()),
    ("deceased with OUD", [patient(deceasedBoolean=True), oud()], set()),
    ("deceased (date) with OUD", [patient(deceasedDateTime="2025-05-01"), oud()], set()),
    ("no birth date with OUD", [patient(birth=None), oud()], set()),
    ("OUD in hospice", [patient(), oud(), procedure(HOSPICE, performed=ago(days=3))], set()),
    # --- negation and negative results --------------------------------------------------------
    ("kratom note denied", [patient(), kratom_note(text="Denies kratom or other supplements")], set()),
    ("kratom, negated: no kratom + COWS 6", [patient(), kratom_note(text="No kratom use"), cows(6)], set()),
    ("kratom inside another word + COWS 6", [patient(), kratom_note(text="akratomia screen"), cows(6)], set()),
    ("two-year-old kratom note + COWS 6", [patient(), kratom_note(days=730), cows(6)], set()),
    ("negative mitragynine test + COWS 6", [patient(),
        observation(MITRAGYNINE_PRESENCE, value_string="Negative", when=ago(days=2)), cows(6)], set()),
    ("mitragynine by interpretation NEG + COWS 6", [patient(),
        observation(MITRAGYNINE_MASS, value=0, interpretation="NEG", when=ago(days=2)), cows(6)], set()),
    ("mitragynine quantity, no interpretation, + COWS 6", [patient(),
        observation(MITRAGYNINE_MASS, value=35, when=ago(days=2)), cows(6)], set()),
    ("withdrawal observation says not present", [patient(), oxy(), withdrawal_obs("Not present")], set()),
    ("withdrawal observation: patient denies", [patient(), oxy(), withdrawal_obs("Patient denies withdrawal")],
        set()),
    ("withdrawal code text negated", [patient(), oxy(), withdrawal_obs(None, text="No opioid withdrawal signs")],
        set()),
    ("withdrawal observation with a number (checklist item)", [patient(), oxy(),
        observation(text="Opioid withdrawal: yawning", value=2)], set()),
    ("withdrawal diagnosis negated in text", [patient(), oxy(),
        condition(None, text="Opioid withdrawal ruled out", recorded=ago(hours=5))], set()),
    ("fentanyl test negative", [patient(), uds(FENTANYL_UDS, "NEG")], set()),
    # --- prescribed opioid + withdrawal: dependence only ---------------------------------------
    ("opioid + COWS 4", [patient(), oxy(), cows(4)], set()),
    ("opioid + COWS 5", [patient(), oxy(), cows(5)], DEPENDENCE),
    ("opioid + COWS 5 (SNOMED coded)", [patient(), oxy(), cows(5, coded=True)], DEPENDENCE),
    ("opioid + COWS 12", [patient(), oxy(), cows(12)], DEPENDENCE),
    ("opioid + COWS 13 at 30 h: not current", [patient(), oxy(), cows(13)], DEPENDENCE),
    ("opioid + COWS total as a component", [patient(), oxy(), cows_component(9)], DEPENDENCE),
    ("opioid + COWS 8 within 24 h", [patient(), oxy(), cows(8, hours=20)], {N}),
    ("opioid + COWS 8 at 71 h", [patient(), oxy(), cows(8, hours=71)], DEPENDENCE),
    ("opioid + COWS 8 at 73 h", [patient(), oxy(), cows(8, hours=73)], set()),
    ("opioid + COWS not done", [patient(), oxy(), cows(9, dataAbsentReason={"text": "not done"})], set()),
    ("opioid + COWS out of range (55)", [patient(), oxy(), cows(55)], set()),
    ("opioid + COWS dated in the future", [patient(), oxy(), cows(9, hours=-5)], set()),
    ("opioid + entered-in-error COWS 14", [patient(), oxy(), cows(14, status="entered-in-error")], set()),
    ("opioid + SOWS 9", [patient(), oxy(), sows(9)], set()),
    ("opioid + SOWS 10", [patient(), oxy(), sows(10)], DEPENDENCE),
    ("opioid + withdrawal observed", [patient(), oxy(), withdrawal_obs("present")], DEPENDENCE),
    ("opioid + withdrawal observation with no value", [patient(), oxy(), withdrawal_obs(None)], DEPENDENCE),
    ("opioid + F11.93 (ICU wean)", [patient(), oxy(), condition(OPIOID_USE_WITHDRAWAL, recorded=ago(hours=8))],
        DEPENDENCE),
    ("opioid + opioid withdrawal syndrome", [patient(), oxy(), condition(WITHDRAWAL_SYNDROME, onset=ago(hours=5))],
        DEPENDENCE),
    ("opioid + F19 withdrawal at 71 h", [patient(), oxy(), f19(hours=71)], DEPENDENCE),
    # F19.230 is also a substance use disorder (dependence), a CDC recommendation 8 risk beside an opioid.
    ("opioid + F19 withdrawal at 73 h: SUD only", [patient(), oxy(), f19(hours=73)], {N}),
    ("opioid 89 days ago + F19 withdrawal", [patient(), oxy(status="completed", authored=ago(days=89)), f19()],
        DEPENDENCE),
    ("opioid 91 days ago + F19 withdrawal", [patient(), oxy(status="completed", authored=ago(days=91)), f19()],
        set()),
    ("local opioid text + COWS 6", [patient(), med_request((None, None, "OXYCODONE 5MG TAB")), cows(6)], DEPENDENCE),
    ("opioid + withdrawal + open COWS order", [patient(), oxy(), cows(6),
        service_request(text="COWS assessment q4h", authored=ago(hours=5))], {N}),
    ("opioid + withdrawal + COWS order 4 days old", [patient(), oxy(), cows(6),
        service_request(text="COWS assessment q4h", authored=ago(days=4))], DEPENDENCE),
    ("opioid + withdrawal, 12 years old", [patient(birth="2013-05-01"), oxy(), cows(6)], DEPENDENCE),
    ("opioid + withdrawal in hospice", [patient(), oxy(), cows(6), condition(TERMINAL, recorded=ago(days=10))], {W}),
    # --- withdrawal-severity (latest COWS in 12 h, 13 or more) -------------------------------
    ("opioid + COWS 13 at 11 h", [patient(), oxy(), cows(13, hours=11)], {SEV, N}),
    # v3: a moderate COWS over 12 hours old is due to be scored again.
    ("opioid + COWS 13 at 13 h: re-score", [patient(), oxy(), cows(13, hours=13)], {W, N}),
    ("opioid + COWS 12 at 2 h", [patient(), oxy(), cows(12, hours=2)], {N}),
    ("opioid + COWS 25 at 2 h", [patient(), oxy(), cows(25, hours=2)], {SEV, N}),
    ("COWS 14 alone: a COWS implies suspected withdrawal", [patient(), cows(14, hours=2)], {SEV}),
    ("COWS 20 then 6: the latest decides", [patient(), oxy(), cows(20, hours=8), cows(6, hours=1)], {N}),
    # v3: methadone ordered with no OUD on record is for pain (an outpatient opioid with withdrawal).
    ("COWS 14 on methadone for pain", [patient(), med_request(METHADONE), cows(14, hours=3)], {SEV, N}),
    ("COWS 14 on methadone MOUD (a statement)", [patient(), med_statement(METHADONE), cows(14, hours=3)], {SEV}),
    ("COWS 30 after a buprenorphine start", [patient(), oud(),
        med_request(SUBOXONE, authored=ago(hours=20)), cows(30, hours=1)], {SEV, N, C, D}),
    ("COWS 14, 12 years old", [patient(birth="2013-05-01"), cows(14, hours=2)], {SEV}),
    ("COWS 14, 11 years old", [patient(birth="2014-01-01"), cows(14, hours=2)], set()),
    # --- OUD: current, corroborated, history --------------------------------------------------
    ("OUD (ICD-10) recorded 30 days ago", [patient(), oud()], DS),
    ("OUD (SNOMED)", [patient(), condition(OUD_SNOMED)], DS),
    ("OUD coded without the dot", [patient(), condition((ICD10, "F1120", "Opioid dependence"))], DS),
    ("OUD code newer than the expansion (F11.283)", [patient(), condition((ICD10, "F11.283", "x"))], DS),
    ("OUD written out, local code", [patient(), condition(None, text="Opioid use disorder, severe")], DS),
    ("OUD with no clinical status, recorded 30 days ago", [patient(), oud(clinical=None)], DS),
    ("narcotic drug user", [patient(), condition(NARCOTIC_USER)], DS),
    ("OUD recorded 364 days ago", [patient(), oud(days=364)], DS),
    ("OUD recorded 366 days ago: history", [patient(), oud(days=366)], {N}),
    ("OUD undated: history", [patient(), condition(OUD, recorded=None)], {N}),
    # v3: a prescription for pain no longer corroborates an old diagnosis: it is history.
    ("old OUD and a new opioid prescription: history", [patient(), oud(days=900), oxy()], {N}),
    ("old OUD corroborated by withdrawal", [patient(), oud(days=900), withdrawal_obs()], DS | {W}),
    ("OUD in remission (F11.21)", [patient(), condition(OUD_REMISSION)], {N}),
    ("OUD in remission (SNOMED)", [patient(), condition(OUD_REMISSION_SNOMED)], {N}),
    ("OUD in remission, written out", [patient(), condition(None, text="Opioid use disorder, in remission")], {N}),
    ("OUD resolved", [patient(), oud(clinical="resolved")], {N}),
    ("on agonist therapy", [patient(), condition(AGONIST_THERAPY)], {N}),
    ("OUD and on agonist therapy: on MOUD elsewhere", [patient(), oud(), condition(AGONIST_THERAPY)], {N, C, D}),
    ("OUD with withdrawal (F11.23), no opioid order", [patient(),
        condition(OPIOID_WITHDRAWAL, recorded=ago(hours=5))], DS | {W}),
    ("17 years old with OUD", [patient(birth="2008-06-02"), oud()], DS),
    ("exactly 18 today with OUD", [patient(birth="2007-06-01"), oud()], DS),
    ("exactly 12 today with OUD", [patient(birth="2013-06-01"), oud()], DS),
    # --- unprescribed opioid (urine drug tests) -------------------------------------------------
    ("fentanyl test positive, nothing prescribed", [patient(), uds(FENTANYL_UDS)], DS),
    ("fentanyl test positive 89 days ago", [patient(), uds(FENTANYL_UDS, days=89)], DS),
    ("fentanyl test positive 91 days ago", [patient(), uds(FENTANYL_UDS, days=91)], set()),
    ("fentanyl test positive, fentanyl patch prescribed", [patient(), uds(FENTANYL_UDS),
        med_request(FENTANYL_PATCH, authored=ago(days=30))], set()),
    ("fentanyl test positive, fentanyl patch 100 days before it", [patient(), uds(FENTANYL_UDS, days=5),
        med_request(FENTANYL_PATCH, status="completed", authored=ago(days=105))], DS),
    ("fentanyl test positive, oxycodone prescribed", [patient(), uds(FENTANYL_UDS), oxy(authored=ago(days=20))],
        DS),
    ("heroin (6-MAM) test positive, oxycodone prescribed", [patient(), uds(HEROIN_UDS),
        oxy(authored=ago(days=20))], DS),
    ("6-MAM cutoff code is not a result", [patient(), uds(HEROIN_UDS_CUTOFF)], set()),
    ("oxycodone test positive, oxycodone prescribed", [patient(), uds(OXYCODONE_UDS),
        oxy(authored=ago(days=20))], set()),
    ("oxycodone test positive, hydrocodone prescribed", [patient(), uds(OXYCODONE_UDS),
        med_request(HYDROCODONE, authored=ago(days=20))], DS),
    ("opiates test positive, hydrocodone prescribed", [patient(), uds(OPIATES_UDS),
        med_request(HYDROCODONE, authored=ago(days=20))], set()),
    ("opiates test positive, nothing prescribed", [patient(), uds(OPIATES_UDS)], DS),
    ("buprenorphine test positive (MOUD, not unprescribed)", [patient(), uds(BUPRENORPHINE_UDS)], set()),
    ("methadone test positive (MOUD, not unprescribed)", [patient(), uds(METHADONE_UDS)], set()),
    ("naltrexone test positive (an antagonist)", [patient(), uds(NALTREXONE_UDS)], set()),
    ("local fentanyl screen, detected", [patient(),
        observation(text="Fentanyl, urine screen", value_string="Detected", when=ago(days=2))], DS),
    # --- overdose -------------------------------------------------------------------------------
    ("fentanyl overdose T40.411A, nothing prescribed", [patient(), t40("T40.411A", "Poisoning by fentanyl")], DS),
    ("legacy T40.4X1A overdose, nothing prescribed", [patient(), t40("T40.4X1A", "Poisoning by other synthetic")],
        DS),
    ("heroin overdose T40.1X1A, oxycodone prescribed", [patient(), t40("T40.1X1A", "Poisoning by heroin"),
        oxy(authored=ago(days=40))], DS),
    ("accidental overdose on own opioid (T40.2X1A): explained", [patient(birth="1945-03-01"),
        t40("T40.2X1A", "Poisoning by other opioids, accidental"), oxy(authored=ago(days=40))], {N}),
    ("accidental opiate overdose (SNOMED), hydrocodone prescribed", [patient(), condition(OPIATE_OVERDOSE,
        recorded=ago(days=10)), med_request(HYDROCODONE, authored=ago(days=30))], {N}),
    ("heroin overdose (SNOMED)", [patient(), condition(HEROIN_OVERDOSE, recorded=ago(days=10))], DS),
    ("intentional overdose on own opioid (T40.2X2A)", [patient(), t40("T40.2X2A", "Poisoning by other opioids,"
        " intentional self-harm"), oxy(authored=ago(days=40))], {N, SUI}),
    ("opioid adverse effect (T40.2X5A) is not an overdose", [patient(), oxy(), t40("T40.2X5A", "Adverse effect")],
        set()),
    ("opioid underdosing (T40.2X6A) is not an overdose", [patient(), oxy(), t40("T40.2X6A", "Underdosing")], set()),
    ("cocaine poisoning (T40.5X1A) is not an opioid overdose", [patient(), t40("T40.5X1A", "Poisoning by cocaine")],
        set()),
    # v3: fentanyl, heroin and xylazine overdoses are read for the disorder signal for 365 days.
    ("unexplained fentanyl overdose 200 days ago", [patient(), t40("T40.411A", "x", days=200)], DS),
    ("unexplained other-opioid overdose 200 days ago: naloxone only", [patient(), t40("T40.2X1A", "x", days=200)],
     {N}),
    ("overdose 400 days ago", [patient(), t40("T40.411A", "x", days=400)], set()),
    # --- CDC recommendation 8 risks beside a prescribed opioid ----------------------------------
    ("opioid + benzodiazepine", [patient(), oxy(), med_request(ALPRAZOLAM)], {N}),
    ("opioid + dependent drug abuse (Synthea)", [patient(), oxy(), condition(DEPENDENT_DRUG_ABUSE)], {N}),
    ("opioid + overdose of any substance (Synthea)", [patient(), oxy(),
        condition(SYNTHEA_OVERDOSE, recorded=ago(days=100))], {N}),
    ("opioid + overdose of any substance 400 days ago", [patient(), oxy(),
        condition(SYNTHEA_OVERDOSE, recorded=ago(days=400))], set()),
    # --- kratom ---------------------------------------------------------------------------------
    ("kratom note alone: use without a disorder", [patient(), kratom_note()], set()),
    ("kratom in a note field + COWS 6", [patient(), observation(text="Social history", note="Buys kratom online",
        when=ago(days=5)), cows(6)], DS | {W}),
    ("kratom + COWS 6", [patient(), kratom_note(), cows(6)], DS | {W}),
    ("kratom + F19 withdrawal", [patient(), kratom_note(), f19()], DS | {W}),
    ("kratom + F19.20 dependence (kratom use disorder)", [patient(), kratom_note(), condition(F19_DEPENDENCE)], DS),
    ("kratom + F19.21 in remission", [patient(), kratom_note(), condition(F19_REMISSION)], set()),
    ("F19.10 without kratom", [patient(), condition(F19_ABUSE)], set()),
    ("kratom use disorder written out", [patient(), condition(None, text="Kratom use disorder, moderate")], DS),
    ("positive mitragynine test + F19.10", [patient(), uds(MITRAGYNINE_PRESENCE), condition(F19_ABUSE)], DS),
    ("7-OH product + COWS 7", [patient(), med_statement(text="7-OH tablets", effective=ago(days=5)), cows(7)],
        DS | {W}),
    # --- on MOUD --------------------------------------------------------------------------------
    ("OUD on Suboxone", [patient(), oud(), med_request(SUBOXONE)], {N, C, D}),
    ("OUD on methadone", [patient(), oud(), med_request(METHADONE)], {N, C, D}),
    ("OUD on Sublocade", [patient(), oud(), med_request(SUBLOCADE)], {N, C, D}),
    ("OUD on ER naltrexone", [patient(), oud(), med_request(NALTREXONE_ER)], {N, C, D}),
    ("OUD on BuTrans (pain, not MOUD)", [patient(), oud(), med_request(BUTRANS)], DS),
    ("OUD, methadone 91 days ago", [patient(), oud(), med_request(METHADONE, status="completed",
        authored=ago(days=91))], DS),
    ("OUD, open MOUD referral", [patient(), oud(),
        service_request(text="Referral to addiction medicine for buprenorphine", authored=ago(days=3))], {N, C, D}),
    ("OUD, revoked MOUD referral", [patient(), oud(), service_request(text="Referral for MOUD", status="revoked",
        authored=ago(days=3))], DS),
    # --- naloxone on hand -----------------------------------------------------------------------
    ("OUD with naloxone spray", [patient(), oud(), med_request(NALOXONE_SPRAY)], {M, C, D}),
    ("OUD with naloxone by text", [patient(), oud(), med_statement(text="Narcan 4 mg nasal spray")], {M, C, D}),
    ("OUD with pentazocine/naloxone", [patient(), oud(), med_request(PENTAZOCINE_NALOXONE)], DS),
    ("OUD with naloxone 2 years ago", [patient(), oud(), med_request(NALOXONE_SPRAY, status="completed",
        authored=ago(days=730))], DS),
    ("OUD history with naloxone", [patient(), condition(OUD_REMISSION), med_request(NALOXONE_SPRAY)], set()),
    # --- counseling -----------------------------------------------------------------------------
    ("OUD, counseling 89 days ago", [patient(), oud(), procedure(performed=ago(days=89))], {M, N, D}),
    ("OUD, counseling 91 days ago", [patient(), oud(), procedure(performed=ago(days=91))], DS),
    ("OUD, counseling not done", [patient(), oud(), procedure(status="not-done", performed=ago(days=5))], DS),
    ("OUD, open counseling order", [patient(), oud(), service_request(COUNSELING, status="draft")], {M, N, D}),
    # --- depression and suicide risk ------------------------------------------------------------
    ("OUD, PHQ-9 total 4", [patient(), oud(), phq(PHQ9, 4)], {M, N, C}),
    ("OUD, PHQ-2 total 1", [patient(), oud(), phq(PHQ2, 1)], {M, N, C}),
    ("OUD, PHQ-9 total 12 (depression)", [patient(), oud(), phq(PHQ9, 12)], {M, N, C}),
    ("OUD, PHQ-9 366 days ago", [patient(), oud(), phq(PHQ9, 4, days=366)], DS),
    ("OUD, major depression on record", [patient(), oud(), condition(MAJOR_DEPRESSION)], {M, N, C}),
    ("OUD, open PHQ-9 order", [patient(), oud(), service_request(text="PHQ-9 depression screen",
        authored=ago(days=2))], {M, N, C}),
    ("OUD, PHQ-9 item 9 'several days'", [patient(), oud(), item9(1)], DS | {SUI}),
    ("OUD, PHQ-9 item 9 'not at all'", [patient(), oud(), item9(0)], DS),
    ("OUD, PHQ-9 item 9 answered 31 days ago", [patient(), oud(), item9(2, days=31)], DS),
    ("OUD, suicide attempt 100 days ago", [patient(), oud(), condition(SUICIDE_ATTEMPT, recorded=ago(days=100))],
        DS | {SUI}),
    ("OUD, suicide attempt 400 days ago", [patient(), oud(), condition(SUICIDE_ATTEMPT, recorded=ago(days=400))],
        DS),
    ("opioid prescription, suicide attempt", [patient(), oxy(), condition(SUICIDE_ATTEMPT, recorded=ago(days=50))],
        {SUI}),
    ("OUD history, item 9 answered", [patient(), condition(OUD_REMISSION), item9(3)], {N, SUI}),
    ("OUD in pregnancy", [patient(birth="1995-01-01"), oud(), condition(PREGNANCY, recorded=ago(days=60))], DS),
    # --- order hooks: buprenorphine-start (v3: counseling is not an order-hook card) ---------------
    ("buprenorphine ordered, no COWS", [patient(), oud()], {BUP, N}, order(draft())),
    ("buprenorphine ordered, COWS 10 an hour ago", [patient(), oud(), cows(10, hours=1)], {N}, order(draft())),
    ("buprenorphine ordered, COWS 5 an hour ago", [patient(), oud(), cows(5, hours=1)], {BUP, N},
        order(draft())),
    ("buprenorphine ordered, COWS 10, fentanyl test 3 days ago", [patient(), oud(), cows(10, hours=1),
        uds(FENTANYL_UDS)], {BUP, N}, order(draft())),
    ("buprenorphine ordered, methadone last week", [patient(), oud(), cows(10, hours=1),
        med_request(METHADONE, status="completed", authored=ago(days=6))], {BUP, N}, order(draft())),
    # An open COWS order is the card's own suggestion accepted: it settles the card (design section 3).
    ("buprenorphine ordered, COWS ordered", [patient(), oud(), service_request(text="COWS q2h",
        authored=ago(hours=1))], {N}, order(draft())),
    ("buprenorphine pain product ordered", [patient(), oud()], {M, N}, order(draft(BUTRANS))),
    # v3: a patient on buprenorphine renewed, or switched to the monthly injection, is not starting.
    ("buprenorphine renewed", [patient(), oud(), med_request(SUBOXONE, authored=ago(days=10))], {N},
        order(draft())),
    ("buprenorphine switched to the injection", [patient(), oud(), med_request(SUBOXONE, authored=ago(days=25))],
        {N}, order(draft(SUBLOCADE))),
    ("buprenorphine last taken 20 days ago, ordered again: a start", [patient(), oud(),
        med_request(SUBOXONE, status="completed", authored=ago(days=20))], {BUP, N}, order(draft())),
    ("buprenorphine ordered at 15", [patient(birth="2010-01-01"), oud()], {N}, order(draft())),
    ("buprenorphine ordered at 16", [patient(birth="2009-01-01"), oud()], {BUP, N}, order(draft())),
    ("an antibiotic selected, buprenorphine drafted but not selected", [patient(), oud()], set(),
        order(draft(), ANTIBIOTIC_DRAFT, acted_on=(ANTIBIOTIC_DRAFT,))),
    ("buprenorphine on record at patient-view", [patient(), oud(), med_request(SUBOXONE, authored=ago(days=2))],
        {N, C, D}),
]


@pytest.mark.parametrize("row", SCENARIOS, ids=[row[0] for row in SCENARIOS])
def test_scenario(row):
    name, resources, expected, *inputs = row
    assert topics(*resources, **(inputs[0] if inputs else {})) == expected


def test_there_are_at_least_eighty_scenarios():
    assert len(SCENARIOS) >= 80


MODELS = {"Patient": Patient, "Condition": Condition, "Observation": Observation,
          "MedicationRequest": MedicationRequest, "MedicationStatement": MedicationStatement,
          "ServiceRequest": ServiceRequest, "Procedure": Procedure}
# Rows that are invalid on purpose: the engine must skip or refuse them.
INVALID_ON_PURPOSE = {"no birth date with OUD"}


@pytest.mark.parametrize("row", [r for r in SCENARIOS if r[0] not in INVALID_ON_PURPOSE], ids=lambda r: r[0])
def test_every_scenario_record_is_valid_fhir_r4(row):
    for resource in row[1]:
        MODELS[resource["resourceType"]].model_validate(resource)
