"""The shipped value sets: sources named, curation rules hold, curated files reproducible."""

from __future__ import annotations

from pathlib import Path

import pytest

from cards import valuesets as vs
from cards.valuesets import derive
from tests.cards import chart

CSV_DIR = Path(vs.__file__).parent


@pytest.mark.parametrize("path", sorted(CSV_DIR.glob("*.csv")), ids=lambda p: p.name)
def test_every_csv_names_its_source(path):
    lines = path.read_text().splitlines()
    assert lines[0].startswith("#") and any(w in lines[0] + lines[1] for w in ("source", "derived"))
    header = next(line for line in lines if not line.startswith("#"))
    assert header.startswith("system,code,display")


@pytest.mark.parametrize("name", sorted(derive.CURATED))
def test_curated_files_match_their_rule(name):
    assert (CSV_DIR / name).read_text() == derive.CURATED[name]()


def test_moud_excludes_pain_products_and_keeps_oud_forms():
    displays = [row["display"] for row in vs.MOUD_PRODUCTS.rows]
    buprenorphine = [d for d in displays if "buprenorphine" in d]
    pain_forms = ("Transdermal", "Belbuca", "Buprenex", "Injectable Solution", "Injection", "Topical")
    assert not any(w in d for d in buprenorphine for w in pain_forms)
    assert not any("Buccal Film" in d and "naloxone" not in d for d in displays)
    for brand in ("Suboxone", "Zubsolv", "Bunavail", "Sublocade", "Brixadi", "Probuphine", "Methadose"):
        assert any(brand in d for d in displays), brand
    assert vs.load("methadone-medications").keys <= vs.MOUD_PRODUCTS.keys
    assert (vs.RXNORM, "637213") in vs.MOUD_PRODUCTS


def test_naloxone_rescue_excludes_combinations():
    displays = [row["display"].lower() for row in vs.NALOXONE_RESCUE.rows]
    assert all("naloxone" in d and "buprenorphine" not in d and "pentazocine" not in d for d in displays)
    assert not vs.NALOXONE_RESCUE.keys & vs.OPIOID_MEDICATIONS.keys
    assert not vs.NALOXONE_RESCUE.keys & vs.MOUD_PRODUCTS.keys


def test_withdrawal_conditions_exclude_the_cows_observable():
    assert (vs.SNOMED, "763699005") not in vs.WITHDRAWAL_CONDITIONS
    assert (vs.SNOMED, "763699005") in vs.COWS_OBSERVABLES
    assert (vs.ICD10CM, "F19.239") in vs.WITHDRAWAL_CONDITIONS


@pytest.mark.parametrize("name, value_set", [
    ("OXYCODONE", vs.OPIOID_MEDICATIONS), ("TRAMADOL", vs.OPIOID_MEDICATIONS), ("SUBOXONE", vs.MOUD_PRODUCTS),
    ("BUP_SL", vs.MOUD_PRODUCTS), ("SUBLOCADE", vs.MOUD_PRODUCTS), ("METHADONE", vs.MOUD_PRODUCTS),
    ("BELBUCA", vs.OPIOID_MEDICATIONS), ("BUTRANS", vs.OPIOID_MEDICATIONS), ("BUPRENEX", vs.OPIOID_MEDICATIONS),
    ("NALOXONE_SPRAY", vs.NALOXONE_RESCUE), ("OUD_SNOMED", vs.OUD_CONDITIONS), ("HOSPICE", vs.END_OF_LIFE),
    ("TERMINAL", vs.END_OF_LIFE), ("COUNSELING", vs.COUNSELING), ("MITRAGYNINE_PRESENCE", vs.MITRAGYNINE_TESTS),
    ("WITHDRAWAL_SYNDROME", vs.WITHDRAWAL_CONDITIONS), ("F19_WITHDRAWAL", vs.WITHDRAWAL_CONDITIONS),
    ("HYDROCODONE", vs.OPIOID_MEDICATIONS), ("FENTANYL_PATCH", vs.FENTANYL_MEDICATIONS),
    ("ALPRAZOLAM", vs.BENZODIAZEPINES), ("OUD_REMISSION", vs.OUD_HISTORY), ("OUD_REMISSION_SNOMED", vs.OUD_HISTORY),
    ("AGONIST_THERAPY", vs.AGONIST_THERAPY), ("OPIOID_USE_WITHDRAWAL", vs.OUD_CONDITIONS),
    ("NARCOTIC_USER", vs.OUD_CURRENT), ("OPIOID_INTOXICATION", vs.OUD_CONDITIONS),
    ("HEROIN_OVERDOSE", vs.OPIOID_POISONING), ("OPIATE_OVERDOSE", vs.OPIOID_POISONING),
    ("DEPENDENT_DRUG_ABUSE", vs.SUBSTANCE_USE_DISORDER), ("MAJOR_DEPRESSION", vs.MAJOR_DEPRESSION),
    ("SUICIDE_ATTEMPT", vs.SUICIDE_ATTEMPT), ("PREGNANCY", vs.PREGNANCY), ("FENTANYL_UDS", vs.OPIOID_URINE_TESTS),
    ("HEROIN_UDS", vs.OPIOID_URINE_TESTS), ("OXYCODONE_UDS", vs.OPIOID_URINE_TESTS),
    ("OPIATES_UDS", vs.OPIOID_URINE_TESTS), ("PHQ2", vs.PHQ2_TOTAL), ("PHQ9", vs.PHQ9_TOTAL), ("ITEM9", vs.PHQ9_ITEM9),
    ("F19_ABUSE", vs.SUBSTANCE_USE_DISORDER), ("F19_DEPENDENCE", vs.SUBSTANCE_USE_DISORDER),
])
def test_builder_codes_come_from_the_value_sets(name, value_set):
    system, code, display = getattr(chart, name)
    assert (system, code) in value_set
    # The VSAC copies carry no displays; where a set has one, the builder uses it.
    assert value_set.display((system, code)) in ("", display)


def test_urine_tests_the_rules_leave_out_are_left_out():
    for name in ("BUPRENORPHINE_UDS", "METHADONE_UDS", "NALTREXONE_UDS", "HEROIN_UDS_CUTOFF", "MITRAGYNINE_PRESENCE"):
        system, code, _ = getattr(chart, name)
        assert (system, code) not in vs.OPIOID_URINE_TESTS, name
    assert vs.OPIOID_URINE_TESTS.column((vs.LOINC, "59673-4"), "class") == "fentanyl"
    assert vs.OPIOID_URINE_TESTS.column((vs.LOINC, "3546-9"), "class") == "heroin"  # Diamorphine [Presence]


@pytest.mark.parametrize("code, kind", [
    ("5602001", "current"), ("F11.20", "current"), ("F11.23", "current"), ("70545002", "current"),
    ("288851000119106", "current"), ("F11.93", "unspecified-use"), ("F11.90", "unspecified-use"),
    ("77721001", "induced-state"), ("29733004", "induced-state"), ("87132004", "withdrawal"),
    ("703846009", "withdrawal"), ("F11.21", "remission"), ("191821007", "remission"),
    ("1081000119105", "agonist-therapy"), ("295175007", "poisoning"), ("242253008", "poisoning"),
])
def test_the_oud_split_follows_its_rule(code, kind):
    (row,) = [r for r in derive.read_rows("opioid-misuse-disorders.csv") if r["code"] == code]
    assert derive.oud_kind(row) == kind


@pytest.mark.parametrize("code, expected", [
    ("T40.411A", ("fentanyl", "accidental")), ("T40.412D", ("fentanyl", "intentional")),
    ("T40.1X3A", ("heroin", "assault")), ("T40.3X4S", ("methadone", "undetermined")),
    ("T40.0X1A", ("other", "accidental")), ("T40.2X1A", ("other", "accidental")),
    ("T40.421A", ("other", "accidental")), ("T40.491A", ("other", "accidental")),
    ("T40.4X1A", ("other", "accidental")), ("T40.601A", ("other", "accidental")),
    ("T40.691A", ("other", "accidental")), ("T402X1A", ("other", "accidental")),
    ("T40.2X5A", None), ("T40.2X6A", None), ("T40.5X1A", None), ("T40.7X1A", None), ("T40.411", None),
    ("T40.41", None), ("T39.1X1A", None),
])
def test_t40_opioid_overdose_codes_by_pattern(code, expected):
    key = vs.normalize(vs.ICD10CM, code)
    result = vs.opioid_overdose(key)
    if code == "T40.411":  # a code without its 7th character still names the drug and the intent
        assert result == ("fentanyl", "accidental")
    else:
        assert result == expected


@pytest.mark.parametrize("code, current, history", [
    ("F11.20", True, False), ("F11.283", True, False), ("F11.11", False, True), ("F11.21", False, True),
    ("F11.93", False, False), ("F11.90", False, False), ("F19.20", False, False),
])
def test_oud_icd_codes_the_expansion_may_not_list(code, current, history):
    key = (vs.ICD10CM, code)
    assert (vs.is_oud_current(key), vs.is_oud_history(key)) == (current, history)


def test_phq_answers_score_by_the_us_core_ordinal():
    assert {code: score for (_, code), score in vs.PHQ_ANSWER_SCORES.items()} == {
        "LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}


def test_pain_buprenorphine_is_not_moud():
    for name in ("BELBUCA", "BUTRANS", "BUPRENEX"):
        system, code, _ = getattr(chart, name)
        assert (system, code) not in vs.MOUD_PRODUCTS


def test_normalize():
    assert vs.normalize("urn:oid:2.16.840.1.113883.6.90", "f1123") == (vs.ICD10CM, "F11.23")
    assert vs.normalize(None, "x") is None and vs.normalize("s", 5) is None


# --- v3 builder constants (tests/cards/chart.py) --------------------------------------------------

@pytest.mark.parametrize("name, value_set", [
    ("NALOXONE_VIAL", "naloxone-medications"), ("NALOXONE_AMPULE", "naloxone-medications"),
    ("NALOXONE_AUTOINJECTOR", "naloxone-medications"), ("NALOXONE_IM_SYRINGE", "naloxone-medications"),
    ("NALOXONE_SPRAY", "naloxone-medications"), ("FENTANYL_INJECTION", "fentanyl-type-medications"),
    ("MORPHINE_INJECTION", "non-synthetic-opioid-medications"), ("MORPHINE_TABLET", "non-synthetic-opioid-medications"),
    ("CODEINE_TABLET", "non-synthetic-opioid-medications"), ("MORPHINE_UDS", "opioid-urine-tests"),
    ("OPIOID_USE", "opioid-misuse-disorders"), ("OPIOID_INTOXICATION_ICD", "opioid-misuse-disorders"),
    ("ALCOHOL_WITHDRAWAL", "conditions-documenting-substance-misuse"),
    ("COCAINE_DEPENDENCE", "conditions-documenting-substance-misuse"),
    ("COCAINE_REMISSION", "conditions-documenting-substance-misuse"),
    ("DRUG_WITHDRAWAL", "withdrawal-conditions"), ("DRUG_WITHDRAWAL_SIGNS", "withdrawal-conditions"),
])
def test_v3_builder_codes_come_from_the_shipped_value_sets(name, value_set):
    system, code, display = getattr(chart, name)
    loaded = vs.load(value_set)
    assert (system, code) in loaded
    assert loaded.display((system, code)) in ("", display)


def test_v3_morphine_test_is_an_opioid_test_and_its_products_are_opioids():
    assert vs.OPIOID_URINE_TESTS.column(chart.MORPHINE_UDS[:2], "class") == "other"
    for name in ("MORPHINE_INJECTION", "MORPHINE_TABLET", "CODEINE_TABLET", "FENTANYL_INJECTION"):
        assert getattr(chart, name)[:2] in vs.OPIOID_MEDICATIONS, name
        assert getattr(chart, name)[:2] not in vs.MOUD_PRODUCTS, name


def _reference_codes() -> Path | None:
    """/work/shared/reference/codes (the design's reference value sets), where this checkout has it beside it."""
    return next((p / "shared" / "reference" / "codes" for p in Path(__file__).resolve().parents
                 if (p / "shared" / "reference" / "codes").is_dir()), None)


@pytest.mark.parametrize("name, file", [
    ("SICKLE_CELL_CRISIS", "sickle-cell-diseases.csv"), ("XYLAZINE_UDS", "xylazine-urine-drug-screening-tests.csv"),
    ("COCAINE_UDS", "cocaine-urine-drug-screening-tests.csv"),
    ("METHAMPHETAMINE_UDS", "amphetamine-urine-drug-screening-tests.csv"),
])
def test_v3_builder_codes_come_from_the_reference_value_sets(name, file):
    reference = _reference_codes()
    if reference is None:
        pytest.skip("the design's reference value sets are not beside this checkout")
    system, code, display = getattr(chart, name)
    rows = [line.split(",", 2) for line in (reference / file).read_text().splitlines() if not line.startswith("#")]
    assert [system, code, display] in [[r[0], r[1], r[2].strip('"')] for r in rows if len(r) == 3]


def test_v3_text_only_products_are_in_no_value_set():
    # gabapentin, pregabalin and nalmefene have no code in any shipped set: the builders carry text only.
    for name in ("GABAPENTIN_TEXT", "PREGABALIN_TEXT", "NALMEFENE_TEXT"):
        system, code, text = getattr(chart, name)
        assert system is None and code is None and text
