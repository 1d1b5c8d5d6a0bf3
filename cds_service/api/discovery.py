"""GET /cds-services: the services we host, with their prefetch templates."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, jsonify

from cds_service.protocol.response_schemas import DiscoveryResponseSchema
from cds_service.protocol.services import SERVICES

bp = Blueprint("discovery", __name__)
_SCHEMA = DiscoveryResponseSchema()


@bp.get("/cds-services")
def discovery():
    return jsonify(_SCHEMA.dump({"services": [asdict(s) for s in SERVICES.values()]}))
