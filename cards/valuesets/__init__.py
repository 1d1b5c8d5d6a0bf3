"""Value sets the rules use, loaded once from the CSV files beside this module.

Each CSV keeps its source in ``#`` header lines; the curated ones (moud-products, naloxone-rescue,
withdrawal-conditions) are written by ``derive.py`` and say which rule made them. Codes are keyed
by ``(system, code)`` after ``normalize`` so a lookup is one set membership test.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
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

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def display(self, key: Key) -> str:
        return self.displays.get(key, "")


@cache
def load(name: str) -> ValueSet:
    """One CSV from this directory (``name`` without ``.csv``)."""
    with open(HERE / f"{name}.csv", newline="", encoding="utf-8") as handle:
        rows = tuple(csv.DictReader(line for line in handle if not line.startswith("#")))
    keys: dict[Key, str] = {}
    for row in rows:
        key = normalize(row["system"], row["code"])
        if key is not None:
            keys[key] = row.get("display") or ""
    return ValueSet(name, frozenset(keys), keys, rows)


def union(name: str, *parts: ValueSet) -> ValueSet:
    displays: dict[Key, str] = {}
    for part in parts:
        for key, display in part.displays.items():
            displays[key] = displays.get(key) or display
    rows = tuple(row for part in parts for row in part.rows)
    return ValueSet(name, frozenset(displays), displays, rows)


def keep(name: str, source: ValueSet, column: str, value: str) -> ValueSet:
    rows = tuple(row for row in source.rows if row.get(column) == value)
    displays = {
        key: row.get("display") or ""
        for row in rows
        if (key := normalize(row["system"], row["code"])) is not None
    }
    return ValueSet(name, frozenset(displays), displays, rows)


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
OPIOID_WITHDRAWAL_CONDITIONS = keep(
    "opioid-withdrawal-conditions", WITHDRAWAL_CONDITIONS, "opioid", "yes"
)
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

# ICD-10-CM category F11 is "Opioid related disorders"; the design defines OUD as F11.* and the
# IG expansion lists only the codes current at its date, so any F11 code counts.
OUD_ICD10_PREFIX = "F11."


def is_oud_code(key: Key) -> bool:
    return key in OUD_CONDITIONS or (key[0] == ICD10CM and key[1].startswith(OUD_ICD10_PREFIX))
