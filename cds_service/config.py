"""Settings: one TOML file plus the environment, every setting with a default.

The file is named by `--config FILE` or WITHDRAWAL_CDS_CONFIG. Secrets and the
database URL come from the environment so they stay out of files that get
committed. Everything is validated once, at start, with marshmallow, so a typo
in the config stops the service with a message naming the field instead of
surfacing as odd behaviour at 3 a.m.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from cds_service.errors import flatten_messages

ENV_CONFIG = "WITHDRAWAL_CDS_CONFIG"
ENV_DATABASE_URL = "WITHDRAWAL_CDS_DATABASE_URL"
ENV_DATA_DIR = "WITHDRAWAL_CDS_DATA_DIR"
ENV_PATIENT_KEY = "WITHDRAWAL_CDS_PATIENT_KEY"
ENV_PUBLIC_BASE_URL = "WITHDRAWAL_CDS_PUBLIC_BASE_URL"


class ConfigError(Exception):
    """The configuration cannot be used; the message says which setting and why."""


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    threads: int = 8
    # Sized for a 10,000-resource record (about 6 MB of JSON) with room to spare.
    max_body_bytes: int = 16 * 1024 * 1024
    # The URL clients call us by; JWT `aud` is checked against it. Needed behind a proxy.
    public_base_url: str | None = None
    cors_origins: tuple[str, ...] = ("*",)
    allow_unauthenticated: bool = False
    # gunicorn: a slow client cannot hold a worker longer than this.
    timeout_seconds: int = 30


@dataclass(frozen=True)
class FhirSettings:
    connect_timeout: float = 1.0
    read_timeout: float = 2.0
    # The whole FHIR-server phase of a hook call; keeps us inside the EHR's budget
    # (Da Vinci CRD allows 5 s; the spec asks for about 500 ms with prefetch).
    deadline_seconds: float = 3.0
    max_pages: int = 20
    page_size: int = 1000
    pool_size: int = 8
    max_response_bytes: int = 32 * 1024 * 1024


@dataclass(frozen=True)
class AuthSettings:
    algorithms: tuple[str, ...] = ("ES384", "RS384")
    leeway_seconds: int = 30
    # CDS Hooks best practice: tokens live no more than an hour; jti memory lasts that long.
    max_token_lifetime_seconds: int = 3600
    jku_min_refetch_seconds: int = 60
    tenants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Issuer:
    iss: str
    jwks_file: str | None = None
    jku: str | None = None
    fhir_servers: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoreSettings:
    database_url: str = ""
    retention_days: int = 400


@dataclass(frozen=True)
class SnoozeSettings:
    default_days: int = 7
    # Override reason code -> days. A patient who declined is not re-asked for a quarter,
    # as in the CDC opioid IG's "Snooze - patient declined (3 months)".
    by_reason: Mapping[str, int] = field(default_factory=lambda: {"patient-declined": 90})


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    fhir: FhirSettings = field(default_factory=FhirSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    snooze: SnoozeSettings = field(default_factory=SnoozeSettings)
    issuers: tuple[Issuer, ...] = ()
    # Passed through to cards.EngineSettings.from_mapping, which validates it.
    clinical: Mapping[str, Any] = field(default_factory=dict)
    data_dir: Path = Path("instance")
    patient_key: bytes | None = None
    source: str = "defaults"

    @property
    def auth_required(self) -> bool:
        return bool(self.issuers)


# --- validation schemas: the shape of the TOML file -------------------------------------

class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _positive(name: str):
    return validate.Range(min=0, min_inclusive=False, error=f"{name} must be greater than 0")


class _ServerSchema(_Strict):
    host = fields.String()
    port = fields.Integer(validate=validate.Range(1, 65535))
    workers = fields.Integer(validate=validate.Range(1, 64))
    threads = fields.Integer(validate=validate.Range(1, 256))
    max_body_bytes = fields.Integer(validate=validate.Range(1024))
    public_base_url = fields.Url(schemes={"http", "https"}, require_tld=False)
    cors_origins = fields.List(fields.String())
    allow_unauthenticated = fields.Boolean()
    timeout_seconds = fields.Integer(validate=validate.Range(1, 600))


class _FhirSchema(_Strict):
    connect_timeout = fields.Float(validate=_positive("connect_timeout"))
    read_timeout = fields.Float(validate=_positive("read_timeout"))
    deadline_seconds = fields.Float(validate=_positive("deadline_seconds"))
    max_pages = fields.Integer(validate=validate.Range(1, 1000))
    page_size = fields.Integer(validate=validate.Range(1, 10000))
    pool_size = fields.Integer(validate=validate.Range(1, 64))
    max_response_bytes = fields.Integer(validate=validate.Range(1024))


_ALLOWED_ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512")


class _AuthSchema(_Strict):
    # CDS Hooks 2.0: SHALL NOT be `none`, SHALL NOT be symmetric. Only asymmetric are offered.
    algorithms = fields.List(fields.String(validate=validate.OneOf(_ALLOWED_ALGORITHMS)),
                             validate=validate.Length(min=1))
    leeway_seconds = fields.Integer(validate=validate.Range(0, 300))
    max_token_lifetime_seconds = fields.Integer(validate=validate.Range(60, 86400))
    jku_min_refetch_seconds = fields.Integer(validate=validate.Range(0, 86400))
    tenants = fields.List(fields.String())


class _IssuerSchema(_Strict):
    iss = fields.String(required=True, validate=validate.Length(min=1))
    jwks_file = fields.String()
    jku = fields.Url(schemes={"https", "http"}, require_tld=False)
    fhir_servers = fields.List(fields.Url(schemes={"https", "http"}, require_tld=False))
    tenants = fields.List(fields.String())

    @validates_schema
    def _one_key_source(self, data, **kwargs):
        if bool(data.get("jwks_file")) == bool(data.get("jku")):
            raise ValidationError("give exactly one of jwks_file or jku", "jwks_file")


class _StoreSchema(_Strict):
    database_url = fields.String()
    retention_days = fields.Integer(validate=validate.Range(1, 36500))


class _SnoozeSchema(_Strict):
    default_days = fields.Integer(validate=validate.Range(0, 3650))
    by_reason = fields.Dict(keys=fields.String(), values=fields.Integer(validate=validate.Range(0, 3650)))


class _FileSchema(_Strict):
    server = fields.Nested(_ServerSchema)
    fhir = fields.Nested(_FhirSchema)
    auth = fields.Nested(_AuthSchema)
    store = fields.Nested(_StoreSchema)
    snooze = fields.Nested(_SnoozeSchema)
    issuers = fields.List(fields.Nested(_IssuerSchema))
    clinical = fields.Dict(keys=fields.String())
    data_dir = fields.String()


def _tuples(section: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in section.items()}


def load_settings(config_file: str | os.PathLike | None = None,
                  environ: Mapping[str, str] | None = None,
                  overrides: Mapping[str, Any] | None = None) -> Settings:
    """Build Settings from defaults, then the TOML file, then the environment.

    `overrides` is a dict shaped like the TOML file, applied last (tests, CLI flags).
    """
    environ = os.environ if environ is None else environ
    config_file = config_file or environ.get(ENV_CONFIG) or None
    raw: dict[str, Any] = {}
    base_dir = Path.cwd()
    if config_file:
        path = Path(config_file)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        base_dir = path.resolve().parent
    for section, values in (overrides or {}).items():
        if isinstance(values, dict):
            raw.setdefault(section, {}).update(values)
        else:
            raw[section] = values
    try:
        data = _FileSchema().load(raw)
    except ValidationError as exc:
        where = f" in {config_file}" if config_file else ""
        problems = "; ".join(f"{path}: {' '.join(msgs)}" for path, msgs in flatten_messages(exc.messages).items())
        raise ConfigError(f"invalid configuration{where}: {problems}") from None

    def resolve(p: str) -> str:
        return str(p if Path(p).is_absolute() else base_dir / p)

    issuers = tuple(
        Issuer(**{**_tuples(i), **({"jwks_file": resolve(i["jwks_file"])} if i.get("jwks_file") else {})})
        for i in data.get("issuers", [])
    )
    server = ServerSettings(**_tuples(data.get("server", {})))
    if environ.get(ENV_PUBLIC_BASE_URL):
        server = _replace(server, public_base_url=environ[ENV_PUBLIC_BASE_URL])
    data_dir = Path(environ.get(ENV_DATA_DIR) or data.get("data_dir") or "instance")
    if not data_dir.is_absolute():
        data_dir = (base_dir if "data_dir" in data else Path.cwd()) / data_dir
    store = StoreSettings(**data.get("store", {}))
    database_url = environ.get(ENV_DATABASE_URL) or store.database_url or f"sqlite:///{data_dir / 'withdrawal-cds.db'}"
    store = _replace(store, database_url=database_url)
    key = environ.get(ENV_PATIENT_KEY)
    snooze_raw = data.get("snooze", {})
    snooze = SnoozeSettings(**{**snooze_raw, **({"by_reason": dict(snooze_raw["by_reason"])}
                                                 if "by_reason" in snooze_raw else {})})
    settings = Settings(
        server=server,
        fhir=FhirSettings(**data.get("fhir", {})),
        auth=AuthSettings(**_tuples(data.get("auth", {}))),
        store=store,
        snooze=snooze,
        issuers=issuers,
        clinical=data.get("clinical", {}),
        data_dir=data_dir,
        patient_key=key.encode() if key else None,
        source=str(config_file) if config_file else "defaults",
    )
    _check_clinical(settings)
    _check_issuer_keys(settings)
    return settings


def _replace(obj, **changes):
    from dataclasses import replace
    return replace(obj, **changes)


def _check_clinical(settings: Settings) -> None:
    from cards import EngineSettings
    try:
        EngineSettings.from_mapping(settings.clinical)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"invalid [clinical] setting: {exc}") from None


def _check_issuer_keys(settings: Settings) -> None:
    for issuer in settings.issuers:
        if issuer.jwks_file and not Path(issuer.jwks_file).is_file():
            raise ConfigError(f"issuer {issuer.iss}: jwks_file not found: {issuer.jwks_file}")
