"""Per-topic switches and the card cap (design section 10): the config's syntax, what stops the start,
which plan a caller gets, and what a call returns and logs. The real server: tests/store/test_served_switches.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

import cards
from cards.topic import Topic
from cds_service.cli import main
from cds_service.config import ConfigError, load_settings
from cds_service.runtime import EXTENSION
from cds_service.store.models import call_count, issued_card
from cds_service.switches import ALL_ON, CAPPED, SHOWN, SILENT, Plan, Switchboard
from tests.calls import PATIENT_VIEW, patient_view, topics
from tests.test_feedback import FIXTURES, SANDBOX_ISS, _sandbox_token

EHR = "https://ehr.example.org"
# What patient_view raises with every topic on, in the engine's order (warning first, then the registry's).
ALL_CARDS = ["moud-referral", "naloxone", "counseling", "depression-screen"]


def _load(tmp_path: Path, toml: str):
    path = tmp_path / "config.toml"
    path.write_text(toml)
    return load_settings(path, environ={"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data")})


# --- the syntax, and what stops the start ----------------------------------------------------------

def test_the_design_sections_example_loads(tmp_path):
    settings = _load(tmp_path, """
[topics]
max_cards = 5
naloxone = "silent"
counseling = { default = "on", order-sign = "off" }

[[sites]]
issuer = "https://ehr.example.org"
topics = { depression-screen = "off" }
""")
    board = Switchboard.from_settings(settings)
    assert board.plan(None, None, "order-sign") == Plan(skip=frozenset({"counseling"}), silent=frozenset({"naloxone"}),
                                                        max_cards=5)
    assert board.plan(None, None, "patient-view") == Plan(silent=frozenset({"naloxone"}), max_cards=5)
    assert board.plan(EHR, None, "patient-view") == Plan(skip=frozenset({"depression-screen"}),
                                                         silent=frozenset({"naloxone"}), max_cards=5)


@pytest.mark.parametrize("toml, named", [
    ('[topics]\nnaloxon = "silent"', "unknown topic 'naloxon'"),
    ('[topics]\ncounseling = { default = "on", order-sing = "off" }', "unknown hook 'order-sing'"),
    ('[topics]\nnaloxone = "quiet"', "unknown mode 'quiet'"),
    ('[topics]\ncounseling = { patient-view = "of" }', "unknown mode 'of'"),
    ('[topics]\nmax_cards = 0', "max_cards must be a whole number of at least 1"),
    ('[[sites]]\nissuer = "https://ehr.example.org"\ntopics = { suicide-risc = "off" }',
     "unknown topic 'suicide-risc'"),
])
def test_a_switch_naming_what_does_not_exist_stops_the_start_in_one_line(tmp_path, capsys, monkeypatch, toml, named):
    monkeypatch.delenv("WITHDRAWAL_CDS_CONFIG", raising=False)
    monkeypatch.setenv("WITHDRAWAL_CDS_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "config.toml").write_text(toml)
    assert main(["serve", "--config", str(tmp_path / "config.toml"), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("withdrawal-cds: ") and named in err, err


def test_the_known_topics_are_the_registrys(tmp_path):
    # Every registered topic can be switched; a new topic needs no edit of the switches.
    toml = "[topics]\n" + "\n".join(f'{code} = "off"' for code in cards.TOPICS)
    assert Switchboard.from_settings(_load(tmp_path, toml)).plan(None, None, "patient-view").skip == set(cards.TOPICS)


def test_a_site_must_be_one_of_the_trusted_issuers(tmp_path):
    with pytest.raises(ConfigError, match="sites: unknown issuer 'https://other.example.org'"):
        load_settings(environ={"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path)}, overrides={
            "server": {"public_base_urls": ["https://cds.example.org"]},
            "issuers": [{"iss": EHR, "jku": "https://ehr.example.org/jwks"}],
            "sites": [{"issuer": "https://other.example.org", "topics": {"naloxone": "off"}}]})


def test_a_sites_tenant_must_be_one_its_issuer_may_send(tmp_path):
    issuers = [{"iss": EHR, "jku": "https://ehr.example.org/jwks", "tenants": ["north", "south"]}]
    base = {"server": {"public_base_urls": ["https://cds.example.org"]}, "issuers": issuers}
    environ = {"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="sites: unknown tenant 'west' of https://ehr.example.org"):
        load_settings(environ=environ, overrides={**base, "sites": [{"issuer": EHR, "tenant": "west"}]})
    settings = load_settings(environ=environ, overrides={**base, "sites": [
        {"issuer": EHR, "tenant": "north", "topics": {"naloxone": "off"}}]})
    assert Switchboard.from_settings(settings).plan(EHR, "north", "patient-view").skip == {"naloxone"}


# --- which plan a caller gets ----------------------------------------------------------------------

def test_the_most_specific_layer_that_names_a_topic_decides():
    board = Switchboard(
        default={"naloxone": "silent", "counseling": {"default": "off", "order-sign": "on"}, "max_cards": 3},
        sites={(EHR, None): {"counseling": {"order-select": "silent"}, "max_cards": 2},
               (EHR, "north"): {"naloxone": "on", "counseling": "on"}})
    assert board.plan(None, None, "patient-view") == Plan(skip=frozenset({"counseling"}),
                                                          silent=frozenset({"naloxone"}), max_cards=3)
    assert board.plan(None, None, "order-sign") == Plan(silent=frozenset({"naloxone"}), max_cards=3)
    # The site says nothing of counseling at patient-view: the default's "off" holds there.
    assert board.plan(EHR, None, "patient-view") == Plan(skip=frozenset({"counseling"}),
                                                         silent=frozenset({"naloxone"}), max_cards=2)
    assert board.plan(EHR, None, "order-select") == Plan(silent=frozenset({"naloxone", "counseling"}), max_cards=2)
    # A tenant's entry before its issuer's; an unlisted tenant of that issuer gets the issuer's.
    assert board.plan(EHR, "north", "patient-view") == Plan(max_cards=2)
    assert board.plan(EHR, "south", "order-select") == board.plan(EHR, None, "order-select")
    # Another issuer: the default.
    assert board.plan("https://other.example.org", None, "order-sign") == board.plan(None, None, "order-sign")


def test_no_switches_is_everything_on():
    assert Switchboard().plan(EHR, None, "patient-view") is ALL_ON


def test_the_cap_keeps_the_first_in_the_engines_order_and_silent_cards_do_not_count():
    kept = [("withdrawal-severity", 1), ("naloxone", 2), ("counseling", 3), ("depression-screen", 4)]
    assert Plan(silent=frozenset({"naloxone"}), max_cards=2).triage(kept) == {
        SHOWN: [("withdrawal-severity", 1), ("counseling", 3)], SILENT: [("naloxone", 2)],
        CAPPED: [("depression-screen", 4)]}
    assert ALL_ON.triage(kept) == {SHOWN: kept, SILENT: [], CAPPED: []}


# --- a call ----------------------------------------------------------------------------------------

def _logged(app) -> list[tuple[str, str]]:
    with app.extensions[EXTENSION].store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(issued_card.c.topic, issued_card.c.status)
                                                   .order_by(issued_card.c.id))]


def test_with_every_topic_on_the_call_answers_as_before(make_app):
    app = make_app()
    answer = app.test_client().post(f"/cds-services/{PATIENT_VIEW}", json=patient_view())
    assert list(topics(answer.get_json())) == ALL_CARDS
    assert sorted(_logged(app)) == sorted((topic, SHOWN) for topic in ALL_CARDS)


def test_the_cap_returns_the_highest_ranked_and_logs_the_rest_as_capped(make_app):
    app = make_app(topics={"max_cards": 2})
    answer = app.test_client().post(f"/cds-services/{PATIENT_VIEW}", json=patient_view())
    assert list(topics(answer.get_json())) == ALL_CARDS[:2]
    assert sorted(_logged(app)) == sorted([(t, SHOWN) for t in ALL_CARDS[:2]] + [(t, CAPPED) for t in ALL_CARDS[2:]])


def test_an_off_topic_is_not_evaluated(make_app, monkeypatch):
    evaluated = []
    advise = Topic.advise

    def spy(self, *args, **kwargs):
        evaluated.append(self.code)
        return advise(self, *args, **kwargs)
    monkeypatch.setattr(Topic, "advise", spy)
    app = make_app(topics={"counseling": {"patient-view": "off"}, "naloxone": "off"})
    answer = app.test_client().post(f"/cds-services/{PATIENT_VIEW}", json=patient_view())
    assert list(topics(answer.get_json())) == ["moud-referral", "depression-screen"]
    assert evaluated == ["moud-referral", "depression-screen"]
    assert sorted(_logged(app)) == [("depression-screen", SHOWN), ("moud-referral", SHOWN)]


def test_feedback_cannot_name_a_silent_card(make_app):
    app = make_app(topics={"naloxone": "silent"})
    client = app.test_client()
    client.post(f"/cds-services/{PATIENT_VIEW}", json=patient_view())
    with app.extensions[EXTENSION].store.engine.connect() as conn:
        silent_uuid = conn.scalar(select(issued_card.c.card_uuid).where(issued_card.c.status == SILENT))
    answer = client.post(f"/cds-services/{PATIENT_VIEW}/feedback", json={"feedback": [
        {"card": silent_uuid, "outcome": "overridden", "outcomeTimestamp": "2026-01-05T10:05:31Z"}]})
    assert answer.status_code == 400
    assert "feedback.0.card" in answer.get_json()["fields"]


def test_a_sites_switches_apply_to_its_verified_calls_and_its_calls_are_counted_under_it(make_app):
    app = make_app(server={"public_base_urls": ["http://localhost"]},
                   issuers=[{"iss": SANDBOX_ISS, "jwks_file": str(FIXTURES / "sandbox-jwks.json")}],
                   topics={"naloxone": "silent"},
                   sites=[{"issuer": SANDBOX_ISS, "topics": {"depression-screen": "off"}}])
    token = _sandbox_token(f"http://localhost/cds-services/{PATIENT_VIEW}")
    answer = app.test_client().post(f"/cds-services/{PATIENT_VIEW}", json=patient_view(),
                                    headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.get_json()
    assert list(topics(answer.get_json())) == ["moud-referral", "counseling"]
    assert sorted(_logged(app)) == [("counseling", SHOWN), ("moud-referral", SHOWN), ("naloxone", SILENT)]
    counts = app.extensions[EXTENSION].store.counts
    counts.flush()
    with app.extensions[EXTENSION].store.engine.connect() as conn:
        rows = conn.execute(select(call_count.c.issuer, call_count.c.measure, call_count.c.key, call_count.c.count)
                            .where(call_count.c.measure != "latency")).all()
    assert sorted(rows) == [(SANDBOX_ISS, "calls", "", 1), (SANDBOX_ISS, SHOWN, "counseling", 1),
                            (SANDBOX_ISS, SHOWN, "moud-referral", 1), (SANDBOX_ISS, SILENT, "naloxone", 1)]
