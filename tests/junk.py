"""FHIR-shaped junk for hypothesis: resources, Bundles and prefetch maps whose members are
sometimes right and sometimes any JSON at all (tests/test_hostile_input.py, tests/test_decode.py)."""

from __future__ import annotations

from hypothesis import strategies as st

from cds_service.protocol.services import PREFETCH

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                    st.text(max_size=30), st.sampled_from(["", "2024-02-30", "1980-04-01", "F11.20", "active",
                                                           "http://snomed.info/sct", "T40.2X1A", "9999-99-99T"]))
anything = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                        max_leaves=25)
codings = st.lists(st.fixed_dictionaries({}, optional={
    "system": st.one_of(st.sampled_from(["http://www.nlm.nih.gov/research/umls/rxnorm",
                                         "http://hl7.org/fhir/sid/icd-10-cm", "http://loinc.org"]), anything),
    "code": st.one_of(st.sampled_from(["1049621", "F11.20", "1010600", "41381-6", "kratom"]), anything),
    "display": anything}), max_size=3)
concept = st.one_of(st.fixed_dictionaries({}, optional={"coding": st.one_of(codings, anything), "text": anything}),
                    anything)
TYPES = ["Patient", "Condition", "MedicationRequest", "MedicationStatement", "Observation", "ServiceRequest",
         "Procedure", "Medication", "Encounter", "OperationOutcome", "Bundle"]


def resource(resource_type=st.sampled_from(TYPES)):  # noqa: B008 - a strategy, built once, is the default
    return st.builds(
        lambda rtype, fields, extra: {"resourceType": rtype, **fields, **extra},
        resource_type,
        st.fixed_dictionaries({}, optional={
            "id": st.one_of(st.from_regex(r"[A-Za-z0-9\-.]{1,64}", fullmatch=True), anything),
            "code": concept, "medicationCodeableConcept": concept, "category": st.one_of(st.lists(concept), anything),
            "clinicalStatus": concept, "verificationStatus": concept,
            "status": st.one_of(st.text(max_size=12), anything),
            "subject": st.one_of(st.just({"reference": "Patient/pat-1"}), anything),
            "effectiveDateTime": anything, "authoredOn": anything, "recordedDate": anything,
            "onsetDateTime": anything, "birthDate": anything, "valueQuantity": anything, "valueInteger": anything,
            "valueString": st.one_of(st.sampled_from(["kratom daily", "denies kratom", "14"]), anything),
            "valueCodeableConcept": concept, "note": st.one_of(st.just([{"text": "uses kratom"}]), anything),
            "component": anything, "dosageInstruction": anything, "entry": anything, "link": anything,
            "name": anything,
        }),
        st.dictionaries(st.text(max_size=10), anything, max_size=3))


bundle = st.builds(lambda entries, extra: {"resourceType": "Bundle", "type": "searchset", **extra, "entry": entries},
                   st.lists(st.one_of(st.builds(lambda r: {"resource": r}, resource()),
                                      st.fixed_dictionaries({"resource": resource()}, optional={"search": anything}),
                                      anything), max_size=5),
                   st.fixed_dictionaries({}, optional={"link": anything, "total": anything}))
prefetch = st.dictionaries(st.sampled_from(list(PREFETCH) + ["unknownKey"]),
                           st.one_of(st.none(), resource(), bundle, anything), max_size=len(PREFETCH) + 1)
draft = st.builds(lambda r, n: {**r, "id": f"draft-{n}"}, resource(), st.integers(0, 9))
