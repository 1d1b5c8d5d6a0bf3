"""Prefetch: what the EHR sent, key by key, and what is left to fetch.

The standard leaves it to the service to "check prefetched data against its
template to determine what requests were satisfied". Each key ends in one of
four states, as in HAPI's CDS Hooks module:

- SATISFIED: a resource or Bundle arrived (a paginated Bundle keeps its next link);
- NULL: the EHR says there is no data (`null`), which is an answer, not a gap;
- MISSING: the key was not sent;
- FAILED: an OperationOutcome stands in its place.

MISSING, FAILED and unfinished pages go to the FHIR server; what cannot be had
either way makes the call a 412.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping

_TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")
# Prefetch tokens for the user, derived from userId (CDS Hooks 2.0, Prefetch tokens).
_USER_TOKENS = {"userPractitionerId": "Practitioner", "userPractitionerRoleId": "PractitionerRole",
                "userPatientId": "Patient", "userRelatedPersonId": "RelatedPerson"}


class Status(Enum):
    SATISFIED = "satisfied"
    NULL = "null"
    MISSING = "missing"
    FAILED = "failed"


@dataclass
class KeyData:
    status: Status
    resources: list[dict] = field(default_factory=list)
    next_url: str | None = None
    reason: str | None = None

    @property
    def complete(self) -> bool:
        return self.status in (Status.SATISFIED, Status.NULL) and self.next_url is None


def render(template: str, context: Mapping[str, Any]) -> str | None:
    """Fill a template's tokens from the context; None when a token has no primitive value."""
    user_type, _, user_id = str(context.get("userId", "")).partition("/")
    values: dict[str, str] = {name: user_id for name, rtype in _USER_TOKENS.items() if user_type == rtype}
    for name, value in context.items():
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            values[f"context.{name}"] = str(value)
    missing = False

    def fill(match: re.Match) -> str:
        nonlocal missing
        if match.group(1) not in values:
            missing = True
            return ""
        return values[match.group(1)]

    rendered = _TOKEN.sub(fill, template)
    return None if missing else rendered


def bundle_resources(bundle: Mapping[str, Any]) -> list[dict]:
    """The resources of a Bundle's entries; OperationOutcome entries of search mode 'outcome' are not data."""
    entries = bundle.get("entry")
    if type(entries) is not list:
        return []
    # One comprehension, no call per entry: this runs once per resource of the record.
    return [resource for entry in entries if type(entry) is dict
            and type(resource := entry.get("resource")) is dict
            and not (type(search := entry.get("search")) is dict and search.get("mode") == "outcome")]


def next_link(bundle: Mapping[str, Any]) -> str | None:
    links = bundle.get("link")
    for link in links if isinstance(links, list) else ():
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"]
    return None


def classify(present: bool, value: Any) -> KeyData:
    if not present:
        return KeyData(Status.MISSING)
    if value is None:
        return KeyData(Status.NULL)
    rtype = value.get("resourceType")
    if rtype == "OperationOutcome":
        return KeyData(Status.FAILED, reason="the EHR sent an OperationOutcome")
    if rtype == "Bundle":
        return KeyData(Status.SATISFIED, bundle_resources(value), next_url=next_link(value))
    return KeyData(Status.SATISFIED, [value])


def classify_all(templates: Mapping[str, str], prefetch: Mapping[str, Any] | None) -> dict[str, KeyData]:
    prefetch = prefetch or {}
    return {key: classify(key in prefetch, prefetch.get(key)) for key in templates}
