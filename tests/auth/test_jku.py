"""Keys from an allowlisted jku URL: fetched from our configuration only, cached, refetched on an
unknown kid at most once per interval, size-capped, no redirects, no proxies from the environment."""

from __future__ import annotations

import json
import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from cds_service.auth.jwks import (
    FETCH_DEADLINE_SECONDS,
    MAX_JWKS_BYTES,
    MAX_KEY_AGE_SECONDS,
    JwksError,
    KeySet,
    fetch_jwks_url,
    parse_jwks,
    read_jwks_file,
)
from tests.auth.conftest import BASE, ES_KID, bearer, public_jwk

AUD = BASE + "/cds-services"


@pytest.fixture
def jku_app(make_secured, issuer_config, ehr, jwks_server):
    """make(**auth) -> (client, server): the ehr issuer configured with a jku served on loopback."""
    def make(document=None, **auth):
        server = jwks_server(document if document is not None else ehr.jwks())
        issuer = {k: v for k, v in issuer_config(jku=server.url).items() if k != "jwks_file"}
        return make_secured(issuers=[issuer], auth=auth).test_client(), server
    return make


def test_keys_come_from_the_configured_jku_and_are_cached(jku_app, ehr):
    client, server = jku_app()
    for _ in range(3):
        token = ehr.token(AUD, header={"jku": server.url})
        assert client.get("/cds-services", headers=bearer(token)).status_code == 200
    assert server.paths == ["/jwks.json"]


def test_a_jku_the_token_names_is_never_fetched(jku_app, ehr, jwks_server):
    attacker_key = ec.generate_private_key(ec.SECP384R1())
    attacker = jwks_server({"keys": [public_jwk(attacker_key, ES_KID, "ES384")]})
    client, server = jku_app()
    token = ehr.token(AUD, key=attacker_key, header={"jku": attacker.url})
    assert client.get("/cds-services", headers=bearer(token)).status_code == 401
    # Even the genuine key fails when the token points somewhere else.
    token = ehr.token(AUD, header={"jku": attacker.url})
    assert client.get("/cds-services", headers=bearer(token)).status_code == 401
    assert attacker.paths == []


def test_unknown_kids_refetch_at_most_once_per_interval(jku_app, ehr):
    client, server = jku_app()
    assert client.get("/cds-services", headers=bearer(ehr.token(AUD))).status_code == 200
    for n in range(20):
        token = ehr.token(AUD, header={"kid": f"made-up-{n}"})
        assert client.get("/cds-services", headers=bearer(token)).status_code == 401
    # The first load, and nothing more within jku_min_refetch_seconds (60 s by default).
    assert len(server.paths) == 1


def test_rotated_key_is_picked_up_on_unknown_kid(jku_app, ehr):
    client, server = jku_app(jku_min_refetch_seconds=0)
    assert client.get("/cds-services", headers=bearer(ehr.token(AUD))).status_code == 200
    new_key = ec.generate_private_key(ec.SECP384R1())
    server.document = {"keys": [public_jwk(new_key, "rotated-1", "ES384")]}
    token = ehr.token(AUD, key=new_key, header={"kid": "rotated-1"})
    assert client.get("/cds-services", headers=bearer(token)).status_code == 200
    assert len(server.paths) == 2


def test_oversized_key_set_is_refused(jku_app, ehr):
    padding = {"kty": "EC", "kid": "pad", "crv": "P-384", "x": "A" * MAX_JWKS_BYTES, "y": "A"}
    client, server = jku_app({"keys": ehr.jwks()["keys"] + [padding]})
    assert client.get("/cds-services", headers=bearer(ehr.token(AUD))).status_code == 401
    assert server.paths == ["/jwks.json"]


def test_redirects_are_not_followed(jku_app, ehr, jwks_server):
    elsewhere = jwks_server(ehr.jwks())
    client, server = jku_app(b"", )
    server.status, server.headers = 302, {"Location": elsewhere.url}
    assert client.get("/cds-services", headers=bearer(ehr.token(AUD))).status_code == 401
    assert elsewhere.paths == []


def test_proxies_from_the_environment_are_ignored(jku_app, ehr, monkeypatch):
    # Were the environment trusted, this dead proxy would make the fetch fail.
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client, server = jku_app()
    assert client.get("/cds-services", headers=bearer(ehr.token(AUD))).status_code == 200


# --- KeySet on its own: the rate limit, staleness, failures, threads ------------------------

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _loader(documents: list):
    def load():
        document = documents[0]
        if isinstance(document, Exception):
            raise document
        return parse_jwks(document)
    return load


def test_keyset_refetch_floor_and_failure_keeps_old_keys(ehr):
    clock, documents = Clock(), [ehr.jwks()]
    keys = KeySet("test", _loader(documents), min_refetch_seconds=60, clock=clock)
    assert keys.key_for(ES_KID) is not None and keys.loads == 1
    assert keys.key_for("unknown") is None and keys.loads == 1  # loaded just now: no refetch yet
    clock.now += 61
    documents[0] = JwksError("server down")
    assert keys.key_for("unknown") is None and keys.loads == 2
    assert keys.key_for(ES_KID) is not None  # the failed refresh did not drop what we had
    clock.now += 61
    documents[0] = {"keys": []}
    assert keys.key_for("unknown") is None and keys.loads == 3
    assert keys.key_for(ES_KID) is None  # the issuer withdrew it, and we stop trusting it


def test_keyset_loads_once_under_concurrent_unknown_kids(ehr):
    calls = []

    def slow_load():
        calls.append(1)
        return parse_jwks(ehr.jwks())

    keys = KeySet("test", slow_load, min_refetch_seconds=60)
    barrier = threading.Barrier(16)

    def worker(n):
        barrier.wait()
        keys.key_for(f"nope-{n}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(calls) == 1


def test_concurrent_misses_share_one_read_even_with_no_refetch_floor(ehr):
    calls, release = [], threading.Event()

    def slow_load():
        calls.append(1)
        release.wait(5)
        return parse_jwks(ehr.jwks())

    keys = KeySet("test", slow_load, min_refetch_seconds=0)
    found: list = []
    threads = [threading.Thread(target=lambda: found.append(keys.key_for("made-up"))) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # all of them are in: one reading, seven waiting for that read
    release.set()
    for t in threads:
        t.join(5)
    # Each miss read the set again (one after the other, under the issuer's lock) before.
    assert len(calls) == 1 and found == [None] * 8


def test_a_request_whose_key_is_known_never_waits_for_a_read_in_flight(ehr):
    documents, release = [ehr.jwks()], threading.Event()

    def load():
        if len(keys_loaded) == 1:
            release.wait(10)  # the second read hangs, as a slow jku would
        keys_loaded.append(1)
        return parse_jwks(documents[0])

    keys_loaded: list = []
    keys = KeySet("test", load, min_refetch_seconds=0)
    assert keys.key_for(ES_KID) is not None
    miss = threading.Thread(target=keys.key_for, args=("rotated-kid",))
    miss.start()
    time.sleep(0.2)
    try:
        started = time.monotonic()
        assert keys.key_for(ES_KID) is not None
        assert time.monotonic() - started < 0.5, "waited for another request's fetch"
    finally:
        release.set()
        miss.join(5)


def test_an_old_key_is_used_while_it_is_refreshed_behind_the_request(ehr):
    clock, release, loads = Clock(), threading.Event(), []

    def load():
        if loads:
            release.wait(10)
        loads.append(1)
        return parse_jwks(ehr.jwks())

    keys = KeySet("test", load, min_refetch_seconds=60, clock=clock)
    assert keys.key_for(ES_KID) is not None
    clock.now += MAX_KEY_AGE_SECONDS + 1
    try:
        started = time.monotonic()
        assert keys.key_for(ES_KID) is not None
        assert time.monotonic() - started < 0.5
    finally:
        release.set()
    for _ in range(50):
        if len(loads) == 2:
            break
        time.sleep(0.05)
    assert len(loads) == 2 and keys.loads == 2


def test_a_dripping_jku_is_given_up_at_the_fetch_deadline(jwks_server, ehr):
    server = jwks_server(ehr.jwks())
    server.drip = True
    started = time.monotonic()
    with pytest.raises(JwksError, match="deadline passed"):
        fetch_jwks_url(server.url)
    assert time.monotonic() - started < FETCH_DEADLINE_SECONDS + 1.5


def test_unusable_keys_are_skipped(ehr, tmp_path):
    private = json.loads(json.dumps(public_jwk(ehr.es_key, "with-d", "ES384")))
    private["d"] = "AAAA"
    document = {"keys": [
        public_jwk(ehr.es_key, "good", "ES384"),
        private,                                                  # private material: refused
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},            # symmetric: refused
        {**public_jwk(ehr.es_key, "enc", "ES384"), "use": "enc"},  # not for signatures
        {**public_jwk(ehr.es_key, "x", "ES384"), "kid": None},     # no kid
        {"kty": "EC", "kid": "broken", "crv": "P-384", "x": "!!", "y": "!!"},
        "not an object",
    ]}
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(document))
    assert set(read_jwks_file(str(path))) == {"good"}
    with pytest.raises(JwksError):
        parse_jwks({"no": "keys"})
