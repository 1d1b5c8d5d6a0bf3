"""The CDS Hooks Sandbox as a trusted issuer, with its own published key and its own token format.

Fixtures (both from the public cds-hooks/sandbox repository):
- tests/fixtures/sandbox-ecprivkey.pem is the Sandbox's `keys/ecprivkey.pem`. It is a PUBLIC TEST
  KEY, committed in that repository, so anyone can sign as the Sandbox: trust this issuer in local
  and test configurations only, never in production.
- tests/fixtures/sandbox-jwks.json holds the public half of that key (kid 44823f3d-..., P-384,
  ES384; identical to `keys/jwk-keypair.json` without `d`, and checked below against the PEM) and
  the ES256 key the repository's `build/.well-known/jwks.json` publishes. The stored copy of that
  file lists only the ES256 key, which is not the key `src/retrieve-data-helpers/jwt-generator.js`
  signs with, so the file alone would not verify the Sandbox's tokens.
"""

from __future__ import annotations

import json
import time
import uuid

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tests.auth.conftest import BASE, FIXTURES, bearer, sign_raw
from tests.calls import hook_request, oud_condition, patient

SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
PV = "/cds-services/withdrawal-patient-view"


def sandbox_key():
    return load_pem_private_key((FIXTURES / "sandbox-ecprivkey.pem").read_bytes(), None)


def sandbox_token(aud: str) -> str:
    """Exactly what jwt-generator.js builds: header key order, no sub, no tenant, exp = now + 300."""
    now = round(time.time())
    header = {"alg": "ES384", "typ": "JWT", "kid": SANDBOX_KID, "jku": SANDBOX_JKU}
    payload = {"iss": SANDBOX_ISS, "aud": aud, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    return sign_raw(header, payload, sandbox_key(), "ES384")


def sandbox_app(make_app):
    issuer = {"iss": SANDBOX_ISS, "jwks_file": str(FIXTURES / "sandbox-jwks.json")}
    return make_app(issuers=[issuer], server={"public_base_urls": [BASE]}).test_client()


def test_fixture_jwks_holds_the_public_half_of_the_sandbox_key():
    keys = {k["kid"]: k for k in json.loads((FIXTURES / "sandbox-jwks.json").read_text())["keys"]}
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(sandbox_key().public_key()))
    assert {k: keys[SANDBOX_KID][k] for k in ("kty", "crv", "x", "y")} == public
    assert all("d" not in k for k in keys.values())


def test_sandbox_tokens_are_accepted_on_every_endpoint(make_app):
    client = sandbox_app(make_app)
    assert client.get("/cds-services", headers=bearer(sandbox_token(BASE + "/cds-services"))).status_code == 200
    response = client.post(PV, json=hook_request("patient-view", [patient(), oud_condition()]),
                           headers=bearer(sandbox_token(BASE + PV)))
    assert response.status_code == 200, response.get_json()
    card = response.get_json()["cards"][0]
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "overridden",
                              "outcomeTimestamp": "2024-05-01T10:00:00.000Z"}]}
    assert client.post(PV + "/feedback", json=feedback,
                       headers=bearer(sandbox_token(BASE + PV + "/feedback"))).status_code == 200


def test_sandbox_jku_is_not_fetched_when_keys_come_from_a_file(make_app, monkeypatch):
    """The Sandbox always names its jku; with a jwks_file we never go there (this test is offline)."""
    import requests

    def no_network(*args, **kwargs):
        raise AssertionError("the service tried to fetch a URL")
    monkeypatch.setattr(requests.Session, "request", no_network)
    client = sandbox_app(make_app)
    assert client.get("/cds-services", headers=bearer(sandbox_token(BASE + "/cds-services"))).status_code == 200


def test_sandbox_is_not_trusted_unless_configured(make_app, tmp_path):
    other = tmp_path / "jwks.json"
    other.write_text('{"keys": []}')
    client = make_app(issuers=[{"iss": "https://ehr.example.org", "jwks_file": str(other)}],
                      server={"public_base_urls": [BASE]}).test_client()
    assert client.get("/cds-services", headers=bearer(sandbox_token(BASE + "/cds-services"))).status_code == 401
