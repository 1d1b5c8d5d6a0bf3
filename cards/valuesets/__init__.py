"""Value sets the rules use, loaded once from the CSV files beside this module.

Each CSV keeps its source in ``#`` header lines; the curated ones (moud-products, naloxone-rescue,
withdrawal-conditions) are written by ``derive.py`` and say which rule made them. Codes are keyed
by ``(system, code)`` after ``normalize`` so a lookup is one set membership test.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent

SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"

Key = tuple[str, str]

# EHRs exporting from C-CDA often name a code system by its HL7 OID instead of the FHIR URI
# (HL7 OID registry; e.g. the RxNorm CodeSystem resource's identifier is
# urn:oid:2.16.840.1.113883.6.88). Folding them costs one dict lookup per coding.
SYSTEM_ALIASES: dict[str, str] = {
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
}


def normalize(system: object, code: object) -> Key | None:
    """The lookup key for a coding, or None when it has no usable system and code."""
    if not isinstance(system, str) or not isinstance(code, str):
        return None
    system = SYSTEM_ALIASES.get(system, system)
    code = code.strip()
    if system == ICD10CM:
        # Billing feeds often drop the dot (F1123); the value sets keep it (F11.23).
        code = code.upper()
        if "." not in code and len(code) > 3:
            code = f"{code[:3]}.{code[3:]}"
    return (system, code)


@dataclass(frozen=True)
class ValueSet:
    name: str
    keys: frozenset[Key]
    displays: dict[Key, str]
    rows: tuple[dict[str, str], ...]
    by_key: dict[Key, dict[str, str]] = field(default_factory=dict, compare=False, repr=False)

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def display(self, key: Key) -> str:
        return self.displays.get(key, "")

    def column(self, key: Key, name: str) -> str:
        """The value of a column of the CSV (e.g. a test's class) for a code of this set."""
        return self.by_key.get(key, {}).get(name, "")


def _value_set(name: str, rows: tuple[dict[str, str], ...]) -> ValueSet:
    by_key: dict[Key, dict[str, str]] = {}
    for row in rows:
        key = normalize(row["system"], row["code"])
        if key is not None:
            by_key.setdefault(key, row)
    displays = {key: row.get("display") or "" for key, row in by_key.items()}
    return ValueSet(name, frozenset(by_key), displays, rows, by_key)


@cache
def load(name: str) -> ValueSet:
    """One CSV from this directory (``name`` without ``.csv``)."""
    with open(HERE / f"{name}.csv", newline="", encoding="utf-8") as handle:
        rows = tuple(csv.DictReader(line for line in handle if not line.startswith("#")))
    return _value_set(name, rows)


def union(name: str, *parts: ValueSet) -> ValueSet:
    # A display from any part: the AHRQ copies carry none, the IG's do.
    rows = [dict(row) for part in parts for row in part.rows]
    displays: dict[Key, str] = {}
    for row in rows:
        key = normalize(row["system"], row["code"])
        if key is not None:
            displays[key] = displays.get(key) or row.get("display") or ""
    for row in rows:
        key = normalize(row["system"], row["code"])
        if key is not None:
            row["display"] = displays[key]
    return _value_set(name, tuple(rows))


def keep(name: str, source: ValueSet, column: str, value: str) -> ValueSet:
    return where(name, source, lambda row: row.get(column) == value)


def where(name: str, source: ValueSet, test: Callable[[dict[str, str]], bool]) -> ValueSet:
    return _value_set(name, tuple(row for row in source.rows if test(row)))


# --- the sets the rules read ---------------------------------------------------------------------

OPIOID_INGREDIENTS = load("omtk-opioid-ingredients")

# "Opioid medication" (design section 4): the opioid analgesic value set, or any product of the
# opioid ingredients. The IG's ingredient-based product sets and the AHRQ VSAC opioid set add the
# injectables and cough/cold combinations the ambulatory set leaves out; ingredient codes match
# records coded at ingredient level.
OPIOID_MEDICATIONS = union(
    "opioid-medications",
    load("opioid-analgesics-with-ambulatory-misuse-potential"),
    load("synthetic-opioid-medications"),
    load("non-synthetic-opioid-medications"),
    load("buprenorphine-medications"),
    load("methadone-medications"),
    load("ahrq-opioid-pain-medications_2.16.840.1.113762.1.4.1032.34"),
    OPIOID_INGREDIENTS,
)
MOUD_PRODUCTS = load("moud-products")
NALOXONE_RESCUE = load("naloxone-rescue")

OUD_CONDITIONS = load("opioid-misuse-disorders")
WITHDRAWAL_CONDITIONS = load("withdrawal-conditions")
COWS_OBSERVABLES = keep("cows-observables", load("withdrawal-codes"), "code", "763699005")
MITRAGYNINE_TESTS = load("kratom-mitragynine-loinc")
COUNSELING = load("substance-misuse-behavioral-counseling")
END_OF_LIFE = union(
    "end-of-life",
    load("hospice-finding"),
    load("hospice-procedure"),
    load("hospice-disposition"),
    load("limited-life-expectancy-conditions"),
    load("therapies-indicating-end-of-life-care"),
)

# --- v2 (design section 4.1) ---------------------------------------------------------------------

# Use disorder now; and in remission or on agonist therapy (derive.py writes the rule into each).
OUD_CURRENT = load("oud-current")
OUD_HISTORY = load("oud-history")
AGONIST_THERAPY = keep("agonist-therapy", OUD_HISTORY, "kind", "agonist-therapy")
# Opioid poisoning and overdose concepts, each with its substance (v2), intent and analyte columns.
OPIOID_POISONING = load("opioid-poisoning")
# Opioid and xylazine urine tests, each with the analyte it detects (cards/analytes.py says what
# explains it) and v2's coarse class (EXPLAINED_BY in cards/evidence.py, until it reads analytes).
OPIOID_URINE_TESTS = load("opioid-urine-tests")

FENTANYL_MEDICATIONS = load("fentanyl-type-medications")
OXYCODONE_MEDICATIONS = load("oxycodone-medications")
METHADONE_MEDICATIONS = load("methadone-medications")
BUPRENORPHINE_MOUD = where("buprenorphine-moud", MOUD_PRODUCTS, lambda row: "buprenorphine" in row["display"].lower())
BENZODIAZEPINES = load("benzodiazepine-medications")

# VSAC sets, copied from the AHRQ Pain Management Summary (codes only: the source has no displays).
PREGNANCY = load("ahrq-cds-pregnancy_2.16.840.1.113762.1.4.1032.264")
MAJOR_DEPRESSION = load("ahrq-major-depression_2.16.840.1.113883.3.464.1003.105.12.1007")
SUICIDE_ATTEMPT = load("ahrq-suicide-attempt_2.16.840.1.113762.1.4.1032.102")
SUBSTANCE_USE_DISORDER = load("ahrq-substance-use-disorder_2.16.840.1.113883.3.464.1003.106.12.1004")

PHQ = load("phq-loinc")
PHQ2_TOTAL = keep("phq2-total", PHQ, "role", "phq2-total")
PHQ9_TOTAL = keep("phq9-total", PHQ, "role", "phq9-total")
PHQ9_ITEM9 = keep("phq9-item9", PHQ, "role", "phq9-item9")
PHQ_ANSWER_SCORES: dict[Key, int] = {key: int(row["score"]) for key, row in keep("phq-answers", PHQ, "role",
                                                                                 "answer").by_key.items()}

# ICD-10-CM codes the expansions may not list (they list the codes of their date): read by pattern.
# F11.1x abuse and F11.2x dependence are OUD, but for F11.11 / F11.21, "in remission".
_F11_CURRENT = re.compile(r"F11\.[12]")
_REMISSION = frozenset({"F11.11", "F11.21", "F19.11", "F19.21"})
# F19 "other (or unknown) psychoactive substance" abuse or dependence: where kratom use disorder
# is coded (clinical-content.md section 4).
_F19_DISORDER = re.compile(r"F19\.[12]")
# CDC NCHS drug-overdose ICD-10-CM list (clinical-content.md section 7): opioid poisoning, the 6th
# character the intent: 1 accidental, 2 intentional self-harm, 3 assault, 4 undetermined (5 adverse
# effect and 6 underdosing are not overdoses). T40.4X is the pre-FY2024 code for synthetic
# narcotics, accepted at any date.
_T40_OVERDOSE = re.compile(r"T40\.(0X|1X|2X|3X|41|42|49|4X|60|69)([1-4])[A-Z]?")
_T40_SUBSTANCE = {"1X": "heroin", "3X": "methadone", "41": "fentanyl"}
_T40_INTENT = {"1": "accidental", "2": "intentional", "3": "assault", "4": "undetermined"}


def is_oud_current(key: Key) -> bool:
    return key in OUD_CURRENT or (key[0] == ICD10CM and key[1] not in _REMISSION
                                  and _F11_CURRENT.match(key[1]) is not None)


def is_oud_history(key: Key) -> bool:
    return key in OUD_HISTORY or (key[0] == ICD10CM and key[1] in ("F11.11", "F11.21"))


def is_opioid_family(key: Key) -> bool:
    """A code of the IG's opioid-misuse-disorders set, or any ICD-10-CM F11 code."""
    return key in OUD_CONDITIONS or (key[0] == ICD10CM and key[1].startswith("F11"))


def is_other_substance_disorder(key: Key) -> bool:
    return key[0] == ICD10CM and key[1] not in _REMISSION and _F19_DISORDER.match(key[1]) is not None


def opioid_overdose(key: Key) -> tuple[str, str] | None:
    """(substance, intent) of an opioid poisoning or overdose code, or None for any other code."""
    if key in OPIOID_POISONING:
        return OPIOID_POISONING.column(key, "substance"), OPIOID_POISONING.column(key, "intent")
    if key[0] != ICD10CM:
        return None
    match = _T40_OVERDOSE.fullmatch(key[1])
    if match is None:
        return None
    return _T40_SUBSTANCE.get(match.group(1), "other"), _T40_INTENT[match.group(2)]


# --- v3 (design section 4.1) ---------------------------------------------------------------------
# Naloxone a person can use outside care (design 4.1 "naloxone on hand"): nasal spray, auto-injector,
# prefilled syringe (Zimhi; the 2 mL Luer-lock syringe is labelled IM too). Never a vial, cartridge,
# ampule, injection or injectable solution: those are given in hospital.
_TAKE_HOME_FORM = re.compile(r"\b(?:Nasal Spray|Auto-Injector|Prefilled Syringe)\b", re.I)
NALOXONE_TAKE_HOME = where("naloxone-take-home", NALOXONE_RESCUE, lambda row: _TAKE_HOME_FORM.search(row["display"]))
# Cocaine and amphetamine-type urine tests (the IG's sets): fentanyl now contaminates the stimulant
# supply, so a positive one is a naloxone indication (design 4.1 "stimulant use").
STIMULANT_TESTS = union("stimulant-tests", load("cocaine-urine-drug-screening-tests"),
                        load("amphetamine-urine-drug-screening-tests"))
# ICD-10-CM F14 cocaine and F15 other stimulant abuse (.1) or dependence (.2), not in remission.
_STIMULANT_DISORDER = re.compile(r"F1[45]\.[12]")
_STIMULANT_REMISSION = frozenset({"F14.11", "F14.21", "F15.11", "F15.21"})
# Opioid use without a use disorder (design 4.1 "nonmedical opioid use"): ICD-10-CM F11.90, F11.92-,
# F11.94- to F11.99 (not F11.93: withdrawal), and the IG's opioid-misuse-disorders concepts for opioid
# intoxication and opioid-induced states, which OUD-current, OUD-history, the poisonings and the
# withdrawal codes leave out (F11.9-, SNOMED 77721001 Opioid intoxication, 29733004 Mood disorder
# caused by opioid, ...).
_NONMEDICAL_F11 = re.compile(r"F11\.9(?:$|[0245-9])")


def is_stimulant_disorder(key: Key) -> bool:
    return key[0] == ICD10CM and key[1] not in _STIMULANT_REMISSION and _STIMULANT_DISORDER.match(key[1]) is not None


@cache
def _opioid_induced_states() -> frozenset[Key]:
    return frozenset(OUD_CONDITIONS.keys - OUD_CURRENT.keys - OUD_HISTORY.keys - OPIOID_POISONING.keys
                     - WITHDRAWAL_CONDITIONS.keys)


def is_nonmedical_opioid_use(key: Key) -> bool:
    if key[0] == ICD10CM:
        return _NONMEDICAL_F11.match(key[1]) is not None
    return key in _opioid_induced_states()


# Withdrawal codes that name an opioid (or buprenorphine); the rest (F19.x3, 840321001 "Signs of drug
# withdrawal", 363101005 "Drug withdrawal") name no substance and yield to an alcohol or sedative
# withdrawal diagnosis dated in the same hours (design 4.1 "withdrawal diagnosis").
OPIOID_WITHDRAWAL = where("opioid-withdrawal", WITHDRAWAL_CONDITIONS,
                          lambda row: re.search(r"\b(?:opioid|buprenorphine)\b", row["display"], re.I) is not None)
# ICD-10-CM F10 alcohol and F13 sedative, hypnotic or anxiolytic abuse, dependence or use "with
# withdrawal" (F10.13-, F10.23-, F10.93-, F13.13-, F13.23-, F13.93-).
_ALCOHOL_SEDATIVE_WITHDRAWAL = re.compile(r"F1[03]\.[129]3")


def is_alcohol_or_sedative_withdrawal(key: Key) -> bool:
    return key[0] == ICD10CM and _ALCOHOL_SEDATIVE_WITHDRAWAL.match(key[1]) is not None
