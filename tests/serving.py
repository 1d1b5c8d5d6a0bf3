"""`withdrawal-cds serve` for real (gunicorn, our worker) as a subprocess on loopback, stopped with
SIGTERM as an orchestrator stops it, so that what it wrote to stdout and stderr can be read whole."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serving:
    """`serve` with `args` and `env` (on top of a copy of ours without WITHDRAWAL_CDS_* variables)."""

    def __init__(self, args: list[str], env: dict[str, str], logs: Path, port: int):
        self.base_url = f"http://127.0.0.1:{port}"
        self.stdout_path, self.stderr_path = logs / "stdout.log", logs / "stderr.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("WITHDRAWAL_CDS_")}
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen([sys.executable, "-m", "cds_service.cli", "serve", *args],
                                            cwd=REPO, env={**clean, "PYTHONPATH": str(REPO), **env},
                                            stdout=out, stderr=err, start_new_session=True)

    def wait_ready(self, timeout: float = 30.0) -> None:
        wait_healthy(self.base_url, self.process, self.stderr, timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def wait_healthy(base_url: str, process: subprocess.Popen, output, timeout: float = 30.0) -> None:
    """Until `base_url`/healthz answers 200; AssertionError with `output()` (the server's log)
    if the process exits or the timeout passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{output()}")
        try:
            if requests.get(f"{base_url}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass  # not listening yet, or its workers are still starting
        time.sleep(0.05)  # polling for readiness; nothing to wait on across processes
    raise AssertionError(f"server not ready in {timeout}s:\n{output()}")
