"""The committee report (design section 10) from a store filled with known calls, cards and feedback,
on SQLite and PostgreSQL: every figure, the "<5" rule, the CSV files, and the HTML in Chromium."""

from __future__ import annotations

import csv
import html
import os
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from cds_service.auth.tokens import Principal
from cds_service.cli import main
from cds_service.committee import small
from cds_service.committee.figures import Scope, gather
from cds_service.committee.html import write_html
from cds_service.committee.tables import (
    cards_by_hook,
    cards_per_week,
    held_back,
    latency,
    outcomes,
    override_reasons,
    top_reasons,
)
from tests.store.cardlog import accept, issue, override, ref

EHR = "https://ehr.example.org"
OTHER = "https://other.example.org"
SITE = Principal(iss=EHR).source(None)
OTHER_SITE = Principal(iss=OTHER).source(None)
WEEK1 = datetime(2025, 3, 3, 9, 30, tzinfo=timezone.utc)    # a Monday
WEEK2 = datetime(2025, 3, 12, 14, 0, tzinfo=timezone.utc)
AFTER = datetime(2025, 3, 17, 8, 0, tzinfo=timezone.utc)    # the Monday after the period
SCOPE = Scope(date(2025, 3, 3), date(2025, 3, 16), EHR)
PICTURE = Path(__file__).resolve().parents[2] / "docs" / "committee-report.png"


def _calls(store, n, at, hook="patient-view", issuer=EHR, seconds=0.004, **by_status):
    """n calls; by_status: status -> {topic: how many of the n calls carried that card}."""
    for i in range(n):
        topics = {status: [topic for topic, k in cards.items() if i < k] for status, cards in by_status.items()
                  if status != "snoozed"}
        snoozed = [topic for topic, k in by_status.get("snoozed", {}).items() if i < k]
        store.counts.add(at=at, issuer=issuer, tenant=None, service_id=f"withdrawal-{hook}", hook=hook,
                         topics=topics, snoozed=snoozed, seconds=seconds)


@pytest.fixture
def filled(store):
    # The site's calls. Week 1: 200 chart opens (190 fast, 10 slow) and 50 order signs; week 2: 100.
    _calls(store, 190, WEEK1, shown={"naloxone": 20, "moud-referral": 3}, silent={"counseling": 10})
    _calls(store, 10, WEEK1, seconds=0.12)
    _calls(store, 50, WEEK1, hook="order-sign", seconds=0.03, shown={"buprenorphine-start": 5})
    _calls(store, 100, WEEK2, seconds=0.012, shown={"naloxone": 10}, silent={"counseling": 6},
           capped={"depression-screen": 7}, snoozed={"naloxone": 8})
    # Not in the report: another site, and the site after the period.
    _calls(store, 1000, WEEK1, issuer=OTHER, shown={"naloxone": 500})
    _calls(store, 7, AFTER, shown={"naloxone": 7})
    store.counts.flush()

    # The card log: 30 naloxone cards (12 accepted, 6 overridden with a reason, 5 dismissed, 7 without
    # feedback), 3 moud-referral (accepted), 5 buprenorphine-start (1 accepted then overridden).
    naloxone = issue(store, *["naloxone"] * 20, at=WEEK1, source=SITE) + issue(store, *["naloxone"] * 10,
                                                                               at=WEEK2, source=SITE)
    for card in naloxone[:12]:
        accept(store, card, received_at=WEEK2)
    for card, reason in zip(naloxone[12:18], ["patient-declined"] * 4 + ["not-indicated"] * 2, strict=True):
        override(store, card, reason=reason, at=WEEK2, received_at=WEEK2)
    for card in naloxone[18:23]:
        override(store, card, at=WEEK2, received_at=WEEK2)
    for card in issue(store, *["moud-referral"] * 3, at=WEEK1, source=SITE):
        accept(store, card, received_at=WEEK1)
    bup = issue(store, *["buprenorphine-start"] * 5, at=WEEK1, source=SITE, hook="order-sign")
    accept(store, bup[0], received_at=WEEK1)
    override(store, bup[0], reason="patient-declined", at=WEEK1 + timedelta(minutes=5),
             received_at=WEEK1 + timedelta(minutes=5))
    # Silent cards are logged but were never shown; another site's and a later card are out of scope.
    issue(store, "counseling", at=WEEK1, source=SITE, triage=lambda kept: {"silent": kept})
    for card in issue(store, *["naloxone"] * 10, at=WEEK1, source=OTHER_SITE):
        accept(store, card, received_at=WEEK1)
    issue(store, "naloxone", at=AFTER, source=SITE)
    return store


def test_every_figure_of_a_known_store(filled):
    figures = gather(filled, SCOPE)
    assert figures.calls_in() == 350

    assert cards_by_hook(figures).rows == [
        ["buprenorphine-start", "order-sign", "50", "5", "10.0", "0", "0.0"],
        ["moud-referral", "patient-view", "300", "<5", "-", "0", "0.0"],
        ["naloxone", "patient-view", "300", "30", "10.0", "0", "0.0"],
        ["counseling", "patient-view", "300", "0", "0.0", "16", "5.3"],
    ]
    assert cards_per_week(figures).header == ["week", "calls", "buprenorphine-start", "moud-referral", "naloxone"]
    assert cards_per_week(figures).rows == [["2025-03-03", "250", "2.0", "-", "8.0"],
                                            ["2025-03-10", "100", "0.0", "0.0", "10.0"]]
    assert outcomes(figures).rows == [
        ["buprenorphine-start", "5", "0", "<5", "0", "<5", "0%"],
        ["moud-referral", "<5", "<5", "0", "0", "0", "-"],
        ["naloxone", "30", "12", "6", "5", "7", "40%"],
    ]
    assert top_reasons(figures).rows == [["patient-declined", "5"], ["not-indicated", "<5"]]
    assert override_reasons(figures).rows == [["buprenorphine-start", "patient-declined", "<5"],
                                              ["naloxone", "patient-declined", "<5"],
                                              ["naloxone", "not-indicated", "<5"]]
    assert held_back(figures).rows == [["naloxone", "8", "0", "0"], ["counseling", "0", "16", "0"],
                                       ["depression-screen", "0", "0", "7"]]
    # patient-view: 190 calls within 5 ms, 100 within 15, 10 within 150; order-sign: 50 within 30.
    assert latency(figures).rows == [["patient-view", "300", "5", "15", "150"], ["order-sign", "50", "30", "30", "30"]]


def test_every_caller_when_no_site_is_named(filled):
    figures = gather(filled, Scope(SCOPE.first_day, SCOPE.last_day))
    assert figures.calls_in() == 1350
    assert figures.cards_in("naloxone", "shown") == 530
    assert figures.outcomes["naloxone"]["accepted"] == 22


def test_the_small_count_rule():
    assert [small.count(n) for n in (0, 1, 4, 5, 120)] == ["0", "<5", "<5", "5", "120"]
    assert small.rate(4, 100) == "-" and small.rate(5, 100) == "5.0" and small.rate(0, 100) == "0.0"
    assert small.rate(10, 4) == "-" and small.rate(3, 0) == "-"


def test_the_csv_files_say_what_the_html_says(filled, store_settings, tmp_path, monkeypatch):
    _point_cli_at(store_settings, monkeypatch)
    out = tmp_path / "csv"
    assert main(["report", "--csv", str(out), "--from", "2025-03-03", "--to", "2025-03-16", "--site", EHR]) == 0
    with open(out / "outcomes.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:2] == ["topic", "shown"]
    assert ["moud-referral", "<5", "<5", "0", "0", "0", "-"] in rows
    assert "<5" in (out / "README.txt").read_text()
    with open(out / "cards_by_week.csv", newline="") as f:
        weekly = list(csv.reader(f))
    assert ["2025-03-10", "patient-view", "counseling", "100", "0", "0.0", "6", "6.0"] in weekly


def test_the_report_states_the_snooze_lengths_of_the_config_it_was_run_with(filled, store_settings, tmp_path,
                                                                           monkeypatch):
    """Beside the cards snoozes held back, the lengths in force (cds_service/snooze.py), not a copy."""
    _point_cli_at(store_settings, monkeypatch)
    config = tmp_path / "site.toml"
    config.write_text('[snooze]\ndismissed_days = 3\n[snooze.by_reason]\npatient-declined = 30\n')
    report = tmp_path / "report.html"
    assert main(["report", "--html", str(report), "--config", str(config), "--from", "2025-03-03",
                 "--to", "2025-03-16"]) == 0
    text = html.unescape(report.read_text())
    assert "Snoozes in force: accepted, 1 day; dismissed without a reason, 3 days; with a reason, 7 days; " \
           "with the reason patient-declined, 30 days." in text


def test_the_html_opens_offline_in_chromium_with_every_chart_drawn(filled, store_settings, tmp_path, monkeypatch,
                                                                    page):
    _point_cli_at(store_settings, monkeypatch)
    report = tmp_path / "report.html"
    assert main(["report", "--html", str(report), "--from", "2025-03-03", "--to", "2025-03-16", "--site", EHR]) == 0
    text = report.read_text()
    # No script, nothing to load: the only URLs are the site's name and the SVG namespaces.
    assert "<script" not in text and "<link" not in text and "<img" not in text
    assert set(re.findall(r"https?://[^\s\"'<>]+", text.replace(EHR, ""))) <= {"http://www.w3.org/2000/svg",
                                                            "http://www.w3.org/1999/xlink"}
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(report.as_uri())
    assert page.problems == []
    assert requested == [report.as_uri()]   # nothing else is fetched
    charts = page.locator("figure svg")
    assert charts.count() == 3
    # Drawn: a series for each of the 3 topics shown and for counseling's silent cards; moud-referral's has
    # no line, since its first week (3 cards) is not drawn and one point makes none.
    line_chart = page.locator("figure").nth(0)
    assert line_chart.locator("path.line.reactive").count() == 3
    for n in range(3):
        box = charts.nth(n).bounding_box()
        assert box["width"] > 400 and box["height"] > 150
    # The outcome bars: the naloxone and buprenorphine-start bars that are 5 or more; the latency bars.
    # Bars drawn (an area on the page): naloxone's four outcomes (12, 6, 5, 7; the other topics' are 0 or
    # under 5); the latency buckets with calls (190, 100 and 10 chart opens, 50 order signs).
    drawn = "rects => rects.filter(r => r.getBBox().width * r.getBBox().height > 0).length"
    assert page.locator("figure").nth(1).locator("rect.rect.reactive").evaluate_all(drawn) == 4
    assert page.locator("figure").nth(2).locator("rect.rect.reactive").evaluate_all(drawn) == 4
    assert page.get_by_text("<5").count() > 0
    assert "CDS committee report: 2025-03-03 to 2025-03-16" in page.title()
    # Prints: a PDF on A4 and on Letter.
    assert page.pdf(format="A4")[:4] == b"%PDF" and page.pdf(format="Letter")[:4] == b"%PDF"
    screenshot = PICTURE if os.environ.get("UPDATE_PICTURES") == "1" else tmp_path / PICTURE.name
    page.set_viewport_size({"width": 1000, "height": 900})
    page.screenshot(path=str(screenshot), full_page=True)


def test_no_patient_reference_reaches_the_report(filled):
    html = write_html(gather(filled, SCOPE), datetime(2025, 3, 20, tzinfo=timezone.utc))
    assert ref(filled, "pat-1", SITE) not in html and "pat-1" not in html
    assert orjson.dumps(SITE).decode() not in html


def test_the_text_report_is_still_there(filled, store_settings, monkeypatch, capsys):
    _point_cli_at(store_settings, monkeypatch)
    assert main(["report"]) == 0
    assert "naloxone" in capsys.readouterr().out


def _point_cli_at(settings, monkeypatch):
    monkeypatch.delenv("WITHDRAWAL_CDS_CONFIG", raising=False)
    monkeypatch.setenv("WITHDRAWAL_CDS_DATABASE_URL", settings.store.database_url)
    monkeypatch.setenv("WITHDRAWAL_CDS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("WITHDRAWAL_CDS_PATIENT_KEY", settings.patient_key.decode())

