"""GET /cds-services: the services we host, with their prefetch templates."""

from __future__ import annotations

from flask import Blueprint, jsonify

from cds_service.auth import require_auth
from cds_service.schemas.response import DiscoveryResponseSchema
from cds_service.services import SERVICES

bp = Blueprint("discovery", __name__)
_DISCOVERY = DiscoveryResponseSchema().dump({"services": [vars(s) for s in SERVICES.values()]})


@bp.get("/cds-services")
@require_auth
def discovery():
    return jsonify(_DISCOVERY)
