"""cards.Sieve: judged from its FIELDS alone, a resource is kept exactly when Record.build would
keep something of it (the service then decodes only the kept ones whole)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import records
from cards import EngineSettings, Sieve, data
from cards.record import Record
from tests.cards.test_robustness import JUNK
from tests.cards.test_scenarios import SCENARIOS
from tests.junk import resource as junk_resource

SCENARIO_RESOURCES = [resource for row in SCENARIOS for resource in row[1]]
BENCHMARK_RESOURCES = [entry["resource"] for key, value in records.hook_request(300)["prefetch"].items()
                       if value.get("resourceType") == "Bundle" for entry in value["entry"]]
# A long stay (benchmarks --record inpatient): mostly doses of ordinary drugs, a few opioids.
ADMINISTRATIONS = [r for r in records.resources(600, shape="inpatient")
                   if r["resourceType"] == "MedicationAdministration"]
EXAMPLES = SCENARIO_RESOURCES + BENCHMARK_RESOURCES + ADMINISTRATIONS + [j for j in JUNK if isinstance(j, dict)]


class Touched(dict):
    """A resource that remembers which of its members were looked at."""

    def __init__(self, *args):
        super().__init__(*args)
        self.touched: set[str] = set()

    def get(self, key, default=None):
        self.touched.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.touched.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.touched.add(key)
        return super().__contains__(key)


def fields_of(resource: dict) -> dict:
    return {name: resource[name] for name in Sieve.FIELDS if name in resource}


def fields_or_none(resource: dict) -> dict:
    """As the service's decode gives them: every field, None where the resource has none."""
    return {name: resource.get(name) for name in Sieve.FIELDS}


def record_keeps(resource: dict, engine_settings: EngineSettings | None = None) -> bool:
    record = Record.build([resource], settings=engine_settings)
    return bool(record.by_tag or record.patients or record.medications or record.medication_uses)


def test_the_indexers_of_sieved_types_read_only_the_fields_their_row_declares():
    declared = {row.type: {"resourceType", *row.sieve} for row in data.READS if row.sieve is not None}
    read_more = {}
    for resource in EXAMPLES:
        if resource.get("resourceType") in Sieve.SIEVED:
            touched = Touched(resource)
            Record._INDEXERS[resource["resourceType"]](Record.build(()), touched, False)
            if not touched.touched <= declared[resource["resourceType"]]:
                read_more[resource.get("id")] = touched.touched - declared[resource["resourceType"]]
    assert read_more == {}


def test_the_sieve_keeps_exactly_what_the_record_keeps():
    sieve = Sieve()
    disagreements = [resource for resource in EXAMPLES
                     if not sieve.keeps(fields_of(resource)) == sieve.keeps(fields_or_none(resource))
                     == record_keeps(resource)]
    assert disagreements == []
    assert len(EXAMPLES) > 500


def test_most_of_a_typical_record_is_sieved_out_and_every_finding_kept():
    sieve = Sieve()
    kept = [r for r in BENCHMARK_RESOURCES if sieve.keeps(fields_of(r))]
    assert len(kept) < len(BENCHMARK_RESOURCES) / 5
    # The benchmark's three findings: the OUD diagnosis, the COWS score, the opioid order.
    assert {"Condition", "Observation", "MedicationRequest"} <= {r["resourceType"] for r in kept}


def test_administrations_are_sieved_by_their_concept_and_one_naming_a_medication_is_kept():
    sieve = Sieve()
    kept = [r for r in ADMINISTRATIONS if sieve.keeps(fields_or_none(r))]
    opioids = [r for r in ADMINISTRATIONS if r["medicationCodeableConcept"].get("coding", [{}])[0].get("code")
               in {"1735003", "1728805"}]
    # The opioids and the benzodiazepine (a naloxone risk beside an opioid) are kept; the rest are not.
    assert opioids and all(r in kept for r in opioids)
    assert len(kept) < len(ADMINISTRATIONS) / 4
    by_reference = {"resourceType": "MedicationAdministration", "medicationReference": {"reference": "Medication/m1"}}
    assert sieve.keeps(fields_or_none(by_reference)) and record_keeps(by_reference)


def test_a_site_configured_order_code_is_kept_only_with_that_setting():
    order = {"resourceType": "ServiceRequest", "code": {"coding": [{"system": "urn:site:orders", "code": "COWS-7"}]}}
    assert not Sieve().keeps(fields_of(order))
    configured = EngineSettings(cows_assessment_code={"system": "urn:site:orders", "code": "COWS-7"})
    assert Sieve(configured).keeps(fields_of(order)) == record_keeps(order, configured) is True


def test_one_sieve_judges_many_resources_independently():
    sieve = Sieve()
    verdicts = [sieve.keeps(fields_of(r)) for r in EXAMPLES]
    assert verdicts == [Sieve().keeps(fields_of(r)) for r in EXAMPLES]


JUNK_TYPES = sorted(Sieve.SIEVED) + ["Patient", "MedicationDispense", "MedicationAdministration", "Encounter", "Bundle"]


@given(resource=junk_resource(st.sampled_from(JUNK_TYPES)))
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_on_junk_the_sieve_still_agrees_with_the_record(resource):
    assert Sieve().keeps(fields_of(resource)) == Sieve().keeps(fields_or_none(resource)) == record_keeps(resource)
