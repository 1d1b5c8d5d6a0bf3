"""Fetching what prefetch did not give us from the EHR's FHIR server.

Queries run in parallel on a bounded pool; each follows Bundle `next` links up
to `max_pages`; every request has connect and read timeouts; and one deadline
covers the whole phase, so a slow or hostile server costs us at most
`deadline_seconds`, never a hung worker. The bearer token goes only to URLs
under the `fhirServer` it came with: a `next` link that points elsewhere is a
failure, not a redirect for our credentials.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
import requests

from cds_service.config import FhirSettings
from cds_service.fhir.prefetch import bundle_resources, next_link

log = logging.getLogger("withdrawal_cds.fhir")


class FetchError(Exception):
    """One query could not be answered; the message is safe to log (no PHI, no token)."""


@dataclass
class FetchResult:
    resources: list[dict] | None  # None: failed
    reason: str | None = None
    pages: int = 0


class FhirFetcher:
    def __init__(self, settings: FhirSettings):
        self.settings = settings
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid: int | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    def _executor(self) -> ThreadPoolExecutor:
        # Made lazily and per process: gunicorn forks workers after the app is built.
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(self.settings.pool_size, thread_name_prefix="fhir-fetch")
                self._pool_pid = os.getpid()
            return self._pool

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            # Never pick up proxies or .netrc credentials from the environment for PHI traffic.
            session.trust_env = False
        return session

    def fetch(self, base_url: str, token: str | None, queries: dict[str, str]) -> dict[str, FetchResult]:
        """Run `queries` (key -> relative query or absolute URL under base_url) against the server."""
        deadline = time.monotonic() + self.settings.deadline_seconds
        base = base_url.rstrip("/")
        futures: dict[str, Future] = {
            key: self._executor().submit(self._run_query, base, token, query, deadline)
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
        return results

    def _run_query(self, base: str, token: str | None, query: str, deadline: float) -> tuple[list[dict], int]:
        absolute = query.startswith(("http://", "https://"))
        url = query if absolute else f"{base}/{query.lstrip('/')}"
        # `Type/id` is a read: 404 there means "no such resource", an answer like prefetch's null.
        is_read = not absolute and "?" not in query and query.strip("/").count("/") == 1
        resources: list[dict] = []
        pages = 0
        params = None if is_read or "_count=" in url else {"_count": self.settings.page_size}
        while url:
            if pages >= self.settings.max_pages:
                raise FetchError(f"more than {self.settings.max_pages} pages")
            if not _under(url, base):
                raise FetchError("next link points outside fhirServer")
            body = self._get(url, token, deadline, params, allow_not_found=is_read)
            params = None
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

    def _get(self, url: str, token: str | None, deadline: float, params, allow_not_found: bool) -> dict | None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("deadline passed")
        headers = {"Accept": "application/fhir+json, application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        timeout = (min(self.settings.connect_timeout, remaining), min(self.settings.read_timeout, remaining))
        try:
            with self._session().get(url, headers=headers, params=params, timeout=timeout,
                                     stream=True, allow_redirects=False) as response:
                if allow_not_found and response.status_code in (404, 410):
                    return None
                if response.status_code != 200:
                    raise FetchError(f"HTTP {response.status_code}")
                raw = _read_capped(response, self.settings.max_response_bytes, deadline)
        except requests.Timeout:
            raise FetchError("timed out") from None
        except requests.ConnectionError:
            raise FetchError("connection failed") from None
        except requests.RequestException as exc:
            raise FetchError(type(exc).__name__) from None
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise FetchError("answer is not JSON") from None
        if not isinstance(body, dict):
            raise FetchError("answer is not a FHIR resource")
        return body


def _read_capped(response: requests.Response, limit: int, deadline: float) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise FetchError("answer too large")
        if time.monotonic() > deadline:
            raise FetchError("deadline passed")
        chunks.append(chunk)
    return b"".join(chunks)


def _under(url: str, base: str) -> bool:
    u, b = urlsplit(url), urlsplit(base)
    return (u.scheme, u.netloc) == (b.scheme, b.netloc) and (u.path + "/").startswith(b.path.rstrip("/") + "/")
