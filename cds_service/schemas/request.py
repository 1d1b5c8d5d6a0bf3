"""Hook request schemas, one context schema per hook (CDS Hooks Library STU1, v1.0.1).

Unknown fields and `extension` are accepted and dropped, as the standard asks
(CDS Hooks 2.0, Extensions). What a hook REQUIRES is required here, so a
client bug surfaces as a 400 naming the field instead of an empty card list.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

# FHIR `id` (R4 datatype): 1-64 of [A-Za-z0-9-.].
FHIR_ID = validate.Regexp(r"^[A-Za-z0-9\-.]{1,64}$", error="must be a FHIR id ([A-Za-z0-9-.], 1-64 characters)")
# CDS Hooks Library invariant ord-1: `Type/id`.
RELATIVE_REFERENCE = validate.Regexp(r"^[A-Za-z]+/[A-Za-z0-9\-.]{1,64}$",
                                     error="must be a relative reference Type/id")
UUID = validate.Regexp(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
                       error="must be a UUID")


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class FhirResourceField(fields.Dict):
    """A FHIR resource as a JSON object with a resourceType; its contents are the engine's business."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("must be a FHIR resource (a JSON object)")
        if not isinstance(value.get("resourceType"), str):
            raise ValidationError("must have a resourceType")
        return value


class BundleEntrySchema(_Lenient):
    resource = FhirResourceField(required=True)
    fullUrl = fields.String()


class BundleSchema(_Lenient):
    resourceType = fields.String(required=True, validate=validate.Equal("Bundle", error="must be 'Bundle'"))
    type = fields.String()
    id = fields.String()
    entry = fields.List(fields.Nested(BundleEntrySchema))


class FhirAuthorizationSchema(_Lenient):
    access_token = fields.String(required=True, validate=validate.Length(min=1))
    token_type = fields.String(required=True, validate=validate.Equal("Bearer", error="must be 'Bearer'"))
    expires_in = fields.Integer(required=True, strict=True)
    scope = fields.String(required=True)
    subject = fields.String(required=True)
    patient = fields.String(validate=FHIR_ID)


class PatientViewContextSchema(_Lenient):
    userId = fields.String(required=True, validate=RELATIVE_REFERENCE)
    patientId = fields.String(required=True, validate=FHIR_ID)
    encounterId = fields.String(validate=FHIR_ID)


class OrderSignContextSchema(PatientViewContextSchema):
    draftOrders = fields.Nested(BundleSchema, required=True)


class OrderSelectContextSchema(OrderSignContextSchema):
    selections = fields.List(fields.String(validate=RELATIVE_REFERENCE), required=True,
                             validate=validate.Length(min=1))

    @validates_schema
    def _selections_name_drafts(self, data, **kwargs):
        drafts = {f"{e['resource'].get('resourceType')}/{e['resource'].get('id')}"
                  for e in (data.get("draftOrders") or {}).get("entry", [])}
        unknown = {i: ["not an entry of draftOrders"]
                   for i, ref in enumerate(data.get("selections") or []) if ref not in drafts}
        if unknown:
            raise ValidationError({"selections": unknown})


CONTEXT_SCHEMAS: dict[str, type[Schema]] = {
    "patient-view": PatientViewContextSchema,
    "order-select": OrderSelectContextSchema,
    "order-sign": OrderSignContextSchema,
}


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


class HookRequestSchema(_Lenient):
    """The request for one hook; build with `for_hook` so `context` is checked per hook."""

    hook = fields.String(required=True)
    hookInstance = fields.String(required=True, validate=UUID)
    fhirServer = fields.Url(schemes={"http", "https"}, require_tld=False)
    fhirAuthorization = fields.Nested(FhirAuthorizationSchema)
    prefetch = PrefetchField()
    context = fields.Dict(required=True)

    @validates_schema
    def _authorization_needs_server(self, data, **kwargs):
        # cds-r-1: fhirAuthorization present implies fhirServer present.
        if "fhirAuthorization" in data and "fhirServer" not in data:
            raise ValidationError("required when fhirAuthorization is present", "fhirServer")


def for_hook(hook: str) -> type[HookRequestSchema]:
    """HookRequestSchema whose `context` is validated by the hook's own context schema."""
    context_schema = CONTEXT_SCHEMAS[hook]
    return type(f"{context_schema.__name__.replace('ContextSchema', '')}RequestSchema", (HookRequestSchema,), {
        "context": fields.Nested(context_schema, required=True),
        "hook": fields.String(required=True, validate=validate.Equal(hook, error=f"must be '{hook}' for this service")),
    })


REQUEST_SCHEMAS = {hook: for_hook(hook)() for hook in CONTEXT_SCHEMAS}
