"""The opioid (and xylazine) names a code's display or a record's text can carry, and the analyte
each one means: the drug a urine test detects, a product contains or an overdose names.

One vocabulary serves ``derive.py`` (LOINC, RxNorm and SNOMED displays, when the curated tables are
written) and ``cards/analytes.py`` (the text of records coded only locally), so a display and a
local text naming the same drug give the same analyte. Design section 4.1 ("unprescribed opioid",
"Unexplained overdose") says what each analyte explains.
"""

from __future__ import annotations

import re

# The fentanyl-type drugs are one analyte: a fentanyl-type product explains any of them (design
# 4.1). Every name of the family ends in -fentanil or -fentanyl (sufentanil, alfentanil,
# remifentanil, carfentanil, acetyl fentanyl, furanylfentanyl, norfentanyl, despropionylfentanyl).
FENTANYL = "fentanyl"
HEROIN = "heroin"
XYLAZINE = "xylazine"
# The general opiate immunoassay ("Opiates [Presence] in Urine"), and the natural and
# semisynthetic opioids an ICD-10-CM T40.2X "other opioids" poisoning names.
OPIATE = "opiate"
# Synthetic opioids other than methadone, unspecified: ICD-10-CM T40.49- and the legacy T40.4X-.
SYNTHETIC_OPIOID = "synthetic opioid"
# An opioid the table cannot place: a test or overdose that names no drug, and a product whose
# ingredient no source names.
OPIOID = "opioid"

# name (a regular expression, matched as a whole word, any case) -> analyte. A metabolite is its
# parent drug: a "nor-" or "desmethyl" prefix (normorphine, noroxycodone, normeperidine, Nor-W-18,
# O-desmethyltramadol) is allowed on every name below, and glucuronides and "Free" forms name the
# drug first ("Morphine-6-glucuronide").
_NAMES: tuple[tuple[str, str], ...] = (
    # Heroin: 6-acetylmorphine (6-MAM) is a metabolite of heroin alone; 6-acetylcodeine comes from acetylating
    # the codeine in illicit opium, so no medicine produces it either.
    (r"heroin|diamorphine|diacetylmorphine|6-?acetylmorphine|6-?monoacetylmorphine|6-?MAM|6-?acetylcodeine", HEROIN),
    (r"[\w-]*xylazine", XYLAZINE),
    (r"[\w-]*fentan[iy]l", FENTANYL),
    (r"oxycodone", "oxycodone"),
    (r"oxymorph(?:one)?", "oxymorphone"),  # "OxyMORphone+Noroxymorph Pnl" (LOINC short name)
    (r"(?:benz)?hydrocodone", "hydrocodone"),  # benzhydrocodone (Apadaz) is a prodrug of hydrocodone
    (r"hydromorphone", "hydromorphone"),
    (r"morphine", "morphine"),
    (r"codeine", "codeine"),
    (r"dihydrocodeine", "dihydrocodeine"),
    # Opium and papaveretum are mixtures of the opium alkaloids; their products carry morphine and
    # codeine too (derive.py, INGREDIENT_ALSO below).
    (r"opium|papaveretum", "opium"),
    (r"tramadol", "tramadol"),
    (r"tapentadol", "tapentadol"),
    (r"meperidine|pethidine", "meperidine"),
    (r"(?:dextro)?propoxyphene", "propoxyphene"),
    (r"methadone", "methadone"),
    (r"levomethadyl", "levomethadyl"),
    (r"buprenorphine", "buprenorphine"),
    (r"butorphanol", "butorphanol"),
    (r"nalbuphine", "nalbuphine"),
    (r"levorphanol", "levorphanol"),
    (r"pentazocine", "pentazocine"),
    (r"oliceridine", "oliceridine"),
    (r"meptazinol", "meptazinol"),
    (r"diphenoxylate", "diphenoxylate"),
    (r"pholcodine", "pholcodine"),
    (r"ethylmorphine", "ethylmorphine"),
    (r"nicomorphine", "nicomorphine"),
    (r"desomorphine", "desomorphine"),
    (r"nalorphine", "nalorphine"),
    (r"alphaprodine", "alphaprodine"),
    (r"anileridine", "anileridine"),
    (r"trimeperidine", "trimeperidine"),
    (r"dextromoramide", "dextromoramide"),
    (r"dipipanone", "dipipanone"),
    (r"phenazocine", "phenazocine"),
    (r"phenoperidine", "phenoperidine"),
    # Novel synthetic opioids the IG's synthetic-opioid test set names.
    (r"brorphine", "brorphine"),
    (r"metonitazene", "metonitazene"),
    (r"2-methyl\s+AP-237", "2-methyl AP-237"),
    *((re.escape(name), name) for name in ("W-15", "W-18", "W-19", "IC-26", "MT-45", "AH-7921", "AH-8529",
                                            "AH-8533", "U-47700")),
)

# Products of these ingredients carry these analytes as well (opium's alkaloids).
INGREDIENT_ALSO: dict[str, frozenset[str]] = {"opium": frozenset({"morphine", "codeine"})}

# Words that name no drug but a class, read only where a test or an overdose names nothing more
# specific: "Opiates [Presence] in Urine" is the general opiate immunoassay.
_CLASS_WORDS: tuple[tuple[str, str], ...] = (
    (r"opiates?", OPIATE),
    (r"opioids?|narcotics?", OPIOID),
)

# Not opioid exposure of unknown origin, wherever it is named: the antagonists and their
# metabolites (naltrexol, naloxol), and three non-opioids the IG's opioid test set holds (pentylone
# and pentedrone are synthetic cathinones; papaverine is a non-narcotic opium alkaloid).
ANTAGONIST_OR_NON_OPIOID = re.compile(
    r"\b(?:naltrex\w*|nalox\w*|nalmef\w*|pentylone|pentedrone|papaverine)\b", re.I)


def _compile(table: tuple[tuple[str, str], ...]) -> tuple[re.Pattern[str], list[str]]:
    alternatives = "|".join(f"(?P<n{i}>{pattern})" for i, (pattern, _) in enumerate(table))
    pattern = re.compile(rf"(?<!\w)(?:nor-?|(?:[ON]-)?desmethyl-?)?(?:{alternatives})(?!\w)", re.I)
    return pattern, [name for _, name in table]


_NAME_PATTERN, _NAME_ANALYTES = _compile(_NAMES)
_CLASS_PATTERN, _CLASS_ANALYTES = _compile(_CLASS_WORDS)


def _analyte(match: re.Match[str], analytes: list[str]) -> str:
    return analytes[int(next(group for group, value in match.groupdict().items() if value is not None)[1:])]


def named(text: str) -> list[str]:
    """The analytes ``text`` names, in the order it names them, each once."""
    found: list[str] = []
    for match in _NAME_PATTERN.finditer(text):
        analyte = _analyte(match, _NAME_ANALYTES)
        if analyte not in found:
            found.append(analyte)
    return found


def first_named(text: str) -> str | None:
    """The analyte of the first drug ``text`` names ("oxyCODONE+oxyMORphone" is oxycodone)."""
    match = _NAME_PATTERN.search(text)
    return _analyte(match, _NAME_ANALYTES) if match else None


def class_named(text: str) -> str | None:
    """OPIATE or OPIOID where ``text`` names a class of drug and no drug ("Opiates, urine")."""
    match = _CLASS_PATTERN.search(text)
    return _analyte(match, _CLASS_ANALYTES) if match else None
