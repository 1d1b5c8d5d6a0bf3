"""GET /apps/cows/: the COWS form's static files, and config.json, the settings the page needs.

Open like /healthz: a browser loads these, not an EHR with a CDS Hooks JWT; what the form may read
and write comes from its own SMART launch. Registered only while the form is on (apps/links.py).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, jsonify, send_from_directory

from cds_service import apps
from cds_service.apps.links import APP_PATH, CowsForm

STATIC = Path(apps.__file__).parent / "cows"

# 'self' for the page's own files; connect-src any http(s) origin, since the FHIR server and the
# EHR's token endpoint are wherever the launch says. No framing rule: EHRs show SMART apps in frames.
# no-referrer: the page's URL carries the authorization code, state and the patient id.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; connect-src 'self' http: https:; img-src 'self' data:; "
                                "object-src 'none'; base-uri 'none'; form-action 'none'"),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def blueprint(form: CowsForm) -> Blueprint:
    bp = Blueprint("cows_form", __name__)

    @bp.get(APP_PATH)
    def index():
        return send_from_directory(STATIC, "index.html")

    @bp.get(APP_PATH + "config.json")
    def config():
        response = jsonify(clientId=form.client_id, itemSystem=form.item_system, openLaunch=form.open_launch)
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get(APP_PATH + "<path:name>")
    def static_file(name: str):
        return send_from_directory(STATIC, name)  # safe_join: nothing outside STATIC

    @bp.after_request
    def _headers(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        # Revalidated on every load, so that an upgrade never runs a page with last version's scripts.
        response.headers.setdefault("Cache-Control", "no-cache")
        return response

    return bp
