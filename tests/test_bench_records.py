"""The benchmark's inpatient-shaped record (benchmarks/records.py, design section 7 v3): a long stay
whose record is mostly MedicationAdministrations of ordinary drugs, a few of them opioids, every
code from the reference value sets, every administration valid FHIR R4, and the engine reads them."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fhir.resources.R4B.medicationadministration import MedicationAdministration

from benchmarks import records
from cds_service.fhir.prefetch import bundle_resources
from cds_service.protocol.services import PREFETCH

ROOT = Path(__file__).resolve().parents[1]
# ../shared/reference/codes beside the repository (or beside the worktrees' folder)
CODES = next((p / "shared" / "reference" / "codes" for p in (ROOT.parent, ROOT.parent.parent)
              if (p / "shared" / "reference" / "codes").is_dir()), ROOT.parent / "shared" / "reference" / "codes")
NOW = datetime(2026, 1, 5, 12, tzinfo=timezone.utc)


def _codes(*names: str) -> set[tuple[str, str]]:
    out = set()
    for name in names:
        lines = [line for line in (CODES / name).read_text().splitlines() if not line.startswith("#")]
        out |= {(row["system"], row["code"]) for row in csv.DictReader(lines)}
    return out


def _administrations(n: int) -> list[dict]:
    return [r for r in records.resources(n, now=NOW, shape="inpatient")
            if r["resourceType"] == "MedicationAdministration"]


def test_the_inpatient_record_is_mostly_administrations_of_drugs_that_are_not_opioids():
    rs = records.resources(10_000, now=NOW, shape="inpatient")
    assert len(rs) == 10_000
    kinds = Counter(r["resourceType"] for r in rs)
    assert kinds["MedicationAdministration"] == 6_000
    opioids = [a for a in _administrations(10_000)
               if a["medicationCodeableConcept"].get("coding", [{}])[0].get("code") in {"1735003", "1728805"}]
    assert len(opioids) == 6_000 // records.OPIOID_EVERY


@pytest.mark.skipif(not CODES.is_dir(), reason="the shared reference value sets are not beside the repository")
def test_every_administered_code_is_in_a_reference_value_set():
    known = _codes("ahrq-pain-mgmt-summary/nonopioid-pain-medications_2.16.840.1.113762.1.4.1032.26.csv",
                   "ahrq-pain-mgmt-summary/stool-softeners-and-laxatives_2.16.840.1.113762.1.4.1032.44.csv",
                   "benzodiazepine-medications.csv", "fentanyl-type-medications.csv",
                   "non-synthetic-opioid-medications.csv")
    coded = {(c["system"], c["code"]) for a in _administrations(1_000)
             for c in a["medicationCodeableConcept"].get("coding", ())}
    assert coded and coded <= known


def test_every_administration_is_valid_fhir_r4():
    for administration in _administrations(1_000)[:200]:
        MedicationAdministration.model_validate(administration)


def test_the_administrations_come_under_their_prefetch_key_and_the_chart_has_none():
    body = records.hook_request(1_000, now=NOW, shape="inpatient")
    assert "medicationAdministrations" in PREFETCH
    given = bundle_resources(body["prefetch"]["medicationAdministrations"])
    assert len(given) == 600 and {r["resourceType"] for r in given} == {"MedicationAdministration"}
    chart = records.hook_request(1_000, now=NOW)
    assert not bundle_resources(chart["prefetch"]["medicationAdministrations"])


def test_use_shape_sets_the_default_and_refuses_an_unknown_one():
    try:
        records.use_shape("inpatient")
        assert any(r["resourceType"] == "MedicationAdministration" for r in records.resources(100, now=NOW))
    finally:
        records.use_shape("chart")
    assert not any(r["resourceType"] == "MedicationAdministration" for r in records.resources(100, now=NOW))
    with pytest.raises(ValueError):
        records.use_shape("icu")
