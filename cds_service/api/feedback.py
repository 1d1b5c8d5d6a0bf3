"""POST /cds-services/{id}/feedback: what the clinician did with a card (CDS Hooks 2.0, Feedback).

Each item names a card we issued, `accepted` (with the suggestions taken) or `overridden`
(optionally with a reason Coding), and when. Decisions this endpoint makes, because the
standard leaves them open:

- **Unknown card: 400, nothing stored.** Feedback whose `card` is not a card this service
  issued to this caller (never issued, issued by another service or to another source, i.e.
  another issuer or tenant, or already purged by retention) is a client error, reported at
  `feedback.N.card` in the same words whichever it is, so nobody learns of other EHRs'
  cards; an accepted suggestion that is not one of the card's is reported at
  `feedback.N.acceptedSuggestions.M.id`. The batch is all or nothing, so a client that fixes
  and resends cannot double-count. The Sandbox only sends feedback for cards we returned, and
  those are in the log before the response leaves. 400 rather than 404: 404 would read as
  "no such endpoint".
- **An override reason must be one the card offered** (its `overrideReasons`, compared by
  `system` and `code`; the Sandbox sends just those two), else a 400 at
  `feedback.N.overrideReason.reason`: what is stored and reported is then our own code, never
  client text (a terminal escape, a name and MRN). A card logged before store revision 0003
  recorded no reasons: it takes an override without one. The snooze length is looked up by
  code (below). `userComment` is accepted and not stored:
  free text may carry patient data.
- **A snooze starts when we receive the override**, not at `outcomeTimestamp`: a client's
  clock can neither stretch nor backdate it. Resending the same feedback does not restart it.
- **How long feedback hides the topic for the patient** (`[snooze]`): an acceptance
  `accepted_hours` (24), because many EHRs save the accepted order only at signing and the
  Sandbox never writes it, so the record cannot show it yet; an override without a reason
  `dismissed_days` (1); with a reason, `by_reason` or `default_days` (7). Each card says so.
- The same feedback (card, outcome, outcomeTimestamp, reason) sent twice is stored once;
  200 is sent only after the commit, with `{"stored": n, "duplicates": m}`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Blueprint, g, jsonify, request

from cds_service.api.body import read_json
from cds_service.config import SnoozeSettings
from cds_service.errors import BadRequest
from cds_service.protocol.base import load
from cds_service.protocol.feedback_schemas import OVERRIDDEN, FeedbackRequestSchema
from cds_service.protocol.services import find_service
from cds_service.runtime import runtime
from cds_service.store import FeedbackRow, IssuedCard

log = logging.getLogger("withdrawal_cds.feedback")
bp = Blueprint("feedback", __name__)

_REQUEST = FeedbackRequestSchema()


@bp.post("/cds-services/<service_id>/feedback")
def receive_feedback(service_id: str):
    service = find_service(service_id)
    rt = runtime()
    items = load(_REQUEST, read_json(request), "a feedback request")["feedback"]

    issued = rt.store.issued_cards(item["card"] for item in items)
    # Open mode has no verified caller to compare (and feedback names no fhirServer); the
    # snooze still lands on the card's own patient within the card's own source.
    caller = rt.store.source_ref(g.principal.source(None)) if g.principal.iss is not None else None
    problems = _unknown_references(items, issued, service.id, caller)
    if problems:
        raise BadRequest("the feedback refers to cards, suggestions or reasons this service did not issue", problems)

    received_at = rt.clock()
    rows = [_row(item, issued[item["card"]], rt.settings.snooze, received_at) for item in items]
    stored = rt.store.record_feedback(rows, received_at)
    for row in stored:
        rt.metrics.feedback.labels(service.id, row.topic, row.outcome).inc()
    duplicates = len(rows) - len(stored)
    log.info("feedback service=%s items=%d stored=%d duplicates=%d", service.id, len(rows), len(stored), duplicates)
    return jsonify({"stored": len(stored), "duplicates": duplicates}), 200


def _unknown_references(items: list[dict], issued: dict[str, IssuedCard], service_id: str,
                        caller_source_ref: str | None) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for n, item in enumerate(items):
        card = issued.get(item["card"])
        if (card is None or card.service_id != service_id
                or caller_source_ref is not None and card.source_ref != caller_source_ref):
            problems[f"feedback.{n}.card"] = ["no card with this uuid was issued by this service"]
            continue
        for m, suggestion in enumerate(item.get("acceptedSuggestions") or ()):
            if suggestion["id"] not in card.suggestion_uuids:
                problems[f"feedback.{n}.acceptedSuggestions.{m}.id"] = ["not a suggestion of this card"]
        reason = (item.get("overrideReason") or {}).get("reason")
        if reason and (reason["system"], reason["code"]) not in card.override_reasons:
            problems[f"feedback.{n}.overrideReason.reason"] = ["not one of the overrideReasons this card offered"]
    return problems


def _row(item: dict, card: IssuedCard, snooze: SnoozeSettings, received_at: datetime) -> FeedbackRow:
    reason = (item.get("overrideReason") or {}).get("reason") or {}
    overridden = item["outcome"] == OVERRIDDEN
    return FeedbackRow(
        card_uuid=card.card_uuid,
        outcome=item["outcome"],
        outcome_timestamp=item["outcomeTimestamp"],
        reason_system=reason.get("system", ""),
        reason_code=reason.get("code", ""),
        accepted_suggestions=tuple(s["id"] for s in item.get("acceptedSuggestions") or ()),
        service_id=card.service_id,
        topic=card.topic,
        patient_ref=card.patient_ref,
        snoozed_until=snooze_until(snooze, overridden, reason.get("code"), received_at),
    )


def snooze_until(snooze: SnoozeSettings, overridden: bool, reason_code: str | None,
                 received_at: datetime) -> datetime | None:
    if not overridden:
        hidden = timedelta(hours=snooze.accepted_hours)
    elif reason_code:
        hidden = timedelta(days=snooze.by_reason.get(reason_code, snooze.default_days))
    else:
        hidden = timedelta(days=snooze.dismissed_days)
    return received_at + hidden if hidden else None
