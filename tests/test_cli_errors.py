"""Every way a `withdrawal-cds` command is stopped: one line on stderr naming the problem, a non-zero
exit, never a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

# alembic.util and the cds_service modules marked F401: the unprivileged child below runs the CLI
# with only what is already imported; as nobody it may not be able to read the source tree (CI clones
# into a directory only root can enter).
import alembic.util  # noqa: F401
import pytest

import cds_service.serving.preflight  # noqa: F401
import cds_service.serving.server  # noqa: F401
import cds_service.store  # noqa: F401
from cds_service import create_app
from cds_service.cli import main
from cds_service.config import ConfigError, load_settings
from tests.calls import hook_request, patient
from tests.serving import REPO, free_port

NOBODY = 65534


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line, got: {err!r}"
    assert lines[0].startswith("withdrawal-cds: ")
    return lines[0]


@pytest.fixture
def run(tmp_path, capsys, monkeypatch):
    """run(*argv, **env) -> (exit status, the one stderr line); a fresh data dir, no config."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WITHDRAWAL_CDS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("WITHDRAWAL_CDS_CONFIG", raising=False)
    monkeypatch.delenv("WITHDRAWAL_CDS_DATABASE_URL", raising=False)

    def run_(*argv: str, **env: str) -> tuple[int, str]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's own exits (usage errors) go through _Parser.error
            code = exc.code
        out, err = capsys.readouterr()
        return code, _one_line(err)
    return run_


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_evaluate_a_missing_file(run):
    code, line = run("evaluate", "absent.json")
    assert code == 2 and line == "withdrawal-cds: cannot read absent.json: No such file or directory"


def test_evaluate_a_directory(run, tmp_path):
    code, line = run("evaluate", str(tmp_path))
    assert code == 2 and line == f"withdrawal-cds: cannot read {tmp_path}: Is a directory"


def test_evaluate_not_json(run, tmp_path):
    code, line = run("evaluate", _write(tmp_path / "x.json", "{nope"))
    assert code == 2 and "x.json is not valid JSON" in line


@pytest.mark.parametrize("document,expected", [
    ({}, "no hook: it is neither a CDS Hooks request nor a FHIR Bundle; hook: Missing data for required field."),
    ({"resourceType": "Patient", "id": "p"}, "no hook: a Patient resource is neither"),
    ({"hook": "no-such-hook"}, "unsupported hook; hook: must be one of"),
    ([], "expected a CDS Hooks request or a FHIR Bundle"),
    ({"resourceType": "Bundle", "type": "collection", "entry": []}, "the Bundle has no Patient with an id"),
])
def test_evaluate_refuses_a_document_that_is_not_a_request(run, tmp_path, document, expected):
    code, line = run("evaluate", _write(tmp_path / "doc.json", json.dumps(document)))
    assert code == 1 and expected in line
    assert "unsupported hook" not in line or document.get("hook")


def test_evaluate_names_every_bad_field_on_the_line(run, tmp_path):
    body = hook_request("patient-view", [patient()])
    del body["context"]["patientId"]
    del body["hookInstance"]
    code, line = run("evaluate", _write(tmp_path / "bad.json", json.dumps(body)))
    assert code == 1 and "context.patientId: " in line and "hookInstance: " in line


def test_evaluate_with_a_missing_config(run, tmp_path):
    code, line = run("evaluate", _write(tmp_path / "e.json", "{}"), "--config", "nope.toml")
    assert code == 2 and line == "withdrawal-cds: config file not found: nope.toml"


@pytest.mark.parametrize("config,expected", [
    ("[server\n", "is not valid TOML"),
    ("[server]\nport = 0\n", "server.port"),
    ("[logging]\nformat = \"xml\"\n", "logging.format"),
    ("patient_key = \"abc\"\n", "patient_key cannot be set in a config file"),
])
def test_serve_with_a_bad_config(run, tmp_path, config, expected):
    code, line = run("serve", "--config", _write(tmp_path / "c.toml", config))
    assert code == 2 and expected in line


def test_usage_errors_are_one_line_too(run):
    code, line = run("report", "--since", "last week")
    assert code == 2 and "not a date" in line and "--help" in line
    code, line = run("no-such-command")
    assert code == 2 and "invalid choice" in line


def test_serve_on_a_port_in_use(run):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code, line = run("serve", "--port", str(port))
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}: Address already in use" in line


def test_serve_open_off_loopback(run):
    code, line = run("serve", "--host", "0.0.0.0", "--port", str(free_port()))
    assert code == 2 and "refusing to listen on 0.0.0.0 without authentication" in line


@pytest.mark.parametrize("command", ["report", "purge"])
def test_report_and_purge_on_a_store_that_is_not_there(run, tmp_path, command):
    code, line = run(command)
    assert code == 2 and f"no store at {tmp_path / 'data' / 'withdrawal-cds.db'}" in line
    assert not (tmp_path / "data").exists(), "reading a store must not create one"


@pytest.mark.parametrize("command", ["report", "purge", "serve"])
def test_a_store_that_cannot_be_opened(run, command):
    # Port 1 on loopback: refused at once, no server and no timeout.
    url = "postgresql+psycopg://cds:s3cret@127.0.0.1:1/withdrawal_cds"
    argv = [command, "--port", str(free_port())] if command == "serve" else [command]
    code, line = run(*argv, WITHDRAWAL_CDS_DATABASE_URL=url, WITHDRAWAL_CDS_PATIENT_KEY="k" * 32)
    assert code == 2
    assert "cannot open the store at postgresql+psycopg://cds:***@127.0.0.1:1/withdrawal_cds: " in line
    assert "Connection refused" in line and "s3cret" not in line


def test_a_database_url_that_is_not_one(run):
    code, line = run("report", WITHDRAWAL_CDS_DATABASE_URL="not a url")
    assert code == 2 and line.startswith("withdrawal-cds: store.database_url is not a database URL: it has no '://' ")
    assert "not a url" not in line  # tests/test_secrets_in_errors.py: a URL that does not parse is never quoted


def test_a_data_directory_that_is_a_file(run, tmp_path):
    (tmp_path / "taken").write_text("")
    code, line = run("serve", "--port", str(free_port()), WITHDRAWAL_CDS_DATA_DIR=str(tmp_path / "taken"))
    assert code == 2 and f"the SQLite store's directory {tmp_path / 'taken'} is not a directory" in line


def _main_unprivileged(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """main(argv) in a forked child that may not write the data directory: the directory is mode 555,
    and as root (CI runs as root, who writes anywhere) the child first becomes nobody, as the image's
    user meets a volume owned by root."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            os.dup2(write_end, 2)
            sys.stderr = open(2, "w", closefd=False)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            os.environ.update(env)
            code = main(argv)
        except BaseException as exc:  # reported to the parent, which fails the test on it
            print(f"child raised {exc!r}", file=sys.stderr)
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(write_end)
    with open(read_end, "rb") as pipe:
        err = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), err


def test_serve_with_an_unwritable_data_directory_names_the_path_and_the_cause():
    base = Path(tempfile.mkdtemp(prefix="wcds-unwritable-"))
    data = base / "data"
    try:
        base.chmod(0o755)
        data.mkdir(mode=0o555)
        data.chmod(0o555)
        env = {"WITHDRAWAL_CDS_DATA_DIR": str(data)}
        os.environ.pop("WITHDRAWAL_CDS_CONFIG", None)
        code, err = _main_unprivileged(["serve", "--port", str(free_port())], env)
        line = _one_line(err)
        assert code == 2
        assert f"the SQLite store's directory {data} is not writable by uid " in line
        assert "Permission denied" in line and "unable to open database file" not in line
    finally:
        data.chmod(0o755)
        for leftover in data.iterdir():
            leftover.unlink()
        data.rmdir()
        base.rmdir()


def test_create_app_names_an_unusable_data_directory(tmp_path):
    """The same check where gunicorn workers (or another WSGI server) build the app."""
    (tmp_path / "taken").write_text("")
    settings = load_settings(environ={"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "taken")})
    with pytest.raises(ConfigError, match=f"{tmp_path / 'taken'} is not a directory"):
        create_app(settings)


def test_the_installed_command_prints_no_traceback(tmp_path):
    """Through the real entry point, not main(): nothing escapes as a Python traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WITHDRAWAL_CDS_")}
    env.update({"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO)})
    for argv in (["evaluate", str(tmp_path)], ["evaluate", "absent.json"], ["report"]):
        done = subprocess.run([sys.executable, "-m", "cds_service.cli", *argv], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and done.stdout == ""
        _one_line(done.stderr)
