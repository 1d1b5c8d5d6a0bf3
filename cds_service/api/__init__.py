"""The HTTP endpoints, as Flask blueprints.

Discovery, hooks and feedback sit under one blueprint whose `before_request` authenticates the
caller, so a protected endpoint cannot forget to; health and the OpenAPI description are open.
"""

from __future__ import annotations

from flask import Blueprint, Flask, g, request

from cds_service.api import discovery, feedback, health, hooks, openapi
from cds_service.runtime import runtime


def register_blueprints(app: Flask) -> None:
    cds = Blueprint("cds", __name__)
    cds.before_request(_authenticate)
    for module in (discovery, hooks, feedback):
        cds.register_blueprint(module.bp)
    app.register_blueprint(cds)
    for module in (health, openapi):
        app.register_blueprint(module.bp)


def _authenticate() -> None:
    # A CORS preflight carries no credentials by design (Fetch standard); it is answered with
    # headers only and reaches no view.
    if request.method == "OPTIONS":
        return
    g.principal = runtime().authenticator.authenticate(request)
