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
    assert (vs.ICD10CM, "F19.239") not in vs.OPIOID_WITHDRAWAL_CONDITIONS
    assert (vs.ICD10CM, "F11.23") in vs.OPIOID_WITHDRAWAL_CONDITIONS


@pytest.mark.parametrize("name, value_set", [
    ("OXYCODONE", vs.OPIOID_MEDICATIONS), ("TRAMADOL", vs.OPIOID_MEDICATIONS), ("SUBOXONE", vs.MOUD_PRODUCTS),
    ("BUP_SL", vs.MOUD_PRODUCTS), ("SUBLOCADE", vs.MOUD_PRODUCTS), ("METHADONE", vs.MOUD_PRODUCTS),
    ("BELBUCA", vs.OPIOID_MEDICATIONS), ("BUTRANS", vs.OPIOID_MEDICATIONS), ("BUPRENEX", vs.OPIOID_MEDICATIONS),
    ("NALOXONE_SPRAY", vs.NALOXONE_RESCUE), ("OUD_SNOMED", vs.OUD_CONDITIONS), ("HOSPICE", vs.END_OF_LIFE),
    ("TERMINAL", vs.END_OF_LIFE), ("COUNSELING", vs.COUNSELING), ("MITRAGYNINE_PRESENCE", vs.MITRAGYNINE_TESTS),
    ("WITHDRAWAL_SYNDROME", vs.WITHDRAWAL_CONDITIONS), ("F19_WITHDRAWAL", vs.WITHDRAWAL_CONDITIONS),
])
def test_builder_codes_come_from_the_value_sets(name, value_set):
    system, code, display = getattr(chart, name)
    assert (system, code) in value_set and value_set.display((system, code)) == display


def test_pain_buprenorphine_is_not_moud():
    for name in ("BELBUCA", "BUTRANS", "BUPRENEX"):
        system, code, _ = getattr(chart, name)
        assert (system, code) not in vs.MOUD_PRODUCTS


def test_normalize():
    assert vs.normalize("urn:oid:2.16.840.1.113883.6.90", "f1123") == (vs.ICD10CM, "F11.23")
    assert vs.normalize(None, "x") is None and vs.normalize("s", 5) is None
