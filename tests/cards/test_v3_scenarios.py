"""Scenario suite for clinical rules v3 (design sections 4, 4.1, 4.2 and 9), written from the design.

One patient record per row, and exactly the topics v3 must raise for it at one moment of care
(chart = patient-view, order = order-select/sign with drafts, discharge = encounter-discharge).
Rows are grouped by the finding of design section 9 (and issue 19's table) they pin down, the
record that goes wrong in v2 beside the contrast that must still fire. Wording rows check only the
key words the design fixes. Every record is valid FHIR R4 (checked below); the patient is 45
unless a row says otherwise; "now" is chart.NOW; settings are the design's defaults.
"""

from __future__ import annotations

import importlib
import json
import re

import pytest

import cards
from cards import Inputs, Moment
from tests.cards.chart import (
    ALCOHOL_WITHDRAWAL,
    ALPRAZOLAM,
    BUP_SL,
    COCAINE_DEPENDENCE,
    COCAINE_REMISSION,
    COCAINE_UDS,
    CODEINE_TABLET,
    DRUG_WITHDRAWAL,
    DRUG_WITHDRAWAL_SIGNS,
    F19_WITHDRAWAL,
    FENTANYL_INJECTION,
    FENTANYL_PATCH,
    FENTANYL_UDS,
    GABAPENTIN_TEXT,
    HOSPICE,
    HYDROCODONE,
    ICD10,
    METHADONE,
    METHAMPHETAMINE_UDS,
    MITRAGYNINE_PRESENCE,
    MORPHINE_INJECTION,
    MORPHINE_TABLET,
    MORPHINE_UDS,
    NALMEFENE_TEXT,
    NALOXONE_AMPULE,
    NALOXONE_AUTOINJECTOR,
    NALOXONE_IM_SYRINGE,
    NALOXONE_SPRAY,
    NALOXONE_VIAL,
    NOW,
    OPIATES_UDS,
    OPIOID_INTOXICATION,
    OPIOID_INTOXICATION_ICD,
    OPIOID_USE,
    OUD,
    OUD_REMISSION,
    OXYCODONE,
    PID,
    POSITIVE,
    PREGABALIN_TEXT,
    PREGNANCY,
    RX_CATEGORY,
    SICKLE_CELL_CRISIS,
    SUBLOCADE,
    SUBOXONE,
    WITHDRAWAL_SYNDROME,
    XYLAZINE_OVERDOSE,
    XYLAZINE_UDS,
    YES_NO,
    administration,
    aged,
    ago,
    condition,
    cows,
    dispense,
    draft,
    evaluate,
    flowsheet,
    item9,
    lab,
    med_statement,
    patient,
    prescription,
    procedure,
    service_request,
    social_history,
    sows,
    t40,
    topics,
)

SEV, SUI, BUP, CONT = "withdrawal-severity", "suicide-risk", "buprenorphine-start", "moud-continuation"
W, M, N, C, D = "withdrawal-assessment", "moud-referral", "naloxone", "counseling", "depression-screen"
DS = {M, N, C, D}  # a disorder signal at patient-view or encounter-discharge, nothing else on record
CHART: dict = {}
DISCHARGE = {"moment": Moment.DISCHARGE}


def order(*drafts, acted_on=None):
    return {"moment": Moment.ORDER, "drafts": drafts, "acted_on": drafts if acted_on is None else acted_on}


def discharge(*drafts):
    return {"moment": Moment.DISCHARGE, "drafts": drafts, "acted_on": ()}


# --- building blocks ------------------------------------------------------------------------------

def oxy_out(**kw):
    """An outpatient oxycodone prescription (a taper: the patient goes home with it)."""
    return prescription(OXYCODONE, category="outpatient", dispense=True, authored=kw.pop("authored", ago(days=10)),
                        **kw)


def oxy_in(**kw):
    """An inpatient oxycodone order: given in hospital, not taken home."""
    return prescription(OXYCODONE, category="inpatient", authored=kw.pop("authored", ago(days=2)), **kw)


def morphine_in():
    return prescription(MORPHINE_INJECTION, category="inpatient", authored=ago(days=3))


def oud(days: float = 30, **kw):
    return condition(OUD, recorded=ago(days=days), **kw)


def heroin_overdose(days: float = 1):
    return t40("T40.1X1A", "Poisoning by heroin, accidental (unintentional), initial encounter", days=days)


def withdrawal_now():
    """Withdrawal with no COWS in the last 24 hours: COWS 9, 30 hours ago."""
    return cows(9, hours=30)


def naloxone_home(code=NALOXONE_SPRAY, **kw):
    return prescription(code, category="outpatient", dispense=True, authored=ago(days=30), **kw)


def bup_out(**kw):
    """A stable patient's outpatient buprenorphine prescription (active: taken today)."""
    return prescription(SUBOXONE, category="outpatient", dispense=True, authored=kw.pop("authored", ago(days=20)),
                        **kw)


def moud_referral(hours: float = 2):
    return service_request(text="Referral to addiction medicine for buprenorphine", authored=ago(hours=hours))


def ed_start(hours: float = 10):
    """Buprenorphine first given in the ED ``hours`` ago."""
    return administration(BUP_SL, when=ago(hours=hours))


def bup_draft(code=SUBOXONE, id="d1", **kw):
    """A buprenorphine order being written (draft)."""
    return prescription(code, status="draft", intent="proposal", id=id, **kw)


# (name, resources, expected topics[, engine inputs])
SCENARIOS = [
    # --- a hospital dose of naloxone is not naloxone on hand (section 9; issue table row 1) -----------
    ("heroin overdose yesterday, IV naloxone given in the ED",
        [patient(), heroin_overdose(), administration(NALOXONE_VIAL, when=ago(days=1))], DS),
    ("heroin overdose yesterday, IV naloxone given in the ED, at discharge",
        [patient(), heroin_overdose(), administration(NALOXONE_VIAL, when=ago(days=1))], DS, DISCHARGE),
    ("heroin overdose, naloxone nasal spray given by EMS (administration)",
        [patient(), heroin_overdose(), administration(NALOXONE_SPRAY, when=ago(days=1))], DS),
    ("heroin overdose, inpatient PRN naloxone order",
        [patient(), heroin_overdose(), prescription(NALOXONE_VIAL, category="inpatient", authored=ago(days=1))], DS),
    ("heroin overdose, inpatient order of naloxone nasal spray",
        [patient(), heroin_overdose(), prescription(NALOXONE_SPRAY, category="inpatient", authored=ago(days=1))],
        DS),
    ("heroin overdose, naloxone nasal spray prescribed for discharge",
        [patient(), heroin_overdose(), prescription(NALOXONE_SPRAY, category="discharge", dispense=True,
                                                     authored=ago(hours=3))], {M, C, D}),
    # --- naloxone on hand: rescue products in outpatient records only ----------------------------------
    ("OUD, naloxone nasal spray outpatient request", [patient(), oud(), naloxone_home()], {M, C, D}),
    ("OUD, naloxone nasal spray community request", [patient(), oud(),
        prescription(NALOXONE_SPRAY, category="community", authored=ago(days=30))], {M, C, D}),
    ("OUD, naloxone nasal spray dispensed 100 days ago", [patient(), oud(),
        dispense(NALOXONE_SPRAY, when=ago(days=100))], {M, C, D}),
    ("OUD, naloxone nasal spray statement", [patient(), oud(), med_statement(NALOXONE_SPRAY,
        effective=ago(days=60))], {M, C, D}),
    ("OUD, naloxone auto-injector prescribed", [patient(), oud(), naloxone_home(NALOXONE_AUTOINJECTOR)], {M, C, D}),
    ("OUD, naloxone IM prefilled syringe (Zimhi) prescribed", [patient(), oud(), naloxone_home(NALOXONE_IM_SYRINGE)],
        {M, C, D}),
    ("OUD, nalmefene nasal spray (Opvee) by name", [patient(), oud(), med_statement(NALMEFENE_TEXT,
        effective=ago(days=20))], {M, C, D}),
    ("OUD, naloxone vial on an outpatient request", [patient(), oud(), naloxone_home(NALOXONE_VIAL)], DS),
    ("OUD, naloxone ampule on an outpatient request", [patient(), oud(), naloxone_home(NALOXONE_AMPULE)], DS),
    ("OUD, naloxone injectable solution dispensed", [patient(), oud(), dispense(NALOXONE_VIAL, when=ago(days=5))],
        DS),
    ("OUD, naloxone nasal spray administered in hospital", [patient(), oud(),
        administration(NALOXONE_SPRAY, when=ago(days=3))], DS),
    ("OUD, naloxone nasal spray on an inpatient order", [patient(), oud(),
        prescription(NALOXONE_SPRAY, category="inpatient", authored=ago(days=3))], DS),
    ("OUD, naloxone nasal spray dispensed 400 days ago", [patient(), oud(),
        dispense(NALOXONE_SPRAY, when=ago(days=400))], DS),
    ("OUD, entered-in-error naloxone dispense", [patient(), oud(),
        dispense(NALOXONE_SPRAY, status="entered-in-error")], DS),
    ("OUD, buprenorphine/naloxone is MOUD, not rescue", [patient(), oud(), bup_out()], {N, C, D}),
    ("OUD, naloxone nasal spray being ordered", [patient(), oud()], {M}, order(draft(NALOXONE_SPRAY))),
    ("OUD, naloxone vial being ordered for the ward", [patient(), oud()], {M, N},
        order(prescription(NALOXONE_VIAL, category="inpatient", status="draft", intent="proposal", id="d1"))),
    # --- buprenorphine renewals and switches (section 9; issue table row 2) ----------------------------
    ("stable on buprenorphine, renewal being signed", [patient(), oud(days=200), bup_out(), naloxone_home()],
        set(), order(bup_draft())),
    ("stable on buprenorphine, switch to Sublocade being signed", [patient(), oud(days=200), bup_out(),
        naloxone_home()], set(), order(bup_draft(SUBLOCADE, category="outpatient"))),
    ("on buprenorphine known from a fill 10 days ago, switch to Sublocade", [patient(), oud(days=200),
        dispense(SUBOXONE, when=ago(days=10)), naloxone_home()], set(), order(bup_draft(SUBLOCADE))),
    ("on buprenorphine by statement, renewal", [patient(), oud(days=200),
        med_statement(SUBOXONE, effective=ago(days=3)), naloxone_home()], set(), order(bup_draft())),
    ("on buprenorphine, given on the ward yesterday, renewal", [patient(), oud(days=200),
        administration(BUP_SL, when=ago(days=1)), dispense(SUBOXONE, when=ago(days=12)), naloxone_home()], set(),
        order(bup_draft(BUP_SL, category="inpatient"))),
    ("a new start: OUD, no buprenorphine before", [patient(), oud()], {BUP, N}, order(bup_draft())),
    ("a new start: last buprenorphine 40 days ago", [patient(), oud(), prescription(SUBOXONE, status="completed",
        category="outpatient", authored=ago(days=40))], {BUP, N}, order(bup_draft())),
    # --- an opioid given in care explains a matching test for 7 days (issue table row 3) --------------
    ("sickle cell crisis, fentanyl in the ED, then a fentanyl-positive screen", [patient(),
        condition(SICKLE_CELL_CRISIS, recorded=ago(days=2)), administration(FENTANYL_INJECTION, when=ago(days=2)),
        lab(FENTANYL_UDS, when=ago(days=1))], set()),
    ("sickle cell crisis, fentanyl in the ED, fentanyl screen, at discharge", [patient(),
        condition(SICKLE_CELL_CRISIS, recorded=ago(days=2)), administration(FENTANYL_INJECTION, when=ago(days=2)),
        lab(FENTANYL_UDS, when=ago(days=1))], set(), DISCHARGE),
    ("fentanyl given 9 days before the screen: unexplained", [patient(),
        administration(FENTANYL_INJECTION, when=ago(days=10)), lab(FENTANYL_UDS, when=ago(days=1))], DS),
    ("morphine given in the ED does not explain a fentanyl screen", [patient(),
        administration(MORPHINE_INJECTION, when=ago(days=2)), lab(FENTANYL_UDS, when=ago(days=1))], DS),
    ("morphine given 3 days before a morphine screen", [patient(),
        administration(MORPHINE_INJECTION, when=ago(days=4)), lab(MORPHINE_UDS, when=ago(days=1))], set()),
    ("active fentanyl patch prescribed 400 days ago, fentanyl-positive screen", [patient(),
        prescription(FENTANYL_PATCH, authored=ago(days=400)), lab(FENTANYL_UDS, when=ago(days=2))], set()),
    # --- kratom mentions that are not use (section 9; issue table row 4) ------------------------------
    ("oxycodone taper, withdrawal", [patient(), oxy_out(), withdrawal_now()], {W, N}),
    ("oxycodone taper, withdrawal, 'Mother uses kratom'", [patient(), oxy_out(), withdrawal_now(),
        social_history("Mother uses kratom")], {W, N}),
    ("oxycodone taper, withdrawal, 'Used kratom 5 years ago'", [patient(), oxy_out(), withdrawal_now(),
        social_history("Used kratom 5 years ago")], {W, N}),
    ("oxycodone taper, withdrawal, 'Asked about kratom'", [patient(), oxy_out(), withdrawal_now(),
        social_history("Asked about kratom")], {W, N}),
    ("oxycodone taper, withdrawal, 'Kratom-free'", [patient(), oxy_out(), withdrawal_now(),
        social_history("Kratom-free")], {W, N}),
    ("oxycodone taper, withdrawal, mitragynine NEG", [patient(), oxy_out(), withdrawal_now(),
        lab(MITRAGYNINE_PRESENCE, "NEG", when=ago(days=2))], {W, N}),
    ("oxycodone taper, withdrawal, mitragynine test pending", [patient(), oxy_out(), withdrawal_now(),
        lab(MITRAGYNINE_PRESENCE, "pending", when=ago(days=1))], {W, N}),
    ("inpatient oxycodone wean, withdrawal, 'Mother uses kratom': no naloxone", [patient(), oxy_in(),
        withdrawal_now(), social_history("Mother uses kratom")], {W}),
    ("oxycodone taper, withdrawal, 'Uses kratom daily': kratom path", [patient(), oxy_out(), withdrawal_now(),
        social_history("Uses kratom daily")], {W} | DS),
    ("oxycodone taper, withdrawal, mitragynine positive: kratom path", [patient(), oxy_out(), withdrawal_now(),
        lab(MITRAGYNINE_PRESENCE, when=ago(days=2))], {W} | DS),
    # --- flowsheet rows that are not withdrawal (section 9; issue table row 5) ------------------------
    ("flowsheet 'Opioid withdrawal risk: Low'", [patient(), oxy_out(),
        flowsheet("Opioid withdrawal risk", value_string="Low")], set()),
    ("flowsheet 'Opioid withdrawal', coded No", [patient(), oxy_out(),
        flowsheet("Opioid withdrawal", value_code=(YES_NO, "N", "No"))], set()),
    ("flowsheet 'Opioid withdrawal: N'", [patient(), oxy_out(), flowsheet("Opioid withdrawal", value_string="N")],
        set()),
    ("flowsheet 'At risk for opioid withdrawal'", [patient(), oxy_out(), flowsheet("At risk for opioid withdrawal")],
        set()),
    ("condition 'At risk for opioid withdrawal'", [patient(), oxy_out(),
        condition(None, text="At risk for opioid withdrawal", recorded=ago(hours=6))], set()),
    ("flowsheet 'Opioid withdrawal screen: Positive'", [patient(), oxy_out(),
        flowsheet("Opioid withdrawal screen", value_string="Positive")], set()),
    ("flowsheet 'Opioid withdrawal assessment' with no value", [patient(), oxy_out(),
        flowsheet("Opioid withdrawal assessment")], set()),
    ("flowsheet 'Opioid withdrawal: 3' (not a scale's score)", [patient(), oxy_out(),
        flowsheet("Opioid withdrawal") | {"valueQuantity": {"value": 3}}], set()),
    ("flowsheet 'Opioid withdrawal', coded Yes", [patient(), oxy_out(),
        flowsheet("Opioid withdrawal", value_code=(YES_NO, "Y", "Yes"))], {W, N}),
    ("flowsheet 'Opioid withdrawal', coded Positive", [patient(), oxy_out(),
        flowsheet("Opioid withdrawal", value_code=POSITIVE)], {W, N}),
    ("flowsheet 'Opioid withdrawal: present: yawning, tremor'", [patient(), oxy_out(),
        flowsheet("Opioid withdrawal", value_string="present: yawning, tremor")], {W, N}),
    ("flowsheet 'Opioid withdrawal: +'", [patient(), oxy_out(), flowsheet("Opioid withdrawal", value_string="+")],
        {W, N}),
    # --- methadone is MOUD only when the record says so (section 9; issue table row 6) ----------------
    ("methadone for pain with alprazolam", [patient(), prescription(METHADONE, category="outpatient", dispense=True,
        authored=ago(days=20)), prescription(ALPRAZOLAM, category="outpatient", authored=ago(days=20))], {N}),
    ("methadone for pain alone", [patient(), prescription(METHADONE, category="outpatient", dispense=True,
        authored=ago(days=20))], set()),
    ("methadone statement (MOUD) with alprazolam", [patient(), med_statement(METHADONE, effective=ago(days=2)),
        prescription(ALPRAZOLAM, category="outpatient", authored=ago(days=20))], set()),
    ("methadone for OUD (reasonCode F11.20) with alprazolam", [patient(), prescription(METHADONE,
        category="outpatient", reason=OUD, authored=ago(days=20)),
        prescription(ALPRAZOLAM, category="outpatient", authored=ago(days=20))], set()),
    ("methadone for OUD (reasonCode F11.21, OUD history) with alprazolam", [patient(), prescription(METHADONE,
        category="outpatient", reason=OUD_REMISSION, authored=ago(days=20)),
        prescription(ALPRAZOLAM, category="outpatient", authored=ago(days=20))], set()),
    ("methadone with OUD on record: on MOUD", [patient(), oud(), prescription(METHADONE, category="outpatient",
        authored=ago(days=20))], {N, C, D}),
    # --- opioids and benzodiazepines known only from pharmacy fills (issue table row 7) --------------
    ("oxycodone and alprazolam from pharmacy fills", [patient(), dispense(OXYCODONE), dispense(ALPRAZOLAM)], {N}),
    ("oxycodone and alprazolam fills in progress", [patient(), dispense(OXYCODONE, status="in-progress"),
        dispense(ALPRAZOLAM, status="in-progress")], {N}),
    ("oxycodone fill alone", [patient(), dispense(OXYCODONE)], set()),
    ("oxycodone filled 100 days ago, alprazolam 10 days ago", [patient(), dispense(OXYCODONE, when=ago(days=100)),
        dispense(ALPRAZOLAM)], set()),
    ("entered-in-error oxycodone fill, alprazolam fill", [patient(), dispense(OXYCODONE, status="entered-in-error"),
        dispense(ALPRAZOLAM)], set()),
    ("oxycodone given in hospital, alprazolam fill: no outpatient opioid", [patient(),
        administration(OXYCODONE, when=ago(days=2)), dispense(ALPRAZOLAM)], set()),
    # --- recorded opioid use without a disorder code (section 9; issue table row 8) -------------------
    ("F11.90 'Injects heroin daily', no prescription", [patient(),
        condition(OPIOID_USE, text="Injects heroin daily", recorded=ago(days=5))], DS),
    ("ED opioid intoxication (F11.920), no prescription", [patient(),
        condition(OPIOID_INTOXICATION_ICD, recorded=ago(days=1))], DS),
    ("ED opioid intoxication (SNOMED), no prescription", [patient(),
        condition(OPIOID_INTOXICATION, recorded=ago(days=1))], DS),
    ("F11.90 with oxycodone prescribed before it: a naloxone risk only", [patient(), oxy_out(authored=ago(days=40)),
        condition(OPIOID_USE, recorded=ago(days=5))], {N}),
    ("F11.90 recorded 100 days ago", [patient(), condition(OPIOID_USE, recorded=ago(days=100))], set()),
    ("provisional F11.90", [patient(), condition(OPIOID_USE, verification="provisional", recorded=ago(days=5))],
        set()),
    # --- the bridge after a buprenorphine start (issue table row 9; moud-continuation's rules) --------
    ("buprenorphine first given in the ED, discharged without a prescription", [patient(),
        condition(OUD, recorded=ago(hours=11)), ed_start()], {CONT, N, C, D}, DISCHARGE),
    ("buprenorphine first given in the ED, chart opened", [patient(), condition(OUD, recorded=ago(hours=11)),
        ed_start()], {N, C, D}),
    ("buprenorphine first given in the ED, only that on record", [patient(), ed_start()], {CONT}, DISCHARGE),
    ("buprenorphine first given 71 hours ago", [patient(), ed_start(hours=71)], {CONT}, DISCHARGE),
    ("buprenorphine first given 73 hours ago", [patient(), ed_start(hours=73)], set(), DISCHARGE),
    ("buprenorphine first reported by statement yesterday", [patient(), med_statement(BUP_SL,
        effective=ago(hours=20))], {CONT}, DISCHARGE),
    ("ED dose today, but filled buprenorphine 20 days ago: not a start", [patient(),
        dispense(SUBOXONE, when=ago(days=20)), ed_start()], set(), DISCHARGE),
    ("ED start, outpatient buprenorphine prescription written", [patient(), ed_start(),
        bup_out(authored=ago(hours=5))], set(), DISCHARGE),
    ("ED start, discharge buprenorphine prescription written", [patient(), ed_start(),
        prescription(SUBOXONE, category="discharge", authored=ago(hours=5))], set(), DISCHARGE),
    ("ED start, community buprenorphine prescription written", [patient(), ed_start(),
        prescription(SUBOXONE, category="community", authored=ago(hours=5))], set(), DISCHARGE),
    ("ED start, uncategorised buprenorphine request with a dispenseRequest", [patient(), ed_start(),
        prescription(SUBOXONE, dispense=True, authored=ago(hours=5))], set(), DISCHARGE),
    ("ED start, uncategorised buprenorphine order with no dispenseRequest (a dose here)", [patient(), ed_start(),
        prescription(SUBOXONE, authored=ago(hours=5))], {CONT}, DISCHARGE),
    ("ED start, inpatient buprenorphine order", [patient(), ed_start(),
        prescription(BUP_SL, category="inpatient", authored=ago(hours=5))], {CONT}, DISCHARGE),
    ("ED start, bridge prescription being written at discharge", [patient(), ed_start()], set(),
        discharge(bup_draft(category="discharge"))),
    ("ED start, uncategorised bridge with a dispenseRequest being written at discharge", [patient(), ed_start()],
        set(), discharge(bup_draft(dispense=True))),
    ("ED start, in hospice", [patient(), ed_start(), procedure(HOSPICE, performed=ago(days=1))], set(), DISCHARGE),
    ("ED start, 15 years old", [aged(15), ed_start()], set(), DISCHARGE),
    ("ED start, 16 years old", [aged(16), ed_start()], {CONT}, DISCHARGE),
    ("ED start, MOUD referral already open", [patient(), ed_start(), moud_referral()], {CONT}, DISCHARGE),
    # --- adolescents (issue table row 10) ------------------------------------------------------------
    ("17-year-old with OUD in moderate withdrawal", [aged(17), oud(), cows(15, hours=2)], {SEV} | DS),
    ("17-year-old with OUD, buprenorphine being ordered", [aged(17), oud()], {BUP, N}, order(bup_draft())),
    ("16-year-old with OUD, buprenorphine being ordered", [aged(16), oud()], {BUP, N}, order(bup_draft())),
    ("15-year-old with OUD, buprenorphine being ordered", [aged(15), oud()], {N}, order(bup_draft())),
    ("13-year-old with OUD", [aged(13), oud()], DS),
    ("11-year-old with OUD", [aged(11), oud()], set()),
    # --- generic drug withdrawal in alcohol withdrawal (section 9) ------------------------------------
    ("inpatient opioid, alcohol withdrawal, 'Drug withdrawal'", [patient(), morphine_in(),
        condition(ALCOHOL_WITHDRAWAL, recorded=ago(hours=20)), condition(DRUG_WITHDRAWAL, recorded=ago(hours=6))],
        set()),
    ("inpatient opioid, alcohol withdrawal, 'Signs of drug withdrawal'", [patient(), morphine_in(),
        condition(ALCOHOL_WITHDRAWAL, recorded=ago(hours=20)), condition(DRUG_WITHDRAWAL_SIGNS,
                                                                         recorded=ago(hours=6))], set()),
    ("inpatient opioid, alcohol withdrawal, F19.230", [patient(), morphine_in(),
        condition(ALCOHOL_WITHDRAWAL, recorded=ago(hours=20)), condition(F19_WITHDRAWAL, recorded=ago(hours=6))],
        set()),
    ("inpatient opioid, alcohol withdrawal, row 'Withdrawal signs: present'", [patient(), morphine_in(),
        condition(ALCOHOL_WITHDRAWAL, recorded=ago(hours=20)), flowsheet("Withdrawal signs", value_string="present")],
        set()),
    ("inpatient opioid, alcohol withdrawal, opioid withdrawal syndrome named", [patient(), morphine_in(),
        condition(ALCOHOL_WITHDRAWAL, recorded=ago(hours=20)), condition(WITHDRAWAL_SYNDROME,
                                                                         recorded=ago(hours=6))], {W}),
    ("inpatient opioid, alcohol withdrawal 5 days ago, 'Drug withdrawal' now", [patient(), morphine_in(),
        condition(ALCOHOL_WITHDRAWAL, recorded=ago(days=5)), condition(DRUG_WITHDRAWAL, recorded=ago(hours=6))],
        {W}),
    ("outpatient opioid, alcohol withdrawal, 'Drug withdrawal': a naloxone risk only", [patient(), oxy_out(),
        condition(ALCOHOL_WITHDRAWAL, recorded=ago(hours=20)), condition(DRUG_WITHDRAWAL, recorded=ago(hours=6))],
        {N}),
    # --- a prescribed opioid no longer corroborates an old OUD (section 9) ----------------------------
    ("old F11.20, post-operative prescription", [patient(), oud(days=900),
        prescription(OXYCODONE, category="discharge", dispense=True, authored=ago(days=3))], {N}),
    ("old F11.20, fentanyl-positive screen corroborates", [patient(), oud(days=900), lab(FENTANYL_UDS)], DS),
    # --- a test is explained only by its own analyte (section 9) -------------------------------------
    ("morphine result in an oxycodone patient", [patient(), oxy_out(), lab(MORPHINE_UDS)], DS),
    ("morphine result on buprenorphine", [patient(), bup_out(), lab(MORPHINE_UDS)], {N, C, D}),
    ("morphine result, morphine prescribed", [patient(), prescription(MORPHINE_TABLET, category="outpatient",
        authored=ago(days=20)), lab(MORPHINE_UDS)], set()),
    ("morphine result, codeine prescribed", [patient(), prescription(CODEINE_TABLET, category="outpatient",
        authored=ago(days=20)), lab(MORPHINE_UDS)], set()),
    ("opiates screen, oxycodone prescribed", [patient(), oxy_out(), lab(OPIATES_UDS)], set()),
    ("opiates screen, hydrocodone filled", [patient(), dispense(HYDROCODONE, when=ago(days=15)), lab(OPIATES_UDS)],
        set()),
    ("morphine result, negative", [patient(), oxy_out(), lab(MORPHINE_UDS, "NEG")], set()),
    ("morphine result, pending", [patient(), oxy_out(), lab(MORPHINE_UDS, "pending")], set()),
    # --- xylazine (section 9) ------------------------------------------------------------------------
    ("xylazine-positive test", [patient(), lab(XYLAZINE_UDS)], DS),
    ("xylazine-positive test beside a fentanyl patch", [patient(), prescription(FENTANYL_PATCH,
        authored=ago(days=30)), lab(XYLAZINE_UDS)], DS),
    ("xylazine test negative", [patient(), lab(XYLAZINE_UDS, "NEG")], set()),
    ("xylazine overdose (T65.841A)", [patient(), condition(XYLAZINE_OVERDOSE, recorded=ago(days=3))], DS),
    # --- stimulant use (section 9) -------------------------------------------------------------------
    ("cocaine-positive test", [patient(), lab(COCAINE_UDS)], {N}),
    ("methamphetamine-positive test", [patient(), lab(METHAMPHETAMINE_UDS)], {N}),
    ("cocaine dependence", [patient(), condition(COCAINE_DEPENDENCE)], {N}),
    ("cocaine dependence in remission", [patient(), condition(COCAINE_REMISSION)], set()),
    ("cocaine test negative", [patient(), lab(COCAINE_UDS, "NEG")], set()),
    ("cocaine-positive test 100 days ago", [patient(), lab(COCAINE_UDS, when=ago(days=100))], set()),
    # --- gabapentinoids (section 9) ------------------------------------------------------------------
    ("outpatient opioid with gabapentin", [patient(), oxy_out(), prescription(GABAPENTIN_TEXT, category="outpatient",
        authored=ago(days=10))], {N}),
    ("outpatient opioid with pregabalin (statement)", [patient(), oxy_out(), med_statement(PREGABALIN_TEXT,
        effective=ago(days=10))], {N}),
    ("opioid and gabapentin fills", [patient(), dispense(OXYCODONE), dispense(GABAPENTIN_TEXT)], {N}),
    ("gabapentin alone", [patient(), prescription(GABAPENTIN_TEXT, category="outpatient", authored=ago(days=10))],
        set()),
    ("inpatient opioid with gabapentin", [patient(), oxy_in(), prescription(GABAPENTIN_TEXT, category="outpatient",
        authored=ago(days=10))], set()),
    ("outpatient opioid, gabapentin stopped 100 days ago", [patient(), oxy_out(), prescription(GABAPENTIN_TEXT,
        status="completed", category="outpatient", authored=ago(days=100))], set()),
    # --- withdrawal rules ----------------------------------------------------------------------------
    ("'r/o opioid withdrawal': the assessment only", [patient(), oxy_out(),
        condition(None, text="r/o opioid withdrawal", recorded=ago(hours=5))], {W}),
    ("'Possible opioid withdrawal' row: the assessment only", [patient(), oxy_out(),
        flowsheet("Possible opioid withdrawal")], {W}),
    ("provisional opioid withdrawal syndrome: the assessment only", [patient(), oxy_out(),
        condition(WITHDRAWAL_SYNDROME, verification="provisional", recorded=ago(hours=5))], {W}),
    ("differential opioid withdrawal syndrome: the assessment only", [patient(), oxy_out(),
        condition(WITHDRAWAL_SYNDROME, verification="differential", recorded=ago(hours=5))], {W}),
    ("suspected withdrawal just scored (COWS 3 two hours ago)", [patient(), oxy_out(),
        condition(None, text="r/o opioid withdrawal", recorded=ago(hours=5)), cows(3, hours=2)], set()),
    ("outpatient opioid, COWS 4", [patient(), oxy_out(), cows(4)], set()),
    ("outpatient opioid, COWS 5", [patient(), oxy_out(), cows(5)], {W, N}),
    ("outpatient opioid, SOWS 9", [patient(), oxy_out(), sows(9)], set()),
    ("outpatient opioid, SOWS 10", [patient(), oxy_out(), sows(10)], {W, N}),
    ("outpatient opioid, COWS 49 (out of range)", [patient(), oxy_out(), cows(49)], set()),
    ("outpatient opioid, SOWS 65 (out of range)", [patient(), oxy_out(), sows(65)], set()),
    ("outpatient opioid, COWS dated in the future", [patient(), oxy_out(), cows(9, hours=-3)], set()),
    # --- dependence only: naloxone needs an opioid the patient goes home with --------------------------
    ("inpatient oxycodone, withdrawal", [patient(), oxy_in(), withdrawal_now()], {W}),
    ("ICU morphine given, withdrawal", [patient(), administration(MORPHINE_INJECTION, when=ago(hours=40)),
        withdrawal_now()], {W}),
    ("discharge oxycodone, withdrawal", [patient(), prescription(OXYCODONE, category="discharge", dispense=True,
        authored=ago(days=1)), withdrawal_now()], {W, N}),
    ("community oxycodone, withdrawal", [patient(), prescription(OXYCODONE, category="community",
        authored=ago(days=10)), withdrawal_now()], {W, N}),
    ("uncategorised oxycodone, withdrawal", [patient(), prescription(OXYCODONE, authored=ago(days=10)),
        withdrawal_now()], {W, N}),
    ("oxycodone fill, withdrawal", [patient(), dispense(OXYCODONE), withdrawal_now()], {W, N}),
    # --- more withdrawal rows: questions, COWS not done, re-score --------------------------------------
    ("flowsheet 'Opioid withdrawal?': Yes", [patient(), oxy_out(), flowsheet("Opioid withdrawal?", value_string="Yes")],
        set()),
    ("outpatient opioid, COWS cancelled", [patient(), oxy_out(), cows(9, status="cancelled")], set()),
    ("outpatient opioid, COWS 14 thirteen hours ago: re-score", [patient(), oxy_out(), cows(14, hours=13)], {W, N}),
    ("outpatient opioid, COWS 12 thirteen hours ago: no re-score", [patient(), oxy_out(), cows(12, hours=13)], {N}),
    ("outpatient opioid, COWS 14 at 13 h, COWS order 2 hours old", [patient(), oxy_out(), cows(14, hours=13),
        service_request(text="COWS assessment q4h", authored=ago(hours=2))], {N}),
    ("outpatient opioid, withdrawal, COWS order 13 hours old and not done", [patient(), oxy_out(), withdrawal_now(),
        service_request(text="COWS assessment q4h", authored=ago(hours=13))], {W, N}),
]


@pytest.mark.parametrize("row", SCENARIOS, ids=[row[0] for row in SCENARIOS])
def test_scenario(row):
    name, resources, expected, *inputs = row
    assert topics(*resources, **(inputs[0] if inputs else {})) == expected


def test_scenario_names_are_unique():
    names = [row[0] for row in SCENARIOS]
    assert len(names) == len(set(names))


def _model(resource_type: str):
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


def _resources_of(row) -> list[dict]:
    inputs = row[3] if len(row) > 3 else {}
    return [*row[1], *inputs.get("drafts", ())]


@pytest.mark.parametrize("row", SCENARIOS, ids=[row[0] for row in SCENARIOS])
def test_every_scenario_record_is_valid_fhir_r4(row):
    for resource in _resources_of(row):
        _model(resource["resourceType"]).model_validate(resource)


# --- wording the design fixes (4.2) ---------------------------------------------------------------

def advice_of(topic: str, *resources, **kw) -> cards.Advice:
    for resource in [*resources, *kw.get("drafts", ())]:  # the wording rows' records are valid FHIR R4 too
        _model(resource["resourceType"]).model_validate(resource)
    found = [a for a in evaluate(*resources, **kw) if a.topic == topic]
    assert found, f"no {topic} card"
    return found[0]


def words(advice: cards.Advice) -> str:
    return f"{advice.summary}\n{advice.detail}".lower()


NO_DIAGNOSIS_PATHS = {
    "test (fentanyl screen)": [patient(), lab(FENTANYL_UDS)],
    "recorded use (F11.90 'Injects heroin daily')": [patient(), condition(OPIOID_USE, text="Injects heroin daily",
                                                                          recorded=ago(days=5))],
    "recorded use (ED opioid intoxication)": [patient(), condition(OPIOID_INTOXICATION_ICD, recorded=ago(days=1))],
    "overdose (heroin)": [patient(), heroin_overdose()],
}


@pytest.mark.parametrize("name", sorted(NO_DIAGNOSIS_PATHS))
def test_moud_card_without_a_diagnosis_says_assess(name):
    advice = advice_of(M, *NO_DIAGNOSIS_PATHS[name])
    assert "assess for opioid use disorder" in advice.summary.lower()
    assert not advice.summary.lower().startswith("opioid use disorder")
    assert "opioid use disorder," not in advice.summary.lower().replace("assess for opioid use disorder,", "")


def test_moud_card_on_a_test_names_the_unexplained_analyte():
    summary = advice_of(M, patient(), oxy_out(), lab(MORPHINE_UDS)).summary
    assert summary.lower().startswith("unexplained") and "morphine" in summary.lower()
    assert "urine" in summary.lower()


@pytest.mark.parametrize("name", sorted(NO_DIAGNOSIS_PATHS))
def test_no_card_calls_it_opioid_use_disorder_without_a_diagnosis(name):
    advised = evaluate(*NO_DIAGNOSIS_PATHS[name], moment=Moment.DISCHARGE)
    assert {M, N, C, D} <= {advice.topic for advice in advised}
    for advice in advised:
        text = re.sub(r"(assess for|medications? for) opioid use disorder", "", words(advice))
        assert "opioid use disorder" not in text, advice.topic


def test_moud_card_with_a_diagnosis_says_it():
    assert advice_of(M, patient(), oud()).summary.lower().startswith("opioid use disorder")


def test_moud_card_on_the_kratom_path():
    summary = advice_of(M, patient(), oxy_out(), withdrawal_now(), social_history("Uses kratom daily")).summary
    assert summary.lower().startswith("kratom use")


def test_adolescent_moud_card():
    text = words(advice_of(M, aged(17), oud(), cows(15, hours=2)))
    assert "adolescent" in text and "family" in text and "16" in text


def test_adult_moud_card_has_no_adolescent_variant():
    assert "adolescent" not in words(advice_of(M, patient(), oud()))


PREGNANT = (patient(birth="1995-01-01"), condition(PREGNANCY, recorded=ago(days=60)))


def test_pregnancy_variant_quotes_acog_711():
    text = words(advice_of(M, *PREGNANT, oud()))
    assert "acog committee opinion 711" in text
    assert "recommended over medically supervised withdrawal" in text
    assert "return to use" in text and "obstetrics" in text


def test_pregnancy_outranks_kratom_and_keeps_the_kratom_evidence():
    advice = advice_of(M, *PREGNANT, social_history("Uses kratom daily"), withdrawal_now())
    assert "acog committee opinion 711" in words(advice)
    assert "kratom" in advice.detail.lower()


def test_counseling_suggestion_says_substance_use_without_abuse():
    resource = advice_of(C, patient(), oud()).suggestions[0].resource
    assert resource["code"]["text"] == "Substance use counseling"
    assert {"system": "http://snomed.info/sct", "code": "313071005"}.items() <= resource["code"]["coding"][0].items()
    assert "abuse" not in json.dumps(resource).lower()


def test_severity_on_an_icu_wean_does_not_suggest_a_buprenorphine_start():
    record = [patient(), morphine_in(), administration(MORPHINE_INJECTION, when=ago(hours=20)), cows(16, hours=1)]
    assert topics(*record) == {SEV}
    text = words(advice_of(SEV, *record))
    assert not re.search(r"buprenorphine (?:start|initiation)|start(?:ing)? buprenorphine", text)
    assert "wean" in text or "resume" in text


def test_severity_on_methadone_says_continue_methadone():
    record = [patient(), oud(days=200), med_statement(METHADONE, effective=ago(days=2)), cows(18, hours=1)]
    text = words(advice_of(SEV, *record))
    assert "continue methadone" in text and "treatment program" in text
    assert "buprenorphine start" not in text


def test_severity_within_hours_of_the_first_dose_suggests_precipitated_withdrawal():
    text = words(advice_of(SEV, patient(), oud(), administration(BUP_SL, when=ago(hours=3)), cows(20, hours=1)))
    assert "precipitated withdrawal" in text


def test_severity_two_days_after_the_first_dose_does_not_say_precipitated():
    text = words(advice_of(SEV, patient(), oud(), administration(BUP_SL, when=ago(hours=50)),
                           administration(BUP_SL, when=ago(hours=26)), cows(20, hours=1)))
    assert "precipitated" not in text
    assert "too low" in text


def test_severity_with_a_disorder_signal_says_a_standard_start_can_begin():
    text = words(advice_of(SEV, patient(), oud(), cows(16, hours=1)))
    assert "buprenorphine" in text


def test_naloxone_xylazine_variant():
    text = words(advice_of(N, patient(), lab(XYLAZINE_UDS)))
    assert "xylazine" in text and "911" in text


def test_naloxone_evidence_names_the_risk_first():
    assert "risk: opioid with a benzodiazepine" in advice_of(N, patient(), dispense(OXYCODONE),
                                                            dispense(ALPRAZOLAM)).detail.lower()
    assert "risk: opioid use disorder" in advice_of(N, patient(), oud()).detail.lower()


def test_moud_continuation_wording_and_referral_suggestion():
    advice = advice_of(CONT, patient(), ed_start(), moment=Moment.DISCHARGE)
    assert advice.summary == "Buprenorphine started here: bridge to follow-up"
    assert advice.indicator == "warning"
    assert "naloxone" in advice.detail.lower()
    (suggestion,) = advice.suggestions
    assert suggestion.resource["resourceType"] == "ServiceRequest"
    assert suggestion.resource["status"] == "draft"
    assert suggestion.resource["subject"] == {"reference": f"Patient/{PID}"}


def test_moud_continuation_with_an_open_referral_drops_only_its_suggestion():
    advice = advice_of(CONT, patient(), ed_start(), moud_referral(), moment=Moment.DISCHARGE)
    assert advice.suggestions == ()


def test_moud_continuation_suggests_the_same_referral_as_moud_referral():
    referral = advice_of(M, patient(), oud()).suggestions[0].resource["code"]
    bridge = advice_of(CONT, patient(), ed_start(), moment=Moment.DISCHARGE).suggestions[0].resource["code"]
    assert bridge == referral


def test_buprenorphine_start_has_the_v3_override_reasons():
    advice = advice_of(BUP, patient(), oud(), **order(bup_draft()))
    displays = {reason.display for reason in advice.override_reasons}
    assert "Not a new start (continuing or switching buprenorphine)" in displays
    assert "Low- or high-dose initiation per protocol" in displays


def _response(*resources, moment=Moment.CHART):
    for resource in resources:
        _model(resource["resourceType"]).model_validate(resource)
    inputs = Inputs(patient_id=PID, moment=moment, user_ref="Practitioner/u1")
    return cards.compose(cards.evaluate(list(resources), inputs, NOW))


@pytest.mark.parametrize("record", [
    [patient(), oud()],
    [patient(), oxy_out(), withdrawal_now(), social_history("Uses kratom daily")],
    [patient(), heroin_overdose(), administration(NALOXONE_VIAL, when=ago(days=1))],
], ids=["oud", "kratom", "overdose"])
def test_nothing_is_said_twice_in_one_response(record):
    response = _response(*record)
    assert len(response) >= 3
    details = [advice.detail for advice in response]
    notes = {note.text for advice in response for note in advice.notes}
    for text in notes:
        assert sum(detail.count(text) for detail in details) == 1
    # The kratom note is the one note these records raise.
    assert bool(notes) == any("kratom" in str(resource) for resource in record)


def test_evidence_from_text_quotes_the_words():
    advice = advice_of(M, patient(), oxy_out(), withdrawal_now(), social_history("Buys kratom powder online daily"))
    assert "Buys kratom powder online daily" in advice.detail
    assert "Substance use history" not in advice.detail


def test_moud_card_after_an_overdose_cites_the_mortality_evidence():
    text = words(advice_of(M, patient(), heroin_overdose()))
    assert "one in twenty" in text
    assert "larochelle" in text or "weiner" in text or any(
        "larochelle" in link.label.lower() or "weiner" in link.label.lower()
        for link in advice_of(M, patient(), heroin_overdose()).links)


def test_moud_card_on_concentrated_7_oh():
    record = [patient(), med_statement(text="7-OH tablets", effective=ago(days=5)), cows(7, hours=30)]
    text = words(advice_of(M, *record))
    assert "7-oh" in text and "potent opioid" in text


def test_moud_card_with_a_benzodiazepine_says_do_not_withhold():
    text = words(advice_of(M, patient(), oud(), dispense(ALPRAZOLAM)))
    assert "withhold" in text and "benzodiazepine" in text


def test_buprenorphine_start_wording():
    advice = advice_of(BUP, patient(), oud(), **order(bup_draft()))
    text = words(advice)
    assert "pdmp" in text and "low-dose" in text
    assert "timing only" not in text
    # Never a dose in what the card advises (the evidence quotes the order's product, strength and all).
    advice_text = text.split("\n\n", 1)[1]
    assert not re.search(r"\b\d+(?:\.\d+)? ?mg\b", advice_text)


def test_dependence_only_assessment_wording_and_source():
    advice = advice_of(W, patient(), oxy_out(), withdrawal_now())
    text = words(advice)
    assert "physiological dependence" in text and "taper" in text
    assert "asam" not in f"{advice.source.label} {advice.source.url}".lower()


def test_kratom_assessment_says_cows_is_not_validated_for_kratom():
    text = words(advice_of(W, patient(), social_history("Uses kratom daily"), withdrawal_now()))
    assert "not validated" in text and "kratom" in text


def test_suspected_withdrawal_assessment_says_suspected():
    text = words(advice_of(W, patient(), oxy_out(), condition(None, text="r/o opioid withdrawal",
                                                                 recorded=ago(hours=5))))
    assert "suspected" in text


def test_re_score_assessment_says_score_again():
    text = words(advice_of(W, patient(), oxy_out(), cows(14, hours=13)))
    assert "again" in text or "re-score" in text


def test_naloxone_tolerance_variant_after_withdrawal_on_an_outpatient_opioid():
    text = words(advice_of(N, patient(), oxy_out(), withdrawal_now()))
    assert "previous dose" in text and "overdose" in text


def test_counseling_stimulant_variant():
    text = words(advice_of(C, patient(), oud(), lab(COCAINE_UDS)))
    assert "contingency management" in text


def test_depression_screen_sources_and_adolescent_wording():
    adult = advice_of(D, patient(), oud(), withdrawal_now())
    assert "uspstf" in f"{adult.source.label} {adult.source.url}".lower()
    assert "withdrawal is treated" in words(adult)
    assert "phq-a" in words(advice_of(D, aged(15), oud()))


def test_suicide_risk_wording_and_source():
    advice = advice_of(SUI, patient(), oud(), item9(1))
    assert "beside opioid use" in advice.summary.lower()
    assert "phq-9 item 9: several days" in advice.detail.lower() and "988" in words(advice)
    assert "joint commission" in f"{advice.source.label} {advice.source.url}".lower().replace("jointcommission",
                                                                                            "joint commission")
    history = advice_of(SUI, patient(), condition(OUD_REMISSION), item9(3))
    assert "beside a history of opioid use disorder" in history.summary.lower()


@pytest.mark.parametrize("row", SCENARIOS, ids=[row[0] for row in SCENARIOS])
def test_every_card_is_short_ordered_and_links_its_source_once(row):
    advised = evaluate(*row[1], **(row[3] if len(row) > 3 else {}))
    ranks = [("critical", "warning", "info").index(advice.indicator) for advice in advised]
    assert ranks == sorted(ranks)
    for advice in advised:
        assert len(advice.summary) < 140 and len(advice.detail) < 600, advice.topic
        assert advice.source.url not in {link.url for link in advice.links}, advice.topic


# --- the builders these scenarios use ------------------------------------------------------------

def test_aged_gives_the_age_at_now():
    for years in (11, 15, 16, 17, 45):
        birth = aged(years)["birthDate"]
        born = (int(birth[:4]), int(birth[5:7]), int(birth[8:10]))
        age = NOW.year - born[0] - ((NOW.month, NOW.day) < born[1:])
        assert age == years


def test_prescription_carries_category_dispense_request_and_reason():
    rx = prescription(SUBOXONE, category="discharge", dispense=True, reason=OUD, authored=ago(hours=5))
    assert rx["category"] == [{"coding": [{"system": RX_CATEGORY, "code": "discharge"}]}]
    assert rx["dispenseRequest"]["expectedSupplyDuration"]["code"] == "d"
    assert rx["reasonCode"][0]["coding"][0]["code"] == "F11.20"
    assert rx["medicationCodeableConcept"]["coding"][0]["code"] == SUBOXONE[1]
    plain = prescription(SUBOXONE)
    assert "category" not in plain and "dispenseRequest" not in plain and "reasonCode" not in plain
    _model("MedicationRequest").model_validate(rx)


def test_dispense_and_administration_are_dated_and_valid():
    fill = dispense(OXYCODONE, when=ago(days=3), status="in-progress")
    assert (fill["status"], fill["whenHandedOver"]) == ("in-progress", ago(days=3))
    dose = administration(BUP_SL, when=ago(hours=4))
    assert (dose["status"], dose["effectiveDateTime"]) == ("completed", ago(hours=4))
    assert dose["subject"] == fill["subject"] == {"reference": f"Patient/{PID}"}
    _model("MedicationDispense").model_validate(fill)
    _model("MedicationAdministration").model_validate(dose)


def test_social_history_flowsheet_and_lab_builders():
    sh = social_history("Mother uses kratom")
    assert sh["category"][0]["coding"][0]["code"] == "social-history" and sh["valueString"] == "Mother uses kratom"
    row = flowsheet("Opioid withdrawal", value_code=(YES_NO, "N", "No"))
    assert row["valueCodeableConcept"]["coding"][0] == {"system": YES_NO, "code": "N", "display": "No"}
    assert "valueString" not in row
    positive = lab(FENTANYL_UDS)
    assert positive["valueCodeableConcept"]["coding"][0]["code"] == "10828004"
    negative = lab(FENTANYL_UDS, "NEG")
    assert negative["valueString"] == "NEG" and "valueCodeableConcept" not in negative
    pending = lab(MITRAGYNINE_PRESENCE, "pending")
    assert pending["status"] == "registered" and not any(k.startswith("value") for k in pending)
    with pytest.raises(ValueError):
        lab(FENTANYL_UDS, "maybe")
    for resource in (sh, row, positive, negative, pending):
        _model("Observation").model_validate(resource)


def test_drafts_at_order_and_discharge_are_valid_and_drafts():
    for resource in (bup_draft(), bup_draft(SUBLOCADE, category="discharge", dispense=True)):
        assert resource["status"] == "draft"
        _model("MedicationRequest").model_validate(resource)


def test_icd10_system_is_the_one_the_rules_read():
    assert condition(OPIOID_USE)["code"]["coding"][0]["system"] == ICD10
