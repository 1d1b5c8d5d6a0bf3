"""Scenario suite: one patient record per row, the topics it must raise. Negatives first."""

from __future__ import annotations

import pytest

from tests.cards.chart import (
    ALL,
    AMOXICILLIN_TEXT,
    BELBUCA,
    BUP_SL,
    BUPRENEX,
    BUTRANS,
    COUNSELING,
    F19_WITHDRAWAL,
    HEART_RATE,
    HOSPICE,
    ICD10,
    METHADONE,
    MITRAGYNINE_MASS,
    MITRAGYNINE_PRESENCE,
    NALOXONE_SPRAY,
    NALTREXONE_ER,
    OPIOID_WITHDRAWAL,
    OUD,
    OUD_SNOMED,
    OXYCODONE,
    PENTAZOCINE_NALOXONE,
    SUBLOCADE,
    SUBOXONE,
    TERMINAL,
    TRAMADOL,
    WITHDRAWAL_SYNDROME,
    ago,
    condition,
    cows,
    med_request,
    med_statement,
    observation,
    patient,
    procedure,
    service_request,
    sows,
    topics,
)

W, M, C, N = "withdrawal-assessment", "moud-referral", "counseling", "naloxone"
OPIOID_WITHDRAWAL_SET = {W, C, N}  # opioid use + withdrawal below the MOUD line


def oxy(**kw):
    return med_request(OXYCODONE, **kw)


def f19(hours: float = 10, **kw):
    return condition(F19_WITHDRAWAL, recorded=ago(hours=hours), **kw)


def kratom_note(days: float = 10, text: str = "Uses kratom powder daily"):
    return observation(text="Substance use history", value_string=text, when=ago(days=days))


SCENARIOS = [
    # --- negatives: no card ---------------------------------------------------------------
    ("adult, empty record", [patient()], set()),
    ("opioid analgesic alone", [patient(), oxy()], set()),
    ("opioid analgesic with vital signs", [patient(), oxy(), observation(HEART_RATE, value=110)], set()),
    ("negative mitragynine test", [patient(), oxy(),
        observation(MITRAGYNINE_PRESENCE, value_string="Negative", when=ago(days=2))], set()),
    ("negative mitragynine test by interpretation", [patient(),
        observation(MITRAGYNINE_MASS, value=0, interpretation="NEG", when=ago(days=2))], set()),
    ("mitragynine quantity without interpretation or range", [patient(),
        observation(MITRAGYNINE_MASS, value=35, when=ago(days=2))], set()),
    ("entered-in-error OUD diagnosis", [patient(), condition(OUD, verification="entered-in-error")], set()),
    ("refuted OUD diagnosis", [patient(), condition(OUD, verification="refuted")], set()),
    ("resolved OUD diagnosis", [patient(), condition(OUD, clinical="resolved")], set()),
    ("two-year-old kratom note", [patient(), kratom_note(days=730)], set()),
    ("kratom note denied", [patient(), kratom_note(text="Denies kratom or other supplements")], set()),
    ("kratom inside another word", [patient(), kratom_note(text="akratomia screening normal")], set()),
    ("alcohol withdrawal with opioid", [patient(), oxy(),
        condition(None, text="Alcohol withdrawal", recorded=ago(hours=5))], set()),
    ("cancelled opioid + F19 withdrawal", [patient(), oxy(status="cancelled"), f19()], set()),
    ("entered-in-error opioid + COWS 6", [patient(), oxy(status="entered-in-error"), cows(6)], set()),
    ("opioid 91 days ago + F19 withdrawal", [patient(),
        oxy(status="completed", authored=ago(days=91)), f19()], set()),
    ("antibiotic + COWS 10", [patient(), med_request(AMOXICILLIN_TEXT), cows(10)], set()),
    ("opioid + COWS 4", [patient(), oxy(), cows(4)], set()),
    ("opioid + COWS 8 at 73 h", [patient(), oxy(), cows(8, hours=73)], set()),
    ("opioid + entered-in-error COWS 14", [patient(), oxy(), cows(14, status="entered-in-error")], set()),
    ("opioid + F19 withdrawal at 73 h", [patient(), oxy(), f19(hours=73)], set()),
    ("opioid + SOWS 9", [patient(), oxy(), sows(9)], set()),
    ("withdrawal observation says absent", [patient(), oxy(),
        observation(text="Opioid withdrawal signs", value_string="Not present")], set()),
    ("17 years old with OUD", [patient(birth="2008-06-02"), condition(OUD)], set()),
    ("deceased with OUD", [patient(deceasedBoolean=True), condition(OUD)], set()),
    ("deceased (date) with OUD", [patient(deceasedDateTime="2025-05-01"), condition(OUD)], set()),
    ("no birth date with OUD", [patient(birth=None), condition(OUD)], set()),
    ("OUD in hospice", [patient(), condition(OUD), procedure(HOSPICE, performed=ago(days=3))], set()),
    # --- OUD -----------------------------------------------------------------------------
    ("OUD (ICD-10) alone", [patient(), condition(OUD)], {M, C, N}),
    ("OUD (SNOMED) alone", [patient(), condition(OUD_SNOMED)], {M, C, N}),
    ("OUD coded without the dot", [patient(), condition((ICD10, "F1120", "Opioid dependence"))], {M, C, N}),
    ("OUD written out, local code", [patient(), condition(None, text="Opioid use disorder, severe")], {M, C, N}),
    ("OUD with no clinical status, recorded last month", [patient(),
        condition(OUD, clinical=None, recorded=ago(days=30))], {M, C, N}),
    ("exactly 18 today with OUD", [patient(birth="2007-06-01"), condition(OUD)], {M, C, N}),
    ("opioid withdrawal diagnosis is OUD", [patient(), condition(OPIOID_WITHDRAWAL, recorded=ago(days=30))], {M, C, N}),
    ("recent opioid withdrawal syndrome", [patient(),
        condition(WITHDRAWAL_SYNDROME, recorded=ago(hours=5))], ALL),
    # --- opioid use + withdrawal ---------------------------------------------------------
    ("opioid + COWS 5", [patient(), oxy(), cows(5)], OPIOID_WITHDRAWAL_SET),
    ("opioid + COWS 5 (SNOMED coded)", [patient(), oxy(), cows(5, coded=True)], OPIOID_WITHDRAWAL_SET),
    ("opioid + COWS 12", [patient(), oxy(), cows(12)], OPIOID_WITHDRAWAL_SET),
    ("opioid + COWS 13", [patient(), oxy(), cows(13)], ALL),
    ("opioid + COWS 8 at 71 h", [patient(), oxy(), cows(8, hours=71)], OPIOID_WITHDRAWAL_SET),
    ("opioid + COWS 8 within 24 h", [patient(), oxy(), cows(8, hours=10)], {C, N}),
    ("opioid + COWS 8 at 25 h", [patient(), oxy(), cows(8, hours=25)], OPIOID_WITHDRAWAL_SET),
    ("opioid + F19 withdrawal at 71 h", [patient(), oxy(), f19(hours=71)], ALL),
    ("opioid 89 days ago + F19 withdrawal", [patient(),
        oxy(status="completed", authored=ago(days=89)), f19()], ALL),
    ("undated active opioid + COWS 6", [patient(), oxy(authored=None), cows(6)], OPIOID_WITHDRAWAL_SET),
    ("tramadol statement + COWS 6", [patient(), med_statement(TRAMADOL, effective=ago(days=3)), cows(6)],
        OPIOID_WITHDRAWAL_SET),
    ("local opioid text + COWS 6", [patient(), med_request((None, None, "OXYCODONE 5MG TAB")), cows(6)],
        OPIOID_WITHDRAWAL_SET),
    ("opioid + SOWS 10", [patient(), oxy(), sows(10)], OPIOID_WITHDRAWAL_SET),
    ("opioid + withdrawal observation", [patient(), oxy(),
        observation(text="Opioid withdrawal signs", value_string="present")], OPIOID_WITHDRAWAL_SET),
    # --- kratom --------------------------------------------------------------------------
    ("kratom note alone", [patient(), kratom_note()], {C}),
    ("kratom in a note field", [patient(), observation(text="Social history", note="Buys kratom online",
        when=ago(days=5))], {C}),
    ("positive mitragynine test", [patient(),
        observation(MITRAGYNINE_PRESENCE, interpretation="POS", when=ago(days=5))], {C}),
    ("detected mitragynine (text result)", [patient(),
        observation(MITRAGYNINE_PRESENCE, value_string="Detected", when=ago(days=5))], {C}),
    ("7-hydroxymitragynine product", [patient(),
        med_statement(text="7-hydroxymitragynine tablets", effective=ago(days=5))], {C}),
    ("active kratom use disorder recorded 2 years ago", [patient(),
        condition((ICD10, "F19.20", "Other psychoactive substance dependence"), text="Kratom use disorder",
                  recorded=ago(days=730))], {C}),
    ("kratom + COWS 6", [patient(), kratom_note(), cows(6)], {W, C, N}),
    ("kratom + F19 withdrawal", [patient(), kratom_note(), f19()], ALL),
    # --- on MOUD / products ----------------------------------------------------------------
    ("OUD on Suboxone", [patient(), condition(OUD), med_request(SUBOXONE)], {C, N}),
    ("OUD on buprenorphine SL", [patient(), condition(OUD), med_request(BUP_SL)], {C, N}),
    ("OUD on Sublocade", [patient(), condition(OUD), med_request(SUBLOCADE)], {C, N}),
    ("OUD on methadone", [patient(), condition(OUD), med_request(METHADONE)], {C, N}),
    ("OUD on ER naltrexone", [patient(), condition(OUD), med_request(NALTREXONE_ER)], {C, N}),
    ("OUD on Vivitrol (text only)", [patient(), condition(OUD), med_request((None, None, "Vivitrol 380 mg"))], {C, N}),
    ("OUD on Belbuca (pain)", [patient(), condition(OUD), med_request(BELBUCA)], {M, C, N}),
    ("OUD on BuTrans (pain)", [patient(), condition(OUD), med_request(BUTRANS)], {M, C, N}),
    ("OUD on Buprenex (pain)", [patient(), condition(OUD), med_request(BUPRENEX)], {M, C, N}),
    ("OUD, methadone 91 days ago", [patient(), condition(OUD),
        med_request(METHADONE, status="completed", authored=ago(days=91))], {M, C, N}),
    # --- naloxone ------------------------------------------------------------------------
    ("OUD with naloxone spray", [patient(), condition(OUD), med_request(NALOXONE_SPRAY)], {M, C}),
    ("OUD with naloxone by text", [patient(), condition(OUD), med_statement(text="Narcan 4 mg nasal spray")], {M, C}),
    ("OUD with pentazocine/naloxone", [patient(), condition(OUD), med_request(PENTAZOCINE_NALOXONE)], {M, C, N}),
    ("OUD with naloxone 2 years ago", [patient(), condition(OUD),
        med_request(NALOXONE_SPRAY, status="completed", authored=ago(days=730))], {M, C, N}),
    # --- counseling, orders, end of life ---------------------------------------------------
    ("OUD, counseling 89 days ago", [patient(), condition(OUD), procedure(performed=ago(days=89))], {M, N}),
    ("OUD, counseling 91 days ago", [patient(), condition(OUD), procedure(performed=ago(days=91))], {M, C, N}),
    ("OUD, counseling not done", [patient(), condition(OUD),
        procedure(status="not-done", performed=ago(days=5))], {M, C, N}),
    ("OUD, open counseling order", [patient(), condition(OUD),
        service_request(COUNSELING, status="draft")], {M, N}),
    ("OUD, open MOUD referral", [patient(), condition(OUD),
        service_request(text="Referral to addiction medicine for buprenorphine", authored=ago(days=3))], {C, N}),
    ("OUD, revoked MOUD referral", [patient(), condition(OUD),
        service_request(text="Referral for MOUD", status="revoked", authored=ago(days=3))], {M, C, N}),
    ("opioid + COWS 6 + open COWS order", [patient(), oxy(), cows(6),
        service_request(text="COWS assessment q4h", authored=ago(hours=5))], {C, N}),
    ("opioid + COWS 6 + COWS order 4 days old", [patient(), oxy(), cows(6),
        service_request(text="COWS assessment q4h", authored=ago(days=4))], OPIOID_WITHDRAWAL_SET),
    ("opioid + COWS 6 in hospice", [patient(), oxy(), cows(6),
        condition(TERMINAL, recorded=ago(days=10))], {W}),
]


@pytest.mark.parametrize("resources, expected", [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
def test_scenario(resources, expected):
    assert topics(*resources) == expected


def test_there_are_at_least_forty_scenarios():
    assert len(SCENARIOS) >= 40
