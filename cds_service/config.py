"""Settings: one TOML file plus the environment, every setting with a default.

The file is named by `--config FILE` or WITHDRAWAL_CDS_CONFIG. Secrets and the
database URL come from the environment so they stay out of files that get
committed. Each setting is declared once, as a field of the dataclasses below,
and pydantic validates them at start, so a typo in the config stops the service
with a message naming the field instead of surfacing as odd behaviour at 3 a.m.

Precedence, highest first: the command line (`overrides`), the environment, the
file, the defaults.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo, field_validator
from pydantic.dataclasses import dataclass

from cards import EngineSettings
from cds_service import switches
from cds_service.fhir import urls

ENV_CONFIG = "WITHDRAWAL_CDS_CONFIG"
ENV_DATABASE_URL = "WITHDRAWAL_CDS_DATABASE_URL"
ENV_DATA_DIR = "WITHDRAWAL_CDS_DATA_DIR"
ENV_PATIENT_KEY = "WITHDRAWAL_CDS_PATIENT_KEY"
ENV_PUBLIC_BASE_URL = "WITHDRAWAL_CDS_PUBLIC_BASE_URL"
ENV_METRICS_TOKEN = "WITHDRAWAL_CDS_METRICS_TOKEN"
# Never read from a file: a secret in a config file ends up committed.
SECRETS = {"patient_key": ENV_PATIENT_KEY, "metrics_token": ENV_METRICS_TOKEN}
# The settings the environment sets, as an error names them.
_VARIABLES = {**SECRETS, "store.database_url": ENV_DATABASE_URL, "data_dir": ENV_DATA_DIR,
              "server.public_base_url": ENV_PUBLIC_BASE_URL}


class ConfigError(Exception):
    """The configuration cannot be used; the message says which setting and why."""


def _http_url(value: str) -> str:
    # urlsplit drops tabs and line ends without a word, so they are looked for first.
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ValueError("must be an http or https URL without spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http or https URL")
    return value


_FILE = ConfigDict(extra="forbid")
HttpUrl = Annotated[str, AfterValidator(_http_url)]
Positive = Annotated[float, Field(gt=0)]
# CDS Hooks 2.0: the JWT algorithm SHALL NOT be `none` and SHALL NOT be symmetric; only asymmetric ones exist here.
Algorithm = Literal["ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]


@dataclass(frozen=True, config=_FILE)
class ServerSettings:
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    workers: Annotated[int, Field(ge=1, le=64)] = 2
    threads: Annotated[int, Field(ge=1, le=256)] = 8
    # Sized for a 10,000-resource record (about 6 MB of JSON) with room to spare.
    max_body_bytes: Annotated[int, Field(ge=1024)] = 16 * 1024 * 1024
    # The URLs EHRs call us by (scheme, host, port and any path prefix, as the EHR sees them):
    # a JWT's `aud` must be one of them plus the path called. Required with issuers. Never the
    # request's Host header: the caller chooses that, so it would let a token minted for another
    # service be accepted here.
    public_base_urls: tuple[HttpUrl, ...] = ()
    # One more such URL (and WITHDRAWAL_CDS_PUBLIC_BASE_URL): the setting from before the list.
    public_base_url: HttpUrl | None = None
    cors_origins: tuple[str, ...] = ("*",)
    allow_unauthenticated: bool = False
    # For a config meant for one machine (examples/sandbox.toml trusts a key anyone can sign with):
    # `serve` then refuses every address but loopback, whatever else is configured.
    loopback_only: bool = False
    # gunicorn: a slow client cannot hold a worker longer than this.
    timeout_seconds: Annotated[int, Field(ge=1, le=600)] = 30
    # Slow clients (cds_service/serving/worker.py, docs/hardening.md): a connection is closed when its
    # request's head is not in this long after its first byte (or after it connected) ...
    head_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 10.0
    # ... or its whole request, body included, this long after its first byte,
    request_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    # or it sends nothing this long after an answer (an idle keep-alive),
    keepalive_seconds: Annotated[int, Field(ge=1, le=600)] = 5
    # or it does not take an answer within this long.
    write_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 10.0
    # What all the requests a worker is still receiving may hold together; past it, a 503.
    buffer_budget_bytes: Annotated[int, Field(ge=1024 * 1024)] = 64 * 1024 * 1024

    @property
    def base_urls(self) -> tuple[str, ...]:
        """Every URL we are called by, without a trailing slash, each once."""
        listed = self.public_base_urls + ((self.public_base_url,) if self.public_base_url else ())
        return tuple(dict.fromkeys(url.rstrip("/") for url in listed))


@dataclass(frozen=True, config=_FILE)
class FhirSettings:
    connect_timeout: Positive = 1.0
    read_timeout: Positive = 2.0
    # The whole FHIR-server phase of a hook call, every socket read included; keeps us inside the
    # EHR's budget (Da Vinci CRD allows 5 s; the spec asks for about 500 ms with prefetch).
    deadline_seconds: Positive = 3.0
    max_pages: Annotated[int, Field(ge=1, le=1000)] = 20
    page_size: Annotated[int, Field(ge=1, le=10000)] = 1000
    # Fetch threads per worker, shared by all calls. A call runs 7 queries at once.
    pool_size: Annotated[int, Field(ge=1, le=256)] = 16
    # Queries one FHIR server (scheme, host, port) may run at once; the rest of the pool stays
    # free for the others, so a slow server cannot starve them. Default: half the pool.
    max_per_server: Annotated[int | None, Field(ge=1, le=256)] = None
    max_response_bytes: Annotated[int, Field(ge=1024)] = 32 * 1024 * 1024
    # Open mode off loopback (--allow-unauthenticated without issuers): fhirServer may reach only
    # public addresses and these networks (CIDR, e.g. "10.20.0.0/16"); fhir/addresses.py.
    allowed_networks: tuple[str, ...] = ()

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, networks: tuple[str, ...]) -> tuple[str, ...]:
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not an IP network (CIDR)") from None
        return networks

    def __post_init__(self) -> None:
        if self.max_per_server is not None and self.max_per_server > self.pool_size:
            raise ValueError("fhir.max_per_server cannot exceed fhir.pool_size")

    @property
    def per_server(self) -> int:
        return self.max_per_server or max(1, self.pool_size // 2)


@dataclass(frozen=True, config=_FILE)
class AuthSettings:
    algorithms: Annotated[tuple[Algorithm, ...], Field(min_length=1)] = ("ES384", "RS384")
    leeway_seconds: Annotated[int, Field(ge=0, le=300)] = 30
    # CDS Hooks best practice: tokens live no more than an hour; jti memory lasts that long.
    max_token_lifetime_seconds: Annotated[int, Field(ge=60, le=86400)] = 3600
    jku_min_refetch_seconds: Annotated[int, Field(ge=0, le=86400)] = 60
    tenants: tuple[str, ...] = ()


@dataclass(frozen=True, config=_FILE)
class Issuer:
    iss: Annotated[str, Field(min_length=1)]
    jku: HttpUrl | None = None
    # Read before `jku`'s check below; relative to the config file's directory.
    jwks_file: Annotated[str | None, Field(validate_default=True)] = None
    fhir_servers: tuple[HttpUrl, ...] = ()
    tenants: tuple[str, ...] = ()

    @field_validator("fhir_servers")
    @classmethod
    def _usable_bases(cls, servers: tuple[str, ...]) -> tuple[str, ...]:
        # Compared with a call's fhirServer in normal form (fhir/urls.py), so each must have one.
        for server in servers:
            try:
                urls.normalize_base(server)
            except urls.UnsafeUrl as exc:
                raise ValueError(f"{server!r}: {exc}") from None
        return servers

    @field_validator("jwks_file")
    @classmethod
    def _one_key_source(cls, jwks_file: str | None, info: ValidationInfo) -> str | None:
        if bool(jwks_file) == bool(info.data.get("jku")):
            raise ValueError("give exactly one of jwks_file or jku")
        return jwks_file


# [topics] and a site's `topics`: topic = "on" | "silent" | "off" (or per hook), and max_cards (switches.py).
TopicsTable = Annotated[dict[str, Any], AfterValidator(switches.check_table)]


@dataclass(frozen=True, config=_FILE)
class Site:
    """Overrides of [topics] for the calls of one EHR: its verified issuer, and tenant where configured."""

    issuer: Annotated[str, Field(min_length=1)]
    tenant: Annotated[str, Field(min_length=1)] | None = None
    topics: TopicsTable = field(default_factory=dict)


@dataclass(frozen=True, config=_FILE)
class StoreSettings:
    database_url: str = ""
    retention_days: Annotated[int, Field(ge=1, le=36500)] = 400
    # PostgreSQL: the longest one store operation may take (waiting for a pooled connection,
    # connecting, every statement, lock wait and the commit), frozen server or not. Past it the
    # call is a 503, well inside the EHR's budget. The command line's report and purge are not bounded.
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0
    # Call counts (per hour, site, service and hook) are kept in memory and written at most this
    # often, or once this many calls wait, and when the process exits: a row per call would cost
    # every call a write, and most calls raise nothing.
    count_flush_seconds: Annotated[float, Field(gt=0, le=3600)] = 10.0
    count_flush_calls: Annotated[int, Field(ge=1, le=100000)] = 1000


@dataclass(frozen=True, config=_FILE)
class SnoozeSettings:
    """How long feedback hides a card's topic for the patient (0: not at all). A response says so
    once, at the end of a card's detail; cds_service/snooze.py applies and words these."""

    # An override with a reason that `by_reason` does not list.
    default_days: Annotated[int, Field(ge=0, le=3650)] = 7
    # An override without a reason, a plain dismissal: nobody said why, so it comes back sooner.
    dismissed_days: Annotated[int, Field(ge=0, le=3650)] = 1
    # Override reason code -> days. A patient who declined, or who is on MOUD elsewhere, is not
    # re-asked for a quarter, as the CDC opioid IG's recommendation 12 snoozes both for 3 months
    # (../shared/reference/clinical-content.md, "Rec 12"). A patient who already has naloxone (over
    # the counter, a community program) is not re-offered it for a year (design 4.2 v3).
    by_reason: dict[str, Annotated[int, Field(ge=0, le=3650)]] = field(
        default_factory=lambda: {"patient-declined": 90, "on-moud-elsewhere": 90, "has-naloxone": 365})
    # An accepted card: many EHRs save the accepted order only at signing, and the CDS Hooks
    # Sandbox never does, so the record does not show it yet and the card would come straight
    # back. Its topic rests this long, then the record decides.
    accepted_hours: Annotated[int, Field(ge=0, le=8760)] = 24


@dataclass(frozen=True, config=_FILE)
class CowsAppSettings:
    """The COWS form (cds_service/apps/), a SMART app the withdrawal-assessment card links to."""

    # Unset: on when the service runs open (no [[issuers]]) or loopback only (server.loopback_only: a
    # local sandbox); otherwise, with trusted issuers, on once client_id is set, since an EHR launches
    # only the apps registered with it.
    enabled: bool | None = None
    # The client id the EHR gave the app when the site registered it.
    client_id: str = ""
    # The code system of the local codes that name the 11 items in the Observation's components.
    item_system: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")] = "urn:withdrawal-cds:cows-item"
    # The EHR origins that may show the form in a frame (CSP frame-ancestors), e.g.
    # "https://ehr.example.org". Unset: with trusted issuers, no other origin may frame it; open, any.
    frame_ancestors: tuple[HttpUrl, ...] = ()
    # With trusted issuers the form may connect only to its own origin and the issuers' fhir_servers;
    # an EHR whose authorization server (token endpoint) is at another origin lists it here.
    connect_origins: tuple[HttpUrl, ...] = ()


@dataclass(frozen=True, config=_FILE)
class LoggingSettings:
    # "json": one JSON object a line (the text format's fields), for log shippers (cds_service/logs.py).
    format: Literal["text", "json"] = "text"


@dataclass(frozen=True, config=_FILE)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    fhir: FhirSettings = field(default_factory=FhirSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    snooze: SnoozeSettings = field(default_factory=SnoozeSettings)
    issuers: tuple[Issuer, ...] = ()
    # The clinical rules' windows, thresholds and site codes (cards.EngineSettings).
    clinical: EngineSettings = field(default_factory=EngineSettings)
    cows_app: CowsAppSettings = field(default_factory=CowsAppSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    # Per-topic switches and the card cap, for every caller, then per site (design section 10).
    topics: TopicsTable = field(default_factory=dict)
    sites: tuple[Site, ...] = ()
    data_dir: Path = Path("instance")
    # The generated one has 64 hex characters; a short key makes the patients' keyed hashes guessable.
    patient_key: Annotated[bytes, Field(min_length=32)] | None = None
    # The bearer token a Prometheus server presents for GET /metrics when issuers are configured.
    metrics_token: Annotated[str, Field(min_length=16)] | None = None

    @property
    def auth_required(self) -> bool:
        return bool(self.issuers)


_SETTINGS = TypeAdapter(Settings)


def load_settings(config_file: str | os.PathLike | None = None,
                  environ: Mapping[str, str] | None = None,
                  overrides: Mapping[str, Any] | None = None) -> Settings:
    """Build Settings from defaults, then the TOML file, then the environment, then `overrides`.

    `overrides` is a dict shaped like the TOML file (tests, CLI flags).
    """
    environ = os.environ if environ is None else environ
    config_file = config_file or environ.get(ENV_CONFIG) or None
    raw, base_dir = _read_file(config_file)
    for key, variable in SECRETS.items():
        if key in raw:
            raise ConfigError(f"{key} cannot be set in a config file; set {variable} in the environment")
    _overlay(raw, _from_environment(environ))
    _overlay(raw, overrides or {})
    _resolve_paths(raw, base_dir, data_dir_from_file="data_dir" in raw and ENV_DATA_DIR not in environ)
    try:
        settings = _SETTINGS.validate_python(raw)
    except ValidationError as exc:
        where = f" in {config_file}" if config_file else ""
        # e["msg"] only: str(exc) would quote each input, a secret's included.
        problems = "; ".join(f"{_setting_name(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid configuration{where}: {problems}") from None
    _check_issuer_keys(settings)
    _check_audience(settings)
    _check_cows_app(settings)
    _check_sites(settings)
    return settings


def _setting_name(loc: tuple) -> str:
    name = ".".join(map(str, loc)) or "(top)"
    return f"{name} ({_VARIABLES[name]})" if name in _VARIABLES else name


def _read_file(config_file) -> tuple[dict[str, Any], Path]:
    if not config_file:
        return {}, Path.cwd()
    path = Path(config_file)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), path.resolve().parent
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file is a directory: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if environ.get(ENV_PUBLIC_BASE_URL):
        found["server"] = {"public_base_url": environ[ENV_PUBLIC_BASE_URL]}
    if environ.get(ENV_DATABASE_URL):
        found["store"] = {"database_url": environ[ENV_DATABASE_URL]}
    if environ.get(ENV_DATA_DIR):
        found["data_dir"] = environ[ENV_DATA_DIR]
    if environ.get(ENV_PATIENT_KEY):
        found["patient_key"] = environ[ENV_PATIENT_KEY].encode()
    if environ.get(ENV_METRICS_TOKEN):
        found["metrics_token"] = environ[ENV_METRICS_TOKEN]
    return found


def _overlay(raw: dict[str, Any], layer: Mapping[str, Any]) -> None:
    for section, values in layer.items():
        if isinstance(values, Mapping) and isinstance(raw.get(section), dict):
            raw[section].update(values)
        else:
            raw[section] = dict(values) if isinstance(values, Mapping) else values


def _resolve_paths(raw: dict[str, Any], base_dir: Path, data_dir_from_file: bool) -> None:
    """Paths in the file are relative to the file; a data directory from the environment or the
    defaults is relative to the working directory. The SQLite store defaults to the data directory."""
    for issuer in raw.get("issuers") or ():
        if isinstance(issuer, dict) and isinstance(issuer.get("jwks_file"), str) and issuer["jwks_file"]:
            issuer["jwks_file"] = str(base_dir / issuer["jwks_file"])
    data_dir = raw.get("data_dir") or "instance"
    if isinstance(data_dir, (str, os.PathLike)):
        data_dir = (base_dir if data_dir_from_file else Path.cwd()) / data_dir
        raw["data_dir"] = data_dir
        store = raw.setdefault("store", {})
        if isinstance(store, dict) and not store.get("database_url"):
            store["database_url"] = f"sqlite:///{data_dir / 'withdrawal-cds.db'}"


def _check_audience(settings: Settings) -> None:
    if settings.issuers and not settings.server.base_urls:
        raise ConfigError(
            "issuers are configured but server.public_base_urls is empty: a JWT's aud must be the URL the EHR "
            "called, and this service only trusts URLs it is told are its own (never the request's Host header). "
            'Set server.public_base_urls = ["https://cds.example.org"] (every URL EHRs call it by), or '
            f"{ENV_PUBLIC_BASE_URL}")


def _check_cows_app(settings: Settings) -> None:
    # A loopback-only config (examples/sandbox.toml) is a local sandbox: the form opens with the open
    # launch there, and a sandbox EHR takes any client id.
    if settings.cows_app.enabled and settings.auth_required and not settings.cows_app.client_id \
            and not settings.server.loopback_only:
        raise ConfigError("cows_app.enabled is true but cows_app.client_id is empty: with trusted issuers the "
                          "form is launched by an EHR, which needs the client id it registered the app under")


def _check_sites(settings: Settings) -> None:
    seen = set()
    for site in settings.sites:
        key = (site.issuer, site.tenant)
        if key in seen:
            raise ConfigError(f"sites: {site.issuer}{f' tenant {site.tenant}' if site.tenant else ''} is listed twice")
        seen.add(key)
        if not settings.issuers:
            continue
        issuer = next((issuer for issuer in settings.issuers if issuer.iss == site.issuer), None)
        if issuer is None:
            raise ConfigError(f"sites: unknown issuer {site.issuer!r}: a site's switches apply to the calls of one "
                              f"of [[issuers]]")
        allowed = issuer.tenants or settings.auth.tenants
        if site.tenant is not None and allowed and site.tenant not in allowed:
            raise ConfigError(f"sites: unknown tenant {site.tenant!r} of {site.issuer}: its tokens may carry only "
                              f"{', '.join(allowed)}")


def _check_issuer_keys(settings: Settings) -> None:
    for issuer in settings.issuers:
        if issuer.jwks_file and not Path(issuer.jwks_file).is_file():
            raise ConfigError(f"issuer {issuer.iss}: jwks_file not found: {issuer.jwks_file}")
