"""Bad tokens get 401 with nothing in the body; the good token they were each made from gets 200.

Every bad token below is the accepted token with exactly one defect, so each
case shows that one check, and only it, stands between the token and the data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cds_service.config import ConfigError
from tests.auth.conftest import BASE, DROP, ES_KID, b64, bearer, encode_part, public_jwk
from tests.calls import hook_request, oud_condition, patient

DISCOVERY = "/cds-services"
AUD = BASE + DISCOVERY
PV = "/cds-services/withdrawal-patient-view"


def _hmac_with_public_key(ehr, client) -> dict:
    # The classic key-confusion attack: HS256 keyed with the PEM of the issuer's public key.
    pem = ehr.es_key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{encode_part({'alg': 'HS256', 'typ': 'JWT', 'kid': ES_KID})}.{encode_part(ehr.claims(AUD))}"
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return bearer(f"{signing_input}.{b64(signature)}")


def _alg_none(ehr, client) -> dict:
    token = f"{encode_part({'alg': 'none', 'typ': 'JWT', 'kid': ES_KID})}.{encode_part(ehr.claims(AUD))}."
    return bearer(token)


def _tampered(ehr, client) -> dict:
    header, _, signature = ehr.token(AUD).split(".")
    # Same signature, payload of a different (otherwise valid) token.
    return bearer(f"{header}.{encode_part(ehr.claims(AUD))}.{signature}")


def _replayed(ehr, client) -> dict:
    token = ehr.token(AUD)
    assert client.get(DISCOVERY, headers=bearer(token)).status_code == 200
    return bearer(token)


def _other_key(ehr, client) -> dict:
    return bearer(ehr.token(AUD, key=ec.generate_private_key(ec.SECP384R1())))


def _ec_kid_for_rsa(ehr, client) -> dict:
    # RS384 is allowed and the RSA key is in the set, but the kid names the EC key.
    return bearer(ehr.token(AUD, alg="RS384", header={"kid": ES_KID}))


def _unlisted_rsa_alg(ehr, client) -> dict:
    # RS256 is a fine algorithm, but not one this service was configured to accept.
    return bearer(ehr.token(AUD, alg="RS256"))


now = lambda: int(time.time())  # noqa: E731

# name -> (how to make it, what the log must give as the reason: the defect, not some other check)
BAD_TOKENS = {
    "alg none": (_alg_none, "algorithm not accepted"),
    "HMAC keyed with the public key": (_hmac_with_public_key, "algorithm not accepted"),
    "expired": (lambda ehr, c: bearer(ehr.token(AUD, exp=now() - 120, iat=now() - 420)), "ExpiredSignatureError"),
    "iat in the future": (lambda ehr, c: bearer(ehr.token(AUD, iat=now() + 120, exp=now() + 420)),
                          "ImmatureSignatureError"),
    "lifetime over the maximum": (lambda ehr, c: bearer(ehr.token(AUD, exp=now() + 7200)), "lifetime too long"),
    "wrong audience": (lambda ehr, c: bearer(ehr.token("https://other-service.example.org/cds-services")),
                       "aud is not this endpoint"),
    "audience of another endpoint": (lambda ehr, c: bearer(ehr.token(BASE + PV)), "aud is not this endpoint"),
    "audience list without this endpoint": (lambda ehr, c: bearer(ehr.token([BASE + PV, BASE + "/x"])),
                                            "aud is not this endpoint"),
    "audience with query string": (lambda ehr, c: bearer(ehr.token(AUD + "?x=1")), "aud is not this endpoint"),
    "unknown issuer": (lambda ehr, c: bearer(ehr.token(AUD, iss="https://evil.example.org")), "issuer not trusted"),
    "issuer differs by a trailing slash": (lambda ehr, c: bearer(ehr.token(AUD, iss=ehr.iss + "/")),
                                           "issuer not trusted"),
    "unknown kid": (lambda ehr, c: bearer(ehr.token(AUD, header={"kid": "no-such-key"})), "unknown kid"),
    "missing kid": (lambda ehr, c: bearer(ehr.token(AUD, header={"kid": DROP})), "no kid"),
    "typ not JWT": (lambda ehr, c: bearer(ehr.token(AUD, header={"typ": "at+jwt"})), "typ is not JWT"),
    "missing typ": (lambda ehr, c: bearer(ehr.token(AUD, header={"typ": DROP})), "typ is not JWT"),
    "another key's signature": (_other_key, "bad signature"),
    "kid of an EC key on an RS384 token": (_ec_kid_for_rsa, "key is declared for another algorithm"),
    "algorithm not configured (RS256)": (_unlisted_rsa_alg, "algorithm not accepted"),
    "tampered payload": (_tampered, "bad signature"),
    "missing jti": (lambda ehr, c: bearer(ehr.token(AUD, jti=DROP)), "MissingRequiredClaimError"),
    "empty jti": (lambda ehr, c: bearer(ehr.token(AUD, jti="")), "jti missing or malformed"),
    "jti with a NUL": (lambda ehr, c: bearer(ehr.token(AUD, jti="abc\x00def")), "jti missing or malformed"),
    "jti with a line end": (lambda ehr, c: bearer(ehr.token(AUD, jti="abc\ndef")), "jti missing or malformed"),
    "missing exp": (lambda ehr, c: bearer(ehr.token(AUD, exp=DROP)), "MissingRequiredClaimError"),
    "missing iat": (lambda ehr, c: bearer(ehr.token(AUD, iat=DROP)), "MissingRequiredClaimError"),
    "missing aud": (lambda ehr, c: bearer(ehr.token(AUD, aud=DROP)), "MissingRequiredClaimError"),
    "missing iss": (lambda ehr, c: bearer(ehr.token(AUD, iss=DROP)), "issuer not trusted"),
    "exp not a number": (lambda ehr, c: bearer(ehr.token(AUD, exp=str(now() + 300))), "exp or iat is not a number"),
    "replayed jti": (_replayed, "jti replayed"),
    "garbage": (lambda ehr, c: bearer("not.a.jwt"), "not a JWT"),
    "garbage base64": (lambda ehr, c: bearer("eyJhbGciOiJFUzM4NCJ9.%%%%.AAAA"), "not a JWT"),
    "missing Authorization header": (lambda ehr, c: {}, "no Authorization header"),
    "empty bearer": (lambda ehr, c: {"Authorization": "Bearer "}, "bearer token missing or malformed"),
    "wrong scheme": (lambda ehr, c: {"Authorization": f"Basic {ehr.token(AUD)}"}, "scheme is not Bearer"),
    "token without scheme": (lambda ehr, c: {"Authorization": ehr.token(AUD)}, "scheme is not Bearer"),
}
# A jku other than the issuer's is in test_jku.py, where the issuer is configured with one.


def test_the_good_token_is_accepted(secured_client, ehr):
    """The positive control for every case below."""
    assert secured_client.get(DISCOVERY, headers=bearer(ehr.token(AUD))).status_code == 200
    assert secured_client.get(DISCOVERY, headers=bearer(ehr.token(AUD, alg="RS384"))).status_code == 200


@pytest.mark.parametrize("case", list(BAD_TOKENS), ids=list(BAD_TOKENS))
def test_bad_token_is_401_with_no_detail(secured_client, ehr, case, caplog):
    assert len(BAD_TOKENS) >= 15
    make, reason = BAD_TOKENS[case]
    headers = make(ehr, secured_client)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="withdrawal_cds.auth"):
        response = secured_client.get(DISCOVERY, headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized"}
    assert response.headers["WWW-Authenticate"] == "Bearer"  # RFC 6750 challenge, no error detail
    rejections = [r.getMessage() for r in caplog.records if r.getMessage().startswith("401:")]
    assert len(rejections) == 1 and reason in rejections[0], rejections


@pytest.mark.parametrize("aud", [AUD, AUD + "/", [AUD], ["https://elsewhere.example.org/cds-services", AUD]],
                         ids=["string", "trailing slash", "list", "list with another"])
def test_audience_forms_accepted(secured_client, ehr, aud):
    assert secured_client.get(DISCOVERY, headers=bearer(ehr.token(aud))).status_code == 200


def test_small_clock_skew_is_tolerated(secured_client, ehr):
    # iat a little ahead (EHR clock fast) and exp just passed (slow network) are within the leeway.
    t = int(time.time())
    assert secured_client.get(DISCOVERY, headers=bearer(ehr.token(AUD, iat=t + 10, exp=t + 300))).status_code == 200
    assert secured_client.get(DISCOVERY, headers=bearer(ehr.token(AUD, iat=t - 300, exp=t - 10))).status_code == 200


def test_every_endpoint_requires_the_token_for_that_endpoint(secured_client, ehr):
    body = hook_request("patient-view", [patient(), oud_condition()])
    feedback = f"{PV}/feedback"
    fb_body = {"feedback": [{"card": "0b7ae6a0-3c79-4d43-9ad6-5d0b0a0a0a0a", "outcome": "overridden",
                             "outcomeTimestamp": "2024-01-01T00:00:00Z"}]}
    for path, call in ((DISCOVERY, lambda h: secured_client.get(DISCOVERY, headers=h)),
                       (PV, lambda h: secured_client.post(PV, json=body, headers=h)),
                       (feedback, lambda h: secured_client.post(feedback, json=fb_body, headers=h))):
        assert call({}).status_code == 401, path
        assert call(bearer(ehr.token(BASE + DISCOVERY if path != DISCOVERY else BASE + PV))).status_code == 401, path
        assert call(bearer(ehr.token(BASE + path))).status_code not in (401, 403), path


def test_hook_call_with_good_token_gets_cards(secured_client, ehr):
    response = secured_client.post(PV, json=hook_request("patient-view", [patient(), oud_condition()]),
                                   headers=bearer(ehr.token(BASE + PV)))
    assert response.status_code == 200, response.get_json()
    assert "cards" in response.get_json()


def test_health_openapi_and_preflight_stay_open(secured_client):
    assert secured_client.get("/healthz").status_code == 200
    assert secured_client.get("/openapi.json").status_code == 200
    preflight = secured_client.options(PV, headers={"Origin": "https://sandbox.cds-hooks.org",
                                                    "Access-Control-Request-Method": "POST",
                                                    "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert "Authorization" in preflight.headers.get("Access-Control-Allow-Headers", "")
    assert secured_client.options(DISCOVERY).status_code == 200


def test_open_mode_needs_no_token(make_app):
    client = make_app().test_client()
    assert client.get(DISCOVERY).status_code == 200
    assert client.get(DISCOVERY, headers={"Authorization": "Bearer garbage"}).status_code == 200


@pytest.mark.parametrize("server", [{"public_base_urls": ["https://cds.example.org/withdrawal"]},
                                    {"public_base_urls": [], "public_base_url": "https://cds.example.org/withdrawal"}],
                         ids=["public_base_urls", "public_base_url"])
def test_the_public_base_url_sets_the_audience(make_secured, ehr, server):
    client = make_secured(server=server).test_client()
    public = "https://cds.example.org/withdrawal" + DISCOVERY
    assert client.get(DISCOVERY, headers=bearer(ehr.token(public))).status_code == 200
    # Behind a proxy the internal URL is not what the EHR called.
    assert client.get(DISCOVERY, headers=bearer(ehr.token(AUD))).status_code == 401


def test_every_public_base_url_is_an_audience_and_nothing_else_is(make_secured, ehr):
    bases = ["https://cds.example.org", "https://cds-internal.example.net:8443/cds"]
    client = make_secured(server={"public_base_urls": bases}).test_client()
    for base in bases:
        assert client.get(DISCOVERY, headers=bearer(ehr.token(base + DISCOVERY))).status_code == 200
    assert client.get(DISCOVERY, headers=bearer(ehr.token(AUD))).status_code == 401


def test_the_host_header_never_makes_an_audience(make_secured, ehr):
    """A token minted for another service, sent with that service's Host header, is that service's
    token. Before, with no public base URL set, the audience was built from the Host header."""
    client = make_secured(server={"public_base_urls": ["https://cds.example.org"]}).test_client()
    theirs = "https://other-service.example.org" + DISCOVERY
    response = client.get(DISCOVERY, headers={**bearer(ehr.token(theirs)), "Host": "other-service.example.org",
                                              "X-Forwarded-Host": "other-service.example.org"},
                          base_url="https://other-service.example.org")
    assert response.status_code == 401


def test_issuers_without_a_public_base_url_refuse_to_start(make_settings, issuer_config):
    with pytest.raises(ConfigError, match="public_base_urls") as refused:
        make_settings(issuers=[issuer_config()])
    assert "Host header" in str(refused.value)


def test_a_jti_postgresql_cannot_store_is_a_401_not_a_store_outage(make_secured, ehr, database_url):
    """Before: a NUL in jti reached the replay table and PostgreSQL refused it, as a 503."""
    client = make_secured(store={"database_url": database_url}).test_client()
    assert client.get(DISCOVERY, headers=bearer(ehr.token(AUD, jti="abc\x00def"))).status_code == 401
    assert client.get(DISCOVERY, headers=bearer(ehr.token(AUD))).status_code == 200


def test_tenant_allowlist(make_secured, issuer_config, ehr):
    client = make_secured(issuers=[issuer_config(tenants=["clinic-a"])]).test_client()
    assert client.get(DISCOVERY, headers=bearer(ehr.token(AUD, tenant="clinic-a"))).status_code == 200
    assert client.get(DISCOVERY, headers=bearer(ehr.token(AUD, tenant="clinic-b"))).status_code == 401
    assert client.get(DISCOVERY, headers=bearer(ehr.token(AUD))).status_code == 401


def test_global_tenant_allowlist(make_secured, ehr):
    client = make_secured(auth={"tenants": ["clinic-a"]}).test_client()
    assert client.get(DISCOVERY, headers=bearer(ehr.token(AUD, tenant="clinic-a"))).status_code == 200
    assert client.get(DISCOVERY, headers=bearer(ehr.token(AUD, tenant="clinic-z"))).status_code == 401


def test_configured_algorithms_are_the_only_ones(make_secured, ehr):
    client = make_secured(auth={"algorithms": ["RS384"]}).test_client()
    assert client.get(DISCOVERY, headers=bearer(ehr.token(AUD, alg="RS384"))).status_code == 200
    assert client.get(DISCOVERY, headers=bearer(ehr.token(AUD))).status_code == 401


def test_replay_is_refused_across_apps_sharing_a_database(make_secured, ehr):
    """Two workers = two app instances on one database: a jti used on one is refused on the other."""
    first, second = make_secured().test_client(), make_secured().test_client()
    token = ehr.token(AUD)
    assert first.get(DISCOVERY, headers=bearer(token)).status_code == 200
    assert second.get(DISCOVERY, headers=bearer(token)).status_code == 401


def test_the_same_jti_from_another_issuer_is_not_a_replay(make_secured, issuer_config, ehr, tmp_path):
    other = {"iss": "https://other-ehr.example.org", "jwks_file": str(ehr.jwks_path)}
    client = make_secured(issuers=[issuer_config(), other]).test_client()
    assert client.get(DISCOVERY, headers=bearer(ehr.token(AUD, jti="shared-jti"))).status_code == 200
    token = ehr.token(AUD, jti="shared-jti", iss=other["iss"])
    assert client.get(DISCOVERY, headers=bearer(token)).status_code == 200


def test_rejections_log_iss_and_jti_but_never_the_token(secured_client, ehr, caplog):
    caplog.set_level(logging.DEBUG, logger="withdrawal_cds")
    good, expired = ehr.token(AUD, jti="jti-good-1"), ehr.token(AUD, jti="jti-expired-1", exp=1, iat=0)
    assert secured_client.get(DISCOVERY, headers=bearer(good)).status_code == 200
    assert secured_client.get(DISCOVERY, headers=bearer(expired)).status_code == 401
    assert secured_client.get(DISCOVERY, headers=bearer(good)).status_code == 401
    text = caplog.text
    assert "jti-good-1" in text and "jti-expired-1" in text and ehr.iss in text
    for token in (good, expired):
        assert token not in text
        assert token.split(".")[2] not in text  # not even the signature


def test_unverified_claims_are_not_trusted(secured_client, ehr):
    """A payload decoded before verification must not leak into the result: a valid signature
    over one payload does not vouch for another, even when only `iss` is read first."""
    token = ehr.token(AUD)
    header, payload, signature = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["fhir_servers"] = ["https://evil.example.org"]
    forged = f"{header}.{encode_part(claims)}.{signature}"
    assert secured_client.get(DISCOVERY, headers=bearer(forged)).status_code == 401


def test_rsa_key_under_2048_bits_is_not_trusted(make_secured, issuer_config, ehr, tmp_path):
    small = rsa.generate_private_key(65537, 1024)
    jwks = tmp_path / "with-small-key.json"
    jwks.write_text(json.dumps({"keys": ehr.jwks()["keys"] + [public_jwk(small, "small-rsa", "RS384")]}))
    client = make_secured(issuers=[issuer_config(jwks_file=str(jwks))]).test_client()
    assert client.get(DISCOVERY, headers=bearer(ehr.token(AUD, alg="RS384"))).status_code == 200
    token = ehr.token(AUD, alg="RS384", key=small, header={"kid": "small-rsa"})
    assert client.get(DISCOVERY, headers=bearer(token)).status_code == 401
