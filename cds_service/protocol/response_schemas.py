"""CDS Hooks 2.0 response schemas: discovery, cards, and the error bodies.

Discovery leaves through `dump`, which drops null and empty values: the standard
forbids them (2.0, "JSON elements SHALL NOT be null or empty"), and clients such as
Inferno fail a card over one stray `"detail": null`. Hook answers are built in these
schemas' shape by card_json.py and pruned there (a dump per call was a fifth of a small
call); the tests load and dump them through `CardsResponseSchema`, which checks a card
against the 2.0 model and shows that no undeclared field leaves. The OpenAPI document
is generated from them.
`systemActions` is not in the model at all: this service never acts on its own.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, post_dump, validate, validates_schema

from cds_service.protocol.card_json import prune


class _WireSchema(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


class CodingSchema(_WireSchema):
    system = fields.String(required=True)
    code = fields.String(required=True)
    display = fields.String()


class OverrideReasonSchema(CodingSchema):
    # 2.0: the service MUST fill display for each override reason.
    display = fields.String(required=True, validate=validate.Length(min=1))


class SourceSchema(_WireSchema):
    label = fields.String(required=True, validate=validate.Length(min=1))
    url = fields.Url(require_tld=False)
    icon = fields.Url(require_tld=False)
    topic = fields.Nested(CodingSchema)


class ActionSchema(_WireSchema):
    type = fields.String(required=True, validate=validate.OneOf(["create", "update", "delete"]))
    description = fields.String(required=True, validate=validate.Length(min=1))
    resource = fields.Dict()
    resourceId = fields.String()

    @validates_schema
    def _resource_by_type(self, data, **kwargs):
        if data.get("type") in ("create", "update") and not data.get("resource"):
            raise ValidationError("required for create and update", "resource")


class SuggestionSchema(_WireSchema):
    label = fields.String(required=True, validate=validate.Length(min=1))
    uuid = fields.String()
    isRecommended = fields.Boolean()
    actions = fields.List(fields.Nested(ActionSchema))


class LinkSchema(_WireSchema):
    label = fields.String(required=True)
    url = fields.Url(required=True, require_tld=False)
    type = fields.String(required=True, validate=validate.OneOf(["absolute", "smart"]))
    appContext = fields.String()
    autolaunchable = fields.Boolean()

    @validates_schema
    def _app_context_only_for_smart(self, data, **kwargs):
        if "appContext" in data and data.get("type") != "smart":
            raise ValidationError("only allowed for smart links", "appContext")


class CardSchema(_WireSchema):
    uuid = fields.String()
    # "One-sentence, <140-character summary"; Inferno fails at length >= 140.
    summary = fields.String(required=True, validate=validate.Length(min=1, max=139))
    detail = fields.String()
    indicator = fields.String(required=True, validate=validate.OneOf(["info", "warning", "critical"]))
    source = fields.Nested(SourceSchema, required=True)
    suggestions = fields.List(fields.Nested(SuggestionSchema))
    selectionBehavior = fields.String(validate=validate.OneOf(["at-most-one", "any"]))
    overrideReasons = fields.List(fields.Nested(OverrideReasonSchema))
    links = fields.List(fields.Nested(LinkSchema))

    @validates_schema
    def _suggestions_need_selection_behavior(self, data, **kwargs):
        # cds-resp-6
        if data.get("suggestions") and not data.get("selectionBehavior"):
            raise ValidationError("required when suggestions are present", "selectionBehavior")


class CardsResponseSchema(_WireSchema):
    cards = fields.List(fields.Nested(CardSchema), required=True)

    @post_dump
    def _drop_empty(self, data, **kwargs):
        # Once, at the top: {"cards": []} is the one empty array the standard asks for.
        return {"cards": [prune(c) for c in data.get("cards", [])]}


class ServiceSchema(_WireSchema):
    hook = fields.String(required=True)
    id = fields.String(required=True)
    title = fields.String()
    description = fields.String(required=True)
    prefetch = fields.Dict(keys=fields.String(), values=fields.String())
    usageRequirements = fields.String()


class DiscoveryResponseSchema(_WireSchema):
    services = fields.List(fields.Nested(ServiceSchema), required=True)

    @post_dump
    def _drop_empty(self, data, **kwargs):
        return {"services": [prune(s) for s in data.get("services", [])]}


class ErrorSchema(Schema):
    error = fields.String(required=True)
    message = fields.String()
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.List(fields.String()))
    missing = fields.List(fields.String())
