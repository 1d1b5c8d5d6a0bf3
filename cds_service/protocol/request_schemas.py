"""The hook request envelope (CDS Hooks 2.0): hook, hookInstance, fhirServer, fhirAuthorization,
prefetch, and a context validated by the hook's own schema (contexts.py).

Unknown fields and `extension` are accepted and dropped, as the standard asks (Extensions).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from cds_service.fhir import urls
from cds_service.protocol.base import FHIR_ID, UUID, Lenient, load
from cds_service.protocol.contexts import HOOKS


def _usable_base(value: str) -> None:
    # What fetching, the token's allowlist and the snooze key all read: refused here, once.
    try:
        urls.normalize_base(value)
    except urls.UnsafeUrl as exc:
        raise ValidationError(f"not a usable FHIR base URL: {exc}") from None


class FhirAuthorizationSchema(Lenient):
    # RFC 6750 b64token, the form a bearer token takes in an Authorization header: anything else
    # (a line end, a space) would be a header we must not send.
    access_token = fields.String(required=True, validate=validate.Regexp(
        r"[A-Za-z0-9\-._~+/]+=*\Z", error="must be a bearer token (RFC 6750 b64token)"))
    token_type = fields.String(required=True, validate=validate.Equal("Bearer", error="must be 'Bearer'"))
    expires_in = fields.Integer(required=True, strict=True)
    scope = fields.String(required=True)
    subject = fields.String(required=True)
    patient = fields.String(validate=FHIR_ID)


class PrefetchField(fields.Field):
    """`prefetch`: key -> a resource, a Bundle, an OperationOutcome, or null (no data).

    Errors are reported at `prefetch.<key>`, the path a client developer looks for.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("must be an object of prefetch key -> FHIR resource, Bundle or null")
        bad = {key: ["must be a FHIR resource, a Bundle or null"] for key, item in value.items()
               if item is not None and not (isinstance(item, dict) and isinstance(item.get("resourceType"), str))}
        if bad:
            raise ValidationError(bad)
        return value


class HookRequestSchema(Lenient):
    """The request for one hook; `request_schema` makes one per hook so `context` is checked per hook."""

    hook = fields.String(required=True)
    hookInstance = fields.String(required=True, validate=UUID)
    fhirServer = fields.Url(schemes={"http", "https"}, require_tld=False, validate=_usable_base)
    fhirAuthorization = fields.Nested(FhirAuthorizationSchema)
    prefetch = PrefetchField()
    context = fields.Dict(required=True)

    @validates_schema
    def _authorization_needs_server(self, data, **kwargs):
        # cds-r-1: fhirAuthorization present implies fhirServer present.
        if "fhirAuthorization" in data and "fhirServer" not in data:
            raise ValidationError("required when fhirAuthorization is present", "fhirServer")


@cache
def request_schema(hook: str) -> HookRequestSchema:
    """HookRequestSchema whose `context` is validated by the hook's own context schema."""
    context_schema = HOOKS[hook].context
    name = f"{context_schema.__name__.replace('ContextSchema', '')}RequestSchema"
    return type(name, (HookRequestSchema,), {
        "context": fields.Nested(context_schema, required=True),
        "hook": fields.String(required=True, validate=validate.Equal(hook, error=f"must be '{hook}' for this service")),
    })()


def validate_request(hook: str, payload: Any) -> dict:
    """The request as the hook's schema loads it, or BadRequest naming every bad field by path."""
    return load(request_schema(hook), payload, f"a {hook} request")
