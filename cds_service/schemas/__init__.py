"""marshmallow schemas of the CDS Hooks 2.0 wire format: requests in, cards out."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from cds_service.errors import BadRequest, flatten_messages


def load(schema: Schema, payload: Any, what: str) -> dict:
    """`payload` loaded by `schema`, or a BadRequest naming every bad field by its dotted path."""
    if not isinstance(payload, dict):
        raise BadRequest(f"{what} is a JSON object")
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise BadRequest(f"{what} does not match the CDS Hooks 2.0 model", flatten_messages(exc.messages)) from None
