"""Reading a request body as JSON: media type, size and depth checked before parsing."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from cds_service.errors import BadRequest

_JSON_TYPES = ("application/json", "application/fhir+json")


def read_json(request: Request, max_bytes: int) -> Any:
    # orjson refuses nesting past 1024 levels, so a nesting bomb is a 400, not a stack overflow.
    mimetype = request.mimetype
    # A missing Content-Type is tolerated (some clients omit it); another media type is not JSON.
    if mimetype and mimetype not in _JSON_TYPES and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(f"send the request as application/json, not {mimetype}")
    if request.content_length is not None and request.content_length > max_bytes:
        raise RequestEntityTooLarge(f"request body over {max_bytes} bytes")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise RequestEntityTooLarge(f"request body over {max_bytes} bytes")
    if not raw:
        raise BadRequest("request body is empty; send a CDS Hooks request as JSON")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc.msg} at position {exc.pos}") from None
