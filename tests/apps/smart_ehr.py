"""A stand-in for an EHR's side of a SMART EHR launch, on 127.0.0.1: its FHIR endpoint, the SMART
configuration it advertises there, and an authorization server.

The FHIR endpoint (``fhir_base``) passes every request on to a private sekmet server that accepts
one bearer token only, the one ``/token`` hands out: a request the FHIR server answers carried
the token from this launch. ``/authorize`` approves at once (the clinician is signed in to the
EHR already, so there is no login page) after checking what SMART App Launch asks of a public
client: the registered client id and redirect URI, ``aud`` naming the FHIR server, a launch this
EHR issued, and a PKCE challenge with method S256. ``/token`` checks the code, the redirect URI
and that the PKCE verifier hashes to that challenge, and answers with the launch context
(patient, appContext) and an id_token naming the user.

What happened is kept for the tests: ``authorizations`` (the /authorize queries),
``exchanges`` (each /token form with ``pkce_verified``), ``fhir_requests`` (method, path,
Authorization header) and ``refused`` (every request refused, with why).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt

from tests.fhir_servers import SekmetServer

FORWARDED = ("authorization", "content-type", "accept", "if-none-exist", "prefer")
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Location, ETag",
        "Access-Control-Allow-Methods": "GET, POST, PUT, OPTIONS",
        "Access-Control-Allow-Headers": ", ".join(FORWARDED)}


def s256(verifier: str) -> str:
    """RFC 7636 code_challenge for method S256."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass
class Launch:
    patient: str
    user: str
    app_context: str


@dataclass
class SmartEhr:
    fhir: SekmetServer
    client_id: str
    redirect_uri: str
    launches: dict[str, Launch] = field(default_factory=dict)
    codes: dict[str, dict] = field(default_factory=dict)
    authorizations: list[dict] = field(default_factory=list)
    exchanges: list[dict] = field(default_factory=list)
    fhir_requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    id_token_key: str = field(default_factory=lambda: secrets.token_hex(32))
    base_url: str = ""

    @property
    def fhir_base(self) -> str:
        return f"{self.base_url}/fhir"

    def start(self) -> "SmartEhr":
        ehr = self

        class Handler(_Handler):
            pass
        Handler.ehr = ehr
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True, name="smart-ehr").start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def launch(self, patient: str, user: str, app_context: str) -> str:
        """A launch id for the app, as the EHR makes one when the clinician opens a card's smart link."""
        launch_id = secrets.token_urlsafe(12)
        self.launches[launch_id] = Launch(patient, user, app_context)
        return launch_id

    # -- the endpoints ---------------------------------------------------------------------------

    def smart_configuration(self) -> dict:
        return {"authorization_endpoint": f"{self.base_url}/authorize", "token_endpoint": f"{self.base_url}/token",
                "code_challenge_methods_supported": ["S256"], "grant_types_supported": ["authorization_code"],
                "capabilities": ["launch-ehr", "client-public", "context-ehr-patient", "sso-openid-connect",
                                 "permission-v2"]}

    def authorize(self, query: dict[str, str]) -> tuple[int, dict, str]:
        self.authorizations.append(query)
        problems = [why for ok, why in (
            (query.get("response_type") == "code", "response_type is not code"),
            (query.get("client_id") == self.client_id, "unknown client_id"),
            (query.get("redirect_uri") == self.redirect_uri, "redirect_uri is not the registered one"),
            (query.get("aud") == self.fhir_base, "aud is not this FHIR server"),
            (query.get("launch") in self.launches, "unknown launch"),
            (query.get("code_challenge_method") == "S256", "PKCE method is not S256"),
            (len(query.get("code_challenge", "")) == 43, "no S256 code_challenge"),
            ("launch" in query.get("scope", "").split(), "no launch scope"),
        ) if not ok]
        if problems:
            return self._refuse(400, "authorize: " + "; ".join(problems))
        code = secrets.token_urlsafe(16)
        self.codes[code] = query
        location = f"{self.redirect_uri}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        return 302, {"Location": location}, ""

    def token(self, form: dict[str, str]) -> tuple[int, dict, str]:
        grant = self.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        exchange = {**form,
                    "pkce_verified": bool(grant) and bool(verifier) and s256(verifier) == grant["code_challenge"]}
        self.exchanges.append(exchange)
        problems = [why for ok, why in (
            (form.get("grant_type") == "authorization_code", "grant_type is not authorization_code"),
            (grant is not None, "unknown or used code"),
            (grant is not None and form.get("redirect_uri") == grant["redirect_uri"], "redirect_uri differs"),
            (form.get("client_id") == self.client_id, "client_id differs"),
            (exchange["pkce_verified"], "code_verifier does not match the code_challenge"),
        ) if not ok]
        if problems:
            return self._refuse(400, "token: " + "; ".join(problems), json_error=True)
        launch = self.launches[grant["launch"]]
        now = int(time.time())
        # fhirUser as an absolute URL, as some EHRs send it.
        id_token = jwt.encode({"iss": self.base_url, "sub": launch.user, "aud": self.client_id, "iat": now,
                               "exp": now + 300, "fhirUser": f"{self.fhir_base}/{launch.user}"},
                              self.id_token_key, algorithm="HS256")
        body = {"access_token": self.fhir.token, "token_type": "Bearer", "expires_in": 300,
                "scope": grant["scope"], "patient": launch.patient, "appContext": launch.app_context,
                "need_patient_banner": False, "id_token": id_token}
        return 200, {"Content-Type": "application/json", "Cache-Control": "no-store"}, json.dumps(body)

    def forward(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes):
        self.fhir_requests.append((method, path, headers.get("authorization")))
        url = self.fhir.base_url + path[len("/fhir"):] + (f"?{query}" if query else "")
        request = urllib.request.Request(url, data=body or None, method=method,
                                         headers={k: v for k, v in headers.items() if k in FORWARDED})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, _kept(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, _kept(error.headers), error.read()

    def _refuse(self, status: int, why: str, json_error: bool = False):
        self.refused.append(why)
        if json_error:
            return status, {"Content-Type": "application/json"}, json.dumps({"error": "invalid_grant",
                                                                             "error_description": why})
        return status, {"Content-Type": "text/plain"}, why


def _kept(headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() in ("content-type", "location", "etag", "last-modified")}


class _Handler(BaseHTTPRequestHandler):
    ehr: SmartEhr
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle keep-alive connection ends on its own

    def log_message(self, *args):
        pass

    def _answer(self, status: int, headers: dict, body: str | bytes) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for key, value in {**CORS, **headers, "Content-Length": str(len(data))}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_OPTIONS(self):
        self._answer(204, {}, b"")

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_PUT(self):
        self._route("PUT")

    def _route(self, method: str) -> None:
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/fhir/.well-known/smart-configuration":
            return self._answer(200, {"Content-Type": "application/json"}, json.dumps(self.ehr.smart_configuration()))
        if parts.path == "/authorize" and method == "GET":
            return self._answer(*self.ehr.authorize(query))
        if parts.path == "/token" and method == "POST":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            return self._answer(*self.ehr.token(form))
        if parts.path.startswith("/fhir/"):
            headers = {k.lower(): v for k, v in self.headers.items()}
            return self._answer(*self.ehr.forward(method, parts.path, parts.query, headers, body))
        self._answer(404, {"Content-Type": "text/plain"}, "not found")
