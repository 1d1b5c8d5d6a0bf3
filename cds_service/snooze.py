"""Snoozes: how long a clinician's answer to a card hides its topic for the patient, and how the
cards and the committee's report say so. The one place to read for "why is this card gone?".

The lengths are `[snooze]` (config.SnoozeSettings):
- **accepted**: `accepted_hours` (24), because many EHRs save the accepted order only at signing
  and the CDS Hooks Sandbox never writes it, so the record cannot show it yet;
- **overridden without a reason** (a plain dismissal): `dismissed_days` (1);
- **overridden with a reason**: `by_reason[code]`, else `default_days` (7).

A snooze starts when we receive the feedback, not at its `outcomeTimestamp`: a client's clock can
neither stretch nor backdate it. The store keeps `snoozed_until` per feedback row and the hook
path drops a topic whose snooze is running (pipeline.answer_hook).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cds_service.config import SnoozeSettings

ACCEPTED, OVERRIDDEN = "accepted", "overridden"


def hidden_for(snooze: SnoozeSettings, outcome: str, reason_code: str | None) -> timedelta:
    """How long feedback of this outcome (and override reason) hides the card's topic."""
    if outcome != OVERRIDDEN:
        return timedelta(hours=snooze.accepted_hours)
    if reason_code:
        return timedelta(days=snooze.by_reason.get(reason_code, snooze.default_days))
    return timedelta(days=snooze.dismissed_days)


def snoozed_until(snooze: SnoozeSettings, outcome: str, reason_code: str | None,
                  received_at: datetime) -> datetime | None:
    """When the topic comes back, or None when this feedback hides nothing."""
    hidden = hidden_for(snooze, outcome, reason_code)
    return received_at + hidden if hidden else None


# --- what the cards say --------------------------------------------------------------------------

def days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def footer(snooze: SnoozeSettings) -> str:
    """The line a response says once, at the end of a card's detail (card_json places it)."""
    plain, reasoned = snooze.dismissed_days, snooze.default_days
    if plain == reasoned:
        return (f"Dismissed, this card is hidden for this patient for {days(plain)}." if plain
                else "Dismissing this card does not hide it.")
    if not plain:
        return f"Dismissed with a reason, this card is hidden for this patient for {days(reasoned)}; without one, not."
    if not reasoned:
        return f"Dismissed without a reason, this card is hidden for this patient for {days(plain)}; with one, not."
    return f"Dismissed, this card is hidden for this patient for {days(plain)}; with a reason, for {days(reasoned)}."


def reason_display(display: str, code: str, snooze: SnoozeSettings) -> str:
    """An override reason's display, naming its own length when it is not the usual one."""
    hidden = snooze.by_reason.get(code)
    if hidden is None or hidden == snooze.default_days:
        return display
    return f"{display} (hidden {days(hidden)})" if hidden else f"{display} (not hidden)"


# --- what the committee's report says ------------------------------------------------------------

def policy(snooze: SnoozeSettings) -> str:
    """The lengths in force, in one sentence, for the report beside the cards snoozes held back."""
    parts = [f"accepted, {_length(hidden_for(snooze, ACCEPTED, None))}",
             f"dismissed without a reason, {_length(hidden_for(snooze, OVERRIDDEN, None))}",
             f"with a reason, {_length(timedelta(days=snooze.default_days))}"]
    parts += [f"with the reason {code}, {_length(timedelta(days=hidden))}"
              for code, hidden in sorted(snooze.by_reason.items())]
    return "Snoozes in force: " + "; ".join(parts) + "."


def _length(hidden: timedelta) -> str:
    if not hidden:
        return "not hidden"
    if hidden % timedelta(days=1):
        return f"{hidden // timedelta(hours=1)} hours"
    return days(hidden.days)
