"""The whole loop through the running service (`withdrawal-cds serve`), on SQLite and PostgreSQL:
cards issued, a clinician overrides one, the topic is snoozed for that patient, and
`withdrawal-cds report` counts what happened."""

from __future__ import annotations

import os
import subprocess
import sys

import requests

from tests.calls import PATIENT_VIEW, accepted, overridden, patient_view, topics
from tests.store.databases import TEST_KEY
from tests.store.live_server import REPO, LiveServer


def test_override_snoozes_and_report_counts_through_the_running_service(database_url, tmp_path):
    server = LiveServer(database_url, tmp_path / "data", tmp_path / "server.log", workers=1)
    try:
        server.wait_ready()
        url = f"{server.base_url}/cds-services/{PATIENT_VIEW}"
        first = topics(requests.post(url, json=patient_view("pat-1"), timeout=30).json())
        assert set(first) == {"moud-referral", "counseling", "naloxone", "depression-screen"}

        feedback = {"feedback": [overridden(first["moud-referral"], "patient-declined"),
                                 accepted(first["naloxone"])]}
        answer = requests.post(f"{url}/feedback", json=feedback, timeout=30)
        assert answer.status_code == 200, answer.text

        again = topics(requests.post(url, json=patient_view("pat-1"), timeout=30).json())
        other = topics(requests.post(url, json=patient_view("pat-2"), timeout=30).json())
        # Declined MOUD is not re-raised for this patient, and accepted naloxone rests for a day
        # (the accepted order may not be in the record until it is signed).
        assert set(again) == {"counseling", "depression-screen"}
        assert set(other) == {"moud-referral", "counseling", "naloxone", "depression-screen"}
    finally:
        server.close()

    env = {k: v for k, v in os.environ.items() if not k.startswith("WITHDRAWAL_CDS_")}
    env.update({"WITHDRAWAL_CDS_DATABASE_URL": database_url, "WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data"),
                "WITHDRAWAL_CDS_PATIENT_KEY": TEST_KEY.decode()})
    report = subprocess.run([sys.executable, "-m", "cds_service.cli", "report"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert report.returncode == 0, report.stderr
    rows = {line.split()[0]: line.split() for line in report.stdout.splitlines()
            if line.split() and line.split()[0] in {"moud-referral", "counseling", "naloxone"}}
    # topic, issued, accepted, overridden, both, no feedback, ...
    assert rows["moud-referral"][1:6] == ["2", "0", "1", "0", "1"]
    assert rows["naloxone"][1:6] == ["2", "1", "0", "0", "1"]
    assert rows["counseling"][1:6] == ["3", "0", "0", "0", "3"]
    assert "patient-declined" in " ".join(rows["moud-referral"])
