"""GET /healthz for orchestrators: the process answers and its store is reachable."""

from __future__ import annotations

from flask import Blueprint, jsonify

from cds_service.api.current import runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    ok = runtime().store.ping()
    return jsonify({"status": "ok" if ok else "degraded", "store": "ok" if ok else "unreachable"}), 200 if ok else 503
