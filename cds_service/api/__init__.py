"""The HTTP endpoints, as Flask blueprints.

Discovery, hooks and feedback sit under one blueprint whose `before_request` authenticates the
caller, so a protected endpoint cannot forget to; health, the OpenAPI description and the COWS
form (when it is on) are open; /metrics has its own guard.
"""

from __future__ import annotations

from flask import Blueprint, Flask, g, request

from cds_service.api import apps, discovery, feedback, health, hooks, metrics, openapi
from cds_service.api.current import runtime
from cds_service.runtime import EXTENSION


def register_blueprints(app: Flask) -> None:
    cds = Blueprint("cds", __name__)
    cds.before_request(_authenticate)
    for module in (discovery, hooks, feedback):
        cds.register_blueprint(module.bp)
    app.register_blueprint(cds)
    # /metrics guards itself: it also takes a scrape token (cds_service/api/metrics.py).
    for module in (health, openapi, metrics):
        app.register_blueprint(module.bp)
    form = app.extensions[EXTENSION].cows_form
    if form is not None:
        app.register_blueprint(apps.blueprint(form))


def _authenticate() -> None:
    # A CORS preflight carries no credentials by design (Fetch standard); it is answered with
    # headers only and reaches no view.
    if request.method == "OPTIONS":
        return
    g.principal = runtime().authenticator.authenticate(request)
