"""The committee's report and the retention purge, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

import cards
from cds_service.store.models import feedback, issued_card, seen_jti
from cds_service.store.report import format_report, parse_since, purge, report
from tests.store.cardlog import T0, accept, feedback_row, issue, override, ref, snoozed


def _by_topic(rows):
    return {row["topic"]: row for row in rows}


def test_report_counts_a_card_under_each_outcome_it_received(store):
    moud = issue(store, "moud-referral", "moud-referral", "moud-referral", "moud-referral", "moud-referral")
    (naloxone,) = issue(store, "naloxone")
    override(store, moud[0], reason="patient-declined")
    override(store, moud[1], reason="managed-elsewhere")
    override(store, moud[1], reason="managed-elsewhere")            # resent: stored once
    accept(store, moud[2])
    override(store, moud[2], at=T0 + timedelta(minutes=5))           # accepted, then overridden: both
    override(store, moud[3], reason="patient-declined")
    override(store, moud[3], reason="not-indicated", at=T0 + timedelta(minutes=5))  # its latest reason counts
    accept(store, naloxone)

    rows = _by_topic(report(store))
    assert rows["moud-referral"] == {
        "topic": "moud-referral", "issued": 5, "accepted": 1, "overridden": 4, "both": 1, "no_feedback": 1,
        "override_rate": 0.8,
        "overridden_by_reason": {"(none)": 1, "managed-elsewhere": 1, "not-indicated": 1, "patient-declined": 1}}
    assert rows["naloxone"]["accepted"] == 1 and rows["naloxone"]["both"] == 0
    assert rows["naloxone"]["override_rate"] == 0.0
    assert rows["counseling"]["issued"] == 0 and rows["counseling"]["override_rate"] is None
    assert [r["topic"] for r in report(store)][:len(cards.TOPICS)] == list(cards.TOPICS)


def test_report_since_counts_only_cards_issued_from_then(store):
    (old,) = issue(store, "counseling", at=T0 - timedelta(days=30))
    issue(store, "counseling", at=T0)
    override(store, old, received_at=T0)
    rows = _by_topic(report(store, since=T0))
    assert rows["counseling"]["issued"] == 1 and rows["counseling"]["overridden"] == 0


def test_format_report_is_an_aligned_table_with_a_total(store):
    moud = issue(store, "moud-referral", "moud-referral")
    override(store, moud[0], reason="patient-declined")
    accept(store, moud[0])
    text = format_report(report(store), since=T0)
    lines = text.splitlines()
    assert lines[0] == "Cards issued since 2025-03-01 12:00 UTC"
    header = lines[2]
    moud_line = next(line for line in lines if line.startswith("moud-referral"))
    total_line = next(line for line in lines if line.startswith("all "))
    # the output itself says how a card with both outcomes is counted
    assert lines[-1].startswith("A card both accepted and overridden counts in accepted, in overridden")
    assert moud_line.split()[:5] == ["moud-referral", "2", "1", "1", "1"]
    # numbers right-aligned under their headings
    assert moud_line.index("50.0%") + len("50.0%") == header.index("override rate") + len("override rate")
    assert "patient-declined 1" in moud_line
    assert total_line.split()[:5] == ["all", "2", "1", "1", "1"]


def test_parse_since():
    assert parse_since("2025-01-31") == datetime(2025, 1, 31, tzinfo=timezone.utc)
    assert parse_since("2025-01-31T10:00:00+02:00") == datetime(2025, 1, 31, 8, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        parse_since("2025-01-31T10:00:00")
    with pytest.raises(ValueError):
        parse_since("last week")


def test_purge_removes_old_records_but_not_a_running_snooze(store):
    now = T0 + timedelta(days=400)
    old_moud, old_naloxone, old_counseling = issue(store, "moud-referral", "naloxone", "counseling", at=T0)
    (recent,) = issue(store, "moud-referral", at=now - timedelta(days=1))
    override(store, old_moud, days=7, received_at=T0)                               # snooze long over
    override(store, old_naloxone, days=3650, received_at=T0)                        # still snoozed
    accept(store, old_counseling, received_at=T0)
    override(store, recent, received_at=now - timedelta(days=1))
    store.remember_jti("iss", "expired", now - timedelta(seconds=1), now - timedelta(minutes=1))
    store.remember_jti("iss", "live", now + timedelta(minutes=5), now - timedelta(minutes=1))
    for at in (T0, now - timedelta(days=1)):
        store.counts.add(at=at, issuer=None, tenant=None, service_id="withdrawal-patient-view", hook="patient-view",
                         topics={}, snoozed=(), seconds=0.01)
    store.counts.flush()

    counts = purge(store, older_than_days=365, now=now)

    # Each hour's counts are two rows (the call, its latency bucket).
    assert counts == {"cards": 3, "feedback": 2, "counts": 2, "jti": 1}
    with store.engine.connect() as conn:
        assert conn.execute(select(issued_card.c.card_uuid)).scalars().all() == [recent["uuid"]]
        assert set(conn.execute(select(feedback.c.card_uuid)).scalars()) == {old_naloxone["uuid"], recent["uuid"]}
        assert conn.execute(select(func.count()).select_from(seen_jti)).scalar() == 1
    assert snoozed(store, ref(store, "pat-1"), now) == {"naloxone", "moud-referral"}


def test_purge_refuses_a_zero_retention(store):
    with pytest.raises(ValueError):
        purge(store, older_than_days=0, now=T0)


def test_an_outcome_timestamp_in_the_future_does_not_make_it_the_latest_for_ever(store):
    """Before: an override stamped 9999-12-31 stayed the card's latest, and its reason the card's,
    whatever came after it."""
    (moud,) = issue(store, "moud-referral")
    far_future = datetime(9999, 12, 31, tzinfo=timezone.utc)
    store.record_feedback([feedback_row(store, moud, "overridden", reason="patient-declined", at=far_future)], T0)
    override(store, moud, reason="managed-elsewhere", at=T0 + timedelta(hours=1), received_at=T0 + timedelta(hours=1))
    assert _by_topic(report(store))["moud-referral"]["overridden_by_reason"] == {"managed-elsewhere": 1}


def test_the_report_prints_stored_reason_codes_escaped_and_short(store):
    """Rows from before revision 0003 may hold any code a client sent: a terminal escape, a name."""
    (naloxone,) = issue(store, "naloxone")
    hostile = "\x1b[2J\x1b]0;pwned\x07Jane Roe MRN 5550199 " + "x" * 200
    store.record_feedback([feedback_row(store, naloxone, "overridden", reason=hostile)], T0)
    text = format_report(report(store))
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[2J" in text
    line = next(line for line in text.splitlines() if line.startswith("naloxone"))
    assert len(line) < 200


def test_report_counts_only_the_cards_the_ehr_was_shown(store):
    from cds_service.switches import Plan
    shown = issue(store, "moud-referral", "naloxone", "counseling",
                  triage=Plan(silent=frozenset({"naloxone"}), max_cards=1).triage)
    assert [c["source"]["topic"]["code"] for c in shown] == ["moud-referral"]
    rows = _by_topic(report(store))
    assert (rows["moud-referral"]["issued"], rows["naloxone"]["issued"], rows["counseling"]["issued"]) == (1, 0, 0)
