"""POST /cds-services/{id}: validate the request, assemble the record, ask cards/, answer.

The order of the steps is the contract: who is calling (401, before this view runs), which
service (404), is it a well-formed request for that hook (400), can we have the data (412),
then the clinical engine, snoozes, and the card log written before the response leaves.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import orjson
from flask import Blueprint, Response, g, request

import cards
from cards.data import server_queries
from cds_service.api.body import parse_json, read_body
from cds_service.apps.links import CowsForm, card_links, cows_form
from cds_service.fhir.assemble import FhirAccess, assemble_record
from cds_service.protocol import card_json, dismissal
from cds_service.protocol.contexts import HOOKS
from cds_service.protocol.decode import decode_fhir_answer, decode_hook_request
from cds_service.protocol.request_schemas import validate_request
from cds_service.protocol.services import Service, find_service
from cds_service.runtime import Runtime, runtime
from cds_service.store import NOTHING_ISSUED, Issued
from cds_service.switches import CAPPED, SILENT, Plan

log = logging.getLogger("withdrawal_cds.hooks")
bp = Blueprint("hooks", __name__)


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str):
    service = find_service(service_id)
    rt = runtime()
    started = time.perf_counter()
    body = read_body(request)
    # Only the resources the rules would keep are decoded whole; a body of another shape is
    # parsed whole, and refused or accepted exactly as before.
    sieve = cards.Sieve(rt.settings.clinical)
    document = decode_hook_request(body, sieve)
    hook_request = validate_request(service.hook, document if document is not None else parse_json(body))
    # The FHIR server's answers are read the same way, each by a sieve of its own: the pages are
    # read on the fetch pool's threads, and a sieve is one thread's.
    access, no_access = _fhir_access(hook_request)
    now = rt.clock()
    resources = assemble_record(service.prefetch, hook_request, access, rt.fetcher, no_access=no_access,
                                read=lambda answer: decode_fhir_answer(answer, cards.Sieve(rt.settings.clinical)),
                                queries=lambda: server_queries(rt.settings.clinical, now))
    # This site's switches for this hook: topics switched off are not evaluated at all.
    plan = rt.switches.plan(g.principal.iss, g.principal.tenant, service.hook)
    # The response says once how long dismissing a card hides it ([snooze]).
    inputs = replace(HOOKS[service.hook].inputs(hook_request["context"]), footer=dismissal.footer(rt.settings.snooze),
                     skip=plan.skip)
    # One CPU budget for the request thread's reading: the sieve's, which started with the call.
    advised = cards.evaluate(resources, inputs, now, rt.settings.clinical, cpu_until=sieve.cpu_until)
    # Most charts raise nothing: then there is nothing to snooze or to log.
    issued = _unsnoozed_and_logged(rt, service, hook_request, advised, now, plan) if advised else NOTHING_ISSUED
    answer = card_json.response(issued.cards)
    rt.metrics.cards_returned(service.id, answer["cards"])
    seconds = time.perf_counter() - started
    rt.store.counts.add(at=now, issuer=g.principal.iss, tenant=g.principal.tenant, service_id=service.id,
                        hook=service.hook, topics=issued.topics, snoozed=issued.snoozed, seconds=seconds)
    log.info("hook service=%s instance=%s resources=%d cards=%d snoozed=%d silent=%d capped=%d ms=%.1f",
             service.id, hook_request["hookInstance"], len(resources), len(issued.cards), len(issued.snoozed),
             len(issued.topics.get(SILENT, ())), len(issued.topics.get(CAPPED, ())),
             seconds * 1000)
    response = Response(orjson.dumps(answer), mimetype="application/json")
    if rt.store.counts.due():
        # Written once the answer has gone, so the EHR never waits on a batch of counts.
        response.call_on_close(rt.store.counts.flush)
    return response


def _unsnoozed_and_logged(rt: Runtime, service: Service, hook_request: dict, advised: list[cards.Advice],
                          now, plan: Plan) -> Issued:
    """The cards to show: snoozed topics dropped, silent and capped ones held back, all the others
    logged (committed) before the response leaves.

    The patient is the id within its source (Principal.source), so a snooze from one EHR never
    hides a card at another whose patient has the same id."""
    form = cows_form(rt.settings)
    source = g.principal.source(hook_request.get("fhirServer"))
    return rt.store.issue_cards(service_id=service.id, hook=service.hook, hook_instance=hook_request["hookInstance"],
                                patient_ref=rt.store.patient_ref(source, hook_request["context"]["patientId"]),
                                source_ref=rt.store.source_ref(source),
                                advised=[(advice.topic, advice) for advice in advised],
                                render=lambda kept: card_json.cards(kept, _app_links(hook_request, form, rt),
                                                                   rt.settings.snooze),
                                issued_at=now, triage=plan.triage)


def _app_links(hook_request: dict, form: CowsForm | None, rt: Runtime) -> card_json.ExtraLinks:
    """Links from a card to the apps this service serves (the COWS form), naming the card."""
    # Our own URL as configured; the Host header only in open mode (loopback), which has none set.
    bases = rt.settings.server.base_urls
    base_url = bases[0] if bases else request.host_url
    return lambda advice, card_uuid: card_links(advice, hook_request, card_uuid, form, base_url, g.principal.may_use)


def _fhir_access(hook_request: dict) -> tuple[FhirAccess | None, str]:
    """The FHIR server we may query for this call, or None and why not: a server the caller's
    issuer does not vouch for is treated as absent, so the token is never sent where it was not
    meant to go. Said only in a 412, when it matters: with prefetch complete, no server is needed."""
    access = FhirAccess.of(hook_request)
    if access is None:
        return None, "no usable fhirServer was given"
    if not g.principal.may_use(access.base_url):
        return None, "fhirServer is not one this issuer's fhir_servers lists, so it was not contacted"
    return access, ""
