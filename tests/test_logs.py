"""Log lines: `[logging] format = "json"` gives one JSON object a line with the text format's fields,
from our loggers and from gunicorn's, and, like the text format, no patient data and no token."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime

import requests

from cds_service.logs import JsonFormatter, configure_logging
from tests.auth.test_sandbox import SANDBOX_ISS, sandbox_token
from tests.calls import hook_request, oud_condition, overridden, patient, topics
from tests.serving import REPO, Serving, free_port

FIELDS = {"time", "level", "logger", "message"}
PV = "/cds-services/withdrawal-patient-view"
# Distinctive, so that a hit in the logs cannot be a coincidence.
PATIENT_NAME = "Quorvellianx"
PATIENT_ID = "pat-" + uuid.uuid4().hex[:12]
ACCESS_TOKEN = "fhir-access-" + uuid.uuid4().hex


def _record(message: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("withdrawal_cds.hooks", logging.INFO, __file__, 1, message, args, exc_info)


def test_a_json_line_holds_the_text_formats_fields():
    line = JsonFormatter().format(_record("hook service=%s cards=%d", "withdrawal-patient-view", 3))
    entry = json.loads(line)
    assert set(entry) == FIELDS and "\n" not in line
    assert entry["message"] == "hook service=withdrawal-patient-view cards=3"
    assert (entry["level"], entry["logger"]) == ("INFO", "withdrawal_cds.hooks")
    assert entry["time"].endswith("Z") and datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))


def test_an_exception_is_logged_by_type_and_place_never_by_its_message():
    try:
        {}[PATIENT_NAME]
    except KeyError as exc:
        record = _record("unhandled", exc_info=(type(exc), exc, exc.__traceback__))
    entry = json.loads(JsonFormatter().format(record))
    assert entry["exception"].startswith("KeyError at test_logs.py:")
    assert PATIENT_NAME not in json.dumps(entry)


def test_the_format_follows_the_settings_of_the_app_last_built(make_app, capsys):
    make_app(logging={"format": "json"})
    logging.getLogger("withdrawal_cds.test").warning("one %s", "event")
    logging.getLogger("cards").warning("skipped a record entry")
    lines = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["message"] for line in lines[-2:]] == ["one event", "skipped a record entry"]

    make_app()
    logging.getLogger("withdrawal_cds.test").warning("back to text")
    assert capsys.readouterr().err.rstrip().endswith("WARNING withdrawal_cds.test back to text")
    configure_logging()


def test_served_with_json_logs_every_line_of_both_streams_is_one_object_and_holds_no_secret(tmp_path):
    """gunicorn for real, the Sandbox as issuer: a session of calls of every kind, then every line
    of stdout (the access log) and stderr (gunicorn's log and ours) parsed."""
    jwks = REPO / "tests" / "fixtures" / "sandbox-jwks.json"
    config = tmp_path / "config.toml"
    port = free_port()
    config.write_text(f'[logging]\nformat = "json"\n\n[server]\npublic_base_urls = ["http://127.0.0.1:{port}"]\n\n'
                      f'[[issuers]]\niss = "{SANDBOX_ISS}"\njwks_file = "{jwks}"\n')
    server = Serving(["--config", str(config), "--port", str(port), "--workers", "1"],
                     {"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data")}, tmp_path, port)
    tokens = []

    def call(method: str, path: str, **kwargs) -> requests.Response:
        tokens.append(sandbox_token(server.base_url + path))
        return requests.request(method, server.base_url + path, timeout=30,
                                headers={"Authorization": f"Bearer {tokens[-1]}"}, **kwargs)

    try:
        server.wait_ready()
        assert call("GET", "/cds-services").status_code == 200
        record = [patient(PATIENT_ID, name=PATIENT_NAME), oud_condition(PATIENT_ID)]
        fhir_authorization = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300,
                              "scope": "patient/*.read", "subject": "withdrawal-cds"}
        hook = call("POST", PV, json=hook_request("patient-view", record, pid=PATIENT_ID,
                                                  fhirServer="https://fhir.example.org/r4",
                                                  fhirAuthorization=fhir_authorization))
        assert hook.status_code == 200, hook.text
        assert call("POST", PV + "/feedback",
                    json={"feedback": [overridden(topics(hook.json())["moud-referral"])]}).status_code == 200
        assert call("POST", PV, json={"hook": "patient-view"}).status_code == 400
        replayed = requests.get(server.base_url + "/cds-services", timeout=10,
                                headers={"Authorization": f"Bearer {tokens[0]}"})
        assert replayed.status_code == 401
    finally:
        server.stop()

    entries = []
    for stream in (server.stdout(), server.stderr()):
        for line in stream.splitlines():
            entry = json.loads(line)  # a line that is not one JSON object fails here
            assert FIELDS <= set(entry) <= FIELDS | {"exception"}, entry
            entries.append(entry)
    loggers = {entry["logger"] for entry in entries}
    assert {"gunicorn.error", "gunicorn.access", "withdrawal_cds.hooks", "withdrawal_cds.auth"} <= loggers
    assert any('"POST /cds-services/withdrawal-patient-view"' in e["message"] for e in entries)

    logged = server.stdout() + server.stderr()
    secrets = {"patient name": PATIENT_NAME, "patient id": PATIENT_ID, "access token": ACCESS_TOKEN}
    secrets |= {f"jwt {n}": token for n, token in enumerate(tokens)}
    secrets |= {f"jwt signature {n}": token.rsplit(".", 1)[1] for n, token in enumerate(tokens)}
    assert [what for what, secret in secrets.items() if secret in logged] == []
