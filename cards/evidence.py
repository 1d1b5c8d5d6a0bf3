"""Evidence finders: one per fact of design section 4.1 (v2).

Each finder reads the indexed record and returns the evidence it found (what, when, from which
resource), so a card can say why it fired. "Now" is the request time; windows and thresholds come
from ``EngineSettings``. Entered-in-error, refuted and cancelled records never count; negated
mentions were dropped when the record was indexed. A finder reads a resource through
cards/fhir_read.py and cards/medications.py, and what counts there is in cards/criteria.py.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cards import analytes, dates, medications, mentions, results, terms
from cards import valuesets as vs
from cards.criteria import (
    COWS_MAX,
    LONG_SIGNAL_OVERDOSES,
    SETTLING_ORDER_STATUS,
    SOWS_MAX,
    UNCOUNTED,
)
from cards.fhir_read import (
    Concept,
    affirms,
    answer_score,
    codes_of,
    condition_counts,
    condition_state,
    condition_when,
    keys_of,
    note_text,
    observation_when,
    order_when,
    scale_score,
    status_ok,
    value_text,
    within,
)
from cards.record import Item, Record
from cards.settings import EngineSettings

log = logging.getLogger("cards")


@dataclass(frozen=True)
class Evidence:
    # What it is evidence of (a fact's name, or a narrower kind such as "cows"); labels the line.
    kind: str
    what: str
    when: datetime | None
    source: str
    score: float | None = None
    # A draft order of this call, not yet in the record.
    draft: bool = False


@dataclass
class Facts:
    """Named truths the topics' rules read, with the evidence behind each.

    ``age`` is the patient's age in whole years, or None when there is no living patient of
    known age: then no topic applies.
    """

    evidence: dict[str, list[Evidence]] = field(default_factory=dict)
    age: int | None = None
    # Words a card quotes that a finder worked out (the analyte of an unexplained test).
    values: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> bool:
        try:
            return bool(self.evidence[name])
        except KeyError:
            raise KeyError(f"no finder produces the fact {name!r}") from None

    def items(self, *names: str) -> list[Evidence]:
        return [e for name in names for e in self.evidence[name]]

    @property
    def latest_cows(self) -> Evidence | None:
        latest = self.evidence.get("latest_cows")
        return latest[0] if latest else None


# --- a line of evidence -------------------------------------------------------------------


def quoted(pattern, *texts: str) -> str:
    """The words around the first mention of ``pattern`` (about 40 characters), so the card shows
    "Mother uses kratom" rather than the code's name "Substance use history"."""
    for text in texts:
        match = pattern.search(text) if text else None
        if match:
            return mentions.quote(text, match.start(), match.end())
    return ""


def evidence(kind: str, item: Item, when: datetime | None, score: float | None = None, *, what: str = "") -> Evidence:
    if what:
        return Evidence(kind, what, when, item.type, score, item.draft)
    what = item.concept.label if isinstance(item.concept, Concept) and item.concept.text else ""
    return Evidence(kind, what or item.type, when, item.type, score, item.draft)


# --- finders ---------------------------------------------------------------------------------
# Each reads one Search (the record, the settings, "now", and the facts found so far) and returns
# the evidence for one fact. FINDERS below lists them in the order they run.


@dataclass(frozen=True)
class Search:
    record: Record
    s: EngineSettings
    now: datetime
    facts: Facts
    # Per explaining tag: whether an active product is on record, and the sorted dates of the
    # others, taken (requests, statements, dispenses) and given (administrations). Read once, then
    # each positive test or overdose is a bisection: asked per test, a record of many tests and many
    # prescriptions cost their product.
    exposures: dict[str, Exposure] = field(default_factory=dict, compare=False)
    # Record-wide answers several finders ask, found once.
    found: dict[str, object] = field(default_factory=dict, compare=False)

    def oud_condition_references(self) -> set[str]:
        """"Condition/<id>" of every counted OUD Condition (current, history, agonist therapy)."""
        if "oud_refs" not in self.found:
            self.found["oud_refs"] = {
                f"Condition/{item.resource.get('id')}" for tag in ("oud_current", "oud_history", "agonist_therapy")
                for item in self.record.tagged(tag, "Condition")
                if condition_state(item.resource) not in UNCOUNTED and item.resource.get("id")}
        return self.found["oud_refs"]  # type: ignore[return-value]

    def oud_on_record(self) -> bool:
        """OUD (active or history) or agonist therapy on record, whatever its date: methadone is then
        MOUD. Read from the Conditions themselves, not from the facts, which depend on it."""
        if "oud_on_record" not in self.found:
            self.found["oud_on_record"] = any(
                condition_state(item.resource) not in UNCOUNTED
                for tag in ("oud_current", "oud_history", "agonist_therapy")
                for item in self.record.tagged(tag, "Condition"))
        return bool(self.found["oud_on_record"])


@dataclass(frozen=True)
class Exposure:
    """What the record says of one product tag, for explaining tests and overdoses."""

    active: bool
    taken: list[datetime]
    given: list[datetime]


def medication_in_use(
    q: Search, tags: str | tuple[str, ...], window: timedelta, *, kind: str | None = None,
    keep: Callable[[Item], bool] | None = None, undated_counts: bool = False,
) -> list[Evidence]:
    """The evidence of `medication_records` (labelled ``kind``, by default the first tag)."""
    tags = (tags,) if isinstance(tags, str) else tags
    return [evidence(kind or tags[0], item, medications.when(item.resource))
            for item in medication_records(q, tags, window, keep=keep, undated_counts=undated_counts)]


def medication_records(
    q: Search, tags: tuple[str, ...], window: timedelta, *,
    keep: Callable[[Item], bool] | None = None, undated_counts: bool = False,
) -> list[Item]:
    """Medication records of any of the four sources, tagged with one of ``tags``, taken or given in
    ``window`` (active, or dated in it; drafts of this call count: they are being ordered now) and
    passing ``keep``."""
    def counts(item: Item) -> bool:
        if keep is not None and not keep(item):
            return False
        if medications.taken_in(item, q.now, window):
            return True
        return undated_counts and medications.counts(item) and medications.when(item.resource) is None

    found = {id(item): item for tag in tags
             for item in q.record.tagged(tag, *medications.MEDICATION_TYPES, keep=counts)}
    return list(found.values())


def prescribed_opioid(q: Search) -> list[Evidence]:
    """An opioid analgesic taken or given in the use window: MOUD products are not, and methadone is
    one only when it is not MOUD (design 4.1)."""
    return [evidence("prescribed_opioid", item, medications.when(item.resource)) for item in _prescribed_opioids(q)]


def outpatient_opioid(q: Search) -> list[Evidence]:
    """The same, from outpatient records only: the patient has, or goes home with, an opioid."""
    return [evidence("prescribed_opioid", item, medications.when(item.resource)) for item in _prescribed_opioids(q)
            if medications.outpatient(item)]


def _prescribed_opioids(q: Search) -> list[Item]:
    """The records of prescribed_opioid, found once: outpatient_opioid keeps the outpatient ones of
    them rather than read every opioid record again."""
    if "prescribed_opioids" not in q.found:
        q.found["prescribed_opioids"] = medication_records(q, ("opioid", "methadone"), q.s.use_window,
                                                           keep=lambda item: not is_moud(q, item))
    return q.found["prescribed_opioids"]  # type: ignore[return-value]


def is_moud(q: Search, item: Item) -> bool:
    """A MOUD product; methadone only when recorded as a statement, given for an OUD reason, or with
    OUD (active or history) or agonist therapy on record. Most EHR methadone orders are for pain."""
    if "moud" not in item.tags:
        return False
    if "methadone" not in item.tags or item.type == "MedicationStatement":
        return True
    return q.oud_on_record() or _oud_reason(q, item.resource)


def _oud_reason(q: Search, resource: dict) -> bool:
    """Given for an OUD reason. Read before the resource is validated: junk reads as no reason."""
    codes, references = resource.get("reasonCode"), resource.get("reasonReference")
    for reason in codes if isinstance(codes, list) else ():
        if any(vs.is_oud_current(key) or vs.is_oud_history(key) for key in keys_of(reason)):
            return True
    targets = {ref.get("reference") for ref in (references if isinstance(references, list) else ())
               if isinstance(ref, dict) and isinstance(ref.get("reference"), str)}
    return bool(targets & q.oud_condition_references())


def on_buprenorphine(q: Search) -> list[Evidence]:
    """A buprenorphine MOUD product taken or given in the last 14 days, not a draft of this call: a
    renewal or a switch (to an injection) of a patient already on it is not a start."""
    return medication_in_use(q, "buprenorphine_moud", q.s.on_buprenorphine_window, kind="moud",
                             keep=lambda item: not item.draft)


def moud_products(q: Search) -> list[Evidence]:
    return medication_in_use(q, "moud", q.s.use_window, kind="moud", keep=lambda item: is_moud(q, item))


def agonist_therapy(q: Search) -> list[Evidence]:
    """SNOMED 1081000119105 "Opioid dependence, on agonist therapy": MOUD given elsewhere."""
    return [evidence("agonist_therapy", item, condition_when(item.resource))
            for item in q.record.tagged("agonist_therapy", "Condition")
            if condition_counts(item, q.now, q.s.oud_window)]


def explained(q: Search, analyte: str, when: datetime | None) -> bool:
    """Whether exposure on record explains a positive test or an overdose of ``analyte`` at ``when``:
    a product of a matching analyte (cards/analytes.py) taken (request, statement, dispense: active,
    or dated in the explaining window before it) or given (an administration in the days before it)."""
    when = when or q.now
    exposures = _exposures(q)
    for product in analytes.explaining_analytes(analyte, exposures):
        exposure = exposures[product]
        if exposure.active or _dated_between(exposure.taken, when - q.s.explaining_window, when) \
                or _dated_between(exposure.given, when - q.s.given_explaining_window, when):
            return True
    return False


def _dated_between(dated: list[datetime], start: datetime, end: datetime) -> bool:
    first = bisect_left(dated, start)
    return first < len(dated) and dated[first] <= end


def _exposures(q: Search) -> dict[str, Exposure]:
    """Every opioid product on record, by analyte: read once per evaluation."""
    if not q.exposures:
        found: dict[str, tuple[list[bool], list[datetime], list[datetime]]] = {}
        seen: set[int] = set()
        for tag in ("opioid", "moud", "methadone"):
            for item in q.record.tagged(tag, *medications.MEDICATION_TYPES):
                if id(item) in seen or item.draft or not medications.counts(item):
                    continue
                seen.add(id(item))
                when, active = medications.when(item.resource), medications.active(item)
                for analyte in analytes.product_analytes_of(item.concept.keys, item.concept.text):
                    flag, taken, given = found.setdefault(analyte, ([False], [], []))
                    if active:
                        flag[0] = True
                    elif when is not None:
                        (given if medications.given(item) else taken).append(when)
        q.exposures.update({analyte: Exposure(flag[0], sorted(taken), sorted(given))
                            for analyte, (flag, taken, given) in found.items()})
        q.exposures.setdefault("", Exposure(False, [], []))  # read: an empty record is not read again
    return q.exposures


def positive_opioid_tests(q: Search, window: timedelta, only: frozenset[str] | None = None):
    """(analyte, item, when) of each positive opioid or xylazine urine test in the window."""
    def in_window(item: Item) -> bool:
        return status_ok(item) and within(observation_when(item.resource), q.now, window)

    # The result is read once the test is validated: results.positive trusts the shapes it reads.
    for item in q.record.tagged("uds", "Observation", keep=in_window):
        if not results.positive(item.resource):
            continue
        analyte = analytes.test_analyte_of(item.concept.keys, item.concept.text)
        if analyte is not None and (only is None or analyte in only):
            yield analyte, item, observation_when(item.resource)


def unprescribed_opioid(q: Search) -> list[Evidence]:
    """A positive opioid urine test that no exposure on record explains (design 4.1). The newest one's
    analyte names it in the MOUD card ("Unexplained fentanyl in a urine test")."""
    found = sorted(((when, analyte, item) for analyte, item, when in positive_opioid_tests(q, q.s.use_window)
                    if not explained(q, analyte, when)), key=lambda t: t[0] or q.now, reverse=True)
    if found:
        q.facts.values["analyte"] = analytes.NAMED_IN_TEXT.get(found[0][1], found[0][1])
    return _unique([evidence("unprescribed_opioid", item, when) for when, _, item in found])


def kratom_use(q: Search) -> list[Evidence]:
    """Kratom use recorded as the patient's own, within the use window or active (design 4.1): a
    statement naming it, a social-history answer or note that mentions it, a Condition naming kratom
    use or disorder, or a positive mitragynine test. Mentions that are negated, past, someone
    else's, a question or uncertain were dropped when indexing; a mention anywhere else (a supplement
    list in a note, a lab's code text) is not use."""
    record, now, window = q.record, q.now, q.s.use_window
    bound = record.settings.max_text_chars
    found = [evidence("kratom_use", item, condition_when(item.resource))
             for item in record.tagged("kratom", "Condition") if condition_counts(item, now, window)]
    found += medication_in_use(q, "kratom", window, kind="kratom_use",
                               keep=lambda item: item.type == "MedicationStatement")
    for item in record.tagged("kratom", "Observation"):
        when = observation_when(item.resource)
        if status_ok(item) and within(when, now, window) and social_history(item):
            found.append(evidence("kratom_use", item, when, what=quoted(terms.KRATOM, value_text(item.resource, bound),
                                                                         note_text(item.resource, bound))))
    for tag in ("kratom_test", "kratom_code"):
        for item in record.tagged(tag, "Observation"):
            when = observation_when(item.resource)
            if status_ok(item) and within(when, now, window) and results.positive(item.resource):
                found.append(evidence("kratom_use", item, when))
    return _unique(found)


def kratom_disorder(q: Search) -> list[Evidence]:
    """Kratom use with an active F19.1x/F19.2x disorder, or a Condition that names kratom use
    disorder (DSM-5 records kratom use disorder as "other substance" with the substance named)."""
    if not q.facts["kratom_use"]:
        return []
    disorders = [evidence("kratom_disorder", item, condition_when(item.resource))
                 for tag in ("other_substance_disorder", "kratom_disorder_text")
                 for item in q.record.tagged(tag, "Condition") if condition_counts(item, q.now, q.s.oud_window)]
    return [*q.facts.evidence["kratom_use"], *_unique(disorders)] if disorders else []


# --- withdrawal ---

def withdrawal_diagnosis(q: Search) -> list[Evidence]:
    """A withdrawal Condition, confirmed or with no verificationStatus, in the withdrawal window."""
    found = []
    for item in q.record.tagged("withdrawal", "Condition"):
        state, when = condition_state(item.resource), condition_when(item.resource)
        if state in ("active", None) and within(when, q.now, q.s.withdrawal_window) and is_withdrawal_finding(q, item):
            found.append(evidence("withdrawal_diagnosis", item, when))
    return found


def scores(record: Record, tag: str, now: datetime, window: timedelta, maximum: float | None = None) -> list[Evidence]:
    """A scale's scores in the window, latest first. A scale not done (cancelled, no score) is no
    score; one outside its range or dated after now is bad data, skipped and logged."""
    bound = record.settings.max_text_chars

    def usable(item: Item) -> bool:
        when, score = observation_when(item.resource), scale_score(item.resource, bound)
        if not status_ok(item) or score is None or when is None:
            return False
        if score < 0 or (maximum is not None and score > maximum) or when > now:
            log.warning("skipped a %s score: %s", tag.upper(), "out of range" if when <= now else "dated in the future")
            return False
        return within(when, now, window)

    found = [evidence(tag, item, observation_when(item.resource), scale_score(item.resource, bound))
             for item in record.tagged(tag, "Observation", keep=usable)]
    return sorted(found, key=lambda e: e.when, reverse=True)


def cows_scores(q: Search) -> list[Evidence]:
    """Every COWS the COWS facts look at: the longest of their windows."""
    window = max(q.s.withdrawal_window, q.s.cows_recency, q.s.cows_current)
    return scores(q.record, "cows", q.now, window, COWS_MAX)


def latest_cows(q: Search) -> list[Evidence]:
    return q.facts.evidence["cows"][:1]


def cows_within(window: str) -> Callable[[Search], list[Evidence]]:
    def finder(q: Search) -> list[Evidence]:
        return [e for e in q.facts.evidence["cows"] if within(e.when, q.now, getattr(q.s, window))]
    return finder


def current_cows_at_least(setting: str) -> Callable[[Search], list[Evidence]]:
    """The latest COWS, if it is from the last cows_current_hours and at or over the threshold the
    setting names: the newest score decides, not the highest."""
    def finder(q: Search) -> list[Evidence]:
        return [e for e in q.facts.evidence["cows_current"][:1] if e.score >= getattr(q.s, setting)]
    return finder


def current_cows_below(setting: str) -> Callable[[Search], list[Evidence]]:
    def finder(q: Search) -> list[Evidence]:
        return [e for e in q.facts.evidence["cows_current"][:1] if e.score < getattr(q.s, setting)]
    return finder


def withdrawal_score(q: Search) -> list[Evidence]:
    cows = [e for e in q.facts.evidence["cows"]
            if within(e.when, q.now, q.s.withdrawal_window) and e.score >= q.s.cows_withdrawal_threshold]
    sows = [e for e in scores(q.record, "sows", q.now, q.s.withdrawal_window, SOWS_MAX)
            if e.score >= q.s.sows_withdrawal_threshold]
    return cows + sows


def is_withdrawal_finding(q: Search, item: Item) -> bool:
    """Withdrawal itself, not a risk, screen, assessment or question about it ("At risk for opioid
    withdrawal"); and, when it names no opioid (F19.x3, "Signs of drug withdrawal"), not beside an
    alcohol or sedative withdrawal diagnosis of the same hours: that explains it."""
    if results.names_non_finding(item.concept.text):
        return False
    return "withdrawal_opioid" in item.tags or not q.facts["nonopioid_withdrawal"]


def nonopioid_withdrawal(q: Search) -> list[Evidence]:
    """An alcohol or sedative withdrawal diagnosis (F10.x3-, F13.x3-) in the withdrawal window."""
    return [evidence("nonopioid_withdrawal", item, when)
            for item in q.record.tagged("nonopioid_withdrawal", "Condition")
            if condition_state(item.resource) in ("active", None)
            and within(when := condition_when(item.resource), q.now, q.s.withdrawal_window)]


def withdrawal_suspected(q: Search) -> list[Evidence]:
    """Withdrawal qualified as uncertain: a provisional, differential or unconfirmed diagnosis, or a
    mention such as "rule out opioid withdrawal". It asks for a COWS, and nothing else."""
    found = [evidence("withdrawal_suspected", item, when) for item in q.record.tagged("withdrawal", "Condition")
             if condition_state(item.resource) == "unconfirmed"
             and within(when := condition_when(item.resource), q.now, q.s.withdrawal_window)
             and is_withdrawal_finding(q, item)]
    for item in q.record.tagged("withdrawal_suspected", "Condition", "Observation"):
        when = condition_when(item.resource) if item.type == "Condition" else observation_when(item.resource)
        if (condition_state(item.resource) not in UNCOUNTED if item.type == "Condition" else status_ok(item)) \
                and within(when, q.now, q.s.withdrawal_window) and is_withdrawal_finding(q, item):
            found.append(evidence("withdrawal_suspected", item, when))
    return _unique(found)


def withdrawal_noted(q: Search) -> list[Evidence]:
    """An Observation of opioid withdrawal as a finding, with no value or a positive one (design 4:
    a result means what it says); a number that is no known scale's score is not a finding."""
    return [evidence("withdrawal_noted", item, when)
            for item in q.record.tagged("withdrawal", "Observation")
            if status_ok(item) and within(when := observation_when(item.resource), q.now, q.s.withdrawal_window)
            and is_withdrawal_finding(q, item) and affirms(item.resource)]


# --- disorder, overdose ---

def _oud_candidates(q: Search) -> list[tuple[Item, datetime | None]]:
    """Current-OUD Conditions that are active (no clinical status reads as active here)."""
    return [(item, condition_when(item.resource)) for item in q.record.tagged("oud_current", "Condition")
            if condition_state(item.resource) in ("active", None)]


def _oud_corroborated(q: Search) -> bool:
    """An unprescribed opioid, nonmedical opioid use, a MOUD product, withdrawal or an overdose in the
    last 90 days: an old OUD diagnosis is current. A prescribed opioid is not: a new prescription for
    pain is no evidence that an old diagnosis is active (design 4.1 v3)."""
    return any(q.facts[name] for name in ("unprescribed_opioid", "nonmedical_opioid_use", "moud_products",
                                          "withdrawal", "overdose_recent"))


def oud_active(q: Search) -> list[Evidence]:
    """A current-OUD Condition recorded, with onset or asserted in the OUD window, or older but
    corroborated in the last 90 days by opioid exposure, withdrawal or an overdose (design 4.1)."""
    corroborated = _oud_corroborated(q)
    return [evidence("oud_active", item, when) for item, when in _oud_candidates(q)
            if corroborated or within(when, q.now, q.s.oud_window)]


def oud_history(q: Search) -> list[Evidence]:
    """OUD in remission or on agonist therapy, an OUD diagnosis no longer active, or an active one
    too old with nothing corroborating it: never a disorder signal, a naloxone indication."""
    corroborated = _oud_corroborated(q)
    found = [evidence("oud_history", item, condition_when(item.resource))
             for item in q.record.tagged("oud_history", "Condition") if condition_state(item.resource) not in UNCOUNTED]
    for item in q.record.tagged("oud_current", "Condition"):
        state, when = condition_state(item.resource), condition_when(item.resource)
        if state == "inactive" or (state in ("active", None) and not corroborated
                                   and not within(when, q.now, q.s.oud_window)):
            found.append(evidence("oud_history", item, when))
    return _unique(found)


def opioid_overdoses(q: Search, window: timedelta) -> list[tuple[Item, datetime | None, str, str]]:
    """(item, when, analyte, intent) of opioid and xylazine poisonings and overdoses in the window."""
    found = []
    for item in q.record.tagged("opioid_overdose", "Condition"):
        when = condition_when(item.resource)
        if condition_state(item.resource) in UNCOUNTED or not within(when, q.now, window):
            continue
        found.append((item, when, *analytes.overdose_analyte_of(item.concept.keys, item.concept.text)))
    return found


def overdose(q: Search) -> list[Evidence]:
    return [evidence("overdose", item, when) for item, when, _, _ in opioid_overdoses(q, q.s.overdose_window)]


def overdose_recent(q: Search) -> list[Evidence]:
    return [e for e in q.facts.evidence["overdose"] if within(e.when, q.now, q.s.overdose_signal_window)]


def intentional_overdose(q: Search) -> list[Evidence]:
    return [evidence("intentional_overdose", item, when)
            for item, when, _, intent in opioid_overdoses(q, q.s.overdose_window) if intent == "intentional"]


def unexplained_overdose(q: Search) -> list[Evidence]:
    """An overdose no exposure on record explains: heroin, fentanyl-type and xylazine overdoses for
    the overdose window (365 days), the others for the signal window (90). An accidental overdose on
    the patient's own opioid is explained: a naloxone indication, not a disorder."""
    found = []
    for item, when, substance, _ in opioid_overdoses(q, q.s.overdose_window):
        window = q.s.overdose_window if substance in LONG_SIGNAL_OVERDOSES else q.s.overdose_signal_window
        if within(when, q.now, window) and not explained(q, substance, when):
            found.append(evidence("unexplained_overdose", item, when))
    return found


def overdose_any(q: Search) -> list[Evidence]:
    """An opioid overdose, or a Condition that says overdose or poisoning of any substance."""
    texts = [evidence("overdose_any", item, when) for item in q.record.tagged("overdose_text", "Condition")
             if condition_state(item.resource) not in UNCOUNTED
             and within(when := condition_when(item.resource), q.now, q.s.overdose_window)]
    return _unique([*q.facts.evidence["overdose"], *texts])


# --- treatment and context ---

def buprenorphine_started_recently(q: Search) -> list[Evidence]:
    """The earliest buprenorphine MOUD record of any source (not a draft of this call) is recent."""
    records = buprenorphine_records(q)
    if not records or not within(records[0][0], q.now, q.s.buprenorphine_start_window):
        return []
    return [evidence("buprenorphine_start", records[0][1], records[0][0])]


def buprenorphine_ordered(q: Search) -> list[Evidence]:
    """A buprenorphine MOUD product among the drafts being selected or signed."""
    return [evidence("buprenorphine_order", item, None)
            for item in q.record.tagged("buprenorphine_moud", "MedicationRequest", "MedicationStatement")
            if item.acted_on]


def naloxone_on_hand(q: Search) -> list[Evidence]:
    """A take-home naloxone product (never a vial, never buprenorphine/naloxone) in an outpatient
    request, a dispense or a statement: a dose given in hospital, or an inpatient order, is not on
    hand. Undated counts: the card's own suggestion, saved without a date, must settle it."""
    return medication_in_use(q, "naloxone_take_home", q.s.naloxone_window, undated_counts=True,
                             keep=medications.outpatient)


def recent_fentanyl_or_methadone(q: Search) -> list[Evidence]:
    window = q.s.recent_fentanyl_methadone
    products = medication_in_use(q, ("fentanyl_type", "methadone"), window, kind="fentanyl_or_methadone")
    tests = [evidence("fentanyl_test", item, when)
             for _, item, when in positive_opioid_tests(q, window, frozenset({analytes.FENTANYL}))]
    return _unique(products + tests)


def social_history(item: Item) -> bool:
    """A social-history Observation (US Core's category), or one whose code is about substance use."""
    found = item.resource.get("category")
    categories = {code for category in found for code in codes_of(category)} if isinstance(found, list) else set()
    return "social-history" in categories or terms.SUBSTANCE_USE_QUESTION.search(item.concept.text) is not None


def concentrated_7oh(q: Search) -> list[Evidence]:
    """Kratom use whose product or mention names 7-hydroxymitragynine (7-OH) itself (FDA 2025-07-29)."""
    return [e for e in q.facts.evidence["kratom_use"] if terms.SEVEN_OH.search(e.what)]


def buprenorphine_records(q: Search) -> list[tuple[datetime, Item]]:
    """(date, item) of every dated buprenorphine MOUD record that counts, not a draft, earliest first."""
    if "buprenorphine_records" not in q.found:
        q.found["buprenorphine_records"] = sorted(
            ((when, item) for item in q.record.tagged("buprenorphine_moud", *medications.MEDICATION_TYPES)
             if not item.draft and medications.counts(item) and (when := medications.when(item.resource))),
            key=lambda pair: pair[0])
    return q.found["buprenorphine_records"]  # type: ignore[return-value]


def first_buprenorphine_dose(q: Search) -> list[Evidence]:
    """The first dose of a recent start: the earliest administration, else the earliest record."""
    if not q.facts["buprenorphine_started_recently"]:
        return []
    records = buprenorphine_records(q)
    when, item = next(((w, i) for w, i in records if i.type == "MedicationAdministration"), records[0])
    return [evidence("buprenorphine_start", item, when)]


def precipitated_withdrawal_window(q: Search) -> list[Evidence]:
    """The latest COWS was scored within hours of the first buprenorphine dose: moderate withdrawal
    then suggests precipitated withdrawal; later, a dose that is too low (design 4.2)."""
    first, latest = q.facts.evidence["first_buprenorphine_dose"], q.facts.latest_cows
    if not first or latest is None or first[0].when is None or latest.when is None:
        return []
    after = latest.when - first[0].when
    return first if timedelta(0) <= after <= q.s.precipitated_withdrawal_window else []


def outpatient_buprenorphine_prescription(q: Search) -> list[Evidence]:
    """The bridge: a buprenorphine MOUD request to be filled outside care, authored in the start
    window, or a draft of this call (at discharge)."""
    def bridge(item: Item) -> bool:
        if not medications.for_pharmacy(item) or not medications.counts(item):
            return False
        return item.draft or within(medications.when(item.resource), q.now, q.s.buprenorphine_start_window)

    return [evidence("buprenorphine_bridge", item, medications.when(item.resource))
            for item in q.record.tagged("buprenorphine_moud", "MedicationRequest", keep=bridge)]


def outpatient_products(tag: str) -> Callable[[Search], list[Evidence]]:
    """Outpatient records of a product tag in the use window (benzodiazepines, gabapentinoids)."""
    def finder(q: Search) -> list[Evidence]:
        return medication_in_use(q, tag, q.s.use_window, keep=medications.outpatient)
    return finder


def stimulant_use(q: Search) -> list[Evidence]:
    """An active stimulant use disorder, or a positive cocaine or amphetamine-type test, in the use
    window: fentanyl now contaminates the stimulant supply."""
    found = [evidence("stimulant_use", item, condition_when(item.resource))
             for item in q.record.tagged("stimulant_disorder", "Condition")
             if condition_counts(item, q.now, q.s.use_window)]
    found += [evidence("stimulant_use", item, when) for item in q.record.tagged("uds_stimulant", "Observation")
              if status_ok(item) and within(when := observation_when(item.resource), q.now, q.s.use_window)
              and results.positive(item.resource)]
    return _unique(found)


def nonmedical_opioid_use(q: Search) -> list[Evidence]:
    """Opioid use recorded without a use disorder (F11.90, F11.92-, opioid intoxication, ...), active
    and recorded in the use window, with no prescribed opioid in the 90 days before it."""
    found = []
    for item in q.record.tagged("nonmedical_opioid_use", "Condition"):
        when = condition_when(item.resource)
        if condition_state(item.resource) in ("active", None) and within(when, q.now, q.s.use_window) \
                and not explained(q, analytes.OPIOID, when):
            found.append(evidence("nonmedical_opioid_use", item, when))
    return found


def conditions_in(tag: str, window: str, *, any_status: bool = False) -> Callable[[Search], list[Evidence]]:
    """Conditions tagged ``tag``, dated in the window the settings property ``window`` names:
    active ones, or (``any_status``) whatever their clinical status."""
    def finder(q: Search) -> list[Evidence]:
        span = getattr(q.s, window)
        found = []
        for item in q.record.tagged(tag, "Condition"):
            state, when = condition_state(item.resource), condition_when(item.resource)
            if state in UNCOUNTED or not within(when, q.now, span):
                continue
            if any_status or state in ("active", None):
                found.append(evidence(tag, item, when))
        return found
    return finder


def active_conditions(tag: str) -> Callable[[Search], list[Evidence]]:
    """Conditions tagged ``tag`` that are active (or, with no status, recorded in the OUD window)."""
    def finder(q: Search) -> list[Evidence]:
        return [e for e, _ in _active_with_items(q, tag)]
    return finder


def substance_use_disorder(q: Search) -> list[Evidence]:
    """An active substance use disorder of any substance: the VSAC set as it stands (design 4.1 v3).
    It holds F11.90 and F11.93, which are no use disorder but, beside an outpatient opioid, a naloxone
    risk; it feeds nothing else."""
    return [e for e, _ in _active_with_items(q, "sud_any")]


def _active_with_items(q: Search, tag: str) -> list[tuple[Evidence, Item]]:
    return [(evidence(tag, item, condition_when(item.resource)), item) for item in q.record.tagged(tag, "Condition")
            if condition_counts(item, q.now, q.s.oud_window)]


def scale_scores(tag: str, window: str, *, at_least: str | None = None) -> Callable[[Search], list[Evidence]]:
    """A questionnaire's totals in a window; ``at_least`` names the setting of a positive score."""
    def finder(q: Search) -> list[Evidence]:
        found = scores(q.record, tag, q.now, getattr(q.s, window))
        return [e for e in found if e.score >= getattr(q.s, at_least)] if at_least else found
    return finder


def suicidal_thoughts(q: Search) -> list[Evidence]:
    """PHQ-9 item 9 answered above 0 ("several days" or more) in the item-9 window."""
    found = []
    for item in q.record.tagged("phq9_item9", "Observation"):
        when, score = observation_when(item.resource), answer_score(item.resource)
        if status_ok(item) and score is not None and score > 0 and within(when, q.now, q.s.item9_window):
            found.append(evidence("phq9_item9", item, when, score))
    return found


def settling_orders(record: Record, tag: str, now: datetime, window: timedelta) -> list[Evidence]:
    """Orders a card's own suggestion would create (or a completed procedure), in ``window``.

    Undated orders count: an accepted suggestion must settle its card even if the EHR saved it
    without a date. Dated ones count only in the window, so a stale order does not silence advice
    about a new episode.
    """
    def open_(item: Item) -> bool:
        status = item.resource.get("status")
        if item.type == "ServiceRequest" and not (item.draft or status in SETTLING_ORDER_STATUS):
            return False
        if item.type == "Procedure" and not status_ok(item):
            return False
        when = order_when(item.resource)
        return when is None or within(when, now, window)

    return [evidence(tag, item, order_when(item.resource))
            for item in record.tagged(tag, "ServiceRequest", "Procedure", keep=open_)]


def open_orders(tag: str, window: str) -> Callable[[Search], list[Evidence]]:
    """Orders tagged ``tag`` within the window the settings property ``window`` names."""
    def finder(q: Search) -> list[Evidence]:
        return settling_orders(q.record, tag, q.now, getattr(q.s, window))
    return finder


def end_of_life(q: Search) -> list[Evidence]:
    found = []
    for item in q.record.tagged("end_of_life"):
        if item.type == "Condition":
            if condition_state(item.resource) not in ("active", None):
                continue
            found.append(evidence("end_of_life", item, condition_when(item.resource)))
        elif status_ok(item):
            found.append(evidence("end_of_life", item, order_when(item.resource)))
    return found


# --- combinations ---

def any_of(*names: str) -> Callable[[Search], list[Evidence]]:
    """Holds when any of the named facts (found earlier) holds, with their evidence."""
    def finder(q: Search) -> list[Evidence]:
        return _unique(q.facts.items(*names))
    return finder


def all_of(*names: str, unless: str | None = None) -> Callable[[Search], list[Evidence]]:
    """Holds when every named fact holds (and ``unless`` does not), with all their evidence."""
    def finder(q: Search) -> list[Evidence]:
        facts = q.facts
        if not all(facts[name] for name in names) or (unless is not None and facts[unless]):
            return []
        return _unique(facts.items(*names))
    return finder


def adolescent_under_16(q: Search) -> list[Evidence]:
    """Younger than buprenorphine's labelled age."""
    age = q.facts.age
    return [Evidence("adolescent", f"age {age}", None, "Patient")] \
        if age is not None and age < q.s.buprenorphine_min_age_years else []


def kratom_only(q: Search) -> list[Evidence]:
    """Kratom is the only use on record: the cards then speak of kratom, not of opioids."""
    facts = q.facts
    other_use = any(facts[name] for name in ("prescribed_opioid", "unprescribed_opioid", "nonmedical_opioid_use",
                                             "oud_active"))
    return facts.evidence["kratom_use"] if not other_use else []


def cows_rescore(q: Search) -> list[Evidence]:
    """The latest COWS was moderate or worse and is older than cows_current_hours: score it again."""
    latest = q.facts.latest_cows
    if latest is None or latest.score < q.s.cows_severity_threshold or within(latest.when, q.now, q.s.cows_current):
        return []
    return [latest]


def xylazine_exposure(q: Search) -> list[Evidence]:
    """A positive xylazine test or a xylazine overdose: naloxone does not reverse xylazine."""
    tests = [evidence("xylazine", item, when)
             for _, item, when in positive_opioid_tests(q, q.s.use_window, frozenset({analytes.XYLAZINE}))]
    overdoses = [evidence("xylazine", item, when)
                 for item, when, substance, _ in opioid_overdoses(q, q.s.overdose_window)
                 if substance == analytes.XYLAZINE]
    return _unique(tests + overdoses)


def on_methadone(q: Search) -> list[Evidence]:
    """Methadone as MOUD taken or given in the use window, or agonist therapy on record."""
    products = medication_in_use(q, "methadone", q.s.use_window, kind="moud", keep=lambda item: is_moud(q, item))
    return products + q.facts.evidence["agonist_therapy"]


def outpatient_opioid_risk(q: Search) -> list[Evidence]:
    """An opioid the patient has or goes home with, beside withdrawal, a benzodiazepine, a
    gabapentinoid, a substance use disorder of any substance or an overdose of any substance in the
    last year (CDC 2022 recommendation 8)."""
    facts = q.facts
    risks = [name for name in ("withdrawal", "benzodiazepine", "gabapentinoid", "sud_any", "overdose_any")
             if facts[name]]
    return _unique(facts.items("outpatient_opioid", *risks)) if facts["outpatient_opioid"] and risks else []


def adolescent(q: Search) -> list[Evidence]:
    age = q.facts.age
    return [Evidence("adolescent", f"age {age}", None, "Patient")] if age is not None and age < 18 else []


def patient_age(record: Record, now: datetime) -> int | None:
    """The patient's age in whole years; None if there is no Patient, it is deceased, or it has
    no birth date (age cannot then be confirmed, so no age band can be met)."""
    patient = record.patient()
    if patient is None:
        return None
    if patient.get("deceasedBoolean") is True or "deceasedDateTime" in patient:
        return None
    born = dates.birth_date_latest(patient.get("birthDate"))
    return dates.age_in_years(born, now.date()) if born is not None else None


def _unique(found: list[Evidence]) -> list[Evidence]:
    return list(dict.fromkeys(found))


# --- all of it --------------------------------------------------------------------------------
# Every fact of design 4.1, in the order it is found: a fact may read only the facts above it.

FINDERS: tuple[tuple[str, Callable[[Search], list[Evidence]]], ...] = (
    # opioid exposure
    ("prescribed_opioid", prescribed_opioid),
    ("outpatient_opioid", outpatient_opioid),
    ("moud_products", moud_products),
    ("unprescribed_opioid", unprescribed_opioid),
    ("nonmedical_opioid_use", nonmedical_opioid_use),
    ("kratom_use", kratom_use),
    ("concentrated_7oh", concentrated_7oh),
    ("kratom_disorder", kratom_disorder),
    # withdrawal (the last 72 hours)
    ("nonopioid_withdrawal", nonopioid_withdrawal),
    ("withdrawal_diagnosis", withdrawal_diagnosis),
    ("withdrawal_suspected", withdrawal_suspected),
    ("cows", cows_scores),
    ("latest_cows", latest_cows),
    ("cows_recent", cows_within("cows_recency")),
    ("cows_current", cows_within("cows_current")),
    ("cows_moderate", current_cows_at_least("cows_severity_threshold")),
    ("cows_severe", current_cows_at_least("cows_critical_threshold")),
    ("cows_below_start", current_cows_below("cows_buprenorphine_threshold")),
    ("cows_rescore", cows_rescore),
    ("withdrawal_score", withdrawal_score),
    ("withdrawal_noted", withdrawal_noted),
    ("withdrawal", any_of("withdrawal_diagnosis", "withdrawal_score", "withdrawal_noted")),
    ("withdrawal_or_suspected", any_of("withdrawal", "withdrawal_suspected")),
    # overdose
    ("overdose", overdose),
    ("overdose_recent", overdose_recent),
    ("intentional_overdose", intentional_overdose),
    ("unexplained_overdose", unexplained_overdose),
    ("xylazine_overdose", xylazine_exposure),
    ("overdose_any", overdose_any),
    # disorder
    ("oud_active", oud_active),
    ("oud_history", oud_history),
    ("agonist_therapy", agonist_therapy),
    # treatment and context
    ("on_moud", any_of("moud_products", "agonist_therapy")),
    ("on_buprenorphine", on_buprenorphine),
    ("on_methadone", on_methadone),
    ("buprenorphine_started_recently", buprenorphine_started_recently),
    ("first_buprenorphine_dose", first_buprenorphine_dose),
    ("precipitated_withdrawal_window", precipitated_withdrawal_window),
    ("buprenorphine_ordered", buprenorphine_ordered),
    ("outpatient_buprenorphine_prescription", outpatient_buprenorphine_prescription),
    ("naloxone_on_hand", naloxone_on_hand),
    ("benzodiazepine", outpatient_products("benzodiazepine")),
    ("gabapentinoid", outpatient_products("gabapentinoid")),
    ("stimulant_use", stimulant_use),
    ("sud_any", substance_use_disorder),
    ("pregnant", conditions_in("pregnancy", "pregnancy_window")),
    ("major_depression", active_conditions("major_depression")),
    ("phq2_scores", scale_scores("phq2", "depression_window")),
    ("phq9_scores", scale_scores("phq9", "depression_window")),
    ("phq9_positive", scale_scores("phq9", "depression_window", at_least="phq9_depression_threshold")),
    ("depression", any_of("phq9_positive", "major_depression")),
    ("depression_screened", any_of("phq2_scores", "phq9_scores")),
    ("suicidal_thoughts", suicidal_thoughts),
    ("suicide_attempt", conditions_in("suicide_attempt", "suicide_attempt_window", any_status=True)),
    ("suicide_risk", any_of("suicidal_thoughts", "suicide_attempt", "intentional_overdose")),
    ("recent_fentanyl_or_methadone", recent_fentanyl_or_methadone),
    ("recent_counseling", open_orders("counseling", "counseling_window")),
    ("open_cows_order", open_orders("cows_order", "open_cows_order_window")),
    ("open_moud_referral", open_orders("moud_referral", "use_window")),
    ("open_phq9_order", open_orders("phq9_order", "use_window")),
    ("end_of_life", end_of_life),
    # derived (design 4.1, "Derived")
    ("use", any_of("prescribed_opioid", "unprescribed_opioid", "nonmedical_opioid_use", "kratom_use", "oud_active")),
    ("kratom_withdrawal", all_of("kratom_use", "withdrawal")),
    ("disorder_signal", any_of("oud_active", "unprescribed_opioid", "nonmedical_opioid_use", "kratom_withdrawal",
                               "kratom_disorder", "unexplained_overdose")),
    ("dependence_only", all_of("prescribed_opioid", "withdrawal", unless="disorder_signal")),
    ("use_with_withdrawal", all_of("use", "withdrawal")),
    ("outpatient_opioid_risk", outpatient_opioid_risk),
    # What the disorder signal rests on, for wording: only a diagnosis lets a card say "opioid use
    # disorder"; the first that holds names it.
    ("rests_on_diagnosis", any_of("oud_active")),
    ("rests_on_overdose", all_of("unexplained_overdose", unless="oud_active")),
    ("rests_on_recorded_use", all_of("nonmedical_opioid_use", unless="oud_active")),
    ("rests_on_test", all_of("unprescribed_opioid", unless="oud_active")),
    ("rests_on_kratom", any_of("kratom_withdrawal", "kratom_disorder")),
    ("kratom_only", kratom_only),
    ("adolescent", adolescent),
    ("adolescent_under_16", adolescent_under_16),
)
FACT_NAMES = frozenset(name for name, _ in FINDERS)


def find_facts(record: Record, s: EngineSettings, now: datetime) -> Facts:
    facts = Facts(age=patient_age(record, now))
    search = Search(record, s, now, facts)
    for name, finder in FINDERS:
        facts.evidence[name] = finder(search)
    return facts
