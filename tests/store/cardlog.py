"""Small builders for cards and feedback rows as the store sees them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from cds_service.auth.tokens import OPEN
from cds_service.store import SHOWN, FeedbackRow, IssuedCard, Store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
# Calls in open mode without a fhirServer: the source the test client's calls have.
LOCAL = OPEN.source(None)
TOPICS = ["withdrawal-assessment", "moud-referral", "counseling", "naloxone"]


def card(topic: str, suggestions: int = 1) -> dict:
    """A card as the EHR holds it: only what feedback quotes back (its uuid, a suggestion's uuid)."""
    return {
        "uuid": str(uuid.uuid4()),
        "source": {"label": "guideline", "topic": {"system": "urn:withdrawal-cds:card-topic", "code": topic}},
        "suggestions": [{"label": "do it", "uuid": str(uuid.uuid4())} for _ in range(suggestions)],
    }


def ref(store: Store, patient: str, source: str = LOCAL) -> str:
    return store.patient_ref(source, patient)


def issue(store: Store, *topics: str, patient: str = "pat-1", at: datetime = T0,
          service_id: str = "withdrawal-patient-view", source: str = LOCAL, hook: str = "patient-view",
          triage=None) -> list[dict]:
    """Log a card per topic not snoozed, as a hook call does (Store.card_log); the cards returned.
    `triage` (switches.Plan.triage) holds some back as silent or capped."""
    patient_ref, instance = ref(store, patient, source), str(uuid.uuid4())
    with store.card_log(patient_ref, at) as log:
        kept = [(topic, card(topic)) for topic in topics if topic not in log.snoozed]
        by_status = triage(kept) if triage is not None else {SHOWN: kept}
        log.add([IssuedCard(card_uuid=wire["uuid"], service_id=service_id, topic=topic, patient_ref=patient_ref,
                            suggestion_uuids=tuple(s["uuid"] for s in wire["suggestions"]), issued_at=at,
                            source_ref=store.source_ref(source), override_reasons=(), hook=hook,
                            hook_instance=instance, status=status)
                 for status, pairs in by_status.items() for topic, wire in pairs])
    return [wire for _, wire in by_status.get(SHOWN, ())]


def snoozed(store: Store, patient_ref: str, now: datetime) -> set[str]:
    """The topics feedback hides for the patient at `now`, as a hook call reads them."""
    with store.card_log(patient_ref, now) as log:
        return set(log.snoozed)


def feedback_row(store: Store, card_dict: dict, outcome: str, *, reason: str = "", at: datetime = T0,
                 snoozed_until: datetime | None = None) -> FeedbackRow:
    issued: IssuedCard = store.issued_cards([card_dict["uuid"]])[card_dict["uuid"]]
    return FeedbackRow(
        card_uuid=issued.card_uuid, outcome=outcome, outcome_timestamp=at,
        reason_system="urn:withdrawal-cds:override-reason" if reason else "", reason_code=reason,
        accepted_suggestions=issued.suggestion_uuids[:1] if outcome == "accepted" else (),
        service_id=issued.service_id, topic=issued.topic, patient_ref=issued.patient_ref,
        snoozed_until=snoozed_until if outcome == "overridden" else None)


def override(store: Store, card_dict: dict, *, days: int = 7, reason: str = "", at: datetime = T0,
             received_at: datetime = T0):
    row = feedback_row(store, card_dict, "overridden", reason=reason, at=at,
                       snoozed_until=received_at + timedelta(days=days))
    return store.record_feedback([row], received_at)


def accept(store: Store, card_dict: dict, *, received_at: datetime = T0):
    return store.record_feedback([feedback_row(store, card_dict, "accepted", at=received_at)], received_at)


def write_before_0002(database_url: str, key: bytes, *, topic: str, patient: str, snoozed_until: datetime,
                      reason: str = "patient-declined") -> dict:
    """A card and its override as revision 0001 stored them (patient_ref the hash of the bare id, no
    source), written to a database migrated to 0001 only. Returns the card's uuids."""
    import hashlib
    import hmac

    from sqlalchemy import JSON, String, column, table

    from cds_service.store import migrate
    from cds_service.store.engine import make_engine
    from cds_service.store.models import UtcDateTime

    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine, revision="0001")
        old_ref = hmac.new(key, patient.encode(), hashlib.sha256).hexdigest()
        card_uuid, suggestion = str(uuid.uuid4()), str(uuid.uuid4())
        text = ["card_uuid", "service_id", "topic", "patient_ref"]
        cards_0001 = table("issued_card", *(column(c, String) for c in text + ["hook", "hook_instance"]),
                           column("suggestion_uuids", JSON), column("issued_at", UtcDateTime))
        feedback_0001 = table("feedback", *(column(c, String) for c in text + ["outcome", "reason_system",
                                                                                "reason_code"]),
                              column("accepted_suggestions", JSON),
                              *(column(c, UtcDateTime) for c in ("outcome_timestamp", "received_at", "snoozed_until")))
        shared = {"card_uuid": card_uuid, "service_id": "withdrawal-patient-view", "topic": topic,
                  "patient_ref": old_ref}
        with engine.begin() as conn:
            conn.execute(cards_0001.insert().values(**shared, hook="patient-view", hook_instance=str(uuid.uuid4()),
                                                    suggestion_uuids=[suggestion], issued_at=T0))
            conn.execute(feedback_0001.insert().values(
                **shared, outcome="overridden", reason_system="urn:withdrawal-cds:override-reason", reason_code=reason,
                accepted_suggestions=[], outcome_timestamp=T0, received_at=T0, snoozed_until=snoozed_until))
    finally:
        engine.dispose()
    return {"uuid": card_uuid, "suggestion": suggestion}
