"""Fetching what prefetch did not give us from the EHR's FHIR server.

Queries run in parallel on a shared pool, where one FHIR server runs at most its share of the
threads (outbound/fair_pool.py), so a slow server leaves the rest to the others; each query follows
Bundle `next` links up to `max_pages`; and one deadline covers the whole phase, enforced on every
socket operation (outbound/bounded_http.py): a server that drips its answer a byte at a time costs us
at most `deadline_seconds`, never a held thread. The bearer token goes only to URLs under the
`fhirServer` it came with: a `next` link that points elsewhere is a failure, not a redirect for
our credentials.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass

import orjson

from cds_service.config import FhirSettings
from cds_service.fhir import urls
from cds_service.fhir.prefetch import bundle_resources, next_link
from cds_service.outbound.bounded_http import BoundedHttp, HttpFailure
from cds_service.outbound.fair_pool import FairPool

log = logging.getLogger("withdrawal_cds.fhir")


class FetchError(Exception):
    """One query could not be answered; the message is safe to log (no PHI, no token)."""


# How a query ended, for the metrics (cds_service/metrics.py): the reasons that mean "too slow"
# and "not allowed"; any other failure is an error.
_TIMEOUTS = frozenset({"deadline passed", "timed out"})
_REFUSALS = frozenset({"HTTP 401", "HTTP 403"})


@dataclass
class FetchResult:
    resources: list[dict] | None  # None: failed
    reason: str | None = None
    pages: int = 0

    @property
    def outcome(self) -> str:
        if self.resources is not None:
            return "ok"
        return "timeout" if self.reason in _TIMEOUTS else "refused" if self.reason in _REFUSALS else "error"


class FhirFetcher:
    """`address_allowed`: the addresses a FHIR server may have (fhir/addresses.py); with it, a failed
    query's reason stays in the log and the caller is not told it (`tells_reasons`): what the
    network answered would make the service a port scanner."""

    def __init__(self, settings: FhirSettings, observe: Callable[[str], None] = lambda outcome: None,
                 address_allowed: Callable[[str], bool] | None = None):
        self.settings = settings
        self._observe = observe  # told each query's outcome
        self._address_allowed = address_allowed
        self.tells_reasons = address_allowed is None
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._pool: FairPool | None = None
        self._http: BoundedHttp | None = None

    def _resources(self) -> tuple[FairPool, BoundedHttp]:
        # Made lazily and per process: gunicorn forks workers after the app is built, and threads
        # and sockets do not survive a fork.
        with self._lock:
            if self._pid != os.getpid():
                self._pool = FairPool(self.settings.pool_size, self.settings.per_server, "fhir-fetch")
                self._http = BoundedHttp(maxsize=self.settings.pool_size, address_allowed=self._address_allowed)
                self._pid = os.getpid()
            return self._pool, self._http

    def fetch(self, base: str, token: str | None, queries: dict[str, str],
              read: Callable[[bytes], object] = orjson.loads) -> dict[str, FetchResult]:
        """Run `queries` (key -> relative query or absolute URL under `base`, a base URL in normal
        form: FhirAccess.base_url) against the server. `read` parses each answer (the service's reads
        a Bundle only as far as the rules will)."""
        deadline = time.monotonic() + self.settings.deadline_seconds
        pool, http = self._resources()
        server = urls.origin(base)
        futures: dict[str, Future] = {
            key: pool.submit(server, self._run_query, http, base, token, query, deadline, read)
            for key, query in queries.items()
        }
        remaining = max(0.0, deadline - time.monotonic())
        wait(futures.values(), timeout=remaining)
        results: dict[str, FetchResult] = {}
        for key, future in futures.items():
            if not future.done():
                future.cancel()
                results[key] = FetchResult(None, "deadline passed")
                continue
            try:
                resources, pages = future.result()
                results[key] = FetchResult(resources, pages=pages)
            except FetchError as exc:
                results[key] = FetchResult(None, str(exc))
            except Exception as exc:  # a library surprise must not sink the call
                results[key] = FetchResult(None, type(exc).__name__)
        for key, result in results.items():
            log.info("fhir query key=%s ok=%s pages=%s reason=%s", key, result.resources is not None,
                     result.pages, result.reason or "-")
            self._observe(result.outcome)
        return results

    def _run_query(self, http: BoundedHttp, base: str, token: str | None, query: str,
                   deadline: float, read: Callable[[bytes], object]) -> tuple[list[dict], int]:
        absolute = query.lower().startswith(("http://", "https://"))
        url = query if absolute else f"{base}/{query.lstrip('/')}"
        # `Type/id` is a read: 404 there means "no such resource", an answer like prefetch's null.
        is_read = not absolute and "?" not in query and query.strip("/").count("/") == 1
        if not is_read and "_count=" not in url:
            url += f"{'&' if '?' in url else '?'}_count={self.settings.page_size}"
        resources: list[dict] = []
        pages = 0
        while url:
            if pages >= self.settings.max_pages:
                raise FetchError(f"more than {self.settings.max_pages} pages")
            # Compared, and sent, in normal form: `<base>/../admin` and `<base>/%2e%2e/admin` are
            # `/admin` to the server, so they are to us.
            try:
                url = urls.normalize(url)
            except urls.UnsafeUrl as exc:
                raise FetchError(f"next link refused: {exc}") from None
            if not urls.is_under(url, base):
                raise FetchError("next link points outside fhirServer")
            body = self._get(http, url, token, deadline, read, allow_not_found=is_read)
            pages += 1
            if body is None:  # a read of something that does not exist: no data
                return resources, pages
            if body.get("resourceType") == "Bundle":
                resources.extend(bundle_resources(body))
                url = next_link(body)
            elif body.get("resourceType") == "OperationOutcome":
                raise FetchError("server answered an OperationOutcome")
            else:
                resources.append(body)
                url = None
        return resources, pages

    def _get(self, http: BoundedHttp, url: str, token: str | None, deadline: float,
             read: Callable[[bytes], object], allow_not_found: bool) -> dict | None:
        headers = {"Accept": "application/fhir+json, application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            status, raw = http.get(url, headers=headers, deadline=deadline,
                                   connect_timeout=self.settings.connect_timeout,
                                   read_timeout=self.settings.read_timeout,
                                   max_bytes=self.settings.max_response_bytes)
        except HttpFailure as exc:
            raise FetchError(str(exc)) from None
        if allow_not_found and status in (404, 410):
            return None
        if status != 200:
            raise FetchError(f"HTTP {status}")
        try:
            body = read(raw)
        except orjson.JSONDecodeError:
            raise FetchError("answer is not JSON") from None
        if not isinstance(body, dict):
            raise FetchError("answer is not a FHIR resource")
        return body
