"""GET /metrics: Prometheus text format (cds_service/metrics.py says what is counted).

Run open, it is open like the rest. With trusted issuers it is protected like discovery: an
EHR's JWT passes; so does the scrape token from WITHDRAWAL_CDS_METRICS_TOKEN, since a Prometheus
server sends one fixed bearer token and a CDS Hooks JWT is single-use (its jti is remembered).
"""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, Response, g, request

from cds_service.api.current import runtime
from cds_service.metrics import CONTENT_TYPE
from cds_service.protocol.services import SERVICES

HOOK_ENDPOINT = "cds.hooks.call_service"

bp = Blueprint("metrics", __name__)


@bp.before_request
def _protect() -> None:
    rt = runtime()
    if _has_scrape_token(request.headers.get("Authorization", ""), rt.settings.metrics_token):
        return
    rt.authenticator.authenticate(request)


def _has_scrape_token(authorization: str, token: str | None) -> bool:
    scheme, _, presented = authorization.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(presented.encode(), token.encode())


@bp.get("/metrics")
def metrics():
    return Response(runtime().metrics.exposition(), mimetype=None, content_type=CONTENT_TYPE)


def observe_requests(app) -> None:
    """Time hook calls (authentication included, so slow JWKS fetches show) and count every
    error answer by the name its body carries (set by cds_service/api/errors.py)."""

    @app.before_request
    def _start() -> None:
        if request.endpoint == HOOK_ENDPOINT:
            g.hook_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        metrics = runtime().metrics
        started = g.pop("hook_started", None)
        if started is not None:
            service = (request.view_args or {}).get("service_id")
            metrics.hook_seconds.labels(service if service in SERVICES else "unknown").observe(
                time.perf_counter() - started)
        if response.status_code >= 400:
            metrics.errors.labels(str(response.status_code), g.get("error_name", "http-error")).inc()
        return response
