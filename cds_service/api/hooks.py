"""POST /cds-services/{id}: the hook call over HTTP. The call itself is pipeline.answer_hook; this
view adds what only a served call has: the caller (authenticated before it runs, 401), the service
named in the path (404), the switches and our own URL, then the metrics, the call counts and the log."""

from __future__ import annotations

import logging
import time

import orjson
from flask import Blueprint, Response, g, request

from cds_service import pipeline
from cds_service.api.body import read_body
from cds_service.api.current import runtime
from cds_service.protocol.services import find_service
from cds_service.switches import CAPPED, SILENT

log = logging.getLogger("withdrawal_cds.hooks")
bp = Blueprint("hooks", __name__)


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str):
    service = find_service(service_id)
    rt = runtime()
    # One clock for the call, started before authentication (api/metrics.py): the histogram, the
    # committee's latency figures and the log line all say the same time.
    started = g.get("hook_started") or time.perf_counter()
    now = rt.clock()
    answer = pipeline.answer_hook(service, read_body(request), g.principal, now=now, settings=rt.settings,
                                  fetcher=rt.fetcher, store=rt.store, switches=rt.switches, form=rt.cows_form,
                                  base_url=own_base_url(rt.settings))
    rt.metrics.cards_returned(service.id, [card.advice for card in answer.shown])
    seconds = time.perf_counter() - started
    rt.store.counts.add(at=now, issuer=g.principal.iss, tenant=g.principal.tenant, service_id=service.id,
                        hook=service.hook, topics=answer.topics, snoozed=answer.snoozed, seconds=seconds)
    log.info("hook service=%s instance=%s resources=%d cards=%d snoozed=%d silent=%d capped=%d ms=%.1f",
             service.id, answer.hook_instance, answer.resources, len(answer.shown), len(answer.snoozed),
             len(answer.topics.get(SILENT, ())), len(answer.topics.get(CAPPED, ())), seconds * 1000)
    response = Response(orjson.dumps(answer.body), mimetype="application/json")
    if rt.store.counts.due():
        # Written once the answer has gone, so the EHR never waits on a batch of counts.
        response.call_on_close(rt.store.counts.flush)
    return response


def own_base_url(settings) -> str:
    """Our own URL as configured; the Host header only in open mode (loopback), which has none set."""
    bases = settings.server.base_urls
    return bases[0] if bases else request.host_url
