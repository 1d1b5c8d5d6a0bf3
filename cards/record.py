"""The patient's record, indexed in one pass for the evidence finders.

The pass reads plain JSON and does only cheap work per resource: a few dict lookups, set
membership of ``(system, code)`` keys and, for text, one precompiled regex. A record of ten
thousand vital signs therefore costs about as much as parsing it. Only resources that match a
rule ("candidates") are validated with ``fhir.resources.R4B``, once, when a finder first asks for
them; one that fails is skipped and logged by type and a keyed hash of its id, and the rest still
count.
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

from cards import analytes, data, mentions, terms
from cards import valuesets as vs
from cards.fhir_read import EMPTY, Concept, concept, medication_concept, note_text, value_text
from cards.settings import EngineSettings

_screens = terms.screens  # bound once: looked up for every Observation

log = logging.getLogger("cards")

# The types the record reads, their models and the elements validated: declared in cards/data.py.
# Validation covers what the rules read (and each type's required elements), not the whole
# resource: a malformed name or narrative must not sink a resource whose clinical fields are
# sound, and validating the parts nobody reads (a Patient's names, addresses) costs time.
MODELS: dict[str, Any] = data.MODELS
READ_FIELDS = data.ELEMENTS
KNOWN_MEDICATIONS = (vs.OPIOID_MEDICATIONS.keys | vs.MOUD_PRODUCTS.keys | vs.NALOXONE_RESCUE.keys
                     | vs.BENZODIAZEPINES.keys)
# Listed codes the condition rules look up (the rules also read ICD-10-CM patterns).
RULED_CONDITIONS = vs.OUD_CURRENT.keys | vs.OUD_HISTORY.keys | vs.OUD_CONDITIONS.keys | vs.OPIOID_POISONING.keys


def _raw_key_tags(tagged_sets: dict[str, frozenset[vs.Key]]) -> dict[tuple, frozenset[str]]:
    """Tags by the raw (system, code) pair, with OID and dotless-ICD spellings pre-expanded, so
    the hot path is one dict lookup per coding and never calls ``normalize``."""
    aliases: dict[str, list[str]] = defaultdict(list)
    for alias, system in vs.SYSTEM_ALIASES.items():
        aliases[system].append(alias)
    found: dict[tuple, set[str]] = defaultdict(set)
    for tag, keys in tagged_sets.items():
        for system, code in keys:
            codes = {code, code.replace(".", "")} if system == vs.ICD10CM else {code}
            for spelled_system in [system, *aliases[system]]:
                for spelled_code in codes:
                    found[(spelled_system, spelled_code)].add(tag)
    return {key: frozenset(tags) for key, tags in found.items()}


OBSERVATION_KEY_TAGS = _raw_key_tags({
    "cows": vs.COWS_OBSERVABLES.keys,
    "kratom_test": vs.MITRAGYNINE_TESTS.keys,
    "withdrawal": vs.WITHDRAWAL_CONDITIONS.keys,
    "withdrawal_opioid": vs.OPIOID_WITHDRAWAL.keys,
    "uds_stimulant": vs.STIMULANT_TESTS.keys,
    "end_of_life": vs.END_OF_LIFE.keys,
    "phq2": vs.PHQ2_TOTAL.keys,
    "phq9": vs.PHQ9_TOTAL.keys,
    "phq9_item9": vs.PHQ9_ITEM9.keys,
    # An opioid or xylazine urine test; its analyte is read when it counts (cards/analytes.py).
    "uds": frozenset(analytes.TEST_ANALYTES),
})


def mentions_kratom(*texts: str) -> bool:
    """Kratom named as the patient's own current use: not negated, past, someone else's, asked about
    or uncertain ("denies kratom", "used kratom 5 years ago", "Mother uses kratom"). The texts are
    read with the record's bound (concept, note_text, value_text)."""
    return any(mentions.affirmed(terms.KRATOM, text) for text in texts if text)


def withdrawal_tags(text: str) -> set[str]:
    """A withdrawal mention's tags: it names an opioid (or kratom) or it names no substance."""
    if terms.OPIOID_WORD.search(text) or terms.KRATOM.search(text):
        return {"withdrawal", "withdrawal_opioid"}
    return {"withdrawal"}


def says_withdrawal(text: str) -> bool:
    """Opioid, kratom or unspecified drug withdrawal, affirmed; not alcohol or nicotine withdrawal."""
    if not text or not mentions.affirmed(terms.WITHDRAWAL, text):
        return False
    return names_withdrawal_substance(text)


def suspects_withdrawal(text: str) -> bool:
    """Opioid (or unspecified drug) withdrawal mentioned as uncertain only ("r/o opioid withdrawal")."""
    return bool(text) and mentions.uncertain(terms.WITHDRAWAL, text) and names_withdrawal_substance(text)


def names_withdrawal_substance(text: str) -> bool:
    if terms.OPIOID_WORD.search(text) or terms.KRATOM.search(text):
        return True
    return bool(terms.GENERIC_SUBSTANCE.search(text)) and not terms.NON_OPIOID_SUBSTANCE.search(text)


_END_OF_LIFE = terms.re.compile(r"\bhospice\b|\bterminal\s+(?:illness|care|stage)\b|\bend[-\s]of[-\s]life\b"
                                r"|\bpalliative\s+care\b", terms.I)


def says_end_of_life(text: str) -> bool:
    return mentions.affirmed(_END_OF_LIFE, text)


def any_in(keys: Iterable[vs.Key], values: frozenset[vs.Key]) -> bool:
    return any(key in values for key in keys)


# Which value set earns which tag, per kind of resource: a clinical informaticist adding a value
# set edits a table, not a branch. Text fallbacks are in the *_text_tags functions below.
MEDICATION_CODE_TAGS = (("opioid", vs.OPIOID_MEDICATIONS), ("moud", vs.MOUD_PRODUCTS),
                        ("naloxone", vs.NALOXONE_RESCUE), ("naloxone_take_home", vs.NALOXONE_TAKE_HOME),
                        ("benzodiazepine", vs.BENZODIAZEPINES),
                        ("fentanyl_type", vs.FENTANYL_MEDICATIONS), ("oxycodone", vs.OXYCODONE_MEDICATIONS),
                        ("methadone", vs.METHADONE_MEDICATIONS), ("buprenorphine_moud", vs.BUPRENORPHINE_MOUD))
CONDITION_CODE_TAGS = (("withdrawal", vs.WITHDRAWAL_CONDITIONS), ("withdrawal_opioid", vs.OPIOID_WITHDRAWAL),
                       ("end_of_life", vs.END_OF_LIFE),
                       ("oud_history", vs.OUD_HISTORY), ("agonist_therapy", vs.AGONIST_THERAPY),
                       ("sud_any", vs.SUBSTANCE_USE_DISORDER), ("pregnancy", vs.PREGNANCY),
                       ("major_depression", vs.MAJOR_DEPRESSION), ("suicide_attempt", vs.SUICIDE_ATTEMPT))
# Codes read by a rule rather than listed (ICD-10-CM codes newer than an expansion, T40 overdoses).
CONDITION_CODE_RULES: tuple[tuple[str, Callable[[vs.Key], object]], ...] = (
    ("oud_current", vs.is_oud_current), ("oud_history", vs.is_oud_history), ("opioid_family", vs.is_opioid_family),
    ("opioid_overdose", analytes.overdose_analyte), ("other_substance_disorder", vs.is_other_substance_disorder),
    ("nonmedical_opioid_use", vs.is_nonmedical_opioid_use), ("stimulant_disorder", vs.is_stimulant_disorder),
    ("nonopioid_withdrawal", vs.is_alcohol_or_sedative_withdrawal),
)
ORDER_CODE_TAGS = (("cows_order", vs.COWS_OBSERVABLES), ("counseling", vs.COUNSELING),
                   ("end_of_life", vs.END_OF_LIFE))
# Ingredient-level codes name the drug by their display ("Fentanyl"): read it as text.
INGREDIENT_NAMES = {key: display for key, display in vs.OPIOID_INGREDIENTS.displays.items()}


def tags_by_code(table: tuple[tuple[str, vs.ValueSet], ...]) -> dict[vs.Key, frozenset[str]]:
    """The table turned inside out, once at import: a code's tags are one dict lookup, not a
    membership test per value set (a 10,000-resource chart has thousands of codings)."""
    index: dict[vs.Key, set[str]] = {}
    for tag, value_set in table:
        for key in value_set.keys:
            index.setdefault(key, set()).add(tag)
    return {key: frozenset(tags) for key, tags in index.items()}


MEDICATION_TAGS_BY_CODE = tags_by_code(MEDICATION_CODE_TAGS)
CONDITION_TAGS_BY_CODE = tags_by_code(CONDITION_CODE_TAGS)
ORDER_TAGS_BY_CODE = tags_by_code(ORDER_CODE_TAGS)
# The rules read only ICD-10-CM codes of these categories (or listed codes, which the rules
# themselves look up); every other code skips them.
_RULED_ICD_CATEGORIES = ("F10", "F11", "F13", "F14", "F15", "F19", *analytes.OVERDOSE_ICD_CATEGORIES)


def code_tags(keys: tuple[vs.Key, ...], index: dict[vs.Key, frozenset[str]]) -> set[str]:
    tags: set[str] = set()
    for key in keys:
        found = index.get(key)
        if found:
            tags |= found
    return tags


def condition_rule_tags(keys: tuple[vs.Key, ...]) -> set[str]:
    ruled = [key for key in keys if key in RULED_CONDITIONS
             or (key[0] == vs.ICD10CM and key[1].startswith(_RULED_ICD_CATEGORIES))]
    return {tag for tag, applies in CONDITION_CODE_RULES if any(applies(key) for key in ruled)} if ruled else set()


def medication_tags(medication: Concept) -> set[str]:
    """What a medication is. Known RxNorm codes decide; text decides only for local codes."""
    keys, text = medication.keys, medication.text
    if any_in(keys, KNOWN_MEDICATIONS):
        tags = code_tags(keys, MEDICATION_TAGS_BY_CODE)
    else:
        tags = set(medication_text_tags(text))
        for key in keys:
            if key in INGREDIENT_NAMES:
                tags |= {"opioid"} | medication_text_tags(INGREDIENT_NAMES[key])
    # A fentanyl-type or oxycodone product is an opioid even where no opioid set or OMTK ingredient
    # names it (remifentanil [Ultiva] is only in the IG's fentanyl-type set).
    return tags | {"opioid"} if tags & {"fentanyl_type", "oxycodone"} else tags


# Text classifications are remembered per string: a chart repeats the same few displays
# ("Hypertension", "Lisinopril 10 MG Oral Tablet") dozens of times, and each costs a
# handful of regex searches. Code lookups stay per resource; they are set membership.
@terms.remember_short_texts
def medication_text_tags(text: str) -> frozenset[str]:
    tags = set()
    if not text:
        return frozenset()
    if terms.OPIOID_DRUG.search(text):
        tags.add("opioid")
    if is_moud_text(text):
        tags.add("moud")
        if terms.BUPRENORPHINE.search(text):
            tags.add("buprenorphine_moud")
    if terms.NALOXONE.search(text) and not terms.NALOXONE_COMBINATION.search(text):
        tags.add("naloxone")
        if terms.TAKE_HOME_NALOXONE.search(text) and not terms.GIVEN_IN_CARE_FORM.search(text):
            tags.add("naloxone_take_home")
    if terms.NALMEFENE_SPRAY.search(text):
        tags |= {"naloxone", "naloxone_take_home"}
    if terms.GABAPENTINOID.search(text):
        tags.add("gabapentinoid")
    for tag, pattern in (("benzodiazepine", terms.BENZODIAZEPINE), ("fentanyl_type", terms.FENTANYL),
                         ("oxycodone", terms.OXYCODONE), ("methadone", terms.METHADONE)):
        if pattern.search(text):
            tags.add(tag)
    return frozenset(tags)


# Condition text, for local codes: each pattern earns its tag unless the mention is negated.
CONDITION_TEXT_TAGS = (
    ("kratom_disorder_text", terms.KRATOM_DISORDER), ("overdose_text", terms.OVERDOSE),
    ("suicide_attempt", terms.SUICIDE_ATTEMPT), ("pregnancy", terms.PREGNANT),
    ("major_depression", terms.MAJOR_DEPRESSION),
)


@terms.remember_short_texts
def condition_text_tags(text: str) -> frozenset[str]:
    tags = set()
    if not text:
        return frozenset()
    said = {mention.meaning for mention in mentions.mentions(terms.OUD_TEXT, text)}
    if said and not terms.OVERDOSE.search(text):
        # "Opioid use disorder, in remission" or "history of OUD": history; said as current: current.
        if "affirmed" in said:
            tags.add("oud_history" if terms.REMISSION.search(text) else "oud_current")
        elif "past" in said:
            tags.add("oud_history")
    if says_withdrawal(text):
        tags |= withdrawal_tags(text)
    elif suspects_withdrawal(text):
        tags.add("withdrawal_suspected")
    if mentions.affirmed(terms.ALCOHOL_SEDATIVE_WITHDRAWAL, text):
        tags.add("nonopioid_withdrawal")
    if mentions.affirmed(terms.OPIOID_INTOXICATION, text) and not terms.OVERDOSE.search(text):
        tags.add("nonmedical_opioid_use")
    if mentions_kratom(text):
        tags.add("kratom")
    if says_end_of_life(text):
        tags.add("end_of_life")
    tags.update(tag for tag, pattern in CONDITION_TEXT_TAGS if mentions.affirmed(pattern, text))
    if "overdose_text" in tags and terms.OPIOID_WORD.search(text):
        tags.add("opioid_overdose")
    return frozenset(tags)


@terms.remember_short_texts
def order_text_tags(text: str) -> frozenset[str]:
    """What a ServiceRequest or Procedure is, by its text: the orders a card's suggestion creates
    carry text only unless a site configures its orderable."""
    tags = set()
    if not text:
        return frozenset()
    if terms.COWS.search(text):
        tags.add("cows_order")
    if terms.REFERRAL.search(text) and terms.MOUD_WORDS.search(text):
        tags.add("moud_referral")
    if terms.COUNSELING_TEXT.search(text) and terms.SUBSTANCE_CONTEXT.search(text):
        tags.add("counseling")
    if terms.PHQ9.search(text):
        tags.add("phq9_order")
    if says_end_of_life(text):
        tags.add("end_of_life")
    return frozenset(tags)


@terms.remember_short_texts
def observation_text_tags(text: str) -> frozenset[str]:
    """What an Observation's code text says it is, for codes a site made up."""
    tags: set[str] = set()
    if terms.COWS.search(text):
        tags.add("cows")
    elif terms.SOWS.search(text):
        tags.add("sows")
    elif says_withdrawal(text):
        tags |= withdrawal_tags(text)
    elif suspects_withdrawal(text):
        tags.add("withdrawal_suspected")
    if terms.KRATOM.search(text):
        tags.add("kratom_code")
    if says_end_of_life(text):
        tags.add("end_of_life")
    if terms.PHQ9.search(text) and terms.TOTAL.search(text):
        tags.add("phq9")
    elif terms.PHQ2.search(text) and terms.TOTAL.search(text):
        tags.add("phq2")
    elif terms.ITEM9.search(text):
        tags.add("phq9_item9")
    if analytes.test_analyte_from_text(text) is not None:
        tags.add("uds")
    if terms.DRUG_TEST.search(text) and terms.STIMULANT_TESTED.search(text):
        tags.add("uds_stimulant")
    return frozenset(tags)


def is_moud_text(text: str) -> bool:
    if not text:
        return False
    if terms.MOUD_BRAND.search(text) or terms.METHADONE.search(text):
        return True
    if terms.NALTREXONE.search(text):
        return bool(terms.EXTENDED_RELEASE.search(text))
    if not terms.BUPRENORPHINE.search(text):
        return False
    if terms.EXTENDED_RELEASE.search(text):
        return True
    if terms.BUPRENORPHINE_PAIN.search(text):
        return False
    # Buccal buprenorphine alone is Belbuca (pain); with naloxone it is Bunavail (OUD).
    return not terms.BUPRENORPHINE_PAIN_BUCCAL.search(text) or "naloxone" in text.lower()


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
