"""Evidence finders: one per definition in design section 4.

Each finder reads the indexed record and returns the evidence it found (what, when, from which
resource), so a card can say why it fired. "Now" is the request time; windows and thresholds come
from ``EngineSettings``. Entered-in-error, refuted and cancelled records never count.
"""

from __future__ import annotations

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
    """Named truths the rules table reads, with the evidence behind each."""

    evidence: dict[str, list[Evidence]] = field(default_factory=dict)
    latest_cows: Evidence | None = None

    def __getitem__(self, name: str) -> bool:
        return bool(self.evidence.get(name))

    def items(self, *names: str) -> list[Evidence]:
        return [e for name in names for e in self.evidence.get(name, ())]


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


def opioid_use(record: Record, s: EngineSettings, now: datetime) -> list[Evidence]:
    return medication_in_use(record, "opioid", now, s.use_window)


def on_moud(record: Record, s: EngineSettings, now: datetime) -> list[Evidence]:
    return medication_in_use(record, "moud", now, s.use_window)


def naloxone_on_hand(record: Record, s: EngineSettings, now: datetime) -> list[Evidence]:
    # Undated counts: the card's own suggestion, saved without a date, must settle it.
    return medication_in_use(record, "naloxone", now, s.naloxone_window, undated_counts=True)


def opioid_use_disorder(record: Record, s: EngineSettings, now: datetime) -> list[Evidence]:
    """Active OUD conditions; an opioid withdrawal condition is OUD evidence too."""
    found, seen = [], set()
    for tag in ("oud", "opioid_withdrawal"):
        for item in record.tagged(tag, "Condition"):
            if id(item) in seen:
                continue
            seen.add(id(item))
            state = condition_state(item.resource)
            when = condition_when(item.resource)
            if state == "active" or (state is None and within(when, now, s.use_window)):
                found.append(evidence("oud", item, when))
    return found


def kratom_use(record: Record, s: EngineSettings, now: datetime) -> list[Evidence]:
    """Kratom named in a recent or active record, or a positive mitragynine test.

    An Observation whose code names kratom or mitragynine is read as a test or a question: its
    result decides, and a negative result is not evidence. Kratom named in a value or a note is
    evidence as written (negated mentions such as "denies kratom" were dropped when indexing).
    """
    found = []
    for item in record.tagged("kratom", "Condition"):
        state, when = condition_state(item.resource), condition_when(item.resource)
        if state == "active" or (state is None and within(when, now, s.use_window)):
            found.append(evidence("kratom", item, when))
    for item in record.tagged("kratom", "MedicationStatement"):
        if status_ok(item):
            when = medication_when(item.resource)
            if item.resource.get("status") == "active" or within(when, now, s.use_window):
                found.append(evidence("kratom", item, when))
    for tag in ("kratom", "kratom_test", "kratom_code"):
        for item in record.tagged(tag, "Observation"):
            when = observation_when(item.resource)
            if not status_ok(item) or not within(when, now, s.use_window):
                continue
            polarity = result_polarity(item.resource)
            if tag == "kratom_test" and polarity != "positive":
                continue
            if tag == "kratom_code" and polarity == "negative":
                continue
            found.append(evidence("kratom", item, when))
    return _unique(found)


def withdrawal_conditions(record: Record, s: EngineSettings, now: datetime) -> list[Evidence]:
    found = []
    for item in record.tagged("withdrawal", "Condition"):
        state, when = condition_state(item.resource), condition_when(item.resource)
        if state in ("active", None) and within(when, now, s.withdrawal_window):
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


def withdrawal_observations(record: Record, s: EngineSettings, now: datetime) -> list[Evidence]:
    found = []
    for item in record.tagged("withdrawal", "Observation"):
        when = observation_when(item.resource)
        if (
            status_ok(item)
            and within(when, now, s.withdrawal_window)
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


def end_of_life(record: Record, s: EngineSettings, now: datetime) -> list[Evidence]:
    found = []
    for item in record.tagged("end_of_life"):
        if item.type == "Condition":
            if condition_state(item.resource) not in ("active", None):
                continue
            found.append(evidence("end_of_life", item, condition_when(item.resource)))
        elif status_ok(item):
            found.append(evidence("end_of_life", item, order_when(item.resource)))
    return found


def eligibility(record: Record, s: EngineSettings, now: datetime) -> list[Evidence]:
    """Alive and at least ``min_age_years``; without a birth date age cannot be confirmed."""
    patient = record.patient()
    if patient is None:
        return []
    if patient.get("deceasedBoolean") is True or "deceasedDateTime" in patient:
        return []
    born = dates.birth_date_latest(patient.get("birthDate"))
    if born is None or dates.age_in_years(born, now.date()) < s.min_age_years:
        return []
    return [Evidence("eligible", "Patient", None, "Patient")]


def _unique(found: list[Evidence]) -> list[Evidence]:
    return list(dict.fromkeys(found))


# --- all of it --------------------------------------------------------------------------------


def gather(record: Record, s: EngineSettings, now: datetime) -> Facts:
    facts = Facts()
    put = facts.evidence.__setitem__
    put("eligible", eligibility(record, s, now))
    put("opioid_use", opioid_use(record, s, now))
    put("oud", opioid_use_disorder(record, s, now))
    put("kratom", kratom_use(record, s, now))
    put("use", facts.items("opioid_use", "oud", "kratom"))

    cows = scores(record, "cows", now, max(s.withdrawal_window, s.cows_recency))
    cows_72h = [e for e in cows if within(e.when, now, s.withdrawal_window)]
    sows = scores(record, "sows", now, s.withdrawal_window)
    facts.latest_cows = cows_72h[0] if cows_72h else None
    put("cows_recent", [e for e in cows if within(e.when, now, s.cows_recency)])
    put("cows_withdrawal", [e for e in cows_72h if e.score >= s.cows_withdrawal_threshold])
    put("cows_moud", [e for e in cows_72h if e.score >= s.cows_moud_threshold])
    put(
        "cows_critical",
        [facts.latest_cows]
        if facts.latest_cows and facts.latest_cows.score >= s.cows_critical_threshold
        else [],
    )
    put("sows_withdrawal", [e for e in sows if e.score >= s.sows_withdrawal_threshold])
    put("withdrawal_condition", withdrawal_conditions(record, s, now))
    put("withdrawal_observation", withdrawal_observations(record, s, now))
    put(
        "withdrawal",
        facts.items(
            "withdrawal_condition", "cows_withdrawal", "sows_withdrawal", "withdrawal_observation"
        ),
    )

    put("on_moud", on_moud(record, s, now))
    put("naloxone_on_hand", naloxone_on_hand(record, s, now))
    put("open_cows_order", settling_orders(record, "cows_order", now, s.withdrawal_window))
    put("open_moud_referral", settling_orders(record, "moud_referral", now, s.use_window))
    put("recent_counseling", settling_orders(record, "counseling", now, s.counseling_window))
    put("end_of_life", end_of_life(record, s, now))
    return facts
