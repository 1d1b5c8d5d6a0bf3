"""A slow JWKS endpoint against the real server (`withdrawal-cds serve`): the requests that miss their
key give up at the fetch deadline, sharing one fetch; nothing else waits for it."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from cds_service.auth.jwks import FETCH_DEADLINE_SECONDS
from tests.auth.conftest import Ehr, bearer
from tests.store.live_server import LiveServer, free_port

DISCOVERY = "/cds-services"
SLACK = 1.5


@pytest.fixture
def two_issuers(tmp_path, ehr, jwks_server):
    """(server, jwks, ehr, other): `ehr` with a jku on a server of ours, `other` with a key file."""
    jwks = jwks_server(ehr.jwks())
    other = Ehr("https://other-ehr.example.org", ehr.es_key, ehr.rs_key, tmp_path / "other-jwks.json")
    other.jwks_path.write_text(json.dumps(other.jwks()))
    port = free_port()
    config = f"""
[server]
public_base_url = "http://127.0.0.1:{port}"
[auth]
jku_min_refetch_seconds = 0
[[issuers]]
iss = "{ehr.iss}"
jku = "{jwks.url}"
[[issuers]]
iss = "{other.iss}"
jwks_file = "{other.jwks_path}"
"""
    live = LiveServer(f"sqlite:///{tmp_path / 'cds.db'}", tmp_path / "data", tmp_path / "server.log",
                      workers=1, config=config, port=port)
    try:
        live.wait_ready()
        yield live, jwks, ehr, other
    finally:
        live.close()


def timed_get(url: str, **kwargs) -> tuple[int, float]:
    started = time.monotonic()
    status = requests.get(url, timeout=30, **kwargs).status_code
    return status, time.monotonic() - started


def test_a_dripping_jku_holds_up_only_the_requests_that_miss_their_key(two_issuers):
    """Before: the first miss held the issuer's lock for the whole drip (no overall deadline), and
    every request of that issuer, key known or not, queued behind it until the threads ran out."""
    server, jwks, ehr, other = two_issuers
    aud = server.base_url + DISCOVERY
    assert timed_get(aud, headers=bearer(ehr.token(aud)))[0] == 200
    assert len(jwks.paths) == 1
    jwks.drip = True

    misses: list[tuple[int, float]] = []
    missing = [threading.Thread(target=lambda: misses.append(
        timed_get(aud, headers=bearer(ehr.token(aud, header={"kid": "rotated-away"}))))) for _ in range(3)]
    for thread in missing:
        thread.start()
    time.sleep(0.3)  # the misses are in, one of them fetching
    others = [timed_get(aud, headers=bearer(ehr.token(aud))),          # same issuer, key known
              timed_get(aud, headers=bearer(other.token(aud))),        # another issuer
              timed_get(server.base_url + "/healthz")]
    for thread in missing:
        thread.join(FETCH_DEADLINE_SECONDS + 10)
    assert [status for status, _ in others] == [200, 200, 200], server.log_tail()
    assert max(seconds for _, seconds in others) < 1.0
    assert [status for status, _ in misses] == [401, 401, 401]
    assert max(seconds for _, seconds in misses) < FETCH_DEADLINE_SECONDS + SLACK
    assert len(jwks.paths) == 2  # the three misses shared one fetch
