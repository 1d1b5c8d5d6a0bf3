"""Start rules: open only on loopback (or when explicitly overridden), silent when issuers are configured."""

from __future__ import annotations

import pytest

from cds_service.auth import check_start_policy, is_loopback
from cds_service.config import ConfigError

LOOPBACK = ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST"]
REACHABLE = ["0.0.0.0", "::", "10.0.0.5", "192.168.1.20", "cds.example.org", "localhost.example.org", "128.0.0.1"]


@pytest.mark.parametrize("host", LOOPBACK)
def test_open_on_loopback_starts_and_says_so(make_settings, host):
    line = check_start_policy(make_settings(), host, allow_unauthenticated=False)
    assert line and "WITHOUT authentication" in line and host in line
    assert "\n" not in line


@pytest.mark.parametrize("host", REACHABLE)
def test_open_on_a_reachable_address_refuses_to_start(make_settings, host):
    with pytest.raises(ConfigError, match="issuers") as raised:
        check_start_policy(make_settings(), host, allow_unauthenticated=False)
    assert host in str(raised.value) and "allow_unauthenticated" in str(raised.value)


@pytest.mark.parametrize("host", REACHABLE)
def test_override_allows_open_on_a_reachable_address_with_a_warning(make_settings, host):
    line = check_start_policy(make_settings(), host, allow_unauthenticated=True)
    assert line and "WARNING" in line and host in line


@pytest.mark.parametrize("host", LOOPBACK + REACHABLE)
def test_with_issuers_nothing_to_say(make_settings, tmp_path, host):
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    settings = make_settings(issuers=[{"iss": "https://ehr.example.org", "jwks_file": str(jwks)}],
                             server={"public_base_urls": ["https://cds.example.org"]})
    assert check_start_policy(settings, host, allow_unauthenticated=False) is None


def test_loopback_is_exactly_127_8_and_ipv6_one():
    assert all(is_loopback(h) for h in LOOPBACK)
    assert not any(is_loopback(h) for h in REACHABLE + ["", "::ffff:10.0.0.1"])
