"""GET /apps/cows/: the COWS form's static files, and config.json, the settings the page needs.

Open like /healthz: a browser loads these, not an EHR with a CDS Hooks JWT; what the form may read
and write comes from its own SMART launch. Registered only while the form is on (apps/links.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, Response, jsonify, request, send_from_directory

from cds_service import apps
from cds_service.apps.links import APP_PATH, LAUNCH_PATH, CowsForm

STATIC = Path(apps.__file__).parent / "cows"
log = logging.getLogger("withdrawal_cds.apps")

# 'self' for the page's own files. no-referrer: the page's URL carries the authorization code,
# state and the patient id.
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def content_security_policy(form: CowsForm) -> str:
    """Open: connect-src any http(s) origin (the FHIR server and the EHR's token endpoint are wherever
    the launch says) and no framing rule (sandboxes show SMART apps in frames). With trusted issuers:
    only the issuers' FHIR servers and `cows_app.connect_origins`, framed only by
    `cows_app.frame_ancestors`."""
    connect = "http: https:" if form.open_launch else " ".join(form.connect_origins)
    rules = ["default-src 'self'", f"connect-src 'self' {connect}".rstrip(), "img-src 'self' data:",
             "object-src 'none'", "base-uri 'none'", "form-action 'none'"]
    if form.frame_ancestors or not form.open_launch:
        rules.append(f"frame-ancestors 'self' {' '.join(form.frame_ancestors)}".rstrip())
    return "; ".join(rules)


REFUSED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>COWS form: not opened</title>
<link rel="stylesheet" href="cows.css"></head>
<body><main><h1>Clinical Opiate Withdrawal Scale (COWS)</h1>
<p class="problem" role="alert">The COWS form was not opened: the launch does not come from an EHR this
service trusts (its iss is not a FHIR server of a configured issuer).</p></main></body></html>
"""


def blueprint(form: CowsForm) -> Blueprint:
    bp = Blueprint("cows_form", __name__)
    policy = content_security_policy(form)

    @bp.get(APP_PATH)
    def index():
        return send_from_directory(STATIC, "index.html")

    @bp.get(LAUNCH_PATH)
    def launch():
        # Refused here, before the page's script sends the browser anywhere: a crafted link with an
        # attacker's iss would sign the clinician in there and write the score there.
        if not form.trusts(request.args.get("iss")):
            log.warning("COWS form launch refused: iss is not a trusted FHIR server")
            return Response(REFUSED_PAGE, status=403, mimetype="text/html")
        return send_from_directory(STATIC, "launch.html")

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
        response.headers["Content-Security-Policy"] = policy
        # Revalidated on every load, so that an upgrade never runs a page with last version's scripts.
        response.headers.setdefault("Cache-Control", "no-cache")
        return response

    return bp
