"""With trusted issuers the COWS form launches only from an EHR the service trusts (design section 6):
an EHR launch whose iss is not a FHIR server an issuer lists is refused before the page's script
sends the browser anywhere; the page may connect only to the listed servers (and
`cows_app.connect_origins`), and be framed only by `cows_app.frame_ancestors`. In Chromium."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

JWKS = Path(__file__).resolve().parents[1] / "fixtures" / "sandbox-jwks.json"


def _trusting(live_service, fhir_base: str, **cows_app) -> str:
    return live_service(issuers=[{"iss": "https://ehr.example.org", "jwks_file": str(JWKS),
                                  "fhir_servers": [fhir_base]}],
                        cows_app={"client_id": "registered-at-the-ehr", **cows_app},
                        server={"public_base_urls": ["https://cds.example.org"]})


def _launch_url(service: str, iss: str) -> str:
    return f"{service}/apps/cows/launch.html?launch=abc&iss={quote(iss, safe='')}"


@pytest.fixture
def servers(fault_server):
    return fault_server("canary"), fault_server("canary")  # the EHR's FHIR server, and an attacker's


def test_a_launch_naming_an_untrusted_fhir_server_is_refused_before_any_redirect(page, live_service, servers):
    ehr, attacker = servers
    service = _trusting(live_service, ehr.base_url)
    url = _launch_url(service, attacker.base_url)
    response = page.goto(url)
    assert response.status == 403
    assert page.get_by_role("alert").inner_text().startswith("The COWS form was not opened")
    page.wait_for_timeout(500)  # room for any script to act: there is none on the refusal
    assert page.url == url and attacker.requests == [] and ehr.requests == []


@pytest.mark.parametrize("iss", ["{ehr}/../other", "{ehr}x", ""], ids=["dot segments", "prefix", "none"])
def test_a_launch_is_refused_for_any_iss_but_a_listed_one(page, live_service, servers, iss):
    ehr, _ = servers
    service = _trusting(live_service, ehr.base_url)
    assert page.goto(_launch_url(service, iss.format(ehr=ehr.base_url))).status == 403


def test_a_launch_from_a_trusted_fhir_server_starts_and_may_connect_there_only(page, live_service, servers):
    ehr, attacker = servers
    service = _trusting(live_service, ehr.base_url)
    assert page.goto(_launch_url(service, ehr.base_url)).status == 200
    # The launch asks the EHR's server for its SMART configuration: connect-src lets it.
    page.get_by_role("alert").wait_for()  # the canary's answer is no SMART configuration
    assert any("smart-configuration" in r.path for r in ehr.requests)
    # Any other server is out of the page's reach.
    outcome = page.evaluate("url => fetch(url).then(() => 'fetched', () => 'blocked')", attacker.base_url + "/x")
    assert outcome == "blocked" and attacker.requests == []


@pytest.fixture
def ehr_page(fault_server):
    """An EHR's page on its own origin (another loopback port: Chromium keeps a public page from
    framing a loopback one whatever the policy), framing what `ehr_page.frame(url)` sets."""
    framed = {"url": "about:blank"}
    server = fault_server("custom", handler=lambda request: (
        200, "text/html", f'<!doctype html><iframe src="{framed["url"]}"></iframe>'.encode()))
    server.origin = server.base_url.removesuffix("/fhir")
    server.frame = lambda url: framed.update(url=url)
    return server


def _framed(page, ehr_page, service: str, fhir_base: str) -> int:
    """How many of the launch page's own elements show in the EHR page's frame (0: the browser
    refused to show it there)."""
    ehr_page.frame(_launch_url(service, fhir_base))
    page.goto(ehr_page.origin + "/chart")
    page.wait_for_load_state("load")
    return page.frame_locator("iframe").locator("main > h1").count()


def test_only_the_configured_ehr_origins_may_frame_the_form(page, live_service, servers, ehr_page):
    ehr, _ = servers
    allowed = _trusting(live_service, ehr.base_url, frame_ancestors=[ehr_page.origin])
    assert _framed(page, ehr_page, allowed, ehr.base_url) == 1
    other = _trusting(live_service, ehr.base_url, frame_ancestors=["https://other-ehr.example"])
    assert _framed(page, ehr_page, other, ehr.base_url) == 0
    unset = _trusting(live_service, ehr.base_url)
    assert _framed(page, ehr_page, unset, ehr.base_url) == 0


def test_open_mode_keeps_its_any_server_policy(live_service):
    import requests
    service = live_service()
    policy = requests.get(f"{service}/apps/cows/launch.html", timeout=5).headers["Content-Security-Policy"]
    assert "connect-src 'self' http: https:" in policy and "frame-ancestors" not in policy
