"""examples/sandbox.toml, the shipped config for trying the service with the CDS Hooks Sandbox as a
trusted issuer: it serves from a fresh clone as docs/sandbox.md says, accepts what the Sandbox signs,
and never listens beyond loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from cds_service.auth import is_loopback
from cds_service.cli import main
from cds_service.config import load_settings
from tests.auth.test_sandbox import SANDBOX_ISS, sandbox_token
from tests.calls import hook_request, oud_condition, overridden, patient, topics
from tests.serving import REPO, Serving, free_port

CONFIG = REPO / "examples" / "sandbox.toml"
WALK_THROUGH = (REPO / "docs" / "sandbox.md").read_text()
PV = "/cds-services/withdrawal-patient-view"


def test_it_names_the_urls_the_sandbox_calls_it_by():
    """A token's aud must be one of the service's own URLs, never one built from the Host header."""
    assert set(load_settings(CONFIG, environ={}).server.base_urls) == {"http://localhost:8081",
                                                                        "http://127.0.0.1:8081"}


def test_it_trusts_the_sandbox_alone_with_the_key_the_tests_check():
    settings = load_settings(CONFIG, environ={})
    (issuer,) = settings.issuers
    assert issuer.iss == SANDBOX_ISS
    # The fixture that tests/auth/test_sandbox.py proves is the public half of the Sandbox's key.
    assert Path(issuer.jwks_file).resolve() == REPO / "tests" / "fixtures" / "sandbox-jwks.json"
    assert settings.server.loopback_only and is_loopback(settings.server.host)
    assert settings.server.port != 8080, "the Sandbox's dev server takes 8080"


def test_it_is_loudly_marked_not_for_production():
    assert "NOT FOR PRODUCTION" in CONFIG.read_text()


def test_the_walk_through_runs_it_in_one_line():
    assert ".venv/bin/withdrawal-cds serve --config examples/sandbox.toml" in WALK_THROUGH


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_serve_refuses_any_address_but_loopback_with_it(host, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("WITHDRAWAL_CDS_DATA_DIR", str(tmp_path / "data"))
    code = main(["serve", "--config", str(CONFIG), "--host", host])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"withdrawal-cds: refusing to listen on {host}: ") and "local testing only" in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "data").exists()


def test_served_from_it_the_service_accepts_a_sandbox_signed_call(tmp_path):
    # --port: the config's 8081 may be taken on a shared machine; the command line outranks the file,
    # and the service is told the URL it is then called by (a token's aud names it).
    port = free_port()
    server = Serving(["--config", str(CONFIG), "--port", str(port), "--workers", "1"],
                     {"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data"),
                      "WITHDRAWAL_CDS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}, tmp_path, port)
    try:
        server.wait_ready()
        base = server.base_url
        assert requests.get(base + "/cds-services", timeout=10).status_code == 401, "trusted issuer: JWT required"
        discovery = requests.get(base + "/cds-services", timeout=10,
                                 headers={"Authorization": f"Bearer {sandbox_token(base + '/cds-services')}"})
        assert discovery.status_code == 200 and len(discovery.json()["services"]) == 4
        hook = requests.post(base + PV, timeout=30, json=hook_request("patient-view", [patient(), oud_condition()]),
                             headers={"Authorization": f"Bearer {sandbox_token(base + PV)}"})
        assert hook.status_code == 200, hook.text
        card = topics(hook.json())["moud-referral"]
        feedback = requests.post(base + PV + "/feedback", timeout=10, json={"feedback": [overridden(card)]},
                                 headers={"Authorization": f"Bearer {sandbox_token(base + PV + '/feedback')}"})
        assert feedback.status_code == 200, feedback.text
    finally:
        server.stop()
    assert "without authentication" not in server.stderr().lower()


def test_the_sandbox_extra_brings_the_walk_throughs_fhir_server_and_no_test_tools():
    """`pip install -e '.[sandbox]'` (docs/sandbox.md, step 1) installs the sekmet-fhir the tests
    drive, at their pin, and none of what only the tests need."""
    import tomllib

    from packaging.requirements import Requirement

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    sandbox = {Requirement(r).name: str(Requirement(r).specifier) for r in extras["sandbox"]}
    test = {Requirement(r).name: str(Requirement(r).specifier) for r in extras["test"]}
    assert sandbox == {"sekmet-fhir": test["sekmet-fhir"]}
    assert "pip install -q -e '.[sandbox]'" in WALK_THROUGH and ".venv/bin/sekmet serve" in WALK_THROUGH
