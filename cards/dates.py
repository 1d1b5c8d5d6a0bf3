"""FHIR date, dateTime and instant strings to aware datetimes."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def parse(value: object) -> datetime | None:
    """Parse a FHIR date/dateTime; partial dates become their first instant, naive times UTC."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    match = _PARTIAL.match(value)
    try:
        if match:
            year, month, day = (int(part) if part else 1 for part in match.groups())
            return datetime(year, month, day, tzinfo=timezone.utc)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def latest(*values: object) -> datetime | None:
    """The latest of several FHIR date strings, ignoring the ones that do not parse."""
    parsed = [moment for value in values if (moment := parse(value)) is not None]
    return max(parsed) if parsed else None


def period_latest(period: object) -> datetime | None:
    if not isinstance(period, dict):
        return None
    return latest(period.get("end"), period.get("start"))


def birth_date_latest(value: object) -> date | None:
    """The latest day a partial birthDate could mean, so an age is never overstated."""
    if not isinstance(value, str):
        return None
    match = _PARTIAL.match(value.strip())
    if not match:
        return None
    year, month, day = match.groups()
    try:
        if day:
            return date(int(year), int(month), int(day))
        if month:
            following = date(int(year) + int(month) // 12, int(month) % 12 + 1, 1)
            return date.fromordinal(following.toordinal() - 1)
        return date(int(year), 12, 31)
    except ValueError:
        return None


def age_in_years(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
