"""Error answers: every failure leaves as JSON with a status that tells the caller what to do.

400 says which fields are wrong (by dotted path), 401 says nothing at all (best
practice: no hints for an attacker), 412 says which data could not be had. A
bug of ours becomes a 500 with no detail, and where it happened (not what the exception
said, which may quote the record) goes to the log.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any, Mapping

from flask import Flask, g, jsonify
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("withdrawal_cds")


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.body = {"error": error, "message": message, **extra}


class BadRequest(ApiError):
    def __init__(self, message: str, fields: Mapping[str, list[str]] | None = None):
        super().__init__(400, "bad-request", message, **({"fields": dict(fields)} if fields else {}))


class Unauthorized(ApiError):
    def __init__(self):
        # No message: a 401 must not explain which check failed.
        super().__init__(401, "unauthorized", "unauthorized")
        self.body = {"error": "unauthorized"}


class PreconditionFailed(ApiError):
    def __init__(self, message: str, missing: list[str]):
        super().__init__(412, "precondition-failed", message, missing=missing)


def record_too_large(exc) -> ApiError:
    """413 for a cards.RecordTooLarge: the record needs more work than one evaluation may do.
    Retrying cannot help, and no partial answer is given: cards from part of a record could be
    wrong either way."""
    return ApiError(413, "record-too-large", f"{exc}; the bound is clinical.{exc.setting}")


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict -> {"context.selections.0": ["..."]}."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix and key != "_schema" else (prefix or str(key))
            flat.update(flatten_messages(value, path))
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": list(messages)}
    if isinstance(messages, list):
        flat = {}
        for item in messages:
            for key, value in flatten_messages(item, prefix).items():
                flat.setdefault(key, []).extend(value)
        return flat
    return {prefix or "_schema": [str(messages)]}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        g.error_name = exc.body["error"]
        response = jsonify(exc.body)
        response.status_code = exc.status
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"  # RFC 6750, and no error detail
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        names = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large",
                 415: "unsupported-media-type", 400: "bad-request"}
        body = {"error": names.get(exc.code, "http-error"), "message": exc.description or exc.name}
        g.error_name = body["error"]
        response = jsonify(body)
        response.status_code = exc.code or 500
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    # Imported here: logs.py imports this module, and the command line reads it before any app.
    import cards

    @app.errorhandler(cards.RecordTooLarge)
    def _record_too_large(exc: cards.RecordTooLarge):
        log.warning("413: the record passed clinical.%s", exc.setting)
        return _api_error(record_too_large(exc))

    @app.errorhandler(DBAPIError)
    def _store_unavailable(exc: DBAPIError):
        # The card log must be written before cards leave, so without the store there is no
        # answer to give; 503 tells the EHR to carry on without us, and the log says why.
        kind = type(exc.orig).__name__ if exc.orig else type(exc).__name__
        log.error("store unavailable: %s", kind)
        _count_store_error(kind)
        g.error_name = "store-unavailable"
        return jsonify({"error": "store-unavailable", "message": "the service's database is unavailable"}), 503

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # Our bug, not the caller's. The log gets where it happened, not what the exception says:
        # a message such as KeyError('<a value from the record>') can carry PHI.
        log.error("unhandled error: %s at %s", type(exc).__name__, where(exc))
        g.error_name = "internal-error"
        return jsonify({"error": "internal-error", "message": "internal error"}), 500


def _count_store_error(kind: str) -> None:
    from cds_service.api.current import runtime  # not at the top: the runtime imports auth, which imports us

    runtime().metrics.store_errors.labels(kind).inc()


def where(exc: BaseException) -> str:
    """Where an exception was raised: file:line (function) frames, innermost first; no values."""
    frames = traceback.extract_tb(exc.__traceback__)
    return " < ".join(f"{Path(f.filename).name}:{f.lineno} ({f.name})" for f in reversed(frames[-8:]))
