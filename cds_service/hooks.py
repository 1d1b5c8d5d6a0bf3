"""POST /cds-services/{id}: validate the request, assemble the record, ask cards/, answer.

The order of the steps is the contract: who is calling (401), which service
(404), is it a well-formed request for that hook (400), can we have the data
(412), then the clinical engine, snoozes, and the card log written before the
response leaves.
"""

from __future__ import annotations

import logging
import time

import orjson
from flask import Blueprint, Response, g, request

import cards
from cds_service.auth import require_auth
from cds_service.body import read_json
from cds_service.gather import FhirAccess, gather_record
from cds_service.runtime import runtime
from cds_service.schemas import load
from cds_service.schemas.request import REQUEST_SCHEMAS
from cds_service.schemas.response import CardsResponseSchema
from cds_service.services import Service, find_service

log = logging.getLogger("withdrawal_cds.hooks")
bp = Blueprint("hooks", __name__)
_RESPONSE = CardsResponseSchema()


@bp.post("/cds-services/<service_id>")
@require_auth
def call_service(service_id: str):
    service = find_service(service_id)
    rt = runtime()
    started = time.perf_counter()
    hook_request = validate_request(service, read_json(request, rt.settings.server.max_body_bytes))
    resources = gather_record(service.prefetch, hook_request, _fhir_access(hook_request), rt.fetcher)
    now = rt.store.clock()
    advised = cards.evaluate(resources, hook=service.hook, context=hook_request["context"], now=now,
                             settings=rt.engine_settings)
    # Most charts raise nothing: then there is nothing to snooze or to log.
    shown = _unsnoozed_and_logged(rt, service, hook_request, advised, now) if advised else []
    body = _RESPONSE.dump({"cards": shown})
    log.info("hook service=%s instance=%s resources=%d cards=%d snoozed=%d ms=%.1f", service.id,
             hook_request["hookInstance"], len(resources), len(shown), len(advised) - len(shown),
             (time.perf_counter() - started) * 1000)
    return Response(orjson.dumps(body), mimetype="application/json")


def _unsnoozed_and_logged(rt, service: Service, hook_request: dict, advised: list[dict], now) -> list[dict]:
    """The cards to show: snoozed topics dropped, the rest logged (committed) before the response leaves."""
    return rt.store.issue_cards(service_id=service.id, hook=service.hook, hook_instance=hook_request["hookInstance"],
                                patient_ref=rt.store.patient_ref(hook_request["context"]["patientId"]),
                                cards=advised, issued_at=now)


def validate_request(service: Service, payload: object) -> dict:
    """The request as loaded by the hook's schema, or BadRequest naming every bad field by path."""
    return load(REQUEST_SCHEMAS[service.hook], payload, f"a {service.hook} request")


def _fhir_access(hook_request: dict) -> FhirAccess | None:
    """The FHIR server we may query for this call, or None: a server the caller's issuer does not
    vouch for is treated as absent, so the token is never sent where it was not meant to go."""
    server = hook_request.get("fhirServer")
    if not server or not g.principal.may_use(server):
        if server:
            log.warning("fhirServer not allowed for issuer %s; not contacted", g.principal.iss)
        return None
    token = (hook_request.get("fhirAuthorization") or {}).get("access_token")
    return FhirAccess(server, token)
