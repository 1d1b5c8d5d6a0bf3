"""POST /cds-services/{id}/feedback through the real app, on SQLite and PostgreSQL:
validation with field paths, unknown cards, deduplication, and snoozes seen by the next hook call."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
import pytest
from sqlalchemy import select

from cds_service import create_app
from cds_service.config import load_settings
from cds_service.runtime import EXTENSION
from cds_service.store import Store
from cds_service.store.models import feedback
from tests.calls import PATIENT_VIEW, REASON_SYSTEM, accepted, overridden, patient_view, topics
from tests.store.cardlog import ref, snoozed
from tests.store.databases import TEST_KEY

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
FEEDBACK = f"/cds-services/{PATIENT_VIEW}/feedback"


def make_app(database_url, tmp_path, **overrides):
    environ = {"WITHDRAWAL_CDS_DATABASE_URL": database_url, "WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data"),
               "WITHDRAWAL_CDS_PATIENT_KEY": TEST_KEY.decode()}
    return create_app(load_settings(environ=environ, overrides=overrides))


@pytest.fixture(autouse=True)
def _sqlite_at_head(database_url, at_head):
    # Every test here takes database_url; a SQLite one starts as a copy of the session's migrated
    # store (tests/conftest.py), a PostgreSQL schema is migrated by the app.
    at_head(database_url)


@pytest.fixture
def app(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    yield app
    app.extensions[EXTENSION].store.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(app) -> Store:
    return app.extensions[EXTENSION].store


def issue_cards(client, patient_id="pat-1") -> dict[str, dict]:
    response = client.post(f"/cds-services/{PATIENT_VIEW}", json=patient_view(patient_id))
    assert response.status_code == 200, response.get_json()
    return topics(response.get_json())


def send(client, *items, path=FEEDBACK, **kwargs):
    return client.post(path, json={"feedback": list(items)}, **kwargs)


def stored_feedback(store) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(feedback).order_by(feedback.c.id)).mappings()]


# --- accepted and stored -------------------------------------------------------------------------

def test_feedback_is_stored_with_what_the_card_was_about(client, store):
    cards = issue_cards(client)
    response = send(client, accepted(cards["naloxone"]), overridden(cards["counseling"], "managed-elsewhere"))
    assert response.status_code == 200
    assert response.get_json() == {"stored": 2, "duplicates": 0}
    rows = stored_feedback(store)
    assert [(r["topic"], r["outcome"], r["reason_code"]) for r in rows] == [
        ("naloxone", "accepted", ""), ("counseling", "overridden", "managed-elsewhere")]
    assert rows[0]["accepted_suggestions"] == [cards["naloxone"]["suggestions"][0]["uuid"]]
    assert rows[0]["outcome_timestamp"] == datetime(2026, 1, 5, 10, 5, 31, tzinfo=timezone.utc)
    assert rows[1]["patient_ref"] == ref(store, "pat-1")


def test_the_same_feedback_twice_is_stored_once(client, store):
    cards = issue_cards(client)
    item = overridden(cards["moud-referral"], "patient-declined")
    assert send(client, item).get_json() == {"stored": 1, "duplicates": 0}
    assert send(client, item, item).get_json() == {"stored": 0, "duplicates": 2}
    assert len(stored_feedback(store)) == 1


def test_a_200_means_the_feedback_is_committed(client, app):
    cards = issue_cards(client)
    assert send(client, overridden(cards["naloxone"])).status_code == 200
    other_worker = Store.from_settings(app.extensions[EXTENSION].settings)
    try:
        assert stored_feedback(other_worker)[0]["card_uuid"] == cards["naloxone"]["uuid"]
    finally:
        other_worker.dispose()


def test_a_user_comment_is_accepted_but_never_stored(client, store):
    cards = issue_cards(client)
    item = overridden(cards["naloxone"], "not-clinically-appropriate")
    item["overrideReason"]["userComment"] = "Jane Roe said her brother has one"
    item["overrideReason"]["reason"]["display"] = "Not clinically appropriate"
    assert send(client, item).status_code == 200
    assert "Jane Roe" not in repr(stored_feedback(store))


# --- refused, with the field that is wrong -------------------------------------------------------

@pytest.mark.parametrize("change, path", [
    (lambda i: i.pop("outcome"), "feedback.0.outcome"),
    (lambda i: i.update(outcome="dismissed"), "feedback.0.outcome"),
    (lambda i: i.pop("acceptedSuggestions"), "feedback.0.acceptedSuggestions"),
    (lambda i: i.update(acceptedSuggestions=[]), "feedback.0.acceptedSuggestions"),
    (lambda i: i.update(acceptedSuggestions=[{}]), "feedback.0.acceptedSuggestions.0.id"),
    (lambda i: i.pop("outcomeTimestamp"), "feedback.0.outcomeTimestamp"),
    (lambda i: i.update(outcomeTimestamp="2026-01-05T10:05:31"), "feedback.0.outcomeTimestamp"),
    (lambda i: i.update(outcomeTimestamp="2026-01-05"), "feedback.0.outcomeTimestamp"),
    (lambda i: i.update(outcomeTimestamp="2026-02-30T10:05:31Z"), "feedback.0.outcomeTimestamp"),
    (lambda i: i.pop("card"), "feedback.0.card"),
    (lambda i: i.update(overrideReason={"reason": {"system": "urn:x", "code": "y"}}), "feedback.0.overrideReason"),
])
def test_malformed_feedback_is_a_400_naming_the_field(client, store, change, path):
    cards = issue_cards(client)
    item = accepted(cards["naloxone"])
    change(item)
    response = send(client, item)
    assert response.status_code == 400
    assert path in response.get_json()["fields"], response.get_json()
    assert stored_feedback(store) == []


@pytest.mark.parametrize("reason, path", [
    ({"code": "patient-declined"}, "feedback.0.overrideReason.reason.system"),
    ({"system": "urn:withdrawal-cds:override-reason"}, "feedback.0.overrideReason.reason.code"),
])
def test_an_override_reason_must_be_a_coding(client, reason, path):
    item = overridden(issue_cards(client)["naloxone"])
    item["overrideReason"] = {"reason": reason}
    response = send(client, item)
    assert response.status_code == 400 and path in response.get_json()["fields"]


def test_an_override_may_not_claim_accepted_suggestions(client):
    cards = issue_cards(client)
    item = overridden(cards["naloxone"])
    item["acceptedSuggestions"] = accepted(cards["naloxone"])["acceptedSuggestions"]
    response = send(client, item)
    assert response.status_code == 400 and "feedback.0.acceptedSuggestions" in response.get_json()["fields"]


@pytest.mark.parametrize("body, path", [
    ({}, "feedback"), ({"feedback": []}, "feedback"), ({"feedback": {"card": "x"}}, "feedback"),
])
def test_a_body_without_a_feedback_list_is_a_400(client, body, path):
    response = client.post(FEEDBACK, json=body)
    assert response.status_code == 400 and path in response.get_json()["fields"]


def test_a_body_that_is_not_an_object_is_a_400(client):
    assert client.post(FEEDBACK, json=[1]).status_code == 400
    assert client.post(FEEDBACK, data="{", content_type="application/json").status_code == 400


def test_feedback_for_an_unknown_card_is_refused_and_nothing_in_the_batch_is_stored(client, store):
    cards = issue_cards(client)
    unknown = dict(overridden(cards["naloxone"]), card=str(uuid.uuid4()))
    response = send(client, overridden(cards["counseling"]), unknown)
    assert response.status_code == 400
    assert response.get_json()["fields"] == {"feedback.1.card": ["no card with this uuid was issued by this service"]}
    assert stored_feedback(store) == []


def test_an_accepted_suggestion_must_belong_to_that_card(client, store):
    cards = issue_cards(client)
    item = accepted(cards["naloxone"])
    item["acceptedSuggestions"].append({"id": cards["counseling"]["suggestions"][0]["uuid"]})
    response = send(client, item)
    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == ["feedback.0.acceptedSuggestions.1.id"]
    assert stored_feedback(store) == []


def test_a_card_of_another_service_is_unknown_to_this_one(client):
    cards = issue_cards(client)
    response = send(client, overridden(cards["naloxone"]), path="/cds-services/withdrawal-order-sign/feedback")
    assert response.status_code == 400 and "feedback.0.card" in response.get_json()["fields"]


def test_feedback_to_an_unknown_service_is_a_404(client):
    cards = issue_cards(client)
    assert send(client, overridden(cards["naloxone"]), path="/cds-services/nope/feedback").status_code == 404


# --- snoozes, seen by the next hook call ---------------------------------------------------------

def test_an_override_hides_that_topic_for_that_patient_for_the_reasons_snooze(client, store):
    cards = issue_cards(client)
    issue_cards(client, patient_id="pat-2")
    before = datetime.now(timezone.utc)
    assert send(client, overridden(cards["moud-referral"], "patient-declined")).status_code == 200
    after = datetime.now(timezone.utc)

    assert set(issue_cards(client)) == {"counseling", "naloxone", "depression-screen"}
    assert set(issue_cards(client, patient_id="pat-2")) == {"moud-referral", "counseling", "naloxone",
                                                            "depression-screen"}
    (until,) = [r["snoozed_until"] for r in stored_feedback(store)]
    assert before + timedelta(days=90) <= until <= after + timedelta(days=90)
    pat_1 = ref(store, "pat-1")
    assert snoozed(store, pat_1, after + timedelta(days=89)) == {"moud-referral"}
    assert snoozed(store, pat_1, after + timedelta(days=90)) == set()


@pytest.mark.parametrize("reason, days", [(None, 1), ("managed-elsewhere", 7), ("already-addressed", 30)])
def test_the_snooze_length_follows_the_reason_else_the_default(database_url, tmp_path, reason, days):
    """No reason is a plain dismissal (`dismissed_days`, 1); a reason gets its own or `default_days`."""
    app = make_app(database_url, tmp_path, snooze={"by_reason": {"already-addressed": 30}})
    store, client = app.extensions[EXTENSION].store, app.test_client()
    try:
        cards = issue_cards(client)
        received = datetime.now(timezone.utc)
        send(client, overridden(cards["naloxone"], reason))
        (until,) = [r["snoozed_until"] for r in stored_feedback(store)]
        assert abs(until - (received + timedelta(days=days))) < timedelta(seconds=30)
    finally:
        store.dispose()


@pytest.mark.parametrize("reason", [
    {"system": REASON_SYSTEM, "code": "urn-unknown-code"},
    {"system": "http://example.org/reasons", "code": "patient-declined"},
    {"system": REASON_SYSTEM, "code": "\x1b[2J\x1b[31mJane Roe MRN 5550199"},
])
def test_an_override_reason_must_be_one_the_card_offered(client, store, reason):
    """Before, any Coding was stored, and the report printed its code as it came."""
    item = overridden(issue_cards(client)["naloxone"])
    item["overrideReason"] = {"reason": reason}
    response = send(client, item)
    assert response.status_code == 400
    (field,) = response.get_json()["fields"]
    assert field.startswith("feedback.0.overrideReason.reason")  # the code itself, for control characters
    assert stored_feedback(store) == []


def test_every_reason_the_card_offered_is_taken(client, store):
    cards = issue_cards(client)
    offered = cards["naloxone"]["overrideReasons"]
    items = [dict(overridden(cards["naloxone"], when=f"2026-01-05T10:0{n}:00Z"),
                  overrideReason={"reason": {"system": r["system"], "code": r["code"]}})
             for n, r in enumerate(offered)]
    assert send(client, *items).get_json() == {"stored": len(offered), "duplicates": 0}


@pytest.mark.parametrize("field, change", [
    ("feedback.0.card", lambda item, card: item.update(card=card["uuid"] + "\x00")),
    ("feedback.0.card", lambda item, card: item.update(card="\x00")),
    ("feedback.0.acceptedSuggestions.0.id",
     lambda item, card: item.update(outcome="accepted", acceptedSuggestions=[{"id": "\x00" + card["uuid"][1:]}])),
    ("feedback.0.overrideReason.reason.code",
     lambda item, card: item.update(overrideReason={"reason": {"system": REASON_SYSTEM, "code": "patient\x00"}})),
    ("feedback.0.overrideReason.reason.system",
     lambda item, card: item.update(overrideReason={"reason": {"system": "urn:\x00", "code": "patient-declined"}})),
])
def test_a_nul_anywhere_in_feedback_is_a_400_not_a_store_outage(client, store, field, change):
    """PostgreSQL text cannot hold NUL: before, the lookup or the insert failed there, as a 503."""
    card = issue_cards(client)["naloxone"]
    item = overridden(card)
    change(item, card)
    response = send(client, item)
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["fields"]
    assert stored_feedback(store) == []


@pytest.mark.parametrize("field, change", [
    ("feedback.0.card", lambda item: item.update(card=item["card"] + "\n")),
    ("feedback.0.acceptedSuggestions.0.id",
     lambda item: item["acceptedSuggestions"][0].update(id=item["acceptedSuggestions"][0]["id"] + "\n")),
    ("feedback.0.outcomeTimestamp", lambda item: item.update(outcomeTimestamp=item["outcomeTimestamp"] + "\n")),
])
def test_a_trailing_newline_is_not_part_of_a_valid_value(client, store, field, change):
    """A `$`-anchored pattern matches before a final newline; these are matched to the end."""
    item = accepted(issue_cards(client)["naloxone"])
    change(item)
    response = send(client, item)
    assert response.status_code == 400 and field in response.get_json()["fields"]


def test_the_snooze_runs_from_receipt_whatever_the_client_clock_says(client, store):
    cards = issue_cards(client)
    received = datetime.now(timezone.utc)
    send(client, overridden(cards["naloxone"], when="2031-01-01T00:00:00Z"),
         overridden(cards["counseling"], when="2001-01-01T00:00:00Z"))
    for row in stored_feedback(store):  # dismissed without a reason: one day
        assert abs(row["snoozed_until"] - (received + timedelta(days=1))) < timedelta(seconds=30)
    assert set(issue_cards(client)) == {"moud-referral", "depression-screen"}


def test_an_acceptance_rests_the_topic_for_a_day_because_the_order_may_not_be_saved_yet(client, store):
    """The Sandbox never writes an accepted suggestion, and many EHRs save it only at signing:
    without this the accepted card came straight back at the next hook."""
    cards = issue_cards(client)
    received = datetime.now(timezone.utc)
    assert send(client, accepted(cards["naloxone"])).status_code == 200
    assert "naloxone" not in issue_cards(client)
    (until,) = [r["snoozed_until"] for r in stored_feedback(store)]
    assert abs(until - (received + timedelta(hours=24))) < timedelta(seconds=30)
    pat_1 = ref(store, "pat-1")
    assert snoozed(store, pat_1, received + timedelta(hours=23)) == {"naloxone"}
    assert snoozed(store, pat_1, received + timedelta(hours=24, seconds=30)) == set()


def test_with_accepted_hours_0_an_acceptance_hides_nothing(database_url, tmp_path):
    app = make_app(database_url, tmp_path, snooze={"accepted_hours": 0})
    store, client = app.extensions[EXTENSION].store, app.test_client()
    try:
        send(client, accepted(issue_cards(client)["naloxone"]))
        assert "naloxone" in issue_cards(client)
        assert stored_feedback(store)[0]["snoozed_until"] is None
    finally:
        store.dispose()


def issue_card_list(client, patient_id="pat-1") -> list[dict]:
    response = client.post(f"/cds-services/{PATIENT_VIEW}", json=patient_view(patient_id))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["cards"]


def test_the_response_says_once_how_long_dismissing_hides_a_card_and_each_reason_its_own_length(client):
    """Design 4.2 v3: nothing is said twice in one response; the line is on the first card."""
    line = "Dismissed, this card is hidden for this patient for 1 day; with a reason, for 7 days."
    listed = issue_card_list(client)
    assert len(listed) >= 2
    assert [card["detail"].endswith(line) for card in listed] == [True] + [False] * (len(listed) - 1)
    assert all(line not in card["detail"] for card in listed[1:])
    assert all(len(card["detail"]) < 600 for card in listed)
    cards = issue_cards(client)
    displays = {r["code"]: r["display"] for r in cards["moud-referral"]["overrideReasons"]}
    # The CDC IG snoozes both of these for 3 months; the rest take default_days.
    quarter = {"patient-declined", "on-moud-elsewhere"}
    assert all(displays[code].endswith("(hidden 90 days)") for code in quarter)
    assert all("hidden" not in d for code, d in displays.items() if code not in quarter)
    naloxone = {r["code"]: r["display"] for r in cards["naloxone"]["overrideReasons"]}
    assert naloxone["has-naloxone"] == ("Patient already has naloxone (over the counter or a community program) "
                                        "(hidden 365 days)")


def test_a_patient_who_already_has_naloxone_is_not_offered_it_for_a_year(client, store):
    cards = issue_cards(client)
    received = datetime.now(timezone.utc)
    assert send(client, overridden(cards["naloxone"], "has-naloxone")).status_code == 200
    (until,) = [r["snoozed_until"] for r in stored_feedback(store)]
    assert abs(until - (received + timedelta(days=365))) < timedelta(seconds=30)
    assert "naloxone" not in issue_cards(client)


def test_the_line_follows_the_sites_snooze_settings(database_url, tmp_path):
    app = make_app(database_url, tmp_path, snooze={"dismissed_days": 0, "default_days": 14,
                                                   "by_reason": {"patient-declined": 14}})
    try:
        listed = issue_card_list(app.test_client())
        assert listed[0]["detail"].endswith("Dismissed with a reason, this card is hidden for this patient "
                                            "for 14 days; without one, not.")
        cards = topics({"cards": listed})
        assert all("hidden" not in r["display"] for r in cards["moud-referral"]["overrideReasons"])
    finally:
        app.extensions[EXTENSION].store.dispose()


# --- who may send feedback -----------------------------------------------------------------------

def _sandbox_token(audience: str) -> str:
    now = int(time.time())
    claims = {"iss": SANDBOX_ISS, "aud": audience, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    key = (FIXTURES / "sandbox-ecprivkey.pem").read_bytes()
    return jwt.encode(claims, key, algorithm="ES384", headers={"kid": SANDBOX_KID, "typ": "JWT"})


def test_feedback_needs_the_callers_jwt_and_a_token_is_good_once(database_url, tmp_path):
    app = make_app(database_url, tmp_path, server={"public_base_urls": ["http://localhost"]},
                   issuers=[{"iss": SANDBOX_ISS, "jwks_file": str(FIXTURES / "sandbox-jwks.json")}])
    store, client = app.extensions[EXTENSION].store, app.test_client()
    try:
        hook = client.post(f"/cds-services/{PATIENT_VIEW}", json=patient_view(),
                           headers={"Authorization": f"Bearer {_sandbox_token(f'http://localhost/cds-services/{PATIENT_VIEW}')}"})
        assert hook.status_code == 200, hook.get_json()
        item = overridden(topics(hook.get_json())["naloxone"])
        assert send(client, item).status_code == 401
        token = _sandbox_token(f"http://localhost{FEEDBACK}")
        assert send(client, item, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert send(client, item, headers={"Authorization": f"Bearer {token}"}).status_code == 401  # replayed jti
        assert len(stored_feedback(store)) == 1
    finally:
        store.dispose()
