"""The patient's record, indexed in one pass for the evidence finders.

The pass reads plain JSON and does only cheap work per resource: a few dict lookups, set
membership of ``(system, code)`` keys and, for text, one precompiled regex. A record of ten
thousand vital signs therefore costs about as much as parsing it. Only resources that match a
rule ("candidates") are validated with ``fhir.resources.R4B``, once, when a finder first asks for
them; one that fails is skipped and logged by type and a keyed hash of its id, and the rest still
count.

Which codes and words earn which tag is cards/tags.py's; every text is read up to the record's own
settings' max_text_chars (passed to cards/fhir_read.py's readers, never kept per thread).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import ValidationError

from cards import data, terms
from cards import valuesets as vs
from cards.fhir_read import EMPTY, Concept, concept, medication_concept, note_text, value_text
from cards.settings import EngineSettings
from cards.tags import (
    CONDITION_TAGS_BY_CODE,
    OBSERVATION_KEY_TAGS,
    ORDER_TAGS_BY_CODE,
    code_tags,
    condition_rule_tags,
    condition_text_tags,
    medication_tags,
    mentions_kratom,
    observation_text_tags,
    order_text_tags,
)

_screens = terms.screens  # bound once: looked up for every Observation

log = logging.getLogger("cards")

# The types the record reads, their models and the elements validated: declared in cards/data.py.
# Validation covers what the rules read (and each type's required elements), not the whole
# resource: a malformed name or narrative must not sink a resource whose clinical fields are
# sound, and validating the parts nobody reads (a Patient's names, addresses) costs time.
MODELS: dict[str, Any] = data.MODELS
READ_FIELDS = data.ELEMENTS


@dataclass
class Item:
    """A candidate resource, what it matched, and whether it is a draft of this call and one
    being selected or signed now."""

    resource: dict
    tags: frozenset[str]
    draft: bool = False
    concept: Concept = EMPTY
    acted_on: bool = False

    @property
    def type(self) -> str:
        return self.resource["resourceType"]


class RecordTooLarge(Exception):
    """The record needs more work than one evaluation may do; `setting` names the bound passed
    (an EngineSettings field). Nothing is advised from a record read in part."""

    def __init__(self, message: str, setting: str):
        super().__init__(message)
        self.setting = setting


@dataclass
class Record:
    settings: EngineSettings = field(default_factory=EngineSettings)
    patient_id: str | None = None
    patients: list[dict] = field(default_factory=list)
    by_tag: dict[str, list[Item]] = field(default_factory=lambda: defaultdict(list))
    medications: dict[str, dict] = field(default_factory=dict)
    medication_uses: list[tuple[dict, bool]] = field(default_factory=list)
    _valid: dict[int, bool] = field(default_factory=dict)
    _configured: dict[str, vs.Key | None] = field(default_factory=dict)
    _validated: int = 0
    _cpu_until: float = math.inf  # time.thread_time() past which the evaluation stops
    _acted_on: set[int] = field(default_factory=set)
    # What each Medication resource is, read once (keyed by id: the resources live as long as the
    # record): thousands of requests may name one Medication with thousands of ingredients.
    _medications_read: dict[int, tuple[Concept, frozenset[str]]] = field(default_factory=dict)

    # --- building -------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        resources: Iterable[Any],
        *,
        drafts: Iterable[Any] = (),
        acted_on: Iterable[Any] = (),
        settings: EngineSettings | None = None,
        patient_id: str | None = None,
        cpu_until: float | None = None,
    ) -> Record:
        """`cpu_until`: the thread CPU time (time.thread_time()) past which reading stops with
        RecordTooLarge; by default `max_cpu_seconds` from now. A caller that sieved the request
        first passes the sieve's (`Sieve.cpu_until`), so that one request has one budget."""
        record = cls(settings=settings or EngineSettings(), patient_id=patient_id)
        record._cpu_until = cpu_until if cpu_until is not None else \
            time.thread_time() + record.settings.max_cpu_seconds
        record._configured = {
            "cows_order": _key(record.settings.cows_assessment_code),
            "moud_referral": _key(record.settings.moud_referral_code),
            "phq9_order": _key(record.settings.phq9_order_code),
        }
        record._acted_on = {id(draft) for draft in acted_on}
        indexers = cls._INDEXERS
        for n, resource in enumerate(resources):
            if not n & 31:
                record._within_cpu_budget()
            if type(resource) is dict:
                index = indexers.get(resource.get("resourceType"))
                if index is not None:
                    index(record, resource, False)
            else:
                record.add(resource)
        for resource in drafts:
            record.add(resource, draft=True)
        record._classify_medication_uses()
        for item in record.by_tag.get("unreadable", ()):
            record.is_valid(item.resource)  # no rule reads it; validate only to log the skip
        return record

    def add(self, resource: Any, *, draft: bool = False) -> None:
        if type(resource) is not dict:
            log.warning("skipped a record entry that is not a JSON object")
            return
        index = self._INDEXERS.get(resource.get("resourceType"))
        if index is not None:
            index(self, resource, draft)

    def _put(self, resource: dict, tags: set[str], draft: bool, found: Concept = EMPTY) -> None:
        if tags:
            item = Item(resource, frozenset(tags), draft, found, draft and id(resource) in self._acted_on)
            for tag in tags:
                self.by_tag[tag].append(item)

    def _patient(self, resource: dict, draft: bool) -> None:
        self.patients.append(resource)

    def _observation(self, resource: dict, draft: bool) -> None:
        # The hot path: most of a record is vital signs and labs, and most of those earn no tag.
        # Plain dict reads, one dict lookup per coding, one remembered screen per text, and no
        # set built until something matched.
        bound = self.settings.max_text_chars
        coded: frozenset[str] | None = None
        screened = False
        code = resource.get("code")
        if type(code) is dict:
            codings = code.get("coding")
            if type(codings) is list:
                for coding in codings:
                    if type(coding) is dict:
                        system, value = coding.get("system"), coding.get("code")
                        # Only strings can be codes; a list or object there is unhashable junk.
                        found = OBSERVATION_KEY_TAGS.get((system, value)) if type(system) is str \
                            and type(value) is str else None
                        if found:
                            coded = found if coded is None else coded | found
                        display = coding.get("display")
                        if type(display) is str and _screens(display, bound):
                            screened = True
            text = code.get("text")
            if type(text) is str and _screens(text, bound):
                screened = True
        elif type(code) is str:
            screened = True
        kratom = False
        # `is not None`, not `in`: a null member reads as an absent one (the sieve passes nulls).
        if (resource.get("valueString") is not None or resource.get("valueCodeableConcept") is not None
                or resource.get("note") is not None):
            kratom = mentions_kratom(
                value_text(resource, bound),
                concept(resource.get("valueCodeableConcept"), bound).text,
                note_text(resource, bound),
            )
        if coded is None and not screened and not kratom:
            return
        tags: set[str] = set(coded or ())
        if kratom:
            tags.add("kratom")
        found_concept = concept(code, bound)
        if screened:
            tags |= self._observation_text_tags(found_concept.text, tags)
            if not tags and type(code) is not dict:
                # Screened by name but nothing matched: still validate a malformed code.
                tags.add("unreadable")
        self._put(resource, tags, draft, found_concept)

    @staticmethod
    def _observation_text_tags(text: str, coded: set[str]) -> set[str]:
        tags: set[str] = set(observation_text_tags(text))
        if "kratom_test" in coded:
            # A test named for mitragynine is read by its result, like the coded ones.
            tags.discard("kratom_code")
        return tags

    def _condition(self, resource: dict, draft: bool) -> None:
        bound = self.settings.max_text_chars
        code = concept(resource.get("code"), bound)
        keys, text = code.keys, code.text
        tags = code_tags(keys, CONDITION_TAGS_BY_CODE) | condition_text_tags(text) | condition_rule_tags(keys)
        if resource.get("note") is not None and mentions_kratom(note_text(resource, bound)):
            tags.add("kratom")
        if not keys and not text and resource.get("code") is not None:
            # Unreadable code (e.g. a bare number): validate it so the failure is logged.
            tags.add("unreadable")
        self._put(resource, tags, draft, code)

    def _service_request(self, resource: dict, draft: bool) -> None:
        code = concept(resource.get("code"), self.settings.max_text_chars)
        tags = self._order_tags(code)
        self._put(resource, tags, draft, code)

    def _procedure(self, resource: dict, draft: bool) -> None:
        code = concept(resource.get("code"), self.settings.max_text_chars)
        tags = {tag for tag in self._order_tags(code) if tag in ("counseling", "end_of_life")}
        self._put(resource, tags, draft, code)

    def _order_tags(self, code: Concept) -> set[str]:
        keys = code.keys
        tags = code_tags(keys, ORDER_TAGS_BY_CODE) | order_text_tags(code.text)
        # A site's own orderables for the two orders whose codes it configures.
        tags.update(tag for tag, key in self._configured.items() if key in keys)
        return tags

    def _medication(self, resource: dict, draft: bool) -> None:
        if isinstance(resource.get("id"), str):
            self.medications[f"Medication/{resource['id']}"] = resource

    def _medication_use(self, resource: dict, draft: bool) -> None:
        # Classified after the pass, once every Medication it may reference has been seen.
        self.medication_uses.append((resource, draft))

    def _administration(self, resource: dict, draft: bool) -> None:
        # One coded by a concept names no Medication, so what it is is known now, and the sieve can
        # judge it by that concept: a long stay gives thousands of doses, few of them of interest.
        # Exactly what _classify_medication_uses would find for it (an administration is never kratom).
        code = resource.get("medicationCodeableConcept")
        if code is None or resource.get("medicationReference") is not None:
            self.medication_uses.append((resource, draft))
            return
        medication = concept(code, self.settings.max_text_chars)
        self._put(resource, medication_tags(medication), draft, medication)

    _INDEXERS: ClassVar[dict[str, Callable[[Record, dict, bool], None]]] = {
        "Patient": _patient,
        "Observation": _observation,
        "Condition": _condition,
        "ServiceRequest": _service_request,
        "Procedure": _procedure,
        "Medication": _medication,
        "MedicationRequest": _medication_use,
        "MedicationStatement": _medication_use,
        "MedicationDispense": _medication_use,
        "MedicationAdministration": _administration,
    }

    def _classify_medication_uses(self) -> None:
        for n, (resource, draft) in enumerate(self.medication_uses):
            if not n & 31:
                self._within_cpu_budget()
            medication, referenced = self.medication_of(resource)
            # A Medication resource's tags were found once, when medication_of first read it.
            tags = set(self._medications_read[id(referenced)][1]) if referenced is not None \
                else medication_tags(medication)
            if resource.get("resourceType") == "MedicationStatement" and mentions_kratom(
                medication.text, note_text(resource, self.settings.max_text_chars)
            ):
                tags.add("kratom")
            if tags and referenced is not None and not self.is_valid(referenced):
                continue
            self._put(resource, tags, draft, medication)

    def medication_of(self, resource: dict) -> tuple[Concept, dict | None]:
        """The medication a request or statement is for, following medicationReference."""
        bound = self.settings.max_text_chars
        if "medicationCodeableConcept" in resource:
            return concept(resource["medicationCodeableConcept"], bound), None
        reference = resource.get("medicationReference")
        target = reference.get("reference") if isinstance(reference, dict) else None
        medication = None
        if isinstance(target, str) and target.startswith("#"):
            for contained in resource.get("contained") or ():
                if isinstance(contained, dict) and contained.get("id") == target[1:]:
                    medication = contained
        elif isinstance(target, str):
            medication = self.medications.get(target[target.find("Medication/"):])
        if medication is None:
            display = reference.get("display") if isinstance(reference, dict) else None
            return Concept((), display[:bound] if isinstance(display, str) else ""), None
        read = self._medications_read.get(id(medication))
        if read is None:
            what = medication_concept(medication, bound)
            read = self._medications_read[id(medication)] = what, frozenset(medication_tags(what))
        return read[0], medication

    # --- reading --------------------------------------------------------------------------

    def is_valid(self, resource: dict) -> bool:
        """Validate once with fhir.resources; log the type and a keyed hash of the id (never values)."""
        known = self._valid.get(id(resource))
        if known is not None:
            return known
        model = MODELS.get(resource.get("resourceType"))
        try:
            if model is not None:
                self._count_validation()
                model.model_validate({k: v for k, v in resource.items() if k in READ_FIELDS})
            valid = True
        except ValidationError as error:
            valid = False
            log.warning(
                "skipped invalid %s (id hash %s): %d validation error(s)",
                resource.get("resourceType"),
                _safe_id(resource),
                error.error_count(),
            )
        self._valid[id(resource)] = valid
        return valid

    def _count_validation(self) -> None:
        self._validated += 1
        if self._validated > self.settings.max_validated_resources:
            raise RecordTooLarge(f"more than {self.settings.max_validated_resources} resources of the record match "
                                 "the rules and would need validating", "max_validated_resources")
        self._within_cpu_budget()

    def _within_cpu_budget(self) -> None:
        if time.thread_time() > self._cpu_until:
            raise RecordTooLarge(f"evaluating the record took more than {self.settings.max_cpu_seconds} s of CPU",
                                 "max_cpu_seconds")

    def tagged(self, tag: str, *types: str, keep: Callable[[Item], bool] | None = None) -> Iterator[Item]:
        """Valid candidates that matched ``tag`` (optionally of the given resource types).

        ``keep`` decides first, on the raw JSON, whether a candidate would count (its status, its
        date): validation costs far more, and a chart holds hundreds of old orders a rule only
        skips. Whatever ``keep`` reads must be read defensively (the resource is not validated yet).
        """
        for item in self.by_tag.get(tag, ()):
            if types and item.type not in types:
                continue
            if keep is not None and not keep(item):
                continue
            if self.is_valid(item.resource):
                yield item

    def patient(self) -> dict | None:
        chosen = [p for p in self.patients if p.get("id") == self.patient_id] or self.patients
        for patient in chosen:
            if self.is_valid(patient):
                return patient
        return None


def _key(code: Any) -> vs.Key | None:
    return vs.normalize(code.system, code.code) if code is not None else None


# A resource id of the patient's record is PHI-adjacent (it can be an MRN), so the log names it by
# a keyed hash. The key is random per process and never written down: the same resource reads
# the same throughout a worker's log, and nobody can turn the hash back into the id.
_LOG_ID_KEY = secrets.token_bytes(32)


def _safe_id(resource: dict) -> str:
    value = resource.get("id")
    if not isinstance(value, str):
        return "-"
    return hmac.new(_LOG_ID_KEY, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:16]


def warm_up() -> None:
    """Make fhir.resources build its validators now, not on a clinician's first chart (100-200 ms)."""
    for name, model in MODELS.items():
        try:
            model.model_validate({"resourceType": name})
        except ValidationError:  # a minimal resource may be invalid; the validator is built either way
            pass


class Sieve:
    """Which resources `Record.build` would keep, judged from a few of their fields: a caller can
    then read only those fields of the rest (cds_service decodes a hook request this way; most of a
    record is vital signs and labs that earn no tag).

    Exact by construction: it runs the record's own indexers on the fields, so a rule change
    cannot leave the sieve behind. A sieved type's row in cards/data.py must name every field its
    indexer reads, and the indexers must read an absent field and a null one alike
    (tests/cards/test_sieve.py checks both).
    A sieve judges with a scratch record of its own: use one per thread.
    """

    # What the sieve judges (a type sieved by its fields) and what it keeps unjudged, as declared
    # in cards/data.py: the resource types whose indexers look at a few fields and keep a
    # resource only when a value set or a text matched are sieved; the others are always kept.
    SIEVED: frozenset[str] = data.SIEVED
    KEPT: frozenset[str] = data.KEPT
    FIELDS: tuple[str, ...] = data.SIEVE_FIELDS

    def __init__(self, settings: EngineSettings | None = None, reads: tuple[data.Read, ...] | None = None):
        """`reads`: another declaration than cards.data.READS (a test's)."""
        if reads is not None:
            self.SIEVED, self.KEPT = data.sieved_types(reads), data.kept_types(reads)
            self.FIELDS = data.sieve_fields(reads)
        # The probe's CPU budget (max_cpu_seconds) starts now and bounds the sieving too: it runs
        # the same text rules over every resource of the request.
        self._probe = Record.build((), settings=settings)
        self._judged = 0

    @property
    def cpu_until(self) -> float:
        """When this sieve's CPU budget ends: pass it to the evaluation of the record it sieved."""
        return self._probe._cpu_until

    def keeps(self, fields: dict) -> bool:
        """`fields`: a resource's FIELDS (this sieve's) as plain JSON values; an absent one may be
        missing or None.
        RecordTooLarge once the sieving has used the CPU budget of one evaluation."""
        resource_type = fields.get("resourceType")
        if resource_type not in self.SIEVED:
            return resource_type in self.KEPT
        probe = self._probe
        self._judged += 1
        if not self._judged & 31:
            probe._within_cpu_budget()
        Record._INDEXERS[resource_type](probe, fields, False)
        # A medication use left for later (it names a Medication resource) is kept unjudged.
        if not probe.by_tag and not probe.medication_uses:
            return False
        probe.by_tag.clear()
        probe.medication_uses.clear()
        return True
