"""Pieces every wire schema shares: lenient loading, FHIR ids and references, and `load`."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from cds_service.errors import BadRequest, flatten_messages

# `\Z`, not `$`: `$` also matches before a trailing newline, and "pat1\n" is not an id.
# FHIR `id` (R4 datatype): 1-64 of [A-Za-z0-9-.]. "." and ".." match that, and no server has such
# an id: in `Patient/{{context.patientId}}` they are dot segments, a URL above the patient's.
_ID = r"(?!\.{1,2}\Z)[A-Za-z0-9\-.]{1,64}\Z"
FHIR_ID = validate.Regexp(_ID, error="must be a FHIR id ([A-Za-z0-9-.], 1-64 characters, not . or ..)")
# CDS Hooks Library invariant ord-1: `Type/id`.
RELATIVE_REFERENCE = validate.Regexp(r"[A-Za-z]+/" + _ID, error="must be a relative reference Type/id")
UUID = validate.Regexp(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z",
                       error="must be a UUID")
# No control characters (NUL among them, which PostgreSQL text cannot hold; line ends split log lines).
PRINTABLE = validate.Regexp(r"[^\x00-\x1f\x7f]*\Z", error="must not contain control characters")


class Lenient(Schema):
    """Unknown members (extensions, newer fields) are accepted and dropped, as CDS Hooks 2.0 asks."""

    class Meta:
        unknown = EXCLUDE


class BoundedList(fields.List):
    """A list refused by its length before any item is loaded: loading costs per item (some
    20 us for a draft order), and a 16 MB body holds hundreds of thousands of small ones."""

    def __init__(self, cls_or_instance, *, max_items: int, **kwargs):
        metadata = {**kwargs.pop("metadata", {}), "maxItems": max_items}
        super().__init__(cls_or_instance, metadata=metadata, **kwargs)
        self.max_items = max_items

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list) and len(value) > self.max_items:
            raise ValidationError(f"at most {self.max_items} items")
        return super()._deserialize(value, attr, data, **kwargs)


class FhirResourceField(fields.Dict):
    """A FHIR resource as a JSON object with a resourceType; its contents are the engine's business."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("must be a FHIR resource (a JSON object)")
        if not isinstance(value.get("resourceType"), str):
            raise ValidationError("must have a resourceType")
        return value


def load(schema: Schema, payload: Any, what: str) -> dict:
    """`payload` loaded by `schema`, or a BadRequest naming every bad field by its dotted path."""
    if not isinstance(payload, dict):
        raise BadRequest(f"{what} is a JSON object")
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise BadRequest(f"{what} does not match the CDS Hooks 2.0 model", flatten_messages(exc.messages)) from None
