"""What a card tells the clinician about dismissing it: how long this service then hides it
for the patient (`[snooze]`, applied by cds_service/api/feedback.py). Said once, in the card's
last line, and beside each override reason whose length differs from the usual one."""

from __future__ import annotations

from cds_service.config import SnoozeSettings


def days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def footer(snooze: SnoozeSettings) -> str:
    """One line for the end of every card's detail (at most cards.inputs.MAX_FOOTER characters)."""
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
