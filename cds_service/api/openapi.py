"""GET /openapi.json: an OpenAPI 3.1 description of this service, generated from its marshmallow schemas.

The request and response schemas the handlers validate with are the ones
described here, so the description cannot drift from the code. It is built once
per app (it depends on the settings only through whether a JWT is required),
and it is always open: it holds no patient data and no secrets.
"""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify
from marshmallow import Schema, fields

from cds_service.api.current import runtime
from cds_service.protocol.base import FhirResourceField
from cds_service.protocol.feedback_schemas import (
    ACCEPTED,
    OVERRIDDEN,
    FeedbackItemSchema,
    FeedbackRequestSchema,
    Rfc3339DateTime,
)
from cds_service.protocol.request_schemas import PrefetchField, request_schema
from cds_service.protocol.response_schemas import CardsResponseSchema, DiscoveryResponseSchema, ErrorSchema
from cds_service.protocol.services import SERVICES

bp = Blueprint("openapi", __name__)
_CACHE_KEY = "withdrawal_cds.openapi"
JSON = "application/json"

_ERRORS = {
    400: "The request is not JSON, or not a CDS Hooks 2.0 request for this hook; `fields` names each problem",
    401: "No valid JWT (when trusted issuers are configured); the body says nothing more",
    404: "No CDS service with this id",
    412: "Data the rules need is neither in `prefetch` nor retrievable from `fhirServer`; `missing` names it",
    413: "The request body is larger than the configured limit, or the record needs more work than one "
         "evaluation may do (`message` names the clinical.max_validated_resources or clinical.max_cpu_seconds "
         "bound it passed)",
    415: "The request body is not sent as application/json",
    500: "A bug of ours; the body carries no detail",
    503: "The service's database is unavailable: cards are logged before they leave, so none are given",
    # Answered by the HTTP server before the app sees the request, in the same JSON (serving/worker.py).
    414: "The request line is longer than the server accepts",
    431: "The request's header fields are too many or too large for the server",
}
_SERVER_ERRORS = (414, 431)
_HOOK_ERRORS = (400, 401, 404, 412, 413, 415, 500, 503, *_SERVER_ERRORS)
_FEEDBACK_ERRORS = (400, 401, 404, 413, 415, 500, 503, *_SERVER_ERRORS)
_DISCOVERY_ERRORS = (401, 500, 503, *_SERVER_ERRORS)
_DISCOVERY_503 = ("The service's database is unavailable: with trusted issuers, a token's jti cannot be "
                  "checked against replay without it")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "degraded"]})
    store = fields.String(required=True, metadata={"enum": ["ok", "unreachable"]})


class FeedbackResultSchema(Schema):
    stored = fields.Integer(required=True, metadata={"minimum": 0})
    duplicates = fields.Integer(required=True, metadata={"minimum": 0})


@bp.get("/openapi.json")
def openapi_json():
    document = current_app.extensions.get(_CACHE_KEY)
    if document is None:
        document = current_app.extensions[_CACHE_KEY] = build_spec(runtime().settings.auth_required)
    return jsonify(document)


def build_spec(auth_required: bool) -> dict:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="withdrawal-cds",
        version=_version(),
        openapi_version="3.1.0",
        plugins=[plugin],
        info={"description": "CDS Hooks 2.0 service: advisory cards for opioid and kratom withdrawal. "
                             "Generated from the schemas the service validates with."},
    )
    _teach_custom_fields(plugin)
    spec.components.schema("Error", schema=ErrorSchema)
    # Declared either way, so a client reading an open instance's description still learns what a
    # secured one asks; each operation then says whether this instance asks it.
    spec.components.security_scheme("cdsHooksJwt", {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "CDS Hooks 2.0 client JWT: signed ES384 or RS384 by a trusted issuer, aud = the URL "
                       "called, single-use jti. " + (
                           "Required by this instance on discovery, hooks and feedback." if auth_required else
                           "Not required by this instance, which runs without authentication (open local "
                           "mode); required wherever trusted issuers are configured.")})
    if auth_required:
        spec.components.security_scheme("metricsScrapeToken", {
            "type": "http", "scheme": "bearer",
            "description": "GET /metrics only: the fixed token set in WITHDRAWAL_CDS_METRICS_TOKEN"})
    secured = {"security": [{"cdsHooksJwt": []}] if auth_required else []}
    discovery_errors = _errors(_DISCOVERY_ERRORS)
    discovery_errors[503] = {**discovery_errors[503], "description": _DISCOVERY_503}

    spec.path(path="/cds-services", operations={"get": {
        "operationId": "discovery", "summary": "The CDS services offered, with their prefetch templates",
        **secured,
        "responses": {200: _json("The services", DiscoveryResponseSchema), **discovery_errors},
    }})
    for service in SERVICES.values():
        spec.path(path=f"/cds-services/{service.id}", operations={"post": {
            "operationId": f"call-{service.id}", "summary": f"{service.title} ({service.hook} hook)",
            "description": service.description, **secured,
            "requestBody": {"required": True, "content": {
                JSON: {"schema": request_schema(service.hook)}}},
            "responses": {200: _json("Cards (possibly none)", CardsResponseSchema), **_errors(_HOOK_ERRORS)},
        }})
        spec.path(path=f"/cds-services/{service.id}/feedback", operations={"post": {
            "operationId": f"feedback-{service.id}", "summary": f"Feedback on cards from {service.id}",
            **secured,
            "requestBody": {"required": True, "content": {JSON: {"schema": FeedbackRequestSchema}}},
            "responses": {200: _json("Feedback stored", FeedbackResultSchema), **_errors(_FEEDBACK_ERRORS)},
        }})
    spec.path(path="/metrics", operations={"get": {
        "operationId": "metrics", "summary": "Prometheus metrics: latency, cards, feedback, fetches, errors",
        "security": [{"cdsHooksJwt": []}, {"metricsScrapeToken": []}] if auth_required else [],
        "responses": {200: {"description": "Prometheus text exposition format 0.0.4",
                            "content": {"text/plain": {"schema": {"type": "string"}}}},
                      **_errors(((401,) if auth_required else ()) + _SERVER_ERRORS)},
    }})
    spec.path(path="/healthz", operations={"get": {
        "operationId": "health", "summary": "Liveness and store reachability (always open)", "security": [],
        "responses": {200: _json("Up", HealthSchema), 503: _json("The store is unreachable", HealthSchema),
                      **_errors(_SERVER_ERRORS)},
    }})
    document = spec.to_dict()
    for name, rules in _cross_field_rules().items():
        document["components"]["schemas"][name].update(rules)
    return document


def _accepted_or_overridden() -> dict:
    """FeedbackItemSchema._outcome_fits, in JSON Schema."""
    def when(outcome: str, then: dict) -> dict:
        return {"if": {"properties": {"outcome": {"const": outcome}}, "required": ["outcome"]}, "then": then}
    return {"allOf": [
        when(ACCEPTED, {"required": ["acceptedSuggestions"], "properties": {"acceptedSuggestions": {"minItems": 1}},
                        "not": {"required": ["overrideReason"]}}),
        when(OVERRIDDEN, {"properties": {"acceptedSuggestions": {"maxItems": 0}}}),
    ]}


def _cross_field_rules() -> dict[str, dict]:
    """What the schemas' @validates_schema methods check across fields, which apispec cannot read
    from them: component name -> JSON Schema keywords. (order-select's rule that `selections` name
    entries of `draftOrders` has no JSON Schema form.)"""
    # cds-r-1: fhirAuthorization present implies fhirServer present (HookRequestSchema).
    rules = {_component(request_schema(hook)): {"dependentRequired": {"fhirAuthorization": ["fhirServer"]}}
             for hook in {service.hook for service in SERVICES.values()}}
    rules[_component(FeedbackItemSchema)] = _accepted_or_overridden()
    return rules


def _component(schema) -> str:
    return (schema if isinstance(schema, type) else type(schema)).__name__.removesuffix("Schema")


def _json(description: str, schema) -> dict:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(codes) -> dict:
    return {code: {"description": _ERRORS[code], "content": {JSON: {"schema": "Error"}}} for code in codes}


_RESOURCE = {"type": "object", "required": ["resourceType"],
             "properties": {"resourceType": {"type": "string"}}, "additionalProperties": True}


def _teach_custom_fields(plugin: MarshmallowPlugin) -> None:
    """Our custom marshmallow fields, in JSON Schema terms (apispec would call them 'anything')."""
    plugin.map_to_openapi_type(fields.Url, "string", "uri")
    custom = {
        FhirResourceField: _RESOURCE,
        PrefetchField: {
            "type": "object", "description": "prefetch key -> a FHIR resource, a Bundle, or null (no data)",
            "additionalProperties": {"anyOf": [_RESOURCE, {"type": "null"}]}},
        Rfc3339DateTime: {"type": "string", "format": "date-time"},
    }

    def describe(converter, field, **kwargs) -> dict:
        for cls, schema in custom.items():
            if isinstance(field, cls):
                return dict(schema)
        return {}

    plugin.converter.add_attribute_function(describe)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("withdrawal-cds")
    except PackageNotFoundError:
        return "0"
