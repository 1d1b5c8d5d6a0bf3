"""examples/sandbox-patient.py, the test patient of the Sandbox walk-through (docs/sandbox.md): the cards the
walk-through promises for it, whatever the day it is run; it loads into a real FHIR server in one POST,
and the service reads it back from there; and the shipped config lets the service read the rest of
a search from the FHIR server the walk-through starts."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import requests

from cds_service.auth.tokens import Principal
from cds_service.config import load_settings
from cds_service.fhir.urls import normalize_base
from cds_service.pipeline import evaluate_document
from cds_service.protocol.card_json import topic_of
from tests.serving import REPO

SCRIPT = REPO / "examples" / "sandbox-patient.py"
CONFIG = REPO / "examples" / "sandbox.toml"
WALK_THROUGH = (REPO / "docs" / "sandbox.md").read_text()
SECTION = WALK_THROUGH.split("## Try it with the CDS Hooks Sandbox", 1)[1].split("\n## ", 1)[0]
# In the order the response lists them (critical, warning, info; then the registry's order).
PROMISED = ["withdrawal-assessment", "moud-referral", "naloxone", "counseling", "depression-screen"]


def _script():
    spec = importlib.util.spec_from_file_location("sandbox_patient", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _printed() -> str:
    return subprocess.run([sys.executable, str(SCRIPT)], check=True, capture_output=True, text=True,
                          timeout=60).stdout


def test_the_readme_names_the_cards_it_promises():
    sentence = SECTION[SECTION.index("patient-view shows five cards"):].split("(", 1)[0]
    assert re.findall(r"`([a-z-]+)`", sentence) == PROMISED


def test_the_readme_pipeline_gives_those_cards(tmp_path):
    """`python3 examples/sandbox-patient.py | withdrawal-cds evaluate -`, as the walk-through gives it, with
    the Sandbox's config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WITHDRAWAL_CDS_")}
    done = subprocess.run([sys.executable, "-m", "cds_service.cli", "evaluate", "--config", str(CONFIG), "-"],
                          input=_printed(), capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**env, "PYTHONPATH": str(REPO), "WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr
    assert [topic_of(card) for card in json.loads(done.stdout)["cards"]] == PROMISED


def test_its_dates_follow_the_day_it_runs():
    """The reason it is a script: printed on any day, it is the same patient on that day."""
    script, settings = _script(), load_settings(CONFIG, environ={})
    for now in (datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc),
                datetime.now(timezone.utc) + timedelta(days=400)):
        cards = evaluate_document(script.bundle(now), settings, now=now).body["cards"]
        assert [topic_of(card) for card in cards] == PROMISED, now


def test_it_loads_in_one_post_and_the_service_reads_it_back(clean_fhir_server, make_app):
    base = clean_fhir_server.base_url
    for _ in range(2):  # run twice, as a user refreshing the dates would: PUTs, so no second copy
        response = requests.post(base, data=_printed(), timeout=30,
                                 headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"})
        assert response.status_code == 200, response.text
    status, found = clean_fhir_server.get("Observation?patient=withdrawal-demo")
    assert status == 200 and found["total"] == 1
    # No prefetch at all: everything comes from the FHIR server, as when a Sandbox prefetch is cut short.
    call = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": base,
            "context": {"userId": "Practitioner/dr-1", "patientId": _script().PATIENT_ID}}
    response = make_app().test_client().post("/cds-services/withdrawal-patient-view", json=call)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [topic_of(card) for card in response.get_json()["cards"]] == PROMISED


def test_the_shipped_config_lets_the_service_read_the_readme_fhir_server():
    """The Sandbox prefetches one page per search; the next pages come from fhirServer only if the
    Sandbox's issuer may use it, else the call is a 412."""
    (url,) = re.findall(r"^http://localhost:8080/\?\S+$", SECTION, flags=re.M)
    query = parse_qs(urlsplit(url).query)
    (fhir_base,) = query["fhirServiceUrl"]
    assert query["patientId"] == [_script().PATIENT_ID]
    assert f"--data-binary @- {fhir_base}\n" in SECTION, "the walk-through loads the patient where the Sandbox reads it"
    (issuer,) = load_settings(CONFIG, environ={}).issuers
    # As a verified token makes it, and as a call's fhirServer is compared (FhirAccess: in normal form).
    sandbox = Principal(iss=issuer.iss, fhir_servers=frozenset(normalize_base(s) for s in issuer.fhir_servers))
    assert sandbox.may_use(normalize_base(fhir_base))
    assert not sandbox.may_use(normalize_base("http://localhost:8091/fhir")), "a list, not any server"
