"""The EHR's JWT (CDS Hooks 2.0, Trusting CDS Clients), verified; or nobody, in open local mode.

With trusted issuers configured, every discovery, hook and feedback call needs
`Authorization: Bearer <JWT>`. The checks run in this order, and any failure
is a 401 whose body says nothing (the log says which check, with `iss` and
`jti` only, never the token):

1. the header is `Bearer` with a compact JWS; its JOSE header has `typ` JWT, a
   `kid`, and an `alg` we accept (asymmetric only: never `none`, never HMAC);
2. `iss`, read from the still-unverified payload, is on the allowlist; that is
   the only unverified claim used, and only to choose which keys to verify with;
3. a `jku` in the header must be the issuer's configured `jku` (a token never
   chooses which URL we fetch);
4. the signature verifies with the issuer's key named by `kid`;
5. `exp`, `iat` (not in the future), lifetime no longer than configured, `aud`
   equal to the URL called as one of our configured public base URLs plus the
   path (never the Host header, which the caller sets), `tenant` when an
   allowlist is set;
6. `jti` was never seen before (kept in the database, so across all workers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cds_service.auth.jwks import KeySet, PublicKey, key_set_for
from cds_service.config import Issuer, Settings
from cds_service.errors import Unauthorized
from cds_service.fhir import urls

log = logging.getLogger("withdrawal_cds.auth")

# A CDS Hooks JWT is well under 2 KB; a huge header is not one, and is not worth parsing.
MAX_TOKEN_CHARS = 8192
MAX_JTI_CHARS = 255
_REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]


@dataclass(frozen=True)
class Principal:
    """The verified caller. `fhir_servers` (in normal form, fhir/urls.py) is None only in open local
    mode, where any server may be used."""
    iss: str | None
    jti: str | None = None
    tenant: str | None = None
    fhir_servers: frozenset[str] | None = None

    def may_use(self, base: str) -> bool:
        """Whether this caller vouches for the FHIR server at `base`, a base URL in normal form
        (FhirAccess.base_url), as fetching uses it: `<allowed>/.` is the allowed server, and
        `<allowed>/../other` is not."""
        return self.fhir_servers is None or base in self.fhir_servers

    def source(self, base: str | None) -> str:
        """Where this call's patient ids come from; an id names one patient only within it.

        Verified: the issuer, and the token's `tenant` when it carries one (one issuer may speak
        for several EHRs whose ids collide). Open mode has no issuer, so the FHIR server the call
        names (`base`, in normal form) stands for the EHR; a call with neither is "local".
        """
        if self.iss is not None:
            return orjson.dumps(["iss", self.iss, self.tenant]).decode()
        if base:
            return orjson.dumps(["fhirServer", base]).decode()
        return orjson.dumps(["local"]).decode()


OPEN = Principal(iss=None)


class Rejected(Exception):
    """One check failed; the message names it for the log and never reaches the caller."""

    def __init__(self, reason: str, iss: str | None = None, jti: str | None = None):
        super().__init__(reason)
        self.reason, self.iss, self.jti = reason, iss, jti


class Authenticator:
    def __init__(self, settings: Settings, store, clock: Callable[[], datetime],
                 key_sets: dict[str, KeySet] | None = None):
        self.settings = settings
        self.store = store
        self.clock = clock
        self.issuers: dict[str, Issuer] = {i.iss: i for i in settings.issuers}
        # Each issuer's FHIR servers in normal form, once: a call's server is compared in that form.
        self._servers = {i.iss: frozenset(urls.normalize_base(s) for s in i.fhir_servers) for i in settings.issuers}
        self.key_sets = key_sets if key_sets is not None else {
            i.iss: key_set_for(i, settings.auth.jku_min_refetch_seconds) for i in settings.issuers}

    def authenticate(self, req) -> Principal:
        if not self.settings.auth_required:
            return OPEN
        try:
            principal = self.verify(bearer_token(req.headers.get("Authorization")),
                                    expected_audiences(req, self.settings))
        except Rejected as exc:
            log.warning("401: %s iss=%s jti=%s", exc.reason, _safe(exc.iss), _safe(exc.jti))
            raise Unauthorized() from None
        log.info("authenticated iss=%s jti=%s tenant=%s", _safe(principal.iss), _safe(principal.jti),
                 _safe(principal.tenant))
        return principal

    def verify(self, token: str, audiences: tuple[str, ...]) -> Principal:
        header = _unverified_header(token)
        issuer, jti_hint = self._issuer_of(token)
        alg, kid, header_jku = self._check_header(header, issuer.iss, jti_hint)
        if header_jku is not None and issuer.jku is not None and header_jku != issuer.jku:
            # With a jwks_file the keys came out-of-band; a jku the token carries (as the Sandbox's
            # always does) is then ignored, and in no case fetched.
            raise Rejected("jku is not the issuer's configured jku", issuer.iss, jti_hint)
        key = self.key_sets[issuer.iss].key_for(kid)
        if key is None:
            raise Rejected("unknown kid", issuer.iss, jti_hint)
        _check_key_fits(key, alg, issuer.iss, jti_hint)
        claims = self._verified_claims(token, key, alg, issuer, jti_hint)
        jti = claims["jti"]
        self._check_lifetime(claims, issuer.iss, jti)
        _check_audience(claims["aud"], audiences, issuer.iss, jti)
        tenant = self._check_tenant(claims, issuer, jti)
        self._remember(issuer.iss, jti, claims["exp"])
        return Principal(iss=issuer.iss, jti=jti, tenant=tenant, fhir_servers=self._servers[issuer.iss])

    def _check_header(self, header: dict, iss: str, jti: str | None) -> tuple[str, str, str | None]:
        alg, kid, typ, jku = (header.get(k) for k in ("alg", "kid", "typ", "jku"))
        if not isinstance(alg, str) or alg not in self.settings.auth.algorithms:
            raise Rejected(f"algorithm not accepted: {str(alg)[:16]!r}", iss, jti)
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise Rejected("typ is not JWT", iss, jti)
        if not isinstance(kid, str) or not kid:
            raise Rejected("no kid", iss, jti)
        if jku is not None and not isinstance(jku, str):
            raise Rejected("jku is not a string", iss, jti)
        return alg, kid, jku

    def _issuer_of(self, token: str) -> tuple[Issuer, str | None]:
        """The issuer whose keys to verify with, and the jti for the log if verification fails.
        Unverified: nothing else is taken from this decoding; every claim is re-read once verified."""
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Rejected("payload is not JSON") from None
        iss, jti = unverified.get("iss"), unverified.get("jti")
        jti = jti if isinstance(jti, str) else None
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise Rejected("issuer not trusted", iss if isinstance(iss, str) else None, jti)
        return issuer, jti

    def _verified_claims(self, token: str, key: PublicKey, alg: str, issuer: Issuer, jti_hint: str | None) -> dict:
        try:
            claims = jwt.decode(
                token, key.key, algorithms=[alg], issuer=issuer.iss, leeway=self.settings.auth.leeway_seconds,
                # aud is compared by us: the spec's "URL of the endpoint" tolerates a trailing slash.
                options={"require": _REQUIRED_CLAIMS, "verify_aud": False, "verify_iat": True,
                         "verify_exp": True, "verify_iss": True, "verify_signature": True})
        except jwt.InvalidSignatureError:
            raise Rejected("bad signature", issuer.iss, jti_hint) from None
        except jwt.PyJWTError as exc:
            raise Rejected(f"claims rejected: {type(exc).__name__}", issuer.iss, jti_hint) from None
        except (TypeError, ValueError):
            # The key cannot be used with this algorithm (e.g. an RSA key for ES384).
            raise Rejected("key does not fit the algorithm", issuer.iss, jti_hint) from None
        jti = claims.get("jti")
        # Printable only: it is stored (PostgreSQL text cannot hold NUL) and logged.
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_CHARS or not jti.isprintable():
            raise Rejected("jti missing or malformed", issuer.iss, jti_hint)
        if not isinstance(claims.get("exp"), (int, float)) or not isinstance(claims.get("iat"), (int, float)):
            raise Rejected("exp or iat is not a number", issuer.iss, jti)
        return claims

    def _check_lifetime(self, claims: dict, iss: str, jti: str) -> None:
        # A long-lived token widens the replay window beyond how long we remember jti values.
        if claims["exp"] - claims["iat"] > self.settings.auth.max_token_lifetime_seconds:
            raise Rejected("token lifetime too long", iss, jti)

    def _check_tenant(self, claims: dict, issuer: Issuer, jti: str) -> str | None:
        tenant = claims.get("tenant")
        allowed = issuer.tenants or self.settings.auth.tenants
        if allowed and tenant not in allowed:
            raise Rejected("tenant not allowed", issuer.iss, jti)
        return tenant if isinstance(tenant, str) else None

    def _remember(self, iss: str, jti: str, exp: float) -> None:
        # Remembered until the token could no longer pass the exp check, leeway included.
        expires_at = datetime.fromtimestamp(exp + self.settings.auth.leeway_seconds, tz=timezone.utc)
        if not self.store.remember_jti(iss, jti, expires_at, self.clock()):
            raise Rejected("jti replayed", iss, jti)


def _unverified_header(token: str) -> dict:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Rejected("not a JWT") from None


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Rejected("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer":
        raise Rejected("Authorization scheme is not Bearer")
    if not token or len(token) > MAX_TOKEN_CHARS or " " in token:
        raise Rejected("bearer token missing or malformed")
    return token


def expected_audiences(req, settings: Settings) -> tuple[str, ...]:
    """The URLs this call may have been made to: each configured public base URL plus the path."""
    return tuple(base + req.path for base in settings.server.base_urls)


def _check_audience(aud, expected: tuple[str, ...], iss: str, jti: str) -> None:
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise Rejected("aud malformed", iss, jti)
    want = {url.rstrip("/") for url in expected}
    if not any(a.rstrip("/") in want for a in audiences):
        raise Rejected("aud is not this endpoint", iss, jti)


_CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}


def _check_key_fits(key: PublicKey, alg: str, iss: str, jti: str | None) -> None:
    if key.alg is not None and key.alg != alg:
        raise Rejected("key is declared for another algorithm", iss, jti)
    if alg.startswith("ES"):
        fits = isinstance(key.key, ec.EllipticCurvePublicKey) and isinstance(key.key.curve, _CURVES[alg])
    else:
        fits = isinstance(key.key, rsa.RSAPublicKey) and key.key.key_size >= 2048
    if not fits:
        raise Rejected("key does not fit the algorithm", iss, jti)


def _safe(value: str | None) -> str:
    # iss and jti may come from an unverified token: quote and cut them so they cannot forge log lines.
    return "-" if value is None else repr(value[:120])
