"""The benchmark harness runs end to end (`--quick`) and prints its tables. No timing is asserted:
the figures of a few rounds on a shared machine mean nothing; this only keeps the harness working."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_runs_every_part_and_summarizes(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WITHDRAWAL_CDS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    out = tmp_path / "run.json"
    run = subprocess.run([sys.executable, "-m", "benchmarks.bench", "--quick", "--json", str(out)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for heading in ("## inprocess:", "## direct:", "## fhir:", "## server:", "## memory:", "## Issue 14's table"):
        assert heading in run.stdout
    assert run.stdout.count("| resources |") == 5
    assert run.stdout.count("Load average at") == 2
    assert "**Targets:" in run.stdout
    assert run.stdout.count("Machine check:") + run.stdout.count("NO VERDICT: machine busy") == 5

    result = json.loads(out.read_text())
    assert set(result["parts"]) == {"inprocess", "direct", "fhir", "server", "memory"}
    assert result["figures"]["direct.100.cpu_ratio"] > 0
    assert result["figures"]["server.100.2c.service_calls_s"] > 0

    summary = subprocess.run([sys.executable, "-m", "benchmarks.summarize", str(out), str(out)],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert summary.returncode == 0, summary.stderr
    assert "median" in summary.stdout and "direct.100.cpu_ratio" in summary.stdout



def test_the_slow_client_benchmark_runs_each_attack_and_reports_it(tmp_path):
    """A few attackers for a few seconds: the harness works; its verdict on this machine means nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WITHDRAWAL_CDS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    run = subprocess.run([sys.executable, "-m", "benchmarks.slow_clients", "--seconds", "2", "--attackers", "3",
                          "--kinds", "expect-no-body,answers-not-read"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode in (0, 1), run.stdout[-3000:] + run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert lines[0].startswith("quiet ") and "calls" in lines[0]
    for kind in ("expect-no-body", "answers-not-read"):
        (row,) = [line for line in lines if line.startswith(kind)]
        assert "attack: 3 opened" in row and "x quiet" in row
    assert lines[-1].startswith("verdict: ")
