"""The withdrawal-cds command: evaluate with no server, serve's start rules, config errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from cds_service.cli import main
from cds_service.protocol.card_json import topic_of
from tests.calls import hook_request, oud_condition, patient


def _run(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("WITHDRAWAL_CDS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("WITHDRAWAL_CDS_CONFIG", raising=False)
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_evaluate_hook_request(tmp_path, capsys, monkeypatch):
    path = tmp_path / "request.json"
    path.write_text(json.dumps(hook_request("patient-view", [patient(), oud_condition()])))
    code, out, _ = _run(["evaluate", str(path)], capsys, tmp_path, monkeypatch)
    assert code == 0
    assert {topic_of(c) for c in json.loads(out)["cards"]} >= {"moud-referral", "naloxone"}


def test_evaluate_patient_bundle(tmp_path, capsys, monkeypatch):
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r} for r in (patient(), oud_condition())]}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    code, out, _ = _run(["evaluate", str(path)], capsys, tmp_path, monkeypatch)
    assert code == 0 and "moud-referral" in {topic_of(c) for c in json.loads(out)["cards"]}


def test_evaluate_reports_a_bad_request_with_field_paths(tmp_path, capsys, monkeypatch):
    body = hook_request("patient-view", [patient()])
    del body["context"]["patientId"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(body))
    code, _, err = _run(["evaluate", str(path)], capsys, tmp_path, monkeypatch)
    assert code == 1 and "context.patientId" in err


def test_evaluate_not_json(tmp_path, capsys, monkeypatch):
    path = tmp_path / "x.json"
    path.write_text("{nope")
    code, _, err = _run(["evaluate", str(path)], capsys, tmp_path, monkeypatch)
    assert code == 2 and "not valid JSON" in err


def test_serve_refuses_bad_config(tmp_path, capsys, monkeypatch):
    config = tmp_path / "c.toml"
    config.write_text("[server]\nport = 0\n")
    code, _, err = _run(["serve", "--config", str(config)], capsys, tmp_path, monkeypatch)
    assert code == 2 and "server.port" in err


def test_serve_refuses_open_mode_off_loopback(tmp_path, capsys, monkeypatch):
    code, _, err = _run(["serve", "--host", "0.0.0.0", "--port", "18099"], capsys, tmp_path, monkeypatch)
    assert code == 2 and "issuer" in err.lower()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runs_gunicorn_and_answers(tmp_path):
    """The README's run command, for real: a production server on loopback, open mode announced."""
    port = _free_port()
    env = {**os.environ, "WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data")}
    env.pop("WITHDRAWAL_CDS_CONFIG", None)
    proc = subprocess.Popen([sys.executable, "-m", "cds_service.cli", "serve", "--port", str(port), "--workers", "1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/cds-services", timeout=2) as r:
                    services = json.load(r)["services"]
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not start: {proc.stderr.read() if proc.poll() is not None else ''}")
                time.sleep(0.2)
        assert len(services) == 4
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/cds-services/withdrawal-patient-view",
            data=json.dumps(hook_request("patient-view", [patient(), oud_condition()])).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as r:
            assert json.load(r)["cards"]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert "without authentication" in err.lower()
    assert "gunicorn" in err.lower() or "Booting worker" in err


def test_report_shows_a_card_accepted_then_overridden_under_both(tmp_path, capsys, monkeypatch):
    """Through the real feedback endpoint and `withdrawal-cds report` on the same data directory."""
    from cds_service import create_app
    from cds_service.config import load_settings
    from cds_service.runtime import EXTENSION
    from tests.calls import accepted, overridden, topics

    app = create_app(load_settings(environ={"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data")}))
    client = app.test_client()
    pv = "/cds-services/withdrawal-patient-view"
    naloxone = topics(client.post(pv, json=hook_request("patient-view", [patient(), oud_condition()])).get_json())[
        "naloxone"]
    batch = [accepted(naloxone, when="2026-01-05T10:00:00Z"), overridden(naloxone, when="2026-01-05T10:05:00Z")]
    assert client.post(pv + "/feedback", json={"feedback": batch}).status_code == 200
    app.extensions[EXTENSION].store.dispose()

    code, out, _ = _run(["report"], capsys, tmp_path, monkeypatch)
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("topic"))
    assert header.split()[:5] == ["topic", "issued", "accepted", "overridden", "both"]
    row = next(line for line in out.splitlines() if line.startswith("naloxone"))
    assert row.split()[1:5] == ["1", "1", "1", "1"]
    assert "counts in accepted, in overridden and once in both" in out
