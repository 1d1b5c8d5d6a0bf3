"""When the COWS form is on, the links a card carries to it, and how the service serves it."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from cds_service.apps.links import OPEN_MODE_CLIENT_ID, cows_form
from cds_service.config import ConfigError
from tests.apps.cows_chart import PATIENT_ID, record
from tests.auth.conftest import BASE, FIXTURES, bearer
from tests.auth.test_sandbox import SANDBOX_ISS, sandbox_token
from tests.calls import full_prefetch

PV = "/cds-services/withdrawal-patient-view"
FHIR = "https://open-fhir.example.org/r4"
SANDBOX = {"iss": SANDBOX_ISS, "jwks_file": str(FIXTURES / "sandbox-jwks.json")}


def call(client, *, fhir_server: str | None = FHIR, token: str | None = None, jwt: bool = False) -> dict:
    body = {"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": {"userId": "Practitioner/dr-1", "patientId": PATIENT_ID},
            "prefetch": full_prefetch(record(), PATIENT_ID)}
    if fhir_server:
        body["fhirServer"] = fhir_server
    if token:
        body["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer", "expires_in": 300,
                                     "scope": "patient/*.read", "subject": "withdrawal-cds"}
    headers = bearer(sandbox_token(BASE + PV)) if jwt else {}
    response = client.post(PV, json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return {card["source"]["topic"]["code"]: card for card in response.get_json()["cards"]}


# With trusted issuers the service must be told the URL it is called by (the test client's).
CALLED_AT = {"server": {"public_base_urls": ["http://localhost"]}}
LOOPBACK_ONLY = {"server": {"public_base_urls": ["http://localhost"], "loopback_only": True}}


def form_links(card: dict) -> list[dict]:
    return [link for link in card["links"] if "/apps/cows/" in link["url"]]


@pytest.mark.parametrize("config, expected", [
    ({}, (OPEN_MODE_CLIENT_ID, True)),                                      # open: on, any client id
    ({"cows_app": {"client_id": "site-1"}}, ("site-1", True)),
    ({"cows_app": {"enabled": False}}, None),
    ({"issuers": [SANDBOX], **CALLED_AT}, None),                            # trusted issuers, no client id: off
    ({"issuers": [SANDBOX], **CALLED_AT, "cows_app": {"client_id": "site-1"}}, ("site-1", False)),
    ({"issuers": [SANDBOX], **CALLED_AT, "cows_app": {"client_id": "site-1", "enabled": False}}, None),
    # loopback only (examples/sandbox.toml): a local sandbox, on with the open launch
    ({"issuers": [SANDBOX], **LOOPBACK_ONLY}, (OPEN_MODE_CLIENT_ID, True)),
    ({"issuers": [SANDBOX], **LOOPBACK_ONLY, "cows_app": {"enabled": False}}, None),
])
def test_the_form_is_on_in_open_mode_and_with_issuers_once_a_client_id_is_set(make_settings, config, expected):
    form = cows_form(make_settings(**config))
    assert (form and (form.client_id, form.open_launch)) == expected


def test_turning_the_form_on_with_trusted_issuers_needs_the_client_id(make_settings):
    with pytest.raises(ConfigError, match="cows_app.client_id is empty"):
        make_settings(issuers=[SANDBOX], cows_app={"enabled": True}, **CALLED_AT)
    assert cows_form(make_settings(issuers=[SANDBOX], cows_app={"enabled": True}, **LOOPBACK_ONLY)).open_launch


def test_the_item_system_must_be_a_uri(make_settings):
    with pytest.raises(ConfigError, match="cows_app.item_system"):
        make_settings(cows_app={"item_system": "cows items"})
    assert cows_form(make_settings(cows_app={"item_system": "https://site.example/cows"})).item_system == \
        "https://site.example/cows"


def test_the_assessment_card_links_the_form_first_and_names_itself_in_app_context(client):
    cards = call(client)
    card = cards["withdrawal-assessment"]
    smart, absolute = card["links"][:2]
    assert smart == {"label": "Score COWS now", "url": "http://localhost/apps/cows/launch.html", "type": "smart",
                     "appContext": json.dumps({"card": card["uuid"], "topic": "withdrawal-assessment"},
                                              separators=(",", ":"))}
    assert absolute["type"] == "absolute" and "appContext" not in absolute
    parts = urlsplit(absolute["url"])
    assert parts.path == "/apps/cows/launch.html"
    assert parse_qs(parts.query) == {"iss": [FHIR], "patient": [PATIENT_ID]}
    # The topic's own links (the COWS PDF, the guideline) follow.
    assert len(card["links"]) > 2 and all(link["type"] == "absolute" for link in card["links"][2:])
    assert all(form_links(other) == [] for topic, other in cards.items() if topic != "withdrawal-assessment")


def test_no_open_launch_link_when_the_call_brings_a_token_or_no_fhir_server(client):
    with_token = call(client, token="ehr-token")["withdrawal-assessment"]
    assert [link["type"] for link in form_links(with_token)] == ["smart"]
    prefetch_only = call(client, fhir_server=None)["withdrawal-assessment"]
    assert [link["type"] for link in form_links(prefetch_only)] == ["smart"]


def test_with_trusted_issuers_the_card_offers_the_ehr_launch_only(make_app):
    client = make_app(issuers=[SANDBOX], cows_app={"client_id": "site-1"}, **CALLED_AT).test_client()
    card = call(client, jwt=True)["withdrawal-assessment"]
    assert [link["type"] for link in form_links(card)] == ["smart"]
    assert client.get("/apps/cows/config.json").get_json() == {
        "clientId": "site-1", "itemSystem": "urn:withdrawal-cds:cows-item", "openLaunch": False}


def test_a_loopback_only_config_offers_the_open_launch_on_a_fhir_server_the_issuer_lists(make_app):
    """examples/sandbox.toml: the Sandbox's JWTs are checked, yet the card opens the form on the
    Sandbox's open FHIR server, since nothing but this machine can reach the service."""
    issuer = {**SANDBOX, "fhir_servers": [FHIR]}
    client = make_app(issuers=[issuer], **LOOPBACK_ONLY).test_client()
    card = call(client, jwt=True)["withdrawal-assessment"]
    smart, absolute = form_links(card)
    assert (smart["label"], smart["type"]) == ("Score COWS now", "smart")
    assert (absolute["label"], absolute["type"]) == ("Score COWS now (open FHIR server, no sign-in)", "absolute")
    assert parse_qs(urlsplit(absolute["url"]).query) == {"iss": [FHIR], "patient": [PATIENT_ID]}
    assert client.get("/apps/cows/config.json").get_json()["openLaunch"] is True
    # A fhirServer the issuer does not list is neither fetched nor offered to the form.
    elsewhere = call(client, fhir_server="https://elsewhere.example.org/fhir", jwt=True)["withdrawal-assessment"]
    assert [link["type"] for link in form_links(elsewhere)] == ["smart"]


def test_each_link_says_what_it_opens(client):
    """The form's links say "Score COWS now"; the NIDA PDF says it is the reference, as a PDF."""
    links = {link["label"]: link["url"] for link in call(client)["withdrawal-assessment"]["links"]}
    assert links["COWS reference (PDF)"].endswith(".pdf")
    assert all("/apps/cows/" in url for label, url in links.items() if label.startswith("Score COWS now"))
    assert all("/apps/cows/" not in url for label, url in links.items() if not label.startswith("Score COWS now"))


def test_links_use_the_public_base_url_behind_a_proxy(make_app):
    client = make_app(server={"public_base_url": "https://cds.example.org/withdrawal"}).test_client()
    (smart,) = [link for link in call(client, fhir_server=None)["withdrawal-assessment"]["links"]
                if link["type"] == "smart"]
    assert smart["url"] == "https://cds.example.org/withdrawal/apps/cows/launch.html"


def test_a_form_that_is_off_is_neither_linked_nor_served(make_app):
    client = make_app(cows_app={"enabled": False}).test_client()
    assert form_links(call(client)["withdrawal-assessment"]) == []
    assert client.get("/apps/cows/").status_code == 404
    assert client.get("/apps/cows/launch.html").status_code == 404


def test_the_form_is_served_without_a_cds_hooks_jwt_with_its_security_headers(make_app):
    client = make_app(issuers=[SANDBOX], cows_app={"client_id": "site-1"}, **CALLED_AT).test_client()
    page = client.get("/apps/cows/")
    assert page.status_code == 200 and b"Clinical Opiate Withdrawal Scale" in page.data
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self';")
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-cache"
    assert client.get("/apps/cows/config.json").headers["Cache-Control"] == "no-store"
    # The launch page only for a launch from a FHIR server an issuer lists (test_trusted_launch.py).
    assert client.get("/apps/cows/launch.html").status_code == 403
    for name in ("form.js", "scoring.js", "session.js", "observation.js", "launch.js", "cows.css",
                 "vendor/fhir-client.pure.min.js"):
        assert client.get(f"/apps/cows/{name}").status_code == 200, name
    assert client.get("/apps/cows/../config.py").status_code == 404
    assert client.get("/apps/cows").status_code == 308  # to /apps/cows/, so relative URLs resolve
