"""docs/sandbox.md's walk-through, steps 2, 3 and 5 to 7, as written, in Chromium: the example patient
loaded into sekmet-fhir, the service served from the shipped examples/sandbox.toml and called with
the Sandbox's own JWTs, the card's open-launch link followed, COWS scored and saved, and the card
that follows the score. What the page quotes (labels, the form's words, the next card) is read from
the page and checked against what the browser and the service show. Not run: the Sandbox's dev
server (npm, a browser UI this test stands in for)."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

import requests

from tests.apps.cows_chart import SCALE, saved_cows
from tests.auth.test_sandbox import sandbox_token
from tests.serving import REPO, Serving, free_port

PAGE = (REPO / "docs" / "sandbox.md").read_text()
CONFIG = REPO / "examples" / "sandbox.toml"
PV = "/cds-services/withdrawal-patient-view"
# The FHIR server and the key file as the shipped config names them; the test's sekmet runs on a
# port of its own, and the config is read from a copy.
SHIPPED_FHIR = "http://localhost:8090/fhir"
SHIPPED_JWKS = 'jwks_file = "../tests/fixtures/sandbox-jwks.json"'
SHIPPED_PORT = "8081"  # server.port and the two public_base_urls


def step(title_start: str) -> str:
    """The text of one `### N. ...` step of the walk-through, whitespace folded."""
    text = PAGE.split(f"### {title_start}", 1)[1].split("\n### ", 1)[0]
    return " ".join(text.split())


def quoted(text: str) -> list[str]:
    return re.findall(r'"([^"]+)"', text)


def sandbox_call(base: str, fhir_base: str, patient_id: str) -> dict:
    """patient-view as the Sandbox sends it, signed with its key; the service reads the record from
    fhirServer, which the config's issuer lists."""
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "fhirServer": fhir_base,
            "context": {"userId": "Practitioner/example", "patientId": patient_id}}
    response = requests.post(base + PV, json=body, timeout=30,
                             headers={"Authorization": f"Bearer {sandbox_token(base + PV)}"})
    assert response.status_code == 200, response.text
    return {card["source"]["topic"]["code"]: card for card in response.json()["cards"]}


def test_the_walk_through_runs_to_a_saved_score_and_the_card_that_follows(page, clean_fhir_server, tmp_path):
    fhir = clean_fhir_server
    # Step 2: the example patient, loaded as the page's command loads it.
    load = next(line for line in PAGE.splitlines() if line.startswith("python3 examples/sandbox-patient.py | curl"))
    assert load.endswith(f"--data-binary @- {SHIPPED_FHIR}")
    printed = subprocess.run([sys.executable, "examples/sandbox-patient.py"], cwd=REPO, check=True,
                             capture_output=True).stdout
    loaded = requests.post(fhir.base_url, data=printed, timeout=30,
                           headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"})
    assert loaded.status_code == 200, loaded.text
    patient_id = re.search(r"patientId=([\w-]+)", PAGE).group(1)

    # Step 3: the service, served from the shipped config.
    shipped = CONFIG.read_text()
    assert f'"{SHIPPED_FHIR}"' in shipped and SHIPPED_JWKS in shipped and shipped.count(SHIPPED_PORT) == 3
    port = free_port()  # 8081 may be taken on a shared machine: the copy's port, and its own URLs, move
    config = tmp_path / "sandbox.toml"
    config.write_text(shipped.replace(f'"{SHIPPED_FHIR}"', f'"{fhir.base_url}"').replace(
        SHIPPED_JWKS, f'jwks_file = "{REPO / "tests" / "fixtures" / "sandbox-jwks.json"}"').replace(
        SHIPPED_PORT, str(port)))
    assert "```sh .venv/bin/withdrawal-cds serve --config examples/sandbox.toml ```" in step("3.")
    server = Serving(["--config", str(config), "--workers", "1"], {"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data")},
                     tmp_path, port)
    try:
        server.wait_ready()
        base = server.base_url

        # Step 5: the assessment card, its links labelled as the page says.
        cards = sandbox_call(base, fhir.base_url, patient_id)
        card = cards["withdrawal-assessment"]
        labels = [link["label"] for link in card["links"]]
        assert labels[:2] == ["Score COWS now", "Score COWS now (open FHIR server, no sign-in)"]
        summary, *said = quoted(step("5."))
        assert summary == card["summary"] and {"Score COWS now", "COWS reference (PDF)"} <= set(said)
        assert "COWS reference (PDF)" in labels

        # Step 6: follow the link the page names, score the second answer of each item, save.
        link_label, launch, patient_name, total, saved = quoted(step("6."))
        (link,) = [link for link in card["links"] if link["label"] == link_label]
        page.goto(link["url"])
        page.locator("#cows").wait_for(state="visible", timeout=15000)
        assert page.locator("#launch").inner_text().startswith(launch)
        assert page.locator("#patient-name").inner_text() == patient_name
        for index, (name, anchors) in enumerate(SCALE):
            value, text = anchors[1]
            page.get_by_role("group", name=f"{index + 1}. {name}", exact=True).get_by_role(
                "radio", name=f"{value} {text}", exact=True).check()
        assert page.locator("#total").inner_text() == total
        page.get_by_role("button", name="Save").click()
        page.locator("#result").wait_for()
        assert page.locator("#result").inner_text().startswith(saved)
        (observation,) = saved_cows(fhir, patient_id)
        assert observation["valueInteger"] == sum(anchors[1][0] for _, anchors in SCALE)

        # Step 7: the card that follows the score.
        after = sandbox_call(base, fhir.base_url, patient_id)
        assert "withdrawal-assessment" not in after
        (severity,) = quoted(step("7."))
        assert list(after)[0] == "withdrawal-severity" and after["withdrawal-severity"]["summary"] == severity
    finally:
        server.stop()
    assert page.problems == [], page.problems
