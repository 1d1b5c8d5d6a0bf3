"""The data the engine reads is declared once (cards/data.py, design section 5): the prefetch
templates, the FHIR server queries, the sieve and the decode's fields all follow the declaration."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
from fhir.resources.R4B.encounter import Encounter

from cards import EngineSettings, Sieve, data
from cards import record as record_module
from cards.record import Record
from cds_service.protocol import services
from cds_service.protocol.decode import decode_hook_request
from tests.calls import hook_request, patient, searchset

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
# A type no rule reads today, declared as a new row would be.
ENCOUNTER_ROW = data.Read("Encounter", Encounter, "encounters", f"?patient={data.PATIENT}", ("id", "status", "period"),
                          since=data.Since("date", (("use_window",), ("withdrawal_window",))))
ENCOUNTER = {"resourceType": "Encounter", "id": "enc-1", "status": "finished", "class": {"code": "EMER"}}
WITH_ENCOUNTERS = (*data.READS, ENCOUNTER_ROW)


def test_a_new_row_is_a_prefetch_template_and_a_server_query_narrowed_by_its_date():
    assert "encounters" not in data.prefetch_templates()
    assert data.prefetch_templates(WITH_ENCOUNTERS)["encounters"] == "Encounter?patient={{context.patientId}}"
    since = NOW - EngineSettings().use_window - timedelta(days=1)
    assert data.server_queries(EngineSettings(), NOW, WITH_ENCOUNTERS)["encounters"] == \
        f"Encounter?patient={{{{context.patientId}}}}&date=ge{since.date()}"
    assert data.key_of(WITH_ENCOUNTERS)["Encounter"] == "encounters"


def test_a_new_row_is_kept_by_the_sieve_and_the_decode():
    body = orjson.dumps(hook_request("patient-view", [patient()]) | {"prefetch": {
        "encounters": searchset([ENCOUNTER])}})
    assert decode_hook_request(body, Sieve())["prefetch"]["encounters"]["entry"] == []
    assert decode_hook_request(body, Sieve(reads=WITH_ENCOUNTERS))["prefetch"]["encounters"]["entry"] == \
        [{"resource": ENCOUNTER}]


def test_the_decode_hands_the_sieve_the_fields_a_row_declares():
    """A sieved type's row names what the sieve judges it by; the decode reads exactly those."""
    reads = tuple(data.Read(**{**vars(row), "sieve": (*row.sieve, "status")}) if row.type == "Observation" else row
                  for row in data.READS)
    given: list[dict] = []

    class Watching(Sieve):
        def keeps(self, fields: dict) -> bool:
            given.append(fields)
            return super().keeps(fields)

    vital = {"resourceType": "Observation", "status": "final", "code": {"text": "Heart rate"}, "issued": "x"}
    body = orjson.dumps(hook_request("patient-view", [patient(), vital]))
    decode_hook_request(body, Watching())
    decode_hook_request(body, Watching(reads=reads))
    assert [set(fields) for fields in given] == [set(data.SIEVE_FIELDS), {*data.SIEVE_FIELDS, "status"}]
    assert given[1]["status"] == "final"


def test_a_new_narrowing_moves_the_date_the_server_is_asked_from():
    since = data.Since("date", (("use_window",), ("overdose_window", "explaining_window")))
    settings = EngineSettings(overdose_window_days=10, explaining_window_days=5, use_window_days=30)
    assert since.search(settings, NOW) == f"date=ge{(NOW - timedelta(days=31)).date()}"
    assert since.search(settings.replace(overdose_window_days=100), NOW) == \
        f"date=ge{(NOW - timedelta(days=106)).date()}"


# --- what the service and the record use is the declaration ------------------------------------

def test_discovery_and_the_record_use_the_declaration():
    assert services.PREFETCH == data.prefetch_templates()
    assert all(service.prefetch == services.PREFETCH for service in services.SERVICES.values())
    assert services.PREFETCH_KEY_OF == data.KEY_OF
    assert record_module.MODELS == data.MODELS and record_module.READ_FIELDS == data.ELEMENTS
    assert (Sieve.SIEVED, Sieve.KEPT, Sieve.FIELDS) == (data.SIEVED, data.KEPT, data.SIEVE_FIELDS)


def test_the_record_indexes_exactly_the_declared_types():
    """A type declared but not indexed would be fetched for nothing; one indexed but not declared
    would never be fetched."""
    assert set(Record._INDEXERS) == {row.type for row in data.READS}


def test_each_row_names_elements_its_model_has():
    unknown = {}
    for row in data.READS:
        names = {info.alias or name for name, info in row.model.model_fields.items()}
        if missing := {*row.elements, *(row.sieve or ())} - names:
            unknown[row.type] = missing
    assert unknown == {}


def test_each_key_has_one_search_and_each_type_one_row():
    queried = [row.key for row in data.READS if row.query is not None]
    assert len(queried) == len(set(queried))
    assert {row.key for row in data.READS} == set(queried)
    assert len({row.type for row in data.READS}) == len(data.READS)
