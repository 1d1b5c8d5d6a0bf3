"""Assemble the patient's record for one hook call: prefetch first, the FHIR server for the rest."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Mapping

import orjson

from cds_service.errors import PreconditionFailed
from cds_service.fhir import urls
from cds_service.fhir.fetch import FhirFetcher
from cds_service.fhir.prefetch import KeyData, Status, classify_all, render

log = logging.getLogger("withdrawal_cds.fhir")


@dataclass(frozen=True)
class FhirAccess:
    """The FHIR server a call names, in normal form (fhir/urls.py: what fetching, the issuer's
    allowlist and the patient's source compare), and the token that goes with it (never logged)."""
    base_url: str
    token: str | None

    def __repr__(self) -> str:  # keep the token out of any accidental log line or traceback
        return f"FhirAccess(base_url={self.base_url!r}, token={'***' if self.token else None})"

    @classmethod
    def of(cls, hook_request: Mapping[str, Any]) -> FhirAccess | None:
        """The server and token a validated hook request names, if it names a server."""
        server = hook_request.get("fhirServer")
        if not server:
            return None
        # The request schema refused a server with no normal form.
        return cls(urls.normalize_base(server), (hook_request.get("fhirAuthorization") or {}).get("access_token"))


def assemble_record(templates: Mapping[str, str], request: Mapping[str, Any],
                    access: FhirAccess | None, fetcher: FhirFetcher,
                    read: Callable[[bytes], Any] = orjson.loads,
                    no_access: str = "no usable fhirServer was given",
                    queries: Callable[[], Mapping[str, str]] | None = None) -> list[dict]:
    """All resources the rules need, or PreconditionFailed naming the keys that could not be had.
    `read` parses the FHIR server's answers (FhirFetcher.fetch); `no_access` says why `access`
    is None; `queries` gives (key -> template, cards.data.server_queries) what the server is
    asked for a key prefetch did not satisfy, where it differs from the key's prefetch template
    (a prefetch template cannot name a date; the service's own query can). It is called only
    when there is something to ask: most calls come with prefetch complete."""
    state = classify_all(templates, request.get("prefetch"))
    context = request["context"]
    todo = {key: data for key, data in state.items() if not data.complete}
    if todo and access is not None:
        own = queries() if queries is not None else {}
        asked = {}
        for key, data in todo.items():
            # A prefetch Bundle's next link continues the EHR's own search, as it began.
            query = data.next_url or render(own.get(key, templates[key]), context)
            if query is not None:
                asked[key] = query
        for key, result in fetcher.fetch(access.base_url, access.token, asked, read).items():
            data = state[key]
            if result.resources is None:
                data.reason = result.reason
                continue
            # A continued prefetch Bundle keeps the pages the EHR already sent.
            kept = data.resources if data.next_url else []
            state[key] = KeyData(Status.SATISFIED, kept + result.resources)
    unavailable = sorted(key for key, data in state.items() if not data.complete)
    if unavailable:
        # Each key's own reason: "the server failed" sent integrators hunting for a slow server when
        # the cause was a next link under another name for it.
        how = no_access if access is None else "; ".join(
            f"{key}: {state[key].reason or 'no query for it'}" for key in unavailable)
        told = how if access is None or fetcher.tells_reasons else (
            "could not be had from fhirServer: " + ", ".join(unavailable))
        log.info("412: prefetch keys unavailable=%s (%s)", ",".join(unavailable), how)
        raise PreconditionFailed(
            f"data the rules need is neither in prefetch nor retrievable: {told}", unavailable)
    return [resource for data in state.values() for resource in data.resources]
