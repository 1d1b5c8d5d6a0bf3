"""Evidence finders: one per definition in design section 4.

Each finder reads the indexed record and returns the evidence it found (what, when, from which
resource), so a card can say why it fired. "Now" is the request time; windows and thresholds come
from ``EngineSettings``. Entered-in-error, refuted and cancelled records never count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cards import dates, terms
from cards.record import Concept, Item, Record, concept
from cards.settings import EngineSettings

EXCLUDED_STATUS = {
    "Condition": frozenset(),  # Condition has no status; verificationStatus is checked instead
    "Observation": frozenset({"entered-in-error", "cancelled"}),
    "MedicationRequest": frozenset({"entered-in-error", "cancelled"}),
    "MedicationStatement": frozenset({"entered-in-error", "not-taken"}),
    "ServiceRequest": frozenset({"entered-in-error", "revoked"}),
    "Procedure": frozenset({"entered-in-error", "not-done", "preparation"}),
}
EXCLUDED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
INACTIVE_CLINICAL = frozenset({"inactive", "remission", "resolved"})
ACTIVE_MEDICATION_STATUS = {
    "MedicationRequest": frozenset({"active", "on-hold", "draft"}),
    "MedicationStatement": frozenset({"active"}),
}
# An order a card's own suggestion would create counts in any of these states (design 3: an
# accepted suggestion settles its card, whatever status the EHR saved it with, unless cancelled).
SETTLING_ORDER_STATUS = frozenset({"draft", "active", "on-hold", "completed"})
POSITIVE_INTERPRETATION = frozenset({"POS", "DET", "A", "AA", "H", "HH", "HU", ">"})
NEGATIVE_INTERPRETATION = frozenset({"NEG", "ND", "N", "<"})


@dataclass(frozen=True)
class Evidence:
    kind: str
    what: str
    when: datetime | None
    source: str
    score: float | None = None


@dataclass
class Facts:
    """Named truths the topics' rules read, with the evidence behind each.

    ``age`` is the patient's age in whole years, or None when there is no living patient of
    known age: then no topic applies.
    """

    evidence: dict[str, list[Evidence]] = field(default_factory=dict)
    age: int | None = None

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


# --- small readers ---------------------------------------------------------------------------


def status_ok(item: Item) -> bool:
    status = item.resource.get("status")
    return status not in EXCLUDED_STATUS.get(item.type, ())


def codes_of(value: object) -> set[str]:
    return {key[1] for key in concept(value).keys} | {
        c.get("code") for c in _codings(value) if isinstance(c.get("code"), str)
    }


def _codings(value: object) -> list[dict]:
    codings = value.get("coding") if isinstance(value, dict) else None
    return [c for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []


def condition_state(resource: dict) -> str | None:
    """'excluded', 'active', 'inactive' or None (no clinical status given)."""
    if codes_of(resource.get("verificationStatus")) & EXCLUDED_VERIFICATION:
        return "excluded"
    clinical = codes_of(resource.get("clinicalStatus"))
    if clinical & ACTIVE_CLINICAL:
        return "active"
    if clinical & INACTIVE_CLINICAL:
        return "inactive"
    return None


def condition_when(resource: dict) -> datetime | None:
    return dates.latest(
        resource.get("recordedDate"), resource.get("onsetDateTime")
    ) or dates.period_latest(resource.get("onsetPeriod"))


def observation_when(resource: dict) -> datetime | None:
    effective = dates.latest(resource.get("effectiveDateTime"), resource.get("effectiveInstant"))
    effective = effective or dates.period_latest(resource.get("effectivePeriod"))
    return effective or dates.parse(resource.get("issued"))


def medication_when(resource: dict) -> datetime | None:
    if resource.get("resourceType") == "MedicationRequest":
        return dates.parse(resource.get("authoredOn"))
    effective = dates.parse(resource.get("effectiveDateTime")) or dates.period_latest(
        resource.get("effectivePeriod")
    )
    return effective or dates.parse(resource.get("dateAsserted"))


def order_when(resource: dict) -> datetime | None:
    if resource.get("resourceType") == "Procedure":
        return dates.parse(resource.get("performedDateTime")) or dates.period_latest(
            resource.get("performedPeriod")
        )
    return dates.latest(
        resource.get("authoredOn"),
        resource.get("occurrenceDateTime"),
    ) or dates.period_latest(resource.get("occurrencePeriod"))


def within(when: datetime | None, now: datetime, window: timedelta) -> bool:
    return when is not None and when >= now - window


def numeric_value(resource: dict) -> float | None:
    quantity = resource.get("valueQuantity")
    raw = quantity.get("value") if isinstance(quantity, dict) else resource.get("valueInteger")
    if raw is None and isinstance(resource.get("valueString"), str):
        raw = resource["valueString"]
    if isinstance(raw, bool):
        return None
    try:
        return float(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def result_polarity(resource: dict) -> str:
    """'positive', 'negative' or 'unknown' for a test or a yes/no observation."""
    for interpretation in resource.get("interpretation") or ():
        codes = {c.upper() for c in codes_of(interpretation)}
        if codes & POSITIVE_INTERPRETATION:
            return "positive"
        if codes & NEGATIVE_INTERPRETATION:
            return "negative"
        text = concept(interpretation).text
        if text and terms.NEGATIVE.search(text):
            return "negative"
        if text and terms.POSITIVE.search(text):
            return "positive"
    if isinstance(resource.get("valueBoolean"), bool):
        return "positive" if resource["valueBoolean"] else "negative"
    value_text = " | ".join(
        t
        for t in (
            resource.get("valueString") if isinstance(resource.get("valueString"), str) else "",
            concept(resource.get("valueCodeableConcept")).text,
        )
        if t
    )
    if value_text:
        # "Not detected" contains "detected": negatives are read first.
        if terms.NEGATIVE.search(value_text):
            return "negative"
        if terms.POSITIVE.search(value_text):
            return "positive"
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, dict) and isinstance(quantity.get("value"), (int, float)):
        value = quantity["value"]
        high = _reference_high(resource)
        if value <= 0:
            return "negative"
        if high is not None:
            return "positive" if value > high else "negative"
    return "unknown"


def _reference_high(resource: dict) -> float | None:
    for ranges in resource.get("referenceRange") or ():
        high = ranges.get("high") if isinstance(ranges, dict) else None
        if isinstance(high, dict) and isinstance(high.get("value"), (int, float)):
            return float(high["value"])
    return None


def evidence(kind: str, item: Item, when: datetime | None, score: float | None = None) -> Evidence:
    what = item.concept.label if isinstance(item.concept, Concept) and item.concept.text else ""
    return Evidence(kind, what or item.type, when, item.type, score)


# --- finders ---------------------------------------------------------------------------------
# Each reads one Search (the record, the settings, "now", and the facts found so far) and returns
# the evidence for one fact. FINDERS below lists them in the order they run.


@dataclass(frozen=True)
class Search:
    record: Record
    s: EngineSettings
    now: datetime
    facts: Facts


def medication_in_use(
    record: Record, tag: str, now: datetime, window: timedelta, *, undated_counts: bool = False
) -> list[Evidence]:
    """Medication requests and statements that are active, or authored/taken within ``window``."""
    found = []
    for item in record.tagged(tag, "MedicationRequest", "MedicationStatement"):
        if not item.draft and not status_ok(item):
            continue
        when = medication_when(item.resource)
        active = item.draft or item.resource.get("status") in ACTIVE_MEDICATION_STATUS[item.type]
        if active or within(when, now, window) or (undated_counts and when is None):
            found.append(evidence(tag, item, when))
    return found


def opioid_use(q: Search) -> list[Evidence]:
    return medication_in_use(q.record, "opioid", q.now, q.s.use_window)


def on_moud(q: Search) -> list[Evidence]:
    return medication_in_use(q.record, "moud", q.now, q.s.use_window)


def naloxone_on_hand(q: Search) -> list[Evidence]:
    # Undated counts: the card's own suggestion, saved without a date, must settle it.
    return medication_in_use(q.record, "naloxone", q.now, q.s.naloxone_window, undated_counts=True)


def opioid_use_disorder(q: Search) -> list[Evidence]:
    """Active OUD conditions; an opioid withdrawal condition is OUD evidence too."""
    found, seen = [], set()
    for tag in ("oud", "opioid_withdrawal"):
        for item in q.record.tagged(tag, "Condition"):
            if id(item) in seen:
                continue
            seen.add(id(item))
            state = condition_state(item.resource)
            when = condition_when(item.resource)
            if state == "active" or (state is None and within(when, q.now, q.s.use_window)):
                found.append(evidence("oud", item, when))
    return found


def kratom_use(q: Search) -> list[Evidence]:
    """Kratom named in a recent or active record, or a positive mitragynine test.

    An Observation whose code names kratom or mitragynine is read as a test or a question: its
    result decides, and a negative result is not evidence. Kratom named in a value or a note is
    evidence as written (negated mentions such as "denies kratom" were dropped when indexing).
    """
    record, now, window = q.record, q.now, q.s.use_window
    found = []
    for item in record.tagged("kratom", "Condition"):
        state, when = condition_state(item.resource), condition_when(item.resource)
        if state == "active" or (state is None and within(when, now, window)):
            found.append(evidence("kratom", item, when))
    for item in record.tagged("kratom", "MedicationStatement"):
        if status_ok(item):
            when = medication_when(item.resource)
            if item.resource.get("status") == "active" or within(when, now, window):
                found.append(evidence("kratom", item, when))
    for tag in ("kratom", "kratom_test", "kratom_code"):
        for item in record.tagged(tag, "Observation"):
            when = observation_when(item.resource)
            if not status_ok(item) or not within(when, now, window):
                continue
            polarity = result_polarity(item.resource)
            if tag == "kratom_test" and polarity != "positive":
                continue
            if tag == "kratom_code" and polarity == "negative":
                continue
            found.append(evidence("kratom", item, when))
    return _unique(found)


def kratom_only(q: Search) -> list[Evidence]:
    """Kratom is the only use on record: the cards then speak of kratom, not of opioids."""
    facts = q.facts
    return facts.evidence["kratom"] if not facts["opioid_use"] and not facts["oud"] else []


def withdrawal_conditions(q: Search) -> list[Evidence]:
    found = []
    for item in q.record.tagged("withdrawal", "Condition"):
        state, when = condition_state(item.resource), condition_when(item.resource)
        if state in ("active", None) and within(when, q.now, q.s.withdrawal_window):
            found.append(evidence("withdrawal", item, when))
    return found


def scores(record: Record, tag: str, now: datetime, window: timedelta) -> list[Evidence]:
    """Scored instruments (COWS, SOWS) in the window, latest first."""
    found = []
    for item in record.tagged(tag, "Observation"):
        when = observation_when(item.resource)
        score = numeric_value(item.resource)
        if status_ok(item) and score is not None and within(when, now, window):
            found.append(evidence(tag, item, when, score))
    return sorted(found, key=lambda e: e.when, reverse=True)


def cows_scores(q: Search) -> list[Evidence]:
    """Every COWS the COWS facts look at: the withdrawal window or the recency window, the longer."""
    return scores(q.record, "cows", q.now, max(q.s.withdrawal_window, q.s.cows_recency))


def cows_in_withdrawal_window(q: Search) -> list[Evidence]:
    return [e for e in q.facts.evidence["cows"] if within(e.when, q.now, q.s.withdrawal_window)]


def latest_cows(q: Search) -> list[Evidence]:
    return q.facts.evidence["cows_window"][:1]


def cows_recent(q: Search) -> list[Evidence]:
    return [e for e in q.facts.evidence["cows"] if within(e.when, q.now, q.s.cows_recency)]


def cows_at_least(setting: str) -> Callable[[Search], list[Evidence]]:
    """COWS scores in the withdrawal window at or over the threshold the setting names."""
    def finder(q: Search) -> list[Evidence]:
        threshold = getattr(q.s, setting)
        return [e for e in q.facts.evidence["cows_window"] if e.score >= threshold]
    return finder


def cows_critical(q: Search) -> list[Evidence]:
    """The latest COWS, if it is at the critical threshold: the newest score decides, not the highest."""
    return [e for e in q.facts.evidence["latest_cows"] if e.score >= q.s.cows_critical_threshold]


def sows_withdrawal(q: Search) -> list[Evidence]:
    sows = scores(q.record, "sows", q.now, q.s.withdrawal_window)
    return [e for e in sows if e.score >= q.s.sows_withdrawal_threshold]


def withdrawal_observations(q: Search) -> list[Evidence]:
    found = []
    for item in q.record.tagged("withdrawal", "Observation"):
        when = observation_when(item.resource)
        if (
            status_ok(item)
            and within(when, q.now, q.s.withdrawal_window)
            and result_polarity(item.resource) != "negative"
        ):
            found.append(evidence("withdrawal", item, when))
    return found


def settling_orders(record: Record, tag: str, now: datetime, window: timedelta) -> list[Evidence]:
    """Orders a card's own suggestion would create (or a completed procedure), in ``window``.

    Undated orders count: an accepted suggestion must settle its card even if the EHR saved it
    without a date. Dated ones count only in the window, so a stale order does not silence advice
    about a new episode.
    """
    found = []
    for item in record.tagged(tag, "ServiceRequest", "Procedure"):
        status = item.resource.get("status")
        if item.type == "ServiceRequest" and not (item.draft or status in SETTLING_ORDER_STATUS):
            continue
        if item.type == "Procedure" and not status_ok(item):
            continue
        when = order_when(item.resource)
        if when is None or within(when, now, window):
            found.append(evidence(tag, item, when))
    return found


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


def any_of(*names: str) -> Callable[[Search], list[Evidence]]:
    """A fact that holds when any of the named facts (found earlier) holds, with their evidence."""
    def finder(q: Search) -> list[Evidence]:
        return q.facts.items(*names)
    return finder


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
# Every fact, in the order it is found: a fact may read only the facts above it.

FINDERS: tuple[tuple[str, Callable[[Search], list[Evidence]]], ...] = (
    ("opioid_use", opioid_use),
    ("oud", opioid_use_disorder),
    ("kratom", kratom_use),
    ("use", any_of("opioid_use", "oud", "kratom")),
    ("kratom_only", kratom_only),
    ("cows", cows_scores),
    ("cows_window", cows_in_withdrawal_window),
    ("latest_cows", latest_cows),
    ("cows_recent", cows_recent),
    ("cows_withdrawal", cows_at_least("cows_withdrawal_threshold")),
    ("cows_moud", cows_at_least("cows_moud_threshold")),
    ("cows_critical", cows_critical),
    ("sows_withdrawal", sows_withdrawal),
    ("withdrawal_condition", withdrawal_conditions),
    ("withdrawal_observation", withdrawal_observations),
    ("withdrawal", any_of("withdrawal_condition", "cows_withdrawal", "sows_withdrawal", "withdrawal_observation")),
    ("on_moud", on_moud),
    ("naloxone_on_hand", naloxone_on_hand),
    ("open_cows_order", open_orders("cows_order", "withdrawal_window")),
    ("open_moud_referral", open_orders("moud_referral", "use_window")),
    ("recent_counseling", open_orders("counseling", "counseling_window")),
    ("end_of_life", end_of_life),
)
FACT_NAMES = frozenset(name for name, _ in FINDERS)


def find_facts(record: Record, s: EngineSettings, now: datetime) -> Facts:
    facts = Facts(age=patient_age(record, now))
    search = Search(record, s, now, facts)
    for name, finder in FINDERS:
        facts.evidence[name] = finder(search)
    return facts
