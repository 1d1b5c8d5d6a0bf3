"""The COWS form in a real browser (tests/apps/browser.py): from the card, through a launch, to a
saved Observation on a real FHIR server, and back to cards that reflect it."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.apps.cows_chart import (
    COWS_CODE,
    COWS_SYSTEM,
    FAMILY,
    GIVEN,
    PATIENT_ID,
    SCALE,
    TOPIC_AFTER_SEVERE_SCORE,
    age,
    patient_view,
    record,
    saved_cows,
)
from tests.apps.smart_ehr import SmartEhr

# docs/sandbox.md's picture is rewritten only when asked (UPDATE_PICTURES=1), so a test run leaves
# the checkout clean; otherwise the screenshot goes to the test's temporary directory.
PICTURE = Path(__file__).resolve().parents[2] / "docs" / "cows-form.png"
ITEM_SYSTEM = "urn:withdrawal-cds:cows-item"
# One anchor value per item, in form order: 14, moderate.
MODERATE = [2, 1, 1, 1, 2, 1, 2, 1, 1, 2, 0]
# 9, mild.
MILD = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]


def group(page, index: int):
    name = SCALE[index][0]
    return page.get_by_role("group", name=f"{index + 1}. {name}", exact=True)


def choose(page, values: list[int]) -> None:
    for index, value in enumerate(values):
        text = dict(SCALE[index][1])[value]
        group(page, index).get_by_role("radio", name=f"{value} {text}", exact=True).check()


def total_text(page) -> str:
    return page.locator("#total").inner_text()


def open_form(page, url: str) -> None:
    page.goto(url)
    page.locator("#cows").wait_for(state="visible", timeout=15000)


def fhir_posts(server) -> list:
    return [r for r in server.requests_seen if r.method == "POST" and r.rel_path == "Observation"]


@pytest.fixture
def open_launch(page, live_service, clean_fhir_server):
    """The service in open mode, a FHIR server holding the patient, and the card's open-launch link."""
    clean_fhir_server.load(record())
    service = live_service()
    card = patient_view(service, clean_fhir_server.base_url)["withdrawal-assessment"]
    return service, clean_fhir_server, card


def test_open_launch_from_the_card_scores_saves_once_and_settles_the_card(page, open_launch):
    service, fhir, card = open_launch
    before = patient_view(service, fhir.base_url)
    assert TOPIC_AFTER_SEVERE_SCORE not in before

    smart, absolute = card["links"][:2]
    assert smart["type"] == "smart" and smart["url"] == f"{service}/apps/cows/launch.html"
    assert json.loads(smart["appContext"]) == {"card": card["uuid"], "topic": "withdrawal-assessment"}
    assert absolute["type"] == "absolute" and "appContext" not in absolute
    assert parse_qs(urlsplit(absolute["url"]).query) == {"iss": [fhir.base_url], "patient": [PATIENT_ID]}

    open_form(page, absolute["url"])
    assert page.locator("#launch").inner_text().startswith("Open launch: no sign-in.")
    assert page.locator("#patient-name").inner_text() == f"{GIVEN} {FAMILY}"
    assert f"{age()} years" in page.locator("#patient-details").inner_text()

    assert total_text(page) == "Total 0 of 48: below the mild band (under 5). 0 of 11 items scored."
    choose(page, MODERATE[:3])
    assert total_text(page) == "Total 4 of 48: below the mild band (under 5). 3 of 11 items scored."
    # Save before every item is scored: it says which are left, goes to the first, writes nothing.
    page.get_by_role("button", name="Save").click()
    unscored = ", ".join(name for name, _ in SCALE[3:])
    assert page.get_by_role("alert").inner_text() == f"Score every item before saving: {unscored} are not scored yet."
    assert page.evaluate("() => document.activeElement.name") == "pupil-size"
    choose(page, MODERATE)
    assert page.get_by_role("alert").count() == 0  # scoring clears it
    assert total_text(page) == "Total 14 of 48: moderate withdrawal (13–24). All items scored."
    assert saved_cows(fhir) == [] and fhir_posts(fhir) == []  # scoring writes nothing

    # A failed write says why and keeps every entry.
    outcome = {"resourceType": "OperationOutcome",
               "issue": [{"severity": "error", "code": "transient", "diagnostics": "database unavailable"}]}
    page.route("**/fhir/Observation", lambda route: route.fulfill(
        status=503, content_type="application/fhir+json", body=json.dumps(outcome),
        headers={"Access-Control-Allow-Origin": "*"}))
    page.get_by_role("button", name="Save").click()
    problem = page.get_by_role("alert")
    problem.wait_for()
    assert re.search(r"Not saved: the FHIR server answered 503.*: database unavailable\. Your entries are kept",
                     problem.inner_text()), problem.inner_text()
    assert page.locator("input[type=radio]:checked").count() == 11
    assert "Total 14 of 48" in total_text(page)
    page.unroute("**/fhir/Observation")

    # A double click writes one Observation.
    page.get_by_role("button", name="Save").dblclick()
    page.locator("#result").wait_for()
    assert re.match(r"Saved: COWS 14 \(moderate\) as Observation/\S+ at ", page.locator("#result").inner_text())
    assert len(fhir_posts(fhir)) == 1, fhir_posts(fhir)
    page.get_by_role("button", name="Saved").click(force=True)  # aria-disabled: Playwright would wait
    assert len(fhir_posts(fhir)) == 1

    (saved,) = saved_cows(fhir)
    assert saved["status"] == "final"
    assert saved["category"][0]["coding"][0]["code"] == "survey"
    assert saved["code"]["coding"] == [{"system": COWS_SYSTEM, "code": COWS_CODE,
                                        "display": "Clinical Opiate Withdrawal Scale score"}]
    assert saved["code"]["text"] == "Clinical Opiate Withdrawal Scale (COWS) score"
    assert saved["valueInteger"] == 14
    assert saved["subject"] == {"reference": f"Patient/{PATIENT_ID}"}
    assert "performer" not in saved  # the open launch knows no user
    effective = datetime.fromisoformat(saved["effectiveDateTime"].replace("Z", "+00:00"))
    assert abs(datetime.now(timezone.utc) - effective) < timedelta(minutes=2)
    assert [(c["code"]["coding"][0]["system"], c["code"]["text"], c["valueInteger"]) for c in saved["component"]] == \
        [(ITEM_SYSTEM, name, value) for (name, _), value in zip(SCALE, MODERATE, strict=True)]
    assert len({c["code"]["coding"][0]["code"] for c in saved["component"]}) == 11

    after = patient_view(service, fhir.base_url)
    assert "withdrawal-assessment" not in after
    assert TOPIC_AFTER_SEVERE_SCORE in after
    assert len(page.problems) == 1 and "503" in page.problems[0], page.problems  # the failed save, no other


def test_ehr_launch_uses_pkce_and_writes_with_the_launch_token(page, live_service, fhir_server_factory, tmp_path):
    fhir = fhir_server_factory(token="ehr-access-token-7f3a")
    fhir.load(record())
    service = live_service()
    ehr = SmartEhr(fhir, client_id="withdrawal-cds-cows", redirect_uri=f"{service}/apps/cows/").start()
    try:
        cards = patient_view(service, ehr.fhir_base, token=fhir.token)
        links = cards["withdrawal-assessment"]["links"]
        smart = links[0]
        # The call carried a token: only the SMART link, no open launch.
        assert smart["type"] == "smart" and not any("patient=" in link["url"] for link in links)

        # The EHR launches the smart link with the card's appContext, as a clinician's click would.
        launch = ehr.launch(patient=PATIENT_ID, user="Practitioner/dr-1", app_context=smart["appContext"])
        open_form(page, f"{smart['url']}?launch={launch}&iss={quote(ehr.fhir_base, safe='')}")
        assert ehr.refused == []
        assert page.locator("#launch").inner_text() == \
            "EHR launch (SMART) as Practitioner/dr-1, opened from the withdrawal-assessment card."
        assert page.locator("#patient-name").inner_text() == f"{GIVEN} {FAMILY}"

        choose(page, MILD)
        assert total_text(page) == "Total 9 of 48: mild withdrawal (5–12). All items scored."
        # docs/sandbox.md's picture. This launch's page shows nothing that changes from run to run (the
        # open launch names the FHIR server, on a new port each time).
        screenshot = PICTURE if os.environ.get("UPDATE_PICTURES") == "1" else tmp_path / PICTURE.name
        page.screenshot(path=str(screenshot), full_page=True)
        assert screenshot.stat().st_size > 10_000
        page.get_by_role("button", name="Save").click()
        page.locator("#result").wait_for()

        (asked,) = ehr.authorizations
        assert asked["code_challenge_method"] == "S256"
        assert set(asked["scope"].split()) >= {"launch", "openid", "fhirUser", "patient/Patient.r",
                                               "patient/Observation.c"}
        (exchange,) = ehr.exchanges
        assert exchange["pkce_verified"] and 43 <= len(exchange["code_verifier"]) <= 128
        writes = [r for r in ehr.fhir_requests if r[:2] == ("POST", "/fhir/Observation")]
        assert writes == [("POST", "/fhir/Observation", f"Bearer {fhir.token}")]
        assert all(auth == f"Bearer {fhir.token}" for _, path, auth in ehr.fhir_requests if "well-known" not in path)

        (saved,) = saved_cows(fhir)
        assert saved["performer"] == [{"reference": "Practitioner/dr-1"}]
        assert saved["subject"] == {"reference": f"Patient/{PATIENT_ID}"} and saved["valueInteger"] == 9
        after = patient_view(service, ehr.fhir_base, token=fhir.token)
        assert "withdrawal-assessment" not in after and TOPIC_AFTER_SEVERE_SCORE not in after
    finally:
        ehr.stop()
    assert page.problems == [], page.problems


def test_the_form_works_from_the_keyboard_alone_and_every_control_is_labelled(page, open_launch):
    service, fhir, card = open_launch
    open_form(page, card["links"][1]["url"])

    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, button, select, textarea')]
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                        && !(el.tagName === 'BUTTON' && el.textContent.trim()))
        .map((el) => el.outerHTML)""")
    assert unlabelled == []
    assert page.get_by_role("group").count() == 11
    assert page.get_by_role("radio").count() == sum(len(anchors) for _, anchors in SCALE)
    described = page.evaluate("""() => [...document.querySelectorAll('[aria-describedby]')]
        .every((el) => el.getAttribute('aria-describedby').split(' ').every((id) => document.getElementById(id)))""")
    assert described

    # Tab into each item, arrow to the anchor (Space for the first), Tab on; then Save with Enter.
    for index, value in enumerate(MODERATE):
        page.keyboard.press("Tab")
        values = [v for v, _ in SCALE[index][1]]
        focused = page.evaluate("() => [document.activeElement.name, document.activeElement.value]")
        assert focused == [page.evaluate(f"() => document.querySelectorAll('fieldset')[{index}]"
                                         ".querySelector('input').name"), "0"]
        steps = values.index(value)
        page.keyboard.press("Space" if steps == 0 else "ArrowDown")
        for _ in range(steps - 1):
            page.keyboard.press("ArrowDown")
    assert total_text(page).startswith("Total 14 of 48: moderate")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "save"
    page.keyboard.press("Enter")
    page.locator("#result").wait_for()
    assert page.evaluate("() => document.activeElement.id") == "result"  # the outcome is read out
    (saved,) = saved_cows(fhir)
    assert [c["valueInteger"] for c in saved["component"]] == MODERATE


def test_every_item_offers_its_published_anchors_and_the_bands_change_at_their_edges(page, open_launch):
    service, fhir, card = open_launch
    open_form(page, card["links"][1]["url"])
    for index, (name, anchors) in enumerate(SCALE):
        radios = group(page, index).get_by_role("radio")
        assert radios.count() == len(anchors), name
        for value, text in anchors:
            radio = group(page, index).get_by_role("radio", name=f"{value} {text}", exact=True)
            assert radio.count() == 1, (name, text)

    expected = {4: "below the mild band (under 5)", 5: "mild withdrawal (5–12)", 12: "mild withdrawal (5–12)",
                13: "moderate withdrawal (13–24)", 24: "moderate withdrawal (13–24)",
                25: "moderately severe withdrawal (25–36)", 36: "moderately severe withdrawal (25–36)",
                37: "severe withdrawal (more than 36)", 48: "severe withdrawal (more than 36)"}
    for target, words in expected.items():
        choose(page, _reaching(target))
        assert total_text(page) == f"Total {target} of 48: {words}. All items scored."

    # The scoring module on its own, at every total.
    bands = page.evaluate("""async () => {
        const scoring = await import('./scoring.js');
        return Array.from({length: 49}, (_, t) => (scoring.band(t) || {name: null}).name);
    }""")
    assert bands == [None] * 5 + ["mild"] * 8 + ["moderate"] * 12 + ["moderately severe"] * 12 + ["severe"] * 12


def _reaching(target: int) -> list[int]:
    """An anchor per item adding up to `target`: the largest that fits, item by item."""
    values = []
    for _, anchors in SCALE:
        value = max(v for v, _ in anchors if v <= target)
        values.append(value)
        target -= value
    assert target == 0
    return values


def test_open_launch_is_refused_by_a_service_that_trusts_issuers(page, live_service, clean_fhir_server):
    jwks = Path(__file__).resolve().parents[1] / "fixtures" / "sandbox-jwks.json"
    clean_fhir_server.load(record())
    # The server is one the issuer lists: an untrusted one is refused sooner (test_trusted_launch.py).
    service = live_service(issuers=[{"iss": "https://ehr.example.org", "jwks_file": str(jwks),
                                     "fhir_servers": [clean_fhir_server.base_url]}],
                           cows_app={"client_id": "registered-at-the-ehr"},
                           server={"public_base_urls": ["https://cds.example.org"]})
    page.goto(f"{service}/apps/cows/launch.html?iss={quote(clean_fhir_server.base_url)}&patient={PATIENT_ID}")
    page.get_by_role("alert").wait_for()
    assert page.get_by_role("alert").inner_text().startswith("Open launch is turned off on this service.")
    assert page.locator("#cows").is_hidden()


@pytest.mark.parametrize("query, said", [
    ("iss={fhir}&patient=" + PATIENT_ID, "This FHIR server asks for authorization, so it is not an open server"),
    ("iss={fhir}&patient=..%2FObservation", "The patient parameter is not a FHIR resource id."),
    ("", "The COWS form could not start: this address is the SMART launch URL"),
], ids=["server-wants-a-token", "patient-not-an-id", "no-launch-parameters"])
def test_a_launch_that_cannot_work_says_why_and_shows_no_form(page, live_service, fhir_server_factory, query, said):
    fhir = fhir_server_factory(token="secret")
    fhir.load(record())
    service = live_service()
    page.goto(f"{service}/apps/cows/launch.html?{query.format(fhir=quote(fhir.base_url))}")
    page.get_by_role("alert").wait_for()
    assert page.get_by_role("alert").inner_text().startswith(said)
    assert page.locator("#cows").count() == 0 or page.locator("#cows").is_hidden()
    assert fhir_posts(fhir) == []
