"""The line every card ends with, and the override reasons' displays (cds_service/protocol/dismissal.py)."""

from __future__ import annotations

import pytest

from cards.inputs import MAX_FOOTER
from cds_service.config import SnoozeSettings
from cds_service.protocol.dismissal import footer, reason_display


@pytest.mark.parametrize("plain, reasoned, said", [
    (1, 7, "Dismissed, this card is hidden for this patient for 1 day; with a reason, for 7 days."),
    (2, 2, "Dismissed, this card is hidden for this patient for 2 days."),
    (0, 0, "Dismissing this card does not hide it."),
    (0, 7, "Dismissed with a reason, this card is hidden for this patient for 7 days; without one, not."),
    (3, 0, "Dismissed without a reason, this card is hidden for this patient for 3 days; with one, not."),
])
def test_the_line_says_what_the_settings_do(plain, reasoned, said):
    assert footer(SnoozeSettings(dismissed_days=plain, default_days=reasoned)) == said


def test_the_longest_line_fits_the_room_the_detail_budget_keeps():
    longest = max((footer(SnoozeSettings(dismissed_days=a, default_days=b)) for a in (0, 1, 3650)
                   for b in (0, 1, 3649)), key=len)
    assert len(longest) <= MAX_FOOTER


def test_a_reason_names_its_length_only_when_it_is_not_the_usual_one():
    snooze = SnoozeSettings(default_days=7, by_reason={"patient-declined": 90, "same": 7, "never": 0})
    assert reason_display("Patient declined", "patient-declined", snooze) == "Patient declined (hidden 90 days)"
    assert reason_display("Same", "same", snooze) == "Same"
    assert reason_display("Never", "never", snooze) == "Never (not hidden)"
    assert reason_display("Other", "unlisted", snooze) == "Other"
