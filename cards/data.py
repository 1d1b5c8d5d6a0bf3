"""The data the engine reads, declared once (design section 5).

One row per resource type the rules read. From these rows, and nothing written beside them:
- the CDS Hooks prefetch templates discovery publishes (`prefetch_templates`), and which key a
  resource of each type is sorted under (`KEY_OF`);
- the queries the service runs on the EHR's FHIR server for the keys prefetch did not satisfy
  (`server_queries`): the same searches, narrowed by date where a row says how far back the
  rules read its type;
- the sieve (`SIEVED`, `SIEVE_FIELDS`, `KEPT`): which types are judged by a few fields before
  anything else of them is decoded, and which are always kept;
- what is validated (`MODELS`, `ELEMENTS`): each type's R4B model, and the elements the rules read.

Templates use CDS Hooks 2.0 tokens (`{{context.patientId}}`) only: 2.0 has no `{{today()}}`, so
a prefetch template cannot name a date and stays patient-wide; only the service's own query is
narrowed. Searches are not narrowed by code: the opioid, MOUD and naloxone value sets run to
hundreds of RxNorm codes, sites code COWS locally, and the rules read text where codes are
local, so a code filter would lose evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.medicationdispense import MedicationDispense
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.servicerequest import ServiceRequest

from cards.settings import EngineSettings

PATIENT = "{{context.patientId}}"


@dataclass(frozen=True)
class Since:
    """How far back the rules read a type, so that the service's own query can leave older
    resources on the server. `spans`: each a sum of EngineSettings windows (properties giving a
    timedelta), read as "a finding in the first window, and what explains it in the next, before
    it"; the query reaches back to the longest."""

    parameter: str  # the FHIR date search parameter
    spans: tuple[tuple[str, ...], ...]

    def reach(self, settings: EngineSettings) -> timedelta:
        return max(sum((getattr(settings, window) for window in span), timedelta()) for span in self.spans)

    def search(self, settings: EngineSettings, now: datetime) -> str:
        # A day earlier than the reach: a date without a time is read in the server's time zone.
        start = (now - self.reach(settings) - timedelta(days=1)).date()
        return f"{self.parameter}=ge{start.isoformat()}"


@dataclass(frozen=True)
class Read:
    """One resource type the rules read."""

    type: str
    model: Any  # its fhir.resources R4B model: what validates it
    key: str  # the prefetch key it comes under (also names the service's own query for it)
    # The query after the type: "/{{context.patientId}}" (a read) or "?patient=..." (a search).
    # None: the type has no query of its own; it comes with another's (a Medication by _include).
    query: str | None
    # The elements of this type the rules read: validation covers these (and the model's
    # required ones), so a malformed part nobody reads does not sink a sound resource.
    elements: tuple[str, ...]
    # The fields the sieve judges a resource of this type by (its indexer reads no other), or
    # None: always kept (a medication use is named only once its Medications have been read).
    sieve: tuple[str, ...] | None = None
    since: Since | None = None  # how far back the service's own query reaches; None: everything


_MEDICATION_USE = ("id", "status", "subject", "category", "contained", "note", "medicationCodeableConcept",
                   "medicationReference")
_STATED = ("reasonCode", "reasonReference")

# The windows a rule reads administrations in (design 4.1): a product given in the use window
# (prescribed opioid, MOUD, corroboration, ...); a positive test or a record of nonmedical use in
# the use window explained, or not, by a product given in the days before it; an overdose in the
# overdose window, likewise (372 days with the defaults). Buprenorphine's start is its earliest record:
# one older than the reach is not seen, so a restart after that long reads as a start.
ADMINISTRATIONS_READ = (("use_window",), ("use_window", "given_explaining_window"),
                        ("overdose_window", "given_explaining_window"), ("buprenorphine_start_window",),
                        ("recent_fentanyl_methadone",))

READS: tuple[Read, ...] = (
    Read("Patient", Patient, "patient", f"/{PATIENT}",
         ("id", "birthDate", "deceasedBoolean", "deceasedDateTime", "contained")),
    Read("Condition", Condition, "conditions", f"?patient={PATIENT}",
         ("id", "subject", "code", "category", "clinicalStatus", "verificationStatus", "onsetDateTime",
          "onsetPeriod", "recordedDate", "note", "contained"),
         sieve=("code", "note")),
    Read("MedicationRequest", MedicationRequest, "medicationRequests",
         f"?patient={PATIENT}&_include=MedicationRequest:medication",
         (*_MEDICATION_USE, *_STATED, "intent", "authoredOn", "dispenseRequest")),
    Read("Medication", Medication, "medicationRequests", None, ("id", "status", "code", "ingredient", "contained")),
    Read("MedicationStatement", MedicationStatement, "medicationStatements", f"?patient={PATIENT}",
         (*_MEDICATION_USE, *_STATED, "dateAsserted", "effectiveDateTime", "effectivePeriod")),
    Read("MedicationDispense", MedicationDispense, "medicationDispenses",
         f"?patient={PATIENT}&_include=MedicationDispense:medication",
         (*_MEDICATION_USE, "whenHandedOver", "whenPrepared")),
    # Sieved by the concept it names (a long stay's record is mostly doses of ordinary drugs); one
    # naming a Medication resource is kept, to be read once the Medications have been.
    Read("MedicationAdministration", MedicationAdministration, "medicationAdministrations",
         f"?patient={PATIENT}&_include=MedicationAdministration:medication",
         (*_MEDICATION_USE, *_STATED, "effectiveDateTime", "effectivePeriod"),
         sieve=("medicationCodeableConcept", "medicationReference"),
         since=Since("effective-time", ADMINISTRATIONS_READ)),
    Read("Observation", Observation, "observations", f"?patient={PATIENT}",
         ("id", "status", "subject", "code", "category", "effectiveDateTime", "effectiveInstant",
          "effectivePeriod", "issued", "valueString", "valueQuantity", "valueCodeableConcept", "valueInteger",
          "valueBoolean", "interpretation", "referenceRange", "note", "contained"),
         sieve=("code", "valueString", "valueCodeableConcept", "note")),
    Read("ServiceRequest", ServiceRequest, "serviceRequests", f"?patient={PATIENT}",
         ("id", "status", "intent", "subject", "code", "category", "authoredOn", "occurrenceDateTime",
          "occurrencePeriod", *_STATED, "note", "contained"),
         sieve=("code",)),
    Read("Procedure", Procedure, "procedures", f"?patient={PATIENT}",
         ("id", "status", "subject", "code", "category", "performedDateTime", "performedPeriod", *_STATED, "note",
          "contained"),
         sieve=("code",)),
)


# --- derived --------------------------------------------------------------------------------

def prefetch_templates(reads: tuple[Read, ...] = READS) -> dict[str, str]:
    """Prefetch key -> CDS Hooks template, as discovery publishes it."""
    return {read.key: f"{read.type}{read.query}" for read in reads if read.query is not None}


def server_queries(settings: EngineSettings, now: datetime, reads: tuple[Read, ...] = READS) -> dict[str, str]:
    """Prefetch key -> the query the service runs on the FHIR server itself when prefetch did not
    give that key: the template, narrowed by date where the rules read only so far back."""
    queries = prefetch_templates(reads)
    for read in reads:
        if read.query is not None and read.since is not None:
            queries[read.key] += f"&{read.since.search(settings, now)}"
    return queries


def key_of(reads: tuple[Read, ...] = READS) -> dict[str, str]:
    """Resource type -> the prefetch key it comes under."""
    return {read.type: read.key for read in reads}


def sieved_types(reads: tuple[Read, ...] = READS) -> frozenset[str]:
    """The types the sieve judges by their fields."""
    return frozenset(read.type for read in reads if read.sieve is not None)


def kept_types(reads: tuple[Read, ...] = READS) -> frozenset[str]:
    """The types the sieve keeps unjudged."""
    return frozenset(read.type for read in reads if read.sieve is None)


def sieve_fields(reads: tuple[Read, ...] = READS) -> tuple[str, ...]:
    """Every field the sieve reads of any resource, `resourceType` first."""
    fields = dict.fromkeys(["resourceType"])
    for read in reads:
        fields.update(dict.fromkeys(read.sieve or ()))
    return tuple(fields)


KEY_OF: dict[str, str] = key_of()
MODELS: dict[str, Any] = {read.type: read.model for read in READS}
# One set for every type, as validation has always read it (a member of another type is then
# validated too, and fails as the junk it is).
ELEMENTS: frozenset[str] = frozenset({"resourceType"}.union(*(read.elements for read in READS)))
SIEVED: frozenset[str] = sieved_types()
KEPT: frozenset[str] = kept_types()
SIEVE_FIELDS: tuple[str, ...] = sieve_fields()
