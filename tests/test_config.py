"""Settings: defaults, the TOML file, the environment, and clear refusals."""

from __future__ import annotations

import pytest

from cds_service.config import ConfigError, load_settings


def _write(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_need_no_file(tmp_path):
    settings = load_settings(environ={"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path)})
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8080)
    assert settings.store.database_url == f"sqlite:///{tmp_path / 'withdrawal-cds.db'}"
    assert settings.snooze.default_days == 7 and not settings.auth_required


def test_file_then_environment(tmp_path):
    path = _write(tmp_path, '[server]\nport = 9000\nworkers = 4\n[fhir]\ndeadline_seconds = 1.5\n'
                            '[store]\ndatabase_url = "sqlite:///from-file.db"\n')
    settings = load_settings(path, environ={"WITHDRAWAL_CDS_DATABASE_URL": "postgresql+psycopg://db/cds"})
    assert settings.server.port == 9000 and settings.server.workers == 4
    assert settings.fhir.deadline_seconds == 1.5
    assert settings.store.database_url == "postgresql+psycopg://db/cds"


def test_config_named_by_environment(tmp_path):
    path = _write(tmp_path, "[server]\nport = 9100\n")
    assert load_settings(environ={"WITHDRAWAL_CDS_CONFIG": str(path)}).server.port == 9100


@pytest.mark.parametrize("text,expected", [
    ("[server]\nprot = 1\n", "server.prot"),
    ("[server]\nport = 70000\n", "server.port"),
    ("[fhir]\ndeadline_seconds = 0\n", "fhir.deadline_seconds"),
    ("[auth]\nalgorithms = [\"HS256\"]\n", "auth.algorithms.0"),
    ("[auth]\nalgorithms = [\"none\"]\n", "auth.algorithms.0"),
    ("[[issuers]]\niss = \"https://ehr.example.org\"\n", "issuers.0.jwks_file"),
    ("[snooze]\nby_reason = { \"patient-declined\" = -1 }\n", "snooze.by_reason"),
    ("[clinical]\nno_such_threshold = 3\n", "no_such_threshold"),
    # urlsplit strips a trailing newline, so it would have been kept in the value unseen.
    ("[server]\npublic_base_urls = [\"https://cds.example.org\\n\"]\n", "server.public_base_urls.0"),
    ("[fhir]\nmax_per_server = 20\n", "max_per_server"),
    ("[store]\ntimeout_seconds = 0\n", "store.timeout_seconds"),
    ("not toml at all [", "not valid TOML"),
])
def test_bad_config_is_refused_with_the_setting_named(tmp_path, text, expected):
    with pytest.raises(ConfigError) as exc:
        load_settings(_write(tmp_path, text), environ={})
    assert expected in str(exc.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_issuer_jwks_file_resolved_beside_the_config(tmp_path):
    (tmp_path / "keys.json").write_text('{"keys": []}')
    path = _write(tmp_path, '[server]\npublic_base_urls = ["https://cds.example.org"]\n'
                            '[[issuers]]\niss = "https://ehr.example.org"\njwks_file = "keys.json"\n'
                            'fhir_servers = ["https://ehr.example.org/r4"]\n')
    issuer = load_settings(path, environ={}).issuers[0]
    assert issuer.jwks_file == str(tmp_path / "keys.json")
    assert issuer.fhir_servers == ("https://ehr.example.org/r4",)


def test_missing_jwks_file_is_refused(tmp_path):
    path = _write(tmp_path, '[[issuers]]\niss = "https://ehr.example.org"\njwks_file = "absent.json"\n')
    with pytest.raises(ConfigError, match="jwks_file not found"):
        load_settings(path, environ={})


@pytest.mark.parametrize("in_file,in_env,on_command_line,expected", [
    (False, False, False, "default"),
    (True, False, False, "file"),
    (True, True, False, "env"),
    (True, True, True, "cli"),
    (False, False, True, "cli"),
    (True, False, True, "cli"),
])
def test_one_precedence_order_command_line_environment_file_default(tmp_path, in_file, in_env, on_command_line,
                                                                     expected):
    """store.database_url can be set at every level; `overrides` is what the command line passes."""
    urls = {"file": "sqlite:///from-file.db", "env": "postgresql+psycopg://db/from-env",
            "cli": "postgresql+psycopg://db/from-command-line",
            "default": f"sqlite:///{tmp_path / 'data' / 'withdrawal-cds.db'}"}
    path = _write(tmp_path, f'[store]\ndatabase_url = "{urls["file"]}"\n' if in_file else "")
    environ = {"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data")}
    if in_env:
        environ["WITHDRAWAL_CDS_DATABASE_URL"] = urls["env"]
    overrides = {"store": {"database_url": urls["cli"]}} if on_command_line else None
    assert load_settings(path, environ=environ, overrides=overrides).store.database_url == urls[expected]


def test_the_command_line_outranks_the_file_for_the_server_address(tmp_path):
    path = _write(tmp_path, '[server]\nhost = "127.0.0.2"\nport = 9000\nworkers = 3\n')
    settings = load_settings(path, environ={}, overrides={"server": {"port": 9100}})
    assert (settings.server.host, settings.server.port, settings.server.workers) == ("127.0.0.2", 9100, 3)
