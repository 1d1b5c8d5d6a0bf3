"""Snoozes (cds_service/snooze.py): how long feedback hides a topic, and what the cards and the
report say about it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cds_service.config import SnoozeSettings
from cds_service.snooze import ACCEPTED, OVERRIDDEN, footer, hidden_for, policy, reason_display, snoozed_until

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("plain, reasoned, said", [
    (1, 7, "Dismissed, this card is hidden for this patient for 1 day; with a reason, for 7 days."),
    (2, 2, "Dismissed, this card is hidden for this patient for 2 days."),
    (0, 0, "Dismissing this card does not hide it."),
    (0, 7, "Dismissed with a reason, this card is hidden for this patient for 7 days; without one, not."),
    (3, 0, "Dismissed without a reason, this card is hidden for this patient for 3 days; with one, not."),
])
def test_the_line_says_what_the_settings_do(plain, reasoned, said):
    assert footer(SnoozeSettings(dismissed_days=plain, default_days=reasoned)) == said


def test_a_reason_names_its_length_only_when_it_is_not_the_usual_one():
    snooze = SnoozeSettings(default_days=7, by_reason={"patient-declined": 90, "same": 7, "never": 0})
    assert reason_display("Patient declined", "patient-declined", snooze) == "Patient declined (hidden 90 days)"
    assert reason_display("Same", "same", snooze) == "Same"
    assert reason_display("Never", "never", snooze) == "Never (not hidden)"
    assert reason_display("Other", "unlisted", snooze) == "Other"


@pytest.mark.parametrize("outcome, reason, hidden", [
    (ACCEPTED, None, timedelta(hours=24)),
    (OVERRIDDEN, None, timedelta(days=1)),
    (OVERRIDDEN, "", timedelta(days=1)),
    (OVERRIDDEN, "not-listed", timedelta(days=7)),
    (OVERRIDDEN, "patient-declined", timedelta(days=90)),
    (OVERRIDDEN, "has-naloxone", timedelta(days=365)),
])
def test_how_long_each_answer_hides_the_topic_by_default(outcome, reason, hidden):
    assert hidden_for(SnoozeSettings(), outcome, reason) == hidden
    assert snoozed_until(SnoozeSettings(), outcome, reason, T0) == T0 + hidden


def test_a_length_of_zero_hides_nothing():
    snooze = SnoozeSettings(accepted_hours=0, dismissed_days=0, by_reason={"never": 0})
    assert snoozed_until(snooze, ACCEPTED, None, T0) is None
    assert snoozed_until(snooze, OVERRIDDEN, None, T0) is None
    assert snoozed_until(snooze, OVERRIDDEN, "never", T0) is None


def test_the_report_states_the_lengths_in_force():
    said = policy(SnoozeSettings(accepted_hours=36, dismissed_days=0, default_days=7, by_reason={"declined": 90}))
    assert said == ("Snoozes in force: accepted, 36 hours; dismissed without a reason, not hidden; "
                    "with a reason, 7 days; with the reason declined, 90 days.")
    assert "accepted, 1 day;" in policy(SnoozeSettings())
