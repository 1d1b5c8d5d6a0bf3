"""FHIR server URLs in RFC 3986 normal form: what is compared is what a server reads, and what is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from cds_service.auth.tokens import Authenticator, Principal
from cds_service.config import load_settings
from cds_service.fhir.assemble import FhirAccess
from cds_service.fhir.urls import UnsafeUrl, is_under, normalize, normalize_base, origin, remove_dot_segments

BASE = "https://ehr.example.org/fhir"
JWKS = Path(__file__).parent / "fixtures" / "sandbox-jwks.json"


@pytest.mark.parametrize("path, expected", [
    # RFC 3986 section 5.4.1 and 5.4.2, from the base /b/c/d;p
    ("/b/c/./../../g", "/g"), ("/b/c/g/.", "/b/c/g/"), ("/b/c/g/..", "/b/c/"), ("/../g", "/g"),
    ("/b/c/../../../g", "/g"), ("/b/c/g;x=1/./y", "/b/c/g;x=1/y"), ("/b/c/g;x=1/../y", "/b/c/y"),
    ("/b/c/g..", "/b/c/g.."), ("/b/c/..g", "/b/c/..g"), ("", ""), ("/", "/"),
])
def test_remove_dot_segments(path, expected):
    assert remove_dot_segments(path) == expected


@pytest.mark.parametrize("url, expected", [
    ("HTTPS://EHR.Example.ORG:443/fhir/Condition?patient=1", "https://ehr.example.org/fhir/Condition?patient=1"),
    ("http://ehr.example.org:8080/fhir/%2e%2e/admin", "http://ehr.example.org:8080/admin"),
    ("https://ehr.example.org/fhir/..%2Fadmin", "https://ehr.example.org/admin"),
    ("https://ehr.example.org/fhir/a%20b/%7Ex", "https://ehr.example.org/fhir/a%20b/~x"),
    ("https://ehr.example.org/fhir/Patient#frag", "https://ehr.example.org/fhir/Patient"),
    ("https://[::1]:8443/fhir", "https://[::1]:8443/fhir"),
])
def test_normalize(url, expected):
    assert normalize(url) == expected


@pytest.mark.parametrize("url", ["ftp://ehr.example.org/fhir", "https://user:pw@ehr.example.org/fhir",
                                 "https://ehr.example.org/fhir\n", "https://ehr.example.org/fhir/%00",
                                 "https://ehr.example.org/fhir/%5c..%5cadmin", "https://ehr.example.org/%ff",
                                 "https://ehr.example.org:99999/fhir", "/fhir/Patient"])
def test_unsafe_urls_are_refused(url):
    with pytest.raises(UnsafeUrl):
        normalize(url)


def test_under_the_base_means_under_its_path_after_normalising():
    base = normalize_base(BASE + "/")
    assert base == BASE
    assert is_under(normalize(BASE + "/Condition?page=2"), base)
    assert is_under(normalize(BASE), base)
    assert not is_under(normalize(BASE + "/../admin"), base)
    assert not is_under(normalize("https://ehr.example.org/fhir-admin/x"), base)
    assert not is_under(normalize("http://ehr.example.org/fhir/x"), base)
    assert origin(base) == "https://ehr.example.org"


def test_an_issuers_fhir_servers_are_compared_in_normal_form():
    """The issuer's list is put in normal form once (Authenticator), a call's server once (FhirAccess)."""
    settings = load_settings(environ={}, overrides={
        "server": {"public_base_urls": ["https://cds.example.org"]},
        "issuers": [{"iss": "https://ehr.example.org", "jwks_file": str(JWKS),
                     "fhir_servers": ["HTTPS://ehr.example.org:443/fhir/"]}]})
    listed = Authenticator(settings, store=None, clock=lambda: None)._servers["https://ehr.example.org"]
    principal = Principal(iss="https://ehr.example.org", fhir_servers=listed)

    def named(server: str) -> str:
        return FhirAccess.of({"fhirServer": server}).base_url

    assert principal.may_use(named(BASE))
    assert principal.may_use(named("HTTPS://ehr.example.org:443/fhir/"))
    assert principal.may_use(named(BASE + "/."))
    assert not principal.may_use(named(BASE + "/../other"))
    assert not principal.may_use(named("https://ehr.example.org/fhir2"))
