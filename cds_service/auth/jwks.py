"""Each trusted issuer's public keys: a JWK Set from a file or from its allowlisted `jku` URL.

Keys are looked up by `kid`. An unknown `kid` may mean the issuer rotated its
keys, so the set is read again, but at most once per `min_refetch_seconds`:
otherwise anyone could make us hammer the issuer's server (or re-read a file)
by sending tokens with made-up `kid`s (no valid signature is needed to send one).
A failed fetch keeps the keys we had.

A fetch is bounded as a whole (FETCH_DEADLINE_SECONDS, every socket read included),
and no lock is held while it runs: a request whose key is known never waits for it,
other issuers never do, and requests that miss while it runs wait for that one
fetch rather than starting their own.

The only URL ever fetched is the one in our configuration; a URL named in a
token is compared with it, never followed (see tokens.py).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import jwt

from cds_service.outbound.bounded_http import BoundedHttp, HttpFailure

log = logging.getLogger("withdrawal_cds.auth")

# A JWK Set is a few KB; anything far larger is not one, and we will not buffer it.
MAX_JWKS_BYTES = 256 * 1024
CONNECT_TIMEOUT = 2.0
# The whole fetch: connect, TLS, head and body. A request missing its key waits this long at most.
FETCH_DEADLINE_SECONDS = 3.0
# Known keys are re-read now and then even without an unknown kid, so a key the
# issuer withdrew stops being trusted within this time.
MAX_KEY_AGE_SECONDS = 3600.0


class JwksError(Exception):
    """The key set could not be read or parsed; the message is safe to log."""


@dataclass(frozen=True)
class PublicKey:
    kid: str
    key: object          # a cryptography public key object
    alg: str | None      # the JWK's own `alg`, when it declares one: then only that algorithm may use it


def parse_jwks(document: object) -> dict[str, PublicKey]:
    """kid -> signing key. Keys without a kid, for encryption, or of a type we cannot use are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksError("not a JWK Set (no 'keys' array)")
    keys: dict[str, PublicKey] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if "d" in entry:
            # A private key in a key set is a leak or a mix-up; refuse it loudly rather than use it.
            log.warning("JWK Set: skipping key kid=%.80r, it holds private key material", entry["kid"])
            continue
        if entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") not in ("EC", "RSA"):
            # Symmetric ("oct") keys would let anyone holding the set forge tokens.
            continue
        try:
            key = jwt.PyJWK(entry).key
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            log.warning("JWK Set: skipping unusable key kid=%.80r", entry["kid"])
            continue
        alg = entry.get("alg")
        keys[entry["kid"]] = PublicKey(entry["kid"], key, alg if isinstance(alg, str) else None)
    return keys


def read_jwks_file(path: str) -> dict[str, PublicKey]:
    try:
        return parse_jwks(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise JwksError(f"cannot read JWK Set file {path}: {type(exc).__name__}") from None


def fetch_jwks_url(url: str) -> dict[str, PublicKey]:
    """GET the JWK Set at `url`, all of it within FETCH_DEADLINE_SECONDS: no proxies from the
    environment, no redirects (a redirect would take us to a URL nobody allowlisted), a size cap."""
    # Fetches are rare (at most one per issuer per min_refetch_seconds): no pool to keep across forks.
    http = BoundedHttp(maxsize=1)
    try:
        status, body = http.get(url, headers={"Accept": "application/json"},
                                deadline=time.monotonic() + FETCH_DEADLINE_SECONDS, connect_timeout=CONNECT_TIMEOUT,
                                read_timeout=FETCH_DEADLINE_SECONDS, max_bytes=MAX_JWKS_BYTES)
    except HttpFailure as exc:
        raise JwksError(f"JWK Set {url} could not be fetched: {exc}") from None
    finally:
        http.clear()
    if status != 200:
        raise JwksError(f"JWK Set {url} answered HTTP {status}")
    try:
        return parse_jwks(json.loads(body))
    except ValueError:
        raise JwksError(f"JWK Set {url} is not JSON") from None


class KeySet:
    """One issuer's keys, loaded lazily and refreshed with a floor on how often. Thread-safe, and
    the lock only guards the bookkeeping: the source is read outside it."""

    def __init__(self, label: str, load: Callable[[], dict[str, PublicKey]], min_refetch_seconds: float,
                 clock: Callable[[], float] = time.monotonic):
        self.label = label
        self._load = load
        self._min_refetch = min_refetch_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, PublicKey] = {}
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self._loading: threading.Event | None = None  # the read in flight; set when it ends
        self.loads = 0  # how many times the source was read; tests watch the rate limit with it

    def key_for(self, kid: str) -> PublicKey | None:
        with self._lock:
            key = self._keys.get(kid)
            if key is not None and not self._stale():
                return key
            loading = self._loading
            start = loading is None and self._may_reload()
            if start:
                loading = self._loading = threading.Event()
                self._attempted_at = self._clock()
                self.loads += 1
        if start and key is not None:
            # Known but old: refreshed behind this request, which goes on with the key it has.
            threading.Thread(target=self._reload, args=(loading,), name=f"jwks-{self.label}", daemon=True).start()
            return key
        if start:
            self._reload(loading)
        elif key is not None or loading is None:
            return key  # known while a refresh runs; or unknown, and read too recently to read again
        else:
            loading.wait(FETCH_DEADLINE_SECONDS + 1.0)  # another request's read: share it
        with self._lock:
            return self._keys.get(kid)

    def _stale(self) -> bool:
        return self._loaded_at is None or self._clock() - self._loaded_at > MAX_KEY_AGE_SECONDS

    def _may_reload(self) -> bool:
        return self._attempted_at is None or self._clock() - self._attempted_at >= self._min_refetch

    def _reload(self, loading: threading.Event) -> None:
        keys = None
        try:
            keys = self._load()
        except JwksError as exc:
            log.warning("keys for issuer %s not refreshed: %s", self.label, exc)
        finally:
            with self._lock:
                if keys is not None:
                    self._keys = keys
                    self._loaded_at = self._attempted_at
                self._loading = None
            loading.set()
        if keys is not None:
            log.info("keys for issuer %s loaded: %d key(s)", self.label, len(keys))


def key_set_for(issuer, min_refetch_seconds: float, fetch: Callable[[str], dict] = fetch_jwks_url) -> KeySet:
    """The KeySet of a configured Issuer: its jwks_file, else its allowlisted jku."""
    if issuer.jwks_file:
        path = issuer.jwks_file
        return KeySet(issuer.iss, lambda: read_jwks_file(path), min_refetch_seconds)
    url = issuer.jku
    return KeySet(issuer.iss, lambda: fetch(url), min_refetch_seconds)
