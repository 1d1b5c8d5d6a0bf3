"""An EHR that signs CDS Hooks JWTs, and a service that trusts it.

`ehr` holds an ES384 key (and an RS384 one) published in a JWK Set file; the
`secured` app trusts exactly that issuer. `ehr.token(aud, ...)` makes a token
the service accepts; each keyword changes one thing, so a test can show that a
single defect is what gets a token refused.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISS = "https://ehr.example.org"
ES_KID = "ehr-es384-1"
RS_KID = "ehr-rs384-1"
ALLOWED_FHIR = "https://fhir.example.org/r4"
BASE = "http://localhost"  # Flask's test client calls http://localhost/...
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(private_key, kid: str, alg: str | None) -> dict:
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private_key.public_key()))
    else:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": kid, "use": "sig"})
    if alg:
        jwk["alg"] = alg
    return jwk


@dataclass
class Ehr:
    """A CDS client: signs tokens as CDS Hooks 2.0 describes them."""
    iss: str
    es_key: ec.EllipticCurvePrivateKey
    rs_key: rsa.RSAPrivateKey
    jwks_path: Path
    issued: list[str] = field(default_factory=list)

    def jwks(self) -> dict:
        return {"keys": [public_jwk(self.es_key, ES_KID, "ES384"), public_jwk(self.rs_key, RS_KID, None)]}

    def claims(self, audience, /, **changes) -> dict:
        now = int(time.time())
        claims = {"iss": self.iss, "aud": audience, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
        claims.update(changes)
        return _without_drops(claims)

    def token(self, audience, /, *, alg: str = "ES384", key=None, header: dict | None = None, **claim_changes) -> str:
        """A token the service accepts for the URL `audience`; `alg`, `key`, `header` and claim keywords each change
        one thing (DROP leaves a claim or header field out)."""
        rsa_alg = alg.startswith(("RS", "PS"))
        headers = {"alg": alg, "typ": "JWT", "kid": RS_KID if rsa_alg else ES_KID, **(header or {})}
        if key is None:
            key = self.rs_key if rsa_alg else self.es_key
        token = sign_raw(_without_drops(headers), self.claims(audience, **claim_changes), key, alg)
        self.issued.append(token)
        return token


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP = _Drop()


def _without_drops(mapping: dict) -> dict:
    return {k: v for k, v in mapping.items() if v is not DROP}


def encode_part(value: dict) -> str:
    return b64(json.dumps(value).encode())


def sign_raw(header: dict, payload: dict, key, alg: str) -> str:
    """Sign exactly this header and payload (PyJWT's encode would add or reorder header fields)."""
    signing_input = f"{encode_part(header)}.{encode_part(_without_drops(payload))}".encode()
    algorithm = jwt.get_algorithm_by_name(alg)
    signature = algorithm.sign(signing_input, algorithm.prepare_key(key))
    return f"{signing_input.decode()}.{b64(signature)}"


@pytest.fixture(scope="session")
def ehr_keys():
    # Key generation (RSA especially) is slow; one pair per session is enough.
    return ec.generate_private_key(ec.SECP384R1()), rsa.generate_private_key(65537, 2048)


@pytest.fixture
def ehr(ehr_keys, tmp_path) -> Ehr:
    es_key, rs_key = ehr_keys
    client = Ehr(ISS, es_key, rs_key, tmp_path / "ehr-jwks.json")
    client.jwks_path.write_text(json.dumps(client.jwks()))
    return client


@pytest.fixture
def issuer_config(ehr):
    def make(**changes) -> dict:
        return {"iss": ehr.iss, "jwks_file": str(ehr.jwks_path), "fhir_servers": [ALLOWED_FHIR], **changes}
    return make


@pytest.fixture
def make_secured(make_app, issuer_config):
    """make_secured(issuer=..., **toml_sections) -> an app that trusts the `ehr` issuer, called at BASE
    (what Flask's test client calls) unless `server` says otherwise."""
    def make(issuers: list[dict] | None = None, **sections):
        sections["server"] = {"public_base_urls": [BASE], **sections.get("server", {})}
        return make_app(issuers=issuers if issuers is not None else [issuer_config()], **sections)
    return make


@pytest.fixture
def secured(make_secured):
    return make_secured()


@pytest.fixture
def secured_client(secured):
    return secured.test_client()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --- a JWK Set server on loopback, for jku -----------------------------------------------

class JwksServer:
    """Serves `document` at /jwks.json on 127.0.0.1 and records every path requested. With `drip`
    set it sends its body one byte a second instead: an endpoint that never trips a read timeout."""

    def __init__(self, document: dict | bytes, status: int = 200, headers: dict | None = None):
        self.document = document
        self.status = status
        self.headers = headers or {}
        self.paths: list[str] = []
        self.drip = False
        self._closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.paths.append(self.path)
                body = server.document if isinstance(server.document, bytes) else json.dumps(server.document).encode()
                self.send_response(server.status)
                for k, v in server.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not server.drip:
                    self.wfile.write(body)
                    return
                for byte in body:
                    try:
                        self.wfile.write(bytes([byte]))
                    except OSError:
                        return
                    if server._closing.wait(1.0):
                        return

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/jwks.json"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def close(self):
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(2)


@pytest.fixture
def jwks_server():
    servers: list[JwksServer] = []

    def make(document, **kwargs) -> JwksServer:
        s = JwksServer(document, **kwargs)
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.close()

