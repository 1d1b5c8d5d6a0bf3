"""Regenerate the curated value sets from the reference copies beside this file.

Run ``python -m cards.valuesets.derive`` after replacing a source CSV. The rules live here, and
each output CSV repeats its rule in its header, so a reviewer can check one against the other.
``tests/cards/test_valuesets.py`` fails if a curated file drifts from what this script derives.
Design v2 section 4.1 gives the rules for the OUD, poisoning and urine-test sets; design v3 section
4.1 the analytes of tests, overdoses and products (cards/analytes.py says what explains what).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from cards.valuesets import analyte_names as names

HERE = Path(__file__).resolve().parent
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"

# Buprenorphine dose forms used for opioid use disorder. Pain products are the transdermal system
# (BuTrans), buprenorphine-only buccal film (Belbuca) and injection/cartridge/injectable solution
# (Buprenex; Simbadol, veterinary); topical solution (Zorbium) is veterinary.
_BUP_OUD = re.compile(r"Sublingual|Drug Implant|Prefilled Syringe|naloxone .* Buccal Film", re.I)

# Extended-release naltrexone. No reference CSV lists it. Source: VSAC "Opiate Antagonists"
# 2.16.840.1.113883.3.464.1003.198.12.1132 (eCQM Update 2021-05-06) as listed in
# github.com/canvas-medical/canvas-plugins canvas_sdk/value_set/v2022/medication.py
# @ 272c6f4b622b28ce5ab2918c9d86fd1f3654679a (class OpiateAntagonists). 380 mg is the monthly
# extended-release intramuscular dose (Vivitrol); oral naltrexone 50 mg (1483744) is left out.
_NALTREXONE_ER = [
    (RXNORM, "637213", "naltrexone 380 MG Injection",
     "VSAC 2.16.840.1.113883.3.464.1003.198.12.1132 via canvas-medical/canvas-plugins@272c6f4b"),
]

_F19_SUBCODES = re.compile(r"^F19\.[129]3\d$")
_COWS_OBSERVABLE = "763699005"


def read_rows(name: str) -> list[dict[str, str]]:
    with open(HERE / name, newline="", encoding="utf-8") as handle:
        body = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(body))


def render(header: list[str], columns: list[str], rows: list[tuple[str, ...]]) -> str:
    out = io.StringIO()
    for line in header:
        out.write(f"# {line}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def moud_products() -> str:
    seen: set[str] = set()
    rows: list[tuple[str, ...]] = []
    for source in ("buprenorphine-medications.csv", "buprenorphine-and-methadone-medications.csv"):
        for row in read_rows(source):
            display = row["display"]
            if row["code"] in seen or "buprenorphine" not in display.lower():
                continue
            if _BUP_OUD.search(display):
                seen.add(row["code"])
                rows.append((row["system"], row["code"], display, source))
    for source in ("methadone-medications.csv", "buprenorphine-and-methadone-medications.csv"):
        for row in read_rows(source):
            if row["code"] not in seen and "methadone" in row["display"].lower():
                seen.add(row["code"])
                rows.append((row["system"], row["code"], row["display"], source))
    rows.extend(_NALTREXONE_ER)
    header = [
        "MOUD products (medications for opioid use disorder); curated by cards/valuesets/derive.py",
        "derived from: buprenorphine-medications.csv and buprenorphine-and-methadone-medications.csv"
        " (cqframework/opioid-cds-r4 @ b29bdcbf), methadone-medications.csv (same commit)",
        "rule: buprenorphine rows whose display says Sublingual, Drug Implant, Prefilled Syringe"
        " (Sublocade, Brixadi) or naloxone Buccal Film (Bunavail); dropped Transdermal (BuTrans),"
        " buprenorphine-only Buccal Film (Belbuca), Injection/Cartridge/Injectable Solution"
        " (Buprenex, Simbadol) and Topical Solution (Zorbium); methadone: all rows",
        "added: extended-release naltrexone 637213, source in the basis column (VSAC Opiate"
        " Antagonists 2.16.840.1.113883.3.464.1003.198.12.1132); records coded only locally are"
        " matched by text (cards/terms.py)",
    ]
    return render(header, ["system", "code", "display", "basis"], rows)


def naloxone_rescue() -> str:
    rows = [
        (row["system"], row["code"], row["display"])
        for row in read_rows("naloxone-medications.csv")
        if "naloxone" in row["display"].lower()
        and not re.search(r"buprenorphine|pentazocine", row["display"], re.I)
    ]
    header = [
        "Naloxone rescue products; curated by cards/valuesets/derive.py",
        "derived from: naloxone-medications.csv (cqframework/opioid-cds-r4 @ b29bdcbf)",
        "rule: kept rows whose display names naloxone; dropped buprenorphine/naloxone (Suboxone,"
        " Zubsolv, Bunavail: MOUD, not rescue) and naloxone/pentazocine 312289 (an opioid analgesic)",
        "not added: AHRQ VSAC 2.16.840.1.113762.1.4.1032.42 codes absent from the IG file; the"
        " source has no displays, so they cannot be checked against these exclusions",
    ]
    return render(header, ["system", "code", "display"], rows)


def withdrawal_conditions() -> str:
    rows: list[tuple[str, ...]] = []
    for row in read_rows("withdrawal-codes.csv"):
        if row["code"] != _COWS_OBSERVABLE:
            rows.append((row["system"], row["code"], row["display"]))
    for row in read_rows("conditions-documenting-substance-misuse.csv"):
        if row["system"] == ICD10CM and _F19_SUBCODES.match(row["code"]):
            rows.append((row["system"], row["code"], row["display"]))
    header = [
        "Withdrawal conditions; curated by cards/valuesets/derive.py",
        "derived from: withdrawal-codes.csv (sources in its header) and, for the F19.x3x"
        " subcodes its found_in column names, conditions-documenting-substance-misuse.csv"
        " (cqframework/opioid-cds-r4 @ b29bdcbf)",
        "rule: every withdrawal-codes.csv row except 763699005 (the COWS score, an observable,"
        " not a condition); a withdrawal diagnosis is withdrawal evidence, not by itself a use disorder (design v2)",
    ]
    return render(header, ["system", "code", "display"], rows)


# --- opioid-misuse-disorders, split by what a code says (design v2 section 4.1) ----------------

_WITHDRAWAL_SYNDROMES = {"87132004", "703846009"}
_POISONING = re.compile(r"poisoning|overdose", re.I)
# SNOMED opioid-induced states that name no abuse or dependence: the SNOMED counterparts of the
# F11.9x codes ("opioid use, unspecified with intoxication / mood disorder"), which DSM-5 codes
# when there is no use disorder (e.g. an opioid intoxication after surgery).
_INDUCED_STATE = re.compile(r"intoxication|caused by opioid", re.I)
_ABUSE_OR_DEPENDENCE = re.compile(r"abuse|dependence", re.I)


def oud_kind(row: dict[str, str]) -> str:
    display, code = row["display"], row["code"]
    if _POISONING.search(display):
        return "poisoning"
    if code in _WITHDRAWAL_SYNDROMES:
        return "withdrawal"
    if row["system"] == ICD10CM and code.startswith("F11.9"):
        return "unspecified-use"
    if row["system"] == SNOMED and _INDUCED_STATE.search(display) and not _ABUSE_OR_DEPENDENCE.search(display):
        return "induced-state"
    if "remission" in display.lower():
        return "remission"
    if "on agonist therapy" in display.lower():
        return "agonist-therapy"
    return "current"


_OMD_SOURCE = "opioid-misuse-disorders.csv (cqframework/opioid-cds-r4 @ b29bdcbf)"
_OMD_RULE = ("rule, first that applies: a display naming poisoning or overdose is a poisoning; SNOMED 87132004 and"
             " 703846009 are withdrawal syndromes; ICD-10-CM F11.9x is opioid use, unspecified (opioid-induced"
             " states without a use disorder, DSM-5 coding); a SNOMED display naming intoxication or 'caused by"
             " opioid' but no abuse or dependence is an opioid-induced state (the SNOMED side of F11.9x); a display"
             " naming remission is in remission; 'on agonist therapy' is on agonist therapy; everything else is a"
             " current use disorder")


def _oud_rows(*kinds: str) -> list[tuple[str, ...]]:
    return [(row["system"], row["code"], row["display"], kind)
            for row in read_rows("opioid-misuse-disorders.csv") if (kind := oud_kind(row)) in kinds]


def oud_current() -> str:
    header = [
        "OUD-current: codes that say a use disorder now (design v2 section 4.1); curated by cards/valuesets/derive.py",
        f"derived from: {_OMD_SOURCE}",
        _OMD_RULE,
        "kept: kind 'current' (abuse and dependence codes with or without intoxication, withdrawal or induced"
        " disorders, and 'narcotic drug user'); ICD-10-CM F11.1x and F11.2x codes missing from the expansion"
        " count too, except the remission codes F11.11 and F11.21 (cards/valuesets/__init__.py)",
    ]
    return render(header, ["system", "code", "display", "kind"], _oud_rows("current"))


def oud_history() -> str:
    header = [
        "OUD-history codes: a use disorder in remission or treated with agonist therapy (design v2 section 4.1);"
        " curated by cards/valuesets/derive.py",
        f"derived from: {_OMD_SOURCE}",
        _OMD_RULE,
        "kept: kinds 'remission' and 'agonist-therapy'; a current-OUD code that is resolved, inactive or old with"
        " nothing corroborating it is history too, decided when the record is read (cards/evidence.py)",
    ]
    return render(header, ["system", "code", "display", "kind"], _oud_rows("remission", "agonist-therapy"))


def _poisoning_substance(display: str) -> str:
    lowered = display.lower()
    if "heroin" in lowered or "diamorphine" in lowered:
        return "heroin"
    if "fentanil" in lowered or "fentanyl" in lowered:
        return "fentanyl"
    if "methadone" in lowered and "analog" not in lowered:
        return "methadone"
    return "other"


def _poisoning_intent(display: str) -> str:
    lowered = display.lower()
    if lowered.startswith("intentional"):
        return "intentional"
    if lowered.startswith("accidental"):
        return "accidental"
    return "undetermined"


def poisoning_analyte(display: str) -> str:
    """The analyte a poisoning concept names (cards/analytes.py says what explains it)."""
    if "analog" in display.lower():  # "Methadone analog poisoning" names a class, not methadone
        return names.OPIOID
    return names.first_named(display) or names.OPIOID


def opioid_poisoning() -> str:
    rows = [(system, code, display, _poisoning_substance(display), _poisoning_intent(display),
             poisoning_analyte(display)) for system, code, display, _ in _oud_rows("poisoning")]
    header = [
        "Opioid poisoning and overdose concepts (design v2 section 4.1); curated by cards/valuesets/derive.py",
        f"derived from: {_OMD_SOURCE}",
        _OMD_RULE,
        "kept: kind 'poisoning'. substance: heroin/diamorphine, fentanyl/alfentanil, methadone (not 'methadone"
        " analog'), else other; intent: a display starting Intentional is intentional (self-harm), Accidental is"
        " accidental, else undetermined. ICD-10-CM T40.x opioid poisoning codes are read by pattern"
        " (cards/valuesets/__init__.py)",
        "analyte (design v3 section 4.1, unexplained overdose): a display naming an analog is 'opioid' (any"
        " opioid analgesic explains it); else the first drug the display names"
        " (cards/valuesets/analyte_names.py: heroin/diamorphine, fentanyl-type, pethidine as meperidine,"
        " dextropropoxyphene as propoxyphene, ...); else 'opioid' (opiate, opioid receptor agonist, morphinan,"
        " phenanthrene). substance is v2's column, read until cards/evidence.py reads analyte",
    ]
    return render(header, ["system", "code", "display", "substance", "intent", "analyte"], rows)


# --- opioid and xylazine urine drug tests, by analyte (design v3 section 4.1) -------------------

# The IG's class sets, most specific first: a code in two sets takes the first class.
_TEST_CLASSES = (
    ("heroin-urine-drug-screening-tests.csv", "heroin"),
    ("fentanyl-type-urine-drug-screening-tests.csv", "fentanyl"),
    ("oxycodone-urine-drug-screening-tests.csv", "oxycodone"),
    ("general-opiate-urine-drug-screening-tests.csv", "other"),
    ("opiate-specific-urine-drug-screening-tests.csv", "other"),
    ("synthetic-opioid-urine-drug-screening-tests.csv", "other"),
)
# Xylazine (an adulterant of the illicit fentanyl supply) is read with the opioid tests (design v3).
_XYLAZINE_TESTS = "xylazine-urine-drug-screening-tests.csv"
# Not opioid exposure of unknown origin: MOUD (explained by the MOUD record), kratom (its own fact),
# opioid antagonists and their metabolites, cutoff codes (a threshold, not a result), and three
# non-opioids the IG set holds (analyte_names.ANTAGONIST_OR_NON_OPIOID).
_NOT_EXPOSURE = ("buprenorphine-urine-drug-screening-tests.csv", "methadone-urine-drug-screening-tests.csv",
                 "kratom-mitragynine-loinc.csv")
_CUTOFF = re.compile(r"cutoff|\bCtO\b", re.I)
_MOUD_ANALYTES = ("buprenorphine", "methadone")
_NAMED_CLASS = ((re.compile(r"diamorphine|6-?acetylmorphine|6-?MAM", re.I), "heroin"),
                (re.compile(r"fentan", re.I), "fentanyl"),
                (re.compile(r"oxycodone", re.I), "oxycodone"))
# The analyte of a test in an IG class set whose display names no drug.
_SET_ANALYTES = {"heroin-urine-drug-screening-tests.csv": names.HEROIN,
                 "fentanyl-type-urine-drug-screening-tests.csv": names.FENTANYL,
                 _XYLAZINE_TESTS: names.XYLAZINE}


def test_analyte(display: str, source: str) -> str:
    """What a positive test shows: the first drug its display names, else its IG class set's drug,
    else 'opiate' for the general opiate immunoassay, else 'opioid' (a test the table cannot place)."""
    named = names.first_named(display) or _SET_ANALYTES.get(source)
    if named is not None:
        return named
    return names.OPIATE if names.class_named(display) == names.OPIATE else names.OPIOID


def opioid_urine_tests() -> str:
    excluded = {row["code"] for name in _NOT_EXPOSURE for row in read_rows(name)}
    seen: set[str] = set()
    rows: list[tuple[str, ...]] = []

    def keep(row: dict[str, str], test_class: str, source: str) -> None:
        display = row["display"]
        if (row["code"] in seen or row["code"] in excluded or _CUTOFF.search(display)
                or names.ANTAGONIST_OR_NON_OPIOID.search(display) or names.first_named(display) in _MOUD_ANALYTES):
            return
        seen.add(row["code"])
        rows.append((row["system"], row["code"], display, test_analyte(display, source), test_class, source))

    for source, test_class in _TEST_CLASSES:
        for row in read_rows(source):
            keep(row, test_class, source)
    for row in read_rows("opioid-urine-drug-screening.csv"):
        named = next((c for pattern, c in _NAMED_CLASS if pattern.search(row["display"])), "other")
        keep(row, named, "opioid-urine-drug-screening.csv")
    for row in read_rows(_XYLAZINE_TESTS):
        keep(row, "xylazine", _XYLAZINE_TESTS)
    header = [
        "Opioid and xylazine urine drug tests by the analyte they detect (design v3 section 4.1, unprescribed"
        " opioid); curated by cards/valuesets/derive.py",
        "derived from: the IG's heroin, fentanyl-type, oxycodone, general-opiate, opiate-specific and synthetic-opioid"
        " urine test sets, in that order (a code in two sets takes the first), then the rest of"
        " opioid-urine-drug-screening.csv, then xylazine-urine-drug-screening-tests.csv; all"
        " cqframework/opioid-cds-r4 @ b29bdcbf",
        "dropped: buprenorphine and methadone tests (MOUD: the IG sets, and any display naming either), mitragynine"
        " tests (kratom: its own fact), naltrexone, naloxone and nalmefene tests and their metabolites naltrexol and"
        " naloxol (antagonists), cutoff codes (a threshold, not a result), and pentylone, pentedrone (synthetic"
        " cathinones) and papaverine (a non-narcotic alkaloid), which the IG set holds",
        "analyte, first that applies: the first drug the display names (cards/valuesets/analyte_names.py; a"
        " metabolite is its parent: norfentanyl is fentanyl, noroxycodone oxycodone, normeperidine meperidine;"
        " every fentanyl-type name is 'fentanyl'; 6-MAM, diamorphine and 6-acetylcodeine are 'heroin'); the"
        " drug of its IG set (heroin, fentanyl-type, xylazine); 'opiate' for a display naming opiates (the general"
        " immunoassay); else 'opioid', a test the table cannot place. What explains each analyte is"
        " cards/analytes.py EXPLAINED_BY",
        "class: v2's coarse class (heroin, fentanyl, oxycodone, other; xylazine), read by cards/record.py until it"
        " reads analyte",
    ]
    return render(header, ["system", "code", "display", "analyte", "class", "basis"], rows)


# --- opioid products, by the analytes they produce (design v3 section 4.1) -----------------------

# Every opioid medication code the rules know (cards/valuesets/__init__.py OPIOID_MEDICATIONS,
# MOUD_PRODUCTS and the fentanyl-type, oxycodone, methadone and buprenorphine sets), each with the
# analyte its set stands for, if any.
_PRODUCT_SOURCES = (
    ("opioid-analgesics-with-ambulatory-misuse-potential.csv", None),
    ("synthetic-opioid-medications.csv", None),
    ("non-synthetic-opioid-medications.csv", None),
    ("fentanyl-type-medications.csv", names.FENTANYL),
    ("oxycodone-medications.csv", "oxycodone"),
    ("methadone-medications.csv", "methadone"),
    ("buprenorphine-medications.csv", "buprenorphine"),
    ("buprenorphine-and-methadone-medications.csv", None),
    ("moud-products.csv", None),
    ("ahrq-opioid-pain-medications_2.16.840.1.113762.1.4.1032.34.csv", None),
    ("omtk-opioid-ingredients.csv", None),
)
# Displays for codes the sets list without one (the AHRQ VSAC copy has none).
_DISPLAY_SOURCES = ("omtk-drug-ingredients.csv", "rxnorm-opioid-displays-cumulus.csv")


def product_analytes(display: str, ingredients: list[str], set_analytes: set[str]) -> set[str]:
    """The analytes a product produces: the drugs its display and its OMTK ingredients name, the
    drug of a drug-specific set it is in, and what those ingredients carry (opium: morphine, codeine)."""
    found = set(names.named(display)) | set_analytes
    for ingredient in ingredients:
        found |= set(names.named(ingredient))
    for analyte in list(found):
        found |= names.INGREDIENT_ALSO.get(analyte, frozenset())
    return found


def opioid_product_analytes() -> str:
    displays: dict[tuple[str, str], tuple[str, str]] = {}
    set_analytes: dict[tuple[str, str], set[str]] = {}
    for source, analyte in _PRODUCT_SOURCES:
        for row in read_rows(source):
            key = (row["system"], row["code"])
            set_analytes.setdefault(key, set())
            if analyte:
                set_analytes[key].add(analyte)
            if row["display"] and key not in displays:
                displays[key] = (row["display"], source)
    ingredients: dict[tuple[str, str], list[str]] = {}
    for source in _DISPLAY_SOURCES:
        for row in read_rows(source):
            key = (row["system"], row["code"])
            if row.get("ingredient"):
                ingredients.setdefault(key, []).append(row["ingredient"])
            if key in set_analytes and key not in displays:
                displays[key] = (row["display"], source)
    rows: list[tuple[str, ...]] = []
    for key in sorted(set_analytes, key=lambda k: (k[0], int(k[1]))):
        display, source = displays.get(key, ("", "none"))
        analytes = product_analytes(display, ingredients.get(key, []), set_analytes[key])
        if not analytes and names.ANTAGONIST_OR_NON_OPIOID.search(display):
            continue  # extended-release naltrexone (a MOUD product): no opioid
        rows.append((*key, display, ";".join(sorted(analytes or {names.OPIOID})), source))
    header = [
        "Opioid products by the analytes they produce (design v3 section 4.1: what explains a urine test or an"
        " overdose); curated by cards/valuesets/derive.py",
        "derived from: every code of " + ", ".join(source for source, _ in _PRODUCT_SOURCES)
        + " (cqframework/opioid-cds-r4 @ b29bdcbf; moud-products.csv is itself curated; the AHRQ file is VSAC"
        " 1032.34 from AHRQ-CDS-Connect-PAIN-MANAGEMENT-SUMMARY @ f9f63c6c); displays from the first of those"
        " files that has one, else " + " or ".join(_DISPLAY_SOURCES) + " (sources in their headers)",
        "rule: analytes are the drugs the display names and the OMTK ingredients of the code name"
        " (cards/valuesets/analyte_names.py: every fentanyl-type drug is 'fentanyl'; benzhydrocodone is"
        " hydrocodone; opium and papaveretum are opium, which also carries morphine and codeine), plus the drug of"
        " a drug-specific set the code is in (fentanyl-type, oxycodone, methadone, buprenorphine); a code with none"
        " of these is 'opioid' (an opioid analgesic of unknown ingredient: it explains only what any opioid"
        " analgesic explains). Left out: products naming only an antagonist (extended-release naltrexone)",
        "analytes: ';'-separated; basis: the file the display came from",
    ]
    return render(header, ["system", "code", "display", "analytes", "basis"], rows)


CURATED = {
    "moud-products.csv": moud_products,
    "naloxone-rescue.csv": naloxone_rescue,
    "withdrawal-conditions.csv": withdrawal_conditions,
    "oud-current.csv": oud_current,
    "oud-history.csv": oud_history,
    "opioid-poisoning.csv": opioid_poisoning,
    "opioid-urine-tests.csv": opioid_urine_tests,
    "opioid-product-analytes.csv": opioid_product_analytes,
}


def main() -> None:
    for name, build in CURATED.items():
        (HERE / name).write_text(build(), encoding="utf-8")
        print(f"wrote {name}")


if __name__ == "__main__":
    main()
