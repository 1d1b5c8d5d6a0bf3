"""Reading a request body as JSON: media type checked, then parsed with orjson (a hook request
is first decoded partially, cds_service/protocol/decode.py, and parsed here when that cannot).

The size limit is Werkzeug's (MAX_CONTENT_LENGTH, set in create_app): the request stream
refuses to read past it, with a 413, whether the body has a Content-Length or is chunked.
"""

from __future__ import annotations

from typing import Any

from flask import Request
from werkzeug.exceptions import UnsupportedMediaType

from cds_service.errors import BadRequest
from cds_service.protocol.decode import parse_json

_JSON_TYPES = ("application/json", "application/fhir+json")


def read_json(request: Request) -> Any:
    return parse_json(read_body(request))


def read_body(request: Request) -> bytes:
    """The body's bytes, once its media type says JSON and it is not empty."""
    mimetype = request.mimetype
    # A body with no media type is not read as JSON either: CDS Hooks clients send application/json,
    # and a form post or a beacon from a browser page (no preflight) must not run a hook.
    if mimetype not in _JSON_TYPES and not mimetype.endswith("+json"):
        sent = f"not {mimetype}" if mimetype else "with a Content-Type header"
        raise UnsupportedMediaType(f"send the request as application/json, {sent}")
    raw = request.get_data(cache=False)
    if not raw:
        raise BadRequest("request body is empty; send a CDS Hooks request as JSON")
    return raw
