"""Open mode off loopback (`--allow-unauthenticated` on another address, no issuers): fhirServer may
reach only public addresses and `fhir.allowed_networks` (design section 6), whatever the spelling
of the address, checked on the address connected to; and a 412 names the keys, not what the network
answered (the log keeps that)."""

from __future__ import annotations

import logging
import socket

import pytest

from cds_service import create_app
from cds_service.config import load_settings
from cds_service.fhir.addresses import public_or_listed, reached
from cds_service.outbound.bounded_http import BoundedHttp, HttpFailure
from cds_service.runtime import EXTENSION
from tests.calls import hook_request

PV = "/cds-services/withdrawal-patient-view"


@pytest.mark.parametrize("address", [
    "169.254.169.254", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "fe80::1%eth0", "10.1.2.3", "172.16.0.1",
    "192.168.1.1", "127.0.0.1", "::1", "0.0.0.0", "::", "100.64.0.1", "224.0.0.1", "ff02::1", "fd00::1",
    "240.0.0.1", "not an address",
])
def test_private_link_local_loopback_and_reserved_addresses_are_refused(address):
    assert public_or_listed([])(address) is False


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert public_or_listed([])(address) is True


def test_listed_networks_are_allowed():
    allowed = public_or_listed(["10.20.0.0/16", "fd00::/8"])
    assert allowed("10.20.3.4") and allowed("::ffff:10.20.3.4") and allowed("fd00::5")
    assert not allowed("10.21.0.1") and not allowed("169.254.169.254")


def test_mapped_addresses_reach_their_ipv4_address():
    assert str(reached("::ffff:169.254.169.254")) == "169.254.169.254"
    assert str(reached("64:ff9b::a9fe:a9fe")) == "169.254.169.254"


@pytest.fixture
def canary(fault_server):
    return fault_server("canary")


def _port(base_url: str) -> int:
    return int(base_url.split(":")[2].split("/")[0])


# Every spelling of 127.0.0.1 that getaddrinfo reads as it (inet_aton's forms) and the mapped one.
SPELLINGS = ["127.0.0.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "[::ffff:127.0.0.1]"]


@pytest.mark.parametrize("host", SPELLINGS)
def test_every_spelling_of_a_refused_address_is_refused_when_connecting(canary, host):
    url = f"http://{host}:{_port(canary.base_url)}/fhir/Patient/x"
    refused = BoundedHttp(maxsize=1, address_allowed=public_or_listed([]))
    with pytest.raises(HttpFailure, match="address not allowed"):
        refused.get(url, headers={}, deadline=_soon(), connect_timeout=2, read_timeout=2, max_bytes=1 << 20)
    assert canary.requests == []
    listed = BoundedHttp(maxsize=1, address_allowed=public_or_listed(["127.0.0.0/8"]))
    if host.startswith("[") and not _has_ipv6():
        return
    status, _ = listed.get(url, headers={}, deadline=_soon(), connect_timeout=2, read_timeout=2,
                           max_bytes=1 << 20)
    assert status == 200 and len(canary.requests) == 1


def test_the_check_is_on_the_address_connected_to_not_an_earlier_lookup(canary, monkeypatch):
    """DNS rebinding: whatever a name resolved to before, the address the socket would connect to is
    the one checked."""
    from cds_service.outbound import bounded_http
    port = _port(canary.base_url)
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", port))],
                    [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]])
    monkeypatch.setattr(bounded_http.LOOKUP, "addresses", lambda host, port, family: next(answers))
    checked = []
    allowed = public_or_listed([])
    http = BoundedHttp(maxsize=1, address_allowed=lambda a: checked.append(a) or allowed(a))
    next(answers)  # the name was public when someone looked before
    with pytest.raises(HttpFailure, match="address not allowed"):
        http.get(f"http://rebinding.example:{port}/fhir/Patient/x", headers={}, deadline=_soon(),
                 connect_timeout=2, read_timeout=2, max_bytes=1 << 20)
    assert checked == ["127.0.0.1"] and canary.requests == []


def _soon() -> float:
    import time
    return time.monotonic() + 5


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def _app(tmp_path, host: str, **fhir):
    settings = load_settings(environ={"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data")},
                             overrides={"server": {"host": host, "allow_unauthenticated": True}, "fhir": fhir})
    app = create_app(settings)
    return app


def _call_with_server(app, base_url: str):
    body = hook_request("patient-view", prefetch={}, fhirServer=base_url)
    del body["prefetch"]
    try:
        return app.test_client().post(PV, json=body)
    finally:
        app.extensions[EXTENSION].store.dispose()


def test_off_loopback_a_private_fhir_server_is_not_contacted_and_the_412_says_only_the_keys(tmp_path, canary,
                                                                                           caplog):
    caplog.set_level(logging.INFO)
    response = _call_with_server(_app(tmp_path, "0.0.0.0"), canary.base_url)
    assert response.status_code == 412
    body = response.get_json()
    assert "patient" in body["missing"]
    for answer in ("address not allowed", "connection failed", "HTTP ", "timed out", "TLS"):
        assert answer not in body["message"]
    assert canary.requests == []
    assert "address not allowed" in caplog.text  # the log keeps why


def test_off_loopback_a_listed_network_is_contacted(tmp_path, canary):
    _call_with_server(_app(tmp_path, "0.0.0.0", allowed_networks=["127.0.0.0/8"]), canary.base_url)
    assert canary.requests


def test_on_loopback_any_fhir_server_is_contacted_and_the_412_says_why(tmp_path, fault_server):
    down = fault_server("down")
    response = _call_with_server(_app(tmp_path, "127.0.0.1"), down.base_url)
    assert response.status_code == 412 and "connection failed" in response.get_json()["message"]


def test_a_network_that_is_not_one_stops_the_configuration(tmp_path):
    from cds_service.config import ConfigError
    with pytest.raises(ConfigError, match="allowed_networks"):
        load_settings(environ={}, overrides={"fhir": {"allowed_networks": ["10.0.0.300/8"]}})
