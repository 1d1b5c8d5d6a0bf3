"""Small builders for cards and feedback rows as the store sees them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from cds_service.store import FeedbackRow, IssuedCard, Store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
TOPICS = ["withdrawal-assessment", "moud-referral", "counseling", "naloxone"]


def card(topic: str, suggestions: int = 1) -> dict:
    return {
        "uuid": str(uuid.uuid4()),
        "summary": f"{topic} advice",
        "indicator": "warning",
        "source": {"label": "guideline", "topic": {"system": "urn:withdrawal-cds:card-topic", "code": topic}},
        "suggestions": [{"label": "do it", "uuid": str(uuid.uuid4())} for _ in range(suggestions)],
    }


def issue(store: Store, *topics: str, patient: str = "pat-1", at: datetime = T0,
          service_id: str = "withdrawal-patient-view") -> list[dict]:
    return store.issue_cards(service_id=service_id, hook="patient-view", hook_instance=str(uuid.uuid4()),
                             patient_ref=store.patient_ref(patient), advised=[(t, t) for t in topics],
                             render=lambda kept: [card(t) for t in kept], issued_at=at)


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
