"""`withdrawal-cds evaluate`: the cards for one request or one patient's Bundle, with no server.

Runs the same validation, record assembly and rules as a hook call. Nothing is
logged to the store and no snooze applies: it shows what the rules say.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import cards
from cards.data import server_queries
from cds_service.config import Settings
from cds_service.errors import BadRequest, record_too_large
from cds_service.fhir.assemble import FhirAccess, assemble_record
from cds_service.fhir.fetch import FhirFetcher
from cds_service.fhir.prefetch import bundle_resources
from cds_service.protocol import card_json
from cds_service.protocol.contexts import HOOKS
from cds_service.protocol.request_schemas import validate_request
from cds_service.protocol.services import PREFETCH_KEY_OF, SERVICES


def evaluate_document(document: Any, settings: Settings, now: datetime | None = None) -> dict:
    if isinstance(document, dict) and document.get("resourceType") == "Bundle":
        document = request_from_bundle(document)
    if not isinstance(document, dict):
        raise BadRequest("expected a CDS Hooks request or a FHIR Bundle")
    if "hook" not in document:
        what = f"a {document['resourceType']} resource" if isinstance(document.get("resourceType"), str) else "it"
        raise BadRequest(f"no hook: {what} is neither a CDS Hooks request nor a FHIR Bundle",
                         {"hook": ["Missing data for required field."]})
    service = next((s for s in SERVICES.values() if s.hook == document.get("hook")), None)
    if service is None:
        hooks = sorted({s.hook for s in SERVICES.values()})
        raise BadRequest("unsupported hook", {"hook": [f"must be one of {hooks}"]})
    hook_request = validate_request(service.hook, document)
    now = now or datetime.now(timezone.utc)
    resources = assemble_record(service.prefetch, hook_request, FhirAccess.of(hook_request),
                                FhirFetcher(settings.fhir), queries=lambda: server_queries(settings.clinical, now))
    try:
        advised = cards.evaluate(resources, HOOKS[service.hook].inputs(hook_request["context"]),
                                 now, settings.clinical)
    except cards.RecordTooLarge as exc:
        raise record_too_large(exc) from None
    return card_json.response(card_json.cards(advised))


def request_from_bundle(bundle: dict) -> dict:
    """A patient-view request whose prefetch holds the Bundle's resources, sorted into our keys."""
    resources = bundle_resources(bundle)
    patient = next((r for r in resources if r.get("resourceType") == "Patient"), None)
    if patient is None or not patient.get("id"):
        raise BadRequest("the Bundle has no Patient with an id")
    prefetch: dict[str, Any] = {key: {"resourceType": "Bundle", "type": "searchset", "entry": []}
                                for key in set(PREFETCH_KEY_OF.values())}
    prefetch["patient"] = patient
    for resource in resources:
        key = PREFETCH_KEY_OF.get(resource.get("resourceType"))
        if key and key != "patient":
            prefetch[key]["entry"].append({"resource": resource})
    return {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/withdrawal-cds-cli", "patientId": patient["id"]},
            "prefetch": prefetch}
