"""Which drug a urine test detects, an overdose names or a product contains, and which products
explain which results (design section 4.1, "unprescribed opioid" and "Unexplained overdose").

A positive test, or an overdose, is explained when a product whose analytes ``explains`` it was taken
or given in the window before it; the windows are the caller's (cards/evidence.py). Analytes are
plain strings: a drug's generic name ("morphine", "tramadol"), or a group: "fentanyl" (any
fentanyl-type drug), "heroin", "xylazine", "opiate" (the general opiate immunoassay; ICD-10-CM
T40.2X), "synthetic opioid" (T40.49-, T40.4X-) and "opioid" (a test or overdose the table cannot
place, or a product whose ingredient no source names).

Codes come from the curated tables cards/valuesets/derive.py writes (each states its rule in its
header): opioid-urine-tests.csv, opioid-product-analytes.csv, opioid-poisoning.csv; ICD-10-CM
overdose codes are read by pattern below. Records coded only locally are read by their text with the
same vocabulary (cards/valuesets/analyte_names.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from cards import terms
from cards import valuesets as vs
from cards.valuesets import analyte_names as names
from cards.valuesets.analyte_names import FENTANYL, HEROIN, OPIATE, OPIOID, SYNTHETIC_OPIOID, XYLAZINE

__all__ = [
    "ANY_OPIOID_ANALGESIC", "EXPLAINED_BY", "FENTANYL", "HEROIN", "INTENTS", "NOTHING", "ONLY_THEMSELVES", "OPIATE",
    "OPIOID", "OVERDOSE_ICD_CATEGORIES", "PRODUCT_ANALYTES", "SYNTHETIC_OPIOID", "TEST_ANALYTES", "XYLAZINE",
    "explained_by", "explaining_analytes", "explains", "overdose_analyte", "overdose_analyte_from_text",
    "overdose_analyte_of", "product_analytes", "product_analytes_from_text", "product_analytes_of", "test_analyte",
    "test_analyte_from_text", "test_analyte_of", "unplaced_tests",
]

# --- what explains what (design 4.1) -------------------------------------------------------------

NOTHING: frozenset[str] = frozenset()
# Marker: any opioid analgesic product explains it (buprenorphine and methadone excepted, below).
ANY_OPIOID_ANALGESIC: frozenset[str] = frozenset({"<any opioid analgesic>"})
_OXYCODONE_OR_OXYMORPHONE = frozenset({"oxycodone", "oxymorphone"})

# Test or overdose analyte -> the product analytes that explain it. An analyte not listed (tramadol,
# tapentadol, meperidine, methadone, buprenorphine, ...) is explained by a product of itself only.
EXPLAINED_BY: dict[str, frozenset[str]] = {
    FENTANYL: frozenset({FENTANYL}),
    HEROIN: NOTHING,
    XYLAZINE: NOTHING,
    "oxycodone": _OXYCODONE_OR_OXYMORPHONE,
    "oxymorphone": _OXYCODONE_OR_OXYMORPHONE,
    "morphine": frozenset({"morphine", "codeine"}),
    "codeine": frozenset({"codeine"}),
    "hydrocodone": frozenset({"hydrocodone"}),
    "hydromorphone": frozenset({"hydromorphone", "hydrocodone", "morphine"}),
    OPIATE: frozenset({"morphine", "codeine", "hydrocodone", "hydromorphone", "oxycodone", "oxymorphone"}),
    # T40.49- and the legacy T40.4X- "other synthetic narcotics".
    SYNTHETIC_OPIOID: frozenset({FENTANYL, "tramadol", "tapentadol", "meperidine"}),
    OPIOID: ANY_OPIOID_ANALGESIC,
}
# Buprenorphine and methadone never explain another opioid's test or overdose: not even one the
# table cannot place (a morphine result on buprenorphine is not explained by it).
ONLY_THEMSELVES = frozenset({"buprenorphine", "methadone"})

# How a card names an analyte in a sentence ("Unexplained opiates in a urine test"); the rest as is.
NAMED_IN_TEXT = {OPIATE: "opiates", SYNTHETIC_OPIOID: "a synthetic opioid", OPIOID: "an opioid"}

# --- codes ---------------------------------------------------------------------------------------

_TESTS = vs.load("opioid-urine-tests")
TEST_ANALYTES: dict[vs.Key, str] = {key: row["analyte"] for key, row in _TESTS.by_key.items()}
# Many products share one set of analytes: keep one frozenset of each.
_INTERNED: dict[str, frozenset[str]] = {}
PRODUCT_ANALYTES: dict[vs.Key, frozenset[str]] = {
    key: _INTERNED.setdefault(row["analytes"], frozenset(row["analytes"].split(";")))
    for key, row in vs.load("opioid-product-analytes").by_key.items()
}
_POISONINGS: dict[vs.Key, tuple[str, str]] = {
    key: (row["analyte"], row["intent"]) for key, row in vs.OPIOID_POISONING.by_key.items()}

# ICD-10-CM poisoning codes, read by pattern so codes newer than a value set count: the category
# names the drug, the 6th character the intent (1 accidental, 2 intentional self-harm, 3 assault,
# 4 undetermined; 5 adverse effect and 6 underdosing are not overdoses), the 7th the encounter.
# T40: CDC NCHS drug-overdose codes (clinical-content.md section 7); T40.2X is "other opioids" (the
# natural and semisynthetic opioids); T40.4X- is the pre-FY2024 code for synthetic narcotics,
# accepted at any date. T65.84- "Toxic effect of xylazine", T65.841-T65.844 with 7th character
# A, D or S: ICD-10-CM FY2026, effective 2025-10-01 (design sections 4.1 and 9;
# https://icdlist.com/icd-10/T65.84).
_ICD_ANALYTES: dict[str, str] = {
    "T40.0X": "opium", "T40.1X": HEROIN, "T40.2X": OPIATE, "T40.3X": "methadone", "T40.41": FENTANYL,
    "T40.42": "tramadol", "T40.49": SYNTHETIC_OPIOID, "T40.4X": SYNTHETIC_OPIOID, "T40.60": OPIOID,
    "T40.69": OPIOID, "T65.84": XYLAZINE,
}
INTENTS = {"1": "accidental", "2": "intentional", "3": "assault", "4": "undetermined"}
_ICD_OVERDOSE = re.compile(r"(T40\.(?:0X|1X|2X|3X|41|42|49|4X|60|69)|T65\.84)([1-4])[ADS]?")
# The ICD-10-CM categories overdose_analyte reads (a record index can skip every other code).
OVERDOSE_ICD_CATEGORIES = ("T40", "T65")

# --- text of records coded only locally ----------------------------------------------------------

_INTENT_WORDS = (
    (re.compile(r"\b(?:intentional|deliberate|suicid\w*|self[-\s]harm)\b", re.I), "intentional"),
    (re.compile(r"\b(?:assault|homicid\w*)\b", re.I), "assault"),
    (re.compile(r"\b(?:accidental|unintentional)\b", re.I), "accidental"),
)


def _brands() -> tuple[re.Pattern[str] | None, dict[str, frozenset[str]]]:
    """Brand names from the product table's displays ("... [Percocet]"), each with its analytes."""
    found: dict[str, frozenset[str]] = {}
    for key, row in vs.load("opioid-product-analytes").by_key.items():
        for brand in re.findall(r"\[([^\]]+)\]", row["display"]):
            found[brand.lower()] = found.get(brand.lower(), NOTHING) | PRODUCT_ANALYTES[key]
    if not found:
        return None, found
    words = "|".join(re.escape(brand) for brand in sorted(found, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.I), found


_BRAND_PATTERN, _BRAND_ANALYTES = _brands()

# --- functions -----------------------------------------------------------------------------------


def explained_by(analyte: str) -> frozenset[str]:
    """The product analytes that explain a test or overdose of ``analyte`` (NOTHING, or the marker
    ANY_OPIOID_ANALGESIC)."""
    return EXPLAINED_BY.get(analyte, frozenset({analyte}))


def explains(analyte: str, products: Iterable[str]) -> bool:
    """Whether a product of ``products`` (its analytes) explains a test or overdose of ``analyte``."""
    wanted = explained_by(analyte)
    if wanted is ANY_OPIOID_ANALGESIC:
        return any(product not in ONLY_THEMSELVES for product in products)
    return not wanted.isdisjoint(products)


def explaining_analytes(analyte: str, available: Iterable[str]) -> frozenset[str]:
    """The product analytes among ``available`` that explain ``analyte``: for a caller that indexes
    the record's products by analyte and asks, per test or overdose, only about those."""
    return frozenset(product for product in available if explains(analyte, (product,)))


def test_analyte(key: vs.Key) -> str | None:
    """The analyte of an opioid or xylazine urine test code, or None for any other code."""
    return TEST_ANALYTES.get(key)


def product_analytes(key: vs.Key) -> frozenset[str]:
    """The analytes an opioid product code produces; empty for a code that is not an opioid product."""
    return PRODUCT_ANALYTES.get(key, NOTHING)


def overdose_analyte(key: vs.Key) -> tuple[str, str] | None:
    """(analyte, intent) of an opioid or xylazine overdose code, or None for any other code."""
    if key in _POISONINGS:
        return _POISONINGS[key]
    if key[0] != vs.ICD10CM:
        return None
    match = _ICD_OVERDOSE.fullmatch(key[1])
    return (_ICD_ANALYTES[match.group(1)], INTENTS[match.group(2)]) if match else None


@lru_cache(maxsize=4096)
def test_analyte_from_text(text: str) -> str | None:
    """The analyte of a locally coded test ("Hydromorphone, urine screen"): None when the text does
    not say it is a drug test, names no opioid or xylazine, or names a test this table leaves out
    (buprenorphine, methadone, an antagonist)."""
    if not terms.DRUG_TEST.search(text) or names.ANTAGONIST_OR_NON_OPIOID.search(text):
        return None
    named = names.first_named(text)
    if named is not None:
        return None if named in ONLY_THEMSELVES else named
    return names.class_named(text)


@lru_cache(maxsize=4096)
def product_analytes_from_text(text: str) -> frozenset[str]:
    """The analytes a locally coded product names ("morphine sulfate 15 MG", "Percocet")."""
    found = set(names.named(text))
    if _BRAND_PATTERN is not None:
        for match in _BRAND_PATTERN.finditer(text):
            found |= _BRAND_ANALYTES[match.group(0).lower()]
    for analyte in list(found):
        found |= names.INGREDIENT_ALSO.get(analyte, NOTHING)
    return frozenset(found)


@lru_cache(maxsize=4096)
def overdose_analyte_from_text(text: str) -> tuple[str, str]:
    """(analyte, intent) of a text the caller already read as an overdose ("fentanyl overdose,
    accidental"): the first drug it names, else "opioid"; the intent it states, else undetermined."""
    analyte = names.first_named(text) or OPIOID
    intent = next((intent for pattern, intent in _INTENT_WORDS if pattern.search(text)), "undetermined")
    return analyte, intent


def test_analyte_of(keys: Iterable[vs.Key], text: str) -> str | None:
    """A test's analyte: its codes decide when one is in the table, else its text."""
    return next((analyte for key in keys if (analyte := TEST_ANALYTES.get(key))), None) or (
        test_analyte_from_text(text) if text else None)


def product_analytes_of(keys: Iterable[vs.Key], text: str) -> frozenset[str]:
    """A product's analytes: its codes decide when one is in the table, else its text."""
    found = [PRODUCT_ANALYTES[key] for key in keys if key in PRODUCT_ANALYTES]
    if found:
        return frozenset().union(*found)
    return product_analytes_from_text(text) if text else NOTHING


def overdose_analyte_of(keys: Iterable[vs.Key], text: str) -> tuple[str, str]:
    """An overdose's (analyte, intent), for a record the caller already reads as an overdose: its
    codes decide when one is an overdose code, else its text."""
    return next((found for key in keys if (found := overdose_analyte(key)) is not None), None) or (
        overdose_analyte_from_text(text))


def unplaced_tests() -> list[tuple[vs.Key, str]]:
    """The tests the table cannot place (analyte "opioid"), with their displays."""
    return [(key, _TESTS.display(key)) for key, analyte in TEST_ANALYTES.items() if analyte == OPIOID]
