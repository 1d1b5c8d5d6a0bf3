"""The hooks we answer, one row each: the context a hook carries and what it means to the engine.

A hook's context (CDS Hooks Library STU1, v1.0.1) is validated by its schema here; what a hook
REQUIRES is required, so a client bug is a 400 naming the field, not an empty card list. Its row
then says which moment of care it is and which drafts, if any, the clinician is acting on.
Adding a hook is a row here (and a Service in services.py); nothing under cards/ changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from cards import Inputs, Moment
from cds_service.protocol.base import FHIR_ID, RELATIVE_REFERENCE, BoundedList, FhirResourceField, Lenient

# An order set is a few dozen orders; each draft is loaded, and may be validated by the engine.
MAX_DRAFT_ORDERS = 1000


def reference(resource: dict) -> str | None:
    """`Type/id` of a resource, the form `selections` uses; None for a resource with no id."""
    rtype, rid = resource.get("resourceType"), resource.get("id")
    return f"{rtype}/{rid}" if isinstance(rtype, str) and isinstance(rid, str) and rid else None


class BundleEntrySchema(Lenient):
    resource = FhirResourceField(required=True)
    fullUrl = fields.String()


class BundleSchema(Lenient):
    resourceType = fields.String(required=True, validate=validate.Equal("Bundle", error="must be 'Bundle'"))
    type = fields.String()
    id = fields.String()
    entry = BoundedList(fields.Nested(BundleEntrySchema), max_items=MAX_DRAFT_ORDERS)


class PatientViewContextSchema(Lenient):
    userId = fields.String(required=True, validate=RELATIVE_REFERENCE)
    patientId = fields.String(required=True, validate=FHIR_ID)
    encounterId = fields.String(validate=FHIR_ID)


class EncounterDischargeContextSchema(PatientViewContextSchema):
    encounterId = fields.String(required=True, validate=FHIR_ID)


class OrderSignContextSchema(PatientViewContextSchema):
    draftOrders = fields.Nested(BundleSchema, required=True)


class OrderSelectContextSchema(OrderSignContextSchema):
    selections = BoundedList(fields.String(validate=RELATIVE_REFERENCE), required=True,
                             validate=validate.Length(min=1), max_items=MAX_DRAFT_ORDERS)

    @validates_schema
    def _selections_name_drafts(self, data, **kwargs):
        drafts = {reference(resource) for resource in draft_orders(data)} - {None}
        unknown = {i: ["not an entry of draftOrders"]
                   for i, ref in enumerate(data.get("selections") or []) if ref not in drafts}
        if unknown:
            raise ValidationError({"selections": unknown})


def draft_orders(context: dict) -> tuple[dict, ...]:
    bundle = context.get("draftOrders") or {}
    return tuple(entry["resource"] for entry in bundle.get("entry") or ())


def selected_drafts(context: dict, drafts: tuple[dict, ...]) -> tuple[dict, ...]:
    wanted = set(context["selections"])
    return tuple(draft for draft in drafts if reference(draft) in wanted)


def every_draft(context: dict, drafts: tuple[dict, ...]) -> tuple[dict, ...]:
    return drafts


@dataclass(frozen=True)
class Hook:
    name: str
    context: type[Schema]
    moment: Moment
    # Which of the call's draft orders the clinician is acting on; None for a hook without drafts.
    acted_on: Callable[[dict, tuple[dict, ...]], tuple[dict, ...]] | None = None

    def inputs(self, context: dict) -> Inputs:
        """The engine's inputs for a context this hook's schema has loaded."""
        drafts = draft_orders(context) if self.acted_on else ()
        return Inputs(
            patient_id=context["patientId"],
            moment=self.moment,
            user_ref=context["userId"],
            drafts=drafts,
            acted_on=self.acted_on(context, drafts) if self.acted_on else (),
        )


HOOKS: dict[str, Hook] = {hook.name: hook for hook in (
    Hook("patient-view", PatientViewContextSchema, Moment.CHART),
    Hook("order-select", OrderSelectContextSchema, Moment.ORDER, acted_on=selected_drafts),
    Hook("order-sign", OrderSignContextSchema, Moment.ORDER, acted_on=every_draft),
    Hook("encounter-discharge", EncounterDischargeContextSchema, Moment.DISCHARGE),
)}
