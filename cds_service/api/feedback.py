"""POST /cds-services/{id}/feedback: what the clinician did with a card, over HTTP. The post itself
(its checks, and the snooze it sets) is pipeline.receive_feedback; this view adds the caller, the
service named in the path (404), the metrics and the log, and answers 200 only after the commit."""

from __future__ import annotations

import logging

from flask import Blueprint, g, jsonify, request

from cds_service import pipeline
from cds_service.api.body import read_body
from cds_service.api.current import runtime
from cds_service.protocol.services import find_service

log = logging.getLogger("withdrawal_cds.feedback")
bp = Blueprint("feedback", __name__)


@bp.post("/cds-services/<service_id>/feedback")
def receive_feedback(service_id: str):
    service = find_service(service_id)
    rt = runtime()
    received = pipeline.receive_feedback(service, read_body(request), g.principal, now=rt.clock(),
                                         settings=rt.settings, store=rt.store)
    for row in received.stored:
        rt.metrics.feedback.labels(service.id, row.topic, row.outcome).inc()
    log.info("feedback service=%s items=%d stored=%d duplicates=%d", service.id,
             len(received.stored) + received.duplicates, len(received.stored), received.duplicates)
    return jsonify(received.body), 200
