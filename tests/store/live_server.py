"""The real service (`withdrawal-cds serve`, gunicorn), as a subprocess on loopback, for load and crash tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.serving import wait_healthy
from tests.store.databases import TEST_KEY

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`config`: the TOML of a config file to serve with; `port`: one chosen beforehand (a JWT's `aud`
    must name it before the server starts)."""

    def __init__(self, database_url: str, data_dir: Path, log_file: Path, workers: int = 2,
                 config: str | None = None, port: int | None = None):
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_file = log_file
        env = {k: v for k, v in os.environ.items() if not k.startswith("WITHDRAWAL_CDS_")}
        env.update({"WITHDRAWAL_CDS_DATABASE_URL": database_url, "WITHDRAWAL_CDS_DATA_DIR": str(data_dir),
                    "WITHDRAWAL_CDS_PATIENT_KEY": TEST_KEY.decode(), "PYTHONPATH": str(REPO)})
        command = [sys.executable, "-m", "cds_service.cli", "serve", "--port", str(self.port),
                   "--workers", str(workers)]
        if config is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            (data_dir / "config.toml").write_text(config)
            command += ["--config", str(data_dir / "config.toml")]
        self._log = open(log_file, "wb")
        # Own session: the whole server (master and workers) can be killed as one group.
        # `withdrawal-cds serve` as deployed: gunicorn with our worker class, 8 threads a worker.
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def wait_ready(self, timeout: float = 30.0) -> None:
        wait_healthy(self.base_url, self.process, self.log_tail, timeout)

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def kill_worker(self) -> int:
        pid = self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def reaped(self, pid: int, timeout: float = 10.0) -> bool:
        """Whether the master has reaped `pid` within `timeout`: a worker killed a moment ago is
        its child, a zombie, until the master's SIGCHLD handler runs, later under load."""
        deadline = time.monotonic() + timeout
        while pid in self.worker_pids():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self, timeout: float = 30.0) -> None:
        """As an orchestrator stops it: SIGTERM to the master, which stops its workers and exits."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)

    def kill_all(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        try:
            self.kill_all()
        finally:
            self._log.close()
