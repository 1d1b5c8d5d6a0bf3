"""Words that identify things in records coded only locally (the text fallback of section 4).

Every pattern is a word match, so "kratom" never matches inside another word. Names of drugs come
from the value-set displays (OMTK ingredients; brand names in brackets in the RxNorm displays),
so a new product in a CSV needs no change here.
"""

from __future__ import annotations

import re
from functools import wraps
from typing import Callable, TypeVar

from cards.valuesets import BENZODIAZEPINES, MOUD_PRODUCTS, NALOXONE_RESCUE, OPIOID_INGREDIENTS

T = TypeVar("T")

I = re.IGNORECASE  # noqa: E741 - short on purpose: it ends dozens of patterns below


def _words(words: list[str]) -> str:
    return r"\b(?:" + "|".join(sorted({re.escape(w) for w in words}, key=len, reverse=True)) + r")\b"


def _brands(displays: list[str]) -> list[str]:
    return [m.group(1) for d in displays for m in re.finditer(r"\[([^\]]+)\]", d)]


# Kratom: the plant, its species name, and its two alkaloids ("7-OH" alone names the second on
# product labels). "mitragynine" must also catch "7-hydroxymitragynine" and "7-OH-mitragynine",
# where no word boundary precedes it.
KRATOM = re.compile(
    r"\b(?:kratom|mitragyna\s+speciosa|(?:7-?(?:oh|hydroxy)-?)?mitragynines?|7-OH)\b", I
)
KRATOM_DISORDER = re.compile(r"\bkratom\s+(?:use\s+disorder|dependence|addiction|abuse)\b", I)

# COWS is recognised by SNOMED 763699005 or by name, since sites often code it locally. The
# acronym is matched in capitals only (lower-case "cows" is ordinary English).
COWS = re.compile(r"\bCOWS\b|(?i:\bclinical\s+opi(?:ate|oid)\s+withdrawal\s+scale\b)")
SOWS = re.compile(r"\bSOWS\b|(?i:\b(?:subjective|short)\s+opi(?:ate|oid)\s+withdrawal\s+scale\b)")

WITHDRAWAL = re.compile(r"\bwithdrawals?\b", I)
_OPIOID_WORDS = [row["display"] for row in OPIOID_INGREDIENTS.rows] + [
    "opioid", "opioids", "opiate", "opiates", "narcotic", "narcotics", "heroin",
]
OPIOID_WORD = re.compile(_words(_OPIOID_WORDS), I)
GENERIC_SUBSTANCE = re.compile(r"\b(?:drugs?|substances?|psychoactive)\b", I)
# Withdrawal from these is not opioid withdrawal (CIWA for alcohol, nicotine, benzodiazepines).
NON_OPIOID_SUBSTANCE = re.compile(
    r"\b(?:alcohol|ethanol|nicotine|tobacco|benzodiazepines?|caffeine|cannabis|cannabinoids?"
    r"|marijuana|stimulants?|cocaine|amphetamines?|methamphetamine)\b",
    I,
)

# Opioid use disorder written out, for conditions coded locally; "in remission" makes it history.
OUD_TEXT = re.compile(
    r"\bOUD\b|(?i:\b(?:opioid|opiate|heroin|fentanyl|narcotic)s?\s+"
    r"(?:use\s+disorder|dependence|addiction|abuse)\b)"
)
REMISSION = re.compile(r"\bin\s+(?:early\s+|sustained\s+)?remission\b|\bon\s+agonist\s+therapy\b", I)
OVERDOSE = re.compile(r"\b(?:overdose[sd]?|poisoning|poisoned)\b", I)
HEROIN = re.compile(r"\b(?:heroin|diamorphine|6-?acetylmorphine|6-?MAM)\b", I)
FENTANYL = re.compile(r"\b(?:\w*fentan[iy]l)\b", I)
OXYCODONE = re.compile(r"\boxycodone\b", I)
# An Observation code about substance use (a social-history question coded locally).
SUBSTANCE_USE_QUESTION = re.compile(
    r"\b(?:substance|drug|supplement|herbal)s?\s+(?:use|history)\b|\bsocial\s+history\b", I)
# Concentrated 7-OH products name the alkaloid itself (FDA 2025-07-29); "17-OH" is a steroid.
SEVEN_OH = re.compile(r"\b7-?hydroxy-?mitragynine\b|(?<![\d-])7-OH\b", I)
SUICIDE_ATTEMPT = re.compile(r"\bsuicid(?:e|al)\s+attempts?\b|\battempted\s+suicide\b", I)
PREGNANT = re.compile(r"\bpregnan(?:t|cy)\b", I)
END_OF_LIFE = re.compile(r"\bhospice\b|\bterminal\s+(?:illness|care|stage)\b|\bend[-\s]of[-\s]life\b"
                         r"|\bpalliative\s+care\b", I)
MAJOR_DEPRESSION = re.compile(r"\bmajor\s+depressi(?:on|ve)\b|\bMDD\b")

COUNSELING_TEXT = re.compile(
    r"\b(?:counsel(?:l)?ing|behaviou?ral\s+therapy|cognitive\s+behaviou?ral|contingency\s+management)\b",
    I,
)
SUBSTANCE_CONTEXT = re.compile(
    r"\b(?:substance|drug|opioid|opiate|addiction|kratom|SUD|OUD|recovery)\b", I
)

REFERRAL = re.compile(r"\brefer(?:ral|red)?\b", I)
MOUD_WORDS = re.compile(
    r"\b(?:MOUD|MAT|medications?\s+for\s+opioid\s+use\s+disorder"
    r"|medication[-\s]assisted\s+treatment|opioid\s+treatment\s+program|OTP"
    r"|addiction\s+medicine|buprenorphine|methadone|naltrexone)\b",
    I,
)

# --- medication names -----------------------------------------------------------------------

OPIOID_DRUG = re.compile(_words([row["display"] for row in OPIOID_INGREDIENTS.rows]), I)

_MOUD_BRANDS = _brands([row["display"] for row in MOUD_PRODUCTS.rows])
# Vivitrol is extended-release naltrexone (DailyMed setid cd11c435-b0f0-4bb9-ae78-60f101f3703f);
# no reference CSV carries the brand because the VSAC code display is generic.
MOUD_BRAND = re.compile(_words(_MOUD_BRANDS + ["Vivitrol"]), I)
BUPRENORPHINE = re.compile(r"\bbuprenorphine\b", I)
# Buprenorphine pain products (design section 4) and veterinary products (brand names from
# buprenorphine-medications.csv): these are not MOUD.
BUPRENORPHINE_PAIN = re.compile(
    r"\b(?:transdermal|patch|butrans|belbuca|buprenex|simbadol|zorbium)\b", I
)
BUPRENORPHINE_PAIN_BUCCAL = re.compile(r"\bbuccal\b", I)
METHADONE = re.compile(r"\bmethadone\b", I)
NALTREXONE = re.compile(r"\bnaltrexone\b", I)
EXTENDED_RELEASE = re.compile(
    r"\b(?:extended[-\s]release|ER|XR|depot|intramuscular|IM|380\s*MG)\b", I
)

_NALOXONE_BRANDS = _brands([row["display"] for row in NALOXONE_RESCUE.rows])
NALOXONE = re.compile(_words(["naloxone"] + _NALOXONE_BRANDS), I)
# Combination products that contain naloxone but are not rescue naloxone.
NALOXONE_COMBINATION = re.compile(
    r"\b(?:buprenorphine|pentazocine|suboxone|zubsolv|bunavail)\b", I
)

# Naloxone a person can take home (design 4.1): a nasal spray, an auto-injector or a prefilled syringe,
# or a brand sold only so (brands from the rescue set's displays: Narcan, Kloxxado, Zimhi, Rextovy);
# a vial, ampule, cartridge or injectable solution is given in care.
TAKE_HOME_NALOXONE = re.compile(_words(["nasal", "spray", "auto-injector", "autoinjector", "prefilled syringe"]
                                       + _NALOXONE_BRANDS), I)
GIVEN_IN_CARE_FORM = re.compile(r"\b(?:vial|ampule|ampoule|cartridge|injectable\s+solution|IV|intravenous)\b", I)
# Nalmefene nasal spray (Opvee, FDA 2023) has no verified RxNorm code here: matched by name (design 4.1).
NALMEFENE_SPRAY = re.compile(r"\bnalmefene\b(?=.*\b(?:nasal|spray)\b)|\bOpvee\b", I)
# Gabapentinoids by generic and brand name (FDA Drug Safety Communication 2019-12-19); no value set
# of the reference lists them with displays, so they are matched by name.
GABAPENTINOID = re.compile(r"\b(?:gabapentin|pregabalin|Neurontin|Gralise|Horizant|Lyrica)\b", I)
# Withdrawal from alcohol or a sedative (ICD-10-CM F10.x3, F13.x3 written out).
ALCOHOL_SEDATIVE_WITHDRAWAL = re.compile(
    r"\b(?:alcohol|ethanol|benzodiazepines?|sedatives?|hypnotics?|anxiolytics?)\s+withdrawal\b", I)
OPIOID_INTOXICATION = re.compile(r"\b(?:opioid|opiate|heroin|fentanyl|narcotic)s?\s+intoxication\b", I)

# Benzodiazepine names, from the displays of the IG set ("alprazolam 0.25 MG Oral Tablet").
BENZODIAZEPINE = re.compile(_words([m.group(0) for row in BENZODIAZEPINES.rows for m in re.finditer(
    r"\b[a-z]+(?:azepam|azolam|azepate|azepoxide|bazam)\b", row["display"])]), I)

# --- tests and scales ---------------------------------------------------------------------------

# A locally coded urine drug test names a drug and says it is a test.
DRUG_TEST = re.compile(r"\b(?:urine|UDS|screen(?:ing)?|drug\s+test|tox(?:icology)?|confirm(?:ation|atory)?"
                       r"|presence|immunoassay|LC-?MS|GC-?MS)\b", I)
STIMULANT_TESTED = re.compile(r"\b(?:cocaine|benzoylecgonine|amphetamines?|methamphetamine|MDMA)\b", I)
PHQ9 = re.compile(r"\bPHQ-?9\b", I)
PHQ2 = re.compile(r"\bPHQ-?2\b", I)
ITEM9 = re.compile(r"\bbetter\s+off\s+dead\b|\bhurting\s+yourself\b", I)
TOTAL = re.compile(r"\btotal\b|\bscore\b", I)


# One cheap screen over an Observation's code text, so the ten thousand vital signs in a record
# cost a single regex search each and nothing more.
OBSERVATION_SCREEN = re.compile(
    r"\bCOWS\b|\bSOWS\b|(?i:withdrawal|kratom|mitragyn|7-OH|hospice|terminal|palliative|PHQ|better\s+off\s+dead"
    r"|fentan|heroin|diamorphine|6-?MAM|acetylmorphine|oxycod|opiat|opioid|morphine|codeine|hydrocod|tramadol"
    r"|cocaine|benzoylecgonine|amphetamine|MDMA|xylazine)"
)


REMEMBERED_TEXTS = 8192
# Texts this short are remembered; no record's bound is lower (clinical.max_text_chars is at least
# this), so what is remembered for a text is the same whichever record read it.
REMEMBERED_TEXT_LENGTH = 256
# The most of one text (a display, a code's text, a note, a value) the rules read, by default
# (clinical.max_text_chars). Clinical wording is far shorter; every pattern costs per character,
# so a record stuffed with text cannot buy CPU with it (15 MB of keyword-rich text took seconds
# per resource). Each record cuts the texts it reads at its own settings' bound, where they are
# read from the resource (cards/fhir_read.py: concept, note_text, value_text): everything after that
# reads text already cut.
MAX_TEXT_CHARS = 4096


def remember_short_texts(classify: Callable[[str], T]) -> Callable[..., T]:
    """Remember `classify` per text, for texts a chart repeats ("Heart rate", "Glucose"): a dict
    hit is cheaper than the regex searches. Long texts (notes, narratives) are classified
    afresh and never kept, and the memory is emptied when full, so a hostile record cannot
    fill memory with them. A plain dict, not lru_cache: this runs twice per Observation and
    the dict hit costs a quarter of lru_cache's.

    The text is one a record read, so already cut at the record's bound; one read raw (the code
    text an Observation is screened by, before any reader) comes with `bound`, and is cut there
    only when it is not remembered: a remembered text is shorter than any bound."""
    memory: dict[str, T] = {}

    @wraps(classify)
    def classify_text(text: str, bound: int | None = None) -> T:
        try:
            return memory[text]
        except KeyError:
            pass
        result = classify(text if bound is None else text[:bound])
        if len(text) <= REMEMBERED_TEXT_LENGTH:
            if len(memory) >= REMEMBERED_TEXTS:
                memory.clear()
            memory[text] = result
        return result
    classify_text.memory = memory  # type: ignore[attr-defined]
    return classify_text


@remember_short_texts
def screens(text: str) -> bool:
    """Whether an Observation's code text is worth a closer look (most are vital signs and labs)."""
    return OBSERVATION_SCREEN.search(text) is not None
