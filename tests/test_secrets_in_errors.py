"""No error line prints a secret: the database URL's password, a JWK's private part, the metrics token,
the patient key. Each is given malformed, the way an operator gets it wrong, and the line that stops
the service must name the setting and the problem without quoting the value. Checked twice: the
message where it is made (load_settings, preflight), and the line `withdrawal-cds` prints, whose own
guard (cli._without_secrets) covers only what the environment holds."""

from __future__ import annotations

import json
import logging

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from cds_service.cli import main
from cds_service.config import ConfigError, load_settings
from cds_service.serving.preflight import check_store_files
from cds_service.store import database_url
from tests.serving import free_port

SECRET = "Pw-s3cret-9"
# How a database URL goes wrong, and what the line must say instead of quoting it.
BAD_URLS = [
    ("postgresql+psycopg//cds:Pw-s3cret-9@db:5432/withdrawal_cds", "no '://' after the dialect"),
    ("postgresql+psycopg:/cds:Pw-s3cret-9@db:5432/withdrawal_cds", "no '://' after the dialect"),
    ("postgresql+psycopg://cds:Pw@s3cret-9@db:5432/withdrawal_cds", "must be percent-encoded (%40)"),
    ("postgresql+psycopg://cds:Pw-s3cret-9@db:port/withdrawal_cds", "its port is not a number"),
    ("postgresql+psycopg://cds:Pw-s3cret-9-db:5432/withdrawal_cds", "its port is not a number"),
    ("postgres ql://cds:Pw-s3cret-9@db/withdrawal_cds", "not a dialect"),
]
# Fragments of the password, as a parser that splits it wrongly would leave them.
FRAGMENTS = ("s3cret", "Pw@")


def _clean(text: str) -> None:
    assert not any(fragment in text for fragment in FRAGMENTS), text
    assert "Traceback" not in text


@pytest.fixture
def run(tmp_path, capsys, caplog, monkeypatch):
    """run(*argv, config=None, **env) -> (exit status, everything printed and logged)."""
    monkeypatch.chdir(tmp_path)
    for name in ("WITHDRAWAL_CDS_CONFIG", "WITHDRAWAL_CDS_DATABASE_URL", "WITHDRAWAL_CDS_PATIENT_KEY",
                 "WITHDRAWAL_CDS_METRICS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WITHDRAWAL_CDS_DATA_DIR", str(tmp_path / "data"))

    def run_(*argv: str, config: str | None = None, **env: str) -> tuple[int, str]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        if config is not None:
            (tmp_path / "c.toml").write_text(config)
            argv = (*argv, "--config", str(tmp_path / "c.toml"))
        with caplog.at_level(logging.DEBUG):
            code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out + err + caplog.text
    return run_


@pytest.mark.parametrize("url,problem", BAD_URLS)
def test_a_malformed_database_url_is_named_not_quoted(url, problem):
    settings = load_settings(environ={"WITHDRAWAL_CDS_DATABASE_URL": url})
    with pytest.raises(ConfigError) as raised:
        check_store_files(settings)
    message = str(raised.value)
    assert message.startswith("store.database_url is not a database URL: ") and problem in message
    _clean(message)
    _clean(database_url.shown(url))


@pytest.mark.parametrize("url,problem", BAD_URLS)
@pytest.mark.parametrize("source", ["environment", "file"])
def test_the_command_line_never_prints_a_malformed_database_urls_password(run, url, problem, source):
    if source == "file":
        code, printed = run("report", config=f"[store]\ndatabase_url = {json.dumps(url)}\n")
    else:
        code, printed = run("report", WITHDRAWAL_CDS_DATABASE_URL=url)
    assert code == 2 and problem in printed
    _clean(printed)


@pytest.mark.parametrize("url,shown", [
    # A dialect that does not exist: SQLAlchemy names the plugin, the line shows the URL without its password.
    ("postgresq+psycopg://cds:Pw-s3cret-9@127.0.0.1:1/withdrawal_cds", "postgresq+psycopg://cds:***@127.0.0.1:1/"),
    # psycopg takes the password from the query too: the query is never shown.
    ("postgresql+psycopg://cds@127.0.0.1:1/withdrawal_cds?password=Pw-s3cret-9",
     "postgresql+psycopg://cds@127.0.0.1:1/withdrawal_cds?***"),
])
@pytest.mark.parametrize("source", ["environment", "file"])
def test_a_store_that_cannot_be_opened_is_shown_without_its_password(run, url, shown, source):
    key = "k" * 32
    if source == "file":
        code, printed = run("report", config=f"[store]\ndatabase_url = {json.dumps(url)}\n",
                            WITHDRAWAL_CDS_PATIENT_KEY=key)
    else:
        code, printed = run("report", WITHDRAWAL_CDS_DATABASE_URL=url, WITHDRAWAL_CDS_PATIENT_KEY=key)
    assert code == 2 and f"cannot open the store at {shown}" in printed
    _clean(printed)


def test_a_driver_message_quoting_the_password_is_scrubbed():
    url = "postgresql+psycopg://cds:Pw%40s3cret-9@db/withdrawal_cds?sslpassword=s3cret-key"
    said = 'connection failed: password "Pw@s3cret-9" (Pw%40s3cret-9) or key s3cret-key refused'
    scrubbed = database_url.scrub(said, url)
    assert scrubbed == 'connection failed: password "***" (***) or key *** refused'


@pytest.mark.parametrize("setting, variable, secret", [
    ("patient_key", "WITHDRAWAL_CDS_PATIENT_KEY", "Pw-s3cret-9-too-short"),
    ("metrics_token", "WITHDRAWAL_CDS_METRICS_TOKEN", "Pw-s3cret-9"),
])
def test_a_short_secret_is_named_not_quoted(run, setting, variable, secret):
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={variable: secret})
    assert f"{setting} ({variable}): " in str(raised.value) and secret not in str(raised.value)
    code, printed = run("serve", "--port", str(free_port()), **{variable: secret})
    assert code == 2 and variable in printed
    _clean(printed)


@pytest.mark.parametrize("name", ["WITHDRAWAL_CDS_PATIENT_KEY", "WITHDRAWAL_CDS_METRICS_TOKEN"])
def test_the_lines_guard_hides_a_secret_the_environment_holds(run, monkeypatch, name):
    """Whatever produced the message: a later check that quoted a value would still not print it."""
    def quoting(*args, **kwargs):
        raise ConfigError(f"some check quoted {SECRET}-{SECRET}")
    monkeypatch.setattr("cds_service.cli.load_settings", quoting)
    code, printed = run("report", **{name: f"{SECRET}-{SECRET}"})
    assert code == 2 and "some check quoted ***" in printed
    _clean(printed)


def _private_jwk() -> dict:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1())))
    return {**jwk, "kid": "k1", "d": jwk["d"]}


@pytest.mark.parametrize("content,problem", [
    (lambda jwk: json.dumps({"keys": [jwk]}), "holds no key to verify tokens with"),
    (lambda jwk: json.dumps(jwk), "not a JWK Set"),
    (lambda jwk: json.dumps({"keys": [jwk]})[:-3], "cannot read JWK Set file"),
    (lambda jwk: json.dumps({"keys": [{**jwk, "x": "not base64url!"}]}), "holds no key to verify tokens with"),
])
def test_a_key_file_with_private_material_stops_the_start_without_quoting_it(run, tmp_path, content, problem):
    jwk = _private_jwk()
    (tmp_path / "ehr-jwks.json").write_text(content(jwk))
    config = ('[server]\npublic_base_urls = ["https://cds.example.org"]\n'
              '[[issuers]]\niss = "https://ehr.example.org"\njwks_file = "ehr-jwks.json"\n')
    code, printed = run("serve", "--port", str(free_port()), config=config)
    (line,) = [line for line in printed.splitlines() if line.startswith("withdrawal-cds: ")]
    assert code == 2 and line.startswith("withdrawal-cds: issuer https://ehr.example.org: ") and problem in line
    assert jwk["d"] not in printed and jwk["d"][:12] not in printed
    _clean(printed)


@pytest.mark.parametrize("url,shown", [
    ("postgresql+psycopg://cds:Pw%40s3cret-9@[::1]:5432/withdrawal_cds", "postgresql+psycopg://cds:***@[::1]:5432/withdrawal_cds"),
    ("postgresql+psycopg:///withdrawal_cds?host=/run/postgresql", "postgresql+psycopg:///withdrawal_cds?***"),
    ("sqlite:////var/lib/withdrawal-cds/withdrawal-cds.db", "sqlite:////var/lib/withdrawal-cds/withdrawal-cds.db"),
    ("sqlite://", "sqlite://"),
])
def test_a_well_formed_url_passes_the_check_and_is_shown_without_secrets(url, shown):
    """The check refuses only what would be misread: an IPv6 host, a socket directory, a percent-encoded
    password pass."""
    database_url.check(url)
    assert database_url.shown(url) == shown
