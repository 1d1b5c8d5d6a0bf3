"""Error answers: every failure leaves as JSON with a status that tells the caller what to do.

The exception types and their bodies are cds_service/errors.py; this module only answers them.
A bug of ours becomes a 500 with no detail, and where it happened (not what the exception said,
which may quote the record) goes to the log. Each answer names its error in `g.error_name`,
which cds_service/api/metrics.py counts.
"""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from cds_service.errors import ApiError, where
from cds_service.metrics import Metrics

log = logging.getLogger("withdrawal_cds")

_HTTP_ERROR_NAMES = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large",
                     415: "unsupported-media-type", 400: "bad-request"}


def register_error_handlers(app: Flask, metrics: Metrics) -> None:
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
        body = {"error": _HTTP_ERROR_NAMES.get(exc.code, "http-error"), "message": exc.description or exc.name}
        g.error_name = body["error"]
        response = jsonify(body)
        response.status_code = exc.code or 500
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(DBAPIError)
    def _store_unavailable(exc: DBAPIError):
        # The card log must be written before cards leave, so without the store there is no
        # answer to give; 503 tells the EHR to carry on without us, and the log says why.
        kind = type(exc.orig).__name__ if exc.orig else type(exc).__name__
        log.error("store unavailable: %s", kind)
        metrics.store_errors.labels(kind).inc()
        g.error_name = "store-unavailable"
        return jsonify({"error": "store-unavailable", "message": "the service's database is unavailable"}), 503

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # Our bug, not the caller's. The log gets where it happened, not what the exception says:
        # a message such as KeyError('<a value from the record>') can carry PHI.
        log.error("unhandled error: %s at %s", type(exc).__name__, where(exc))
        g.error_name = "internal-error"
        return jsonify({"error": "internal-error", "message": "internal error"}), 500
