"""Part `server`: the production server against a floor server, under the same load generator.

Both run on loopback at the same time, each its own gunicorn with the project's worker class and
options: the service as `withdrawal-cds serve --workers N`, the floor as `python -m benchmarks.floor
--workers N` (cds_service.serving.server.run_server with only the app swapped; benchmarks/floor.py). A
Python load generator in this process drives one of them at a time: per record size and client
count, several short slices, floor and service in turn (the first alternating), so drift falls on
both; calls/s and latency are pooled over the slices, and the throughput ratio service / floor is
given with its range over the slice pairs.

The load generator shares the machine's cores with the servers. It is kept cheap: one thread and
one keep-alive connection per client (a minimal HTTP/1.1 client below, not http.client), a request
body serialized once (only its hookInstance is replaced per call, a bytes.replace), the answer's
status and card count checked. What it costs is measured and printed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from benchmarks import records
from benchmarks.child import REPO, SERVICE_PATH
from benchmarks.inprocess import gc_line
from benchmarks.report import Target, median, ms, percentile, table, verdict

# Issue 14, "new target": at 100 resources and 8 clients, service throughput / floor throughput.
TARGETS = {(100, 8): Target(0.5, higher_is_better=True)}


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent() -> None:
    """Run in the server's process before exec: the kernel sends it SIGTERM if the benchmark dies,
    even by SIGKILL, so no gunicorn outlives the run (it has a session of its own, see start())."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("withdrawal-cds")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("withdrawal-cds")
    return [found] if found else [sys.executable, "-m", "cds_service.cli"]


@dataclass
class Server:
    """A gunicorn master we started (its own process group), its port and its log."""
    name: str
    cmd: list[str]
    env: dict
    tmp: str
    port: int = 0
    proc: subprocess.Popen | None = None
    log: object = None

    def start(self) -> Server:
        self.log = open(Path(self.tmp, f"{self.name}.log"), "wb")  # noqa: SIM115 - closed in stop()
        # A session of its own, so stop() can kill master and workers together if it must.
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.tmp, start_new_session=True, preexec_fn=_die_with_parent)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/cds-services"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} server exited with {self.proc.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError, urllib.error.URLError):
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} server not ready at {url} within {timeout}s:\n{self.tail()}")

    def floor_gc(self) -> dict:
        """The floor's GC state, as one of its workers reports it (benchmarks/floor.py discovery)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/cds-services", timeout=5) as r:
            return orjson.loads(r.read()).get("floor", {})

    def tail(self) -> str:
        self.log.flush()
        return Path(self.tmp, f"{self.name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # gunicorn master: graceful stop of its workers
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the process group we started
                self.proc.wait(5)
        if self.log:
            self.log.close()


def _servers(tmp: str, workers: int, database_url: str | None) -> tuple[Server, Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WITHDRAWAL_CDS_")}
    env["WITHDRAWAL_CDS_DATA_DIR"] = tmp
    # The checkout, importable even when the package is not installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    bind = ["--host", "127.0.0.1", "--workers", str(workers)]
    floor_port, service_port = _free_port(), _free_port()
    floor = Server("floor", [sys.executable, "-m", "benchmarks.floor", *bind, "--port", str(floor_port)],
                   dict(env), tmp, floor_port)
    service_env = dict(env)
    if database_url:
        service_env["WITHDRAWAL_CDS_DATABASE_URL"] = database_url
    service = Server("service", [*_cli(), "serve", *bind, "--port", str(service_port)], service_env, tmp,
                     service_port)
    return floor, service


# --------------------------------------------------------------------------------------------
# the load generator
# --------------------------------------------------------------------------------------------

@dataclass
class Slice:
    """What one burst of load against one server gave."""
    seconds: float
    client_cpu: float = 0.0  # CPU seconds this process (the load generator) used meanwhile
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    last_error: str = ""

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


class Connection:
    """A minimal HTTP/1.1 keep-alive client: a request head built once, answers read by Content-Length.

    http.client parses every answer's headers with the email package, which cost this process
    ~0.3-0.6 ms of CPU per call, on the cores the servers need. This costs a fraction of that.
    """

    def __init__(self, port: int, path: str, body_length: int):
        self.port = port
        self.head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {body_length}\r\n\r\n").encode()
        self.sock: socket.socket | None = None
        self.buf = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # the head goes out at once
        self.sock, self.buf = sock, b""
        return sock

    def post(self, body: bytes) -> tuple[int, bytes]:
        sock = self.sock or self._connect()
        sock.sendall(self.head)
        sock.sendall(body)
        while b"\r\n\r\n" not in self.buf:
            self._recv()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.lower().split(b"\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in lines if line.startswith(b"content-length:")), None)
        if length is None:
            raise OSError("answer without Content-Length")
        self.buf = rest
        while len(self.buf) < length:
            self._recv()
        data, self.buf = self.buf[:length], self.buf[length:]
        if b"connection: close" in lines:
            self.close()
        return int(lines[0].split(b" ", 2)[1]), data

    def _recv(self) -> None:
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _client(port: int, body: records.RequestBody, stop_at: list[float], start: threading.Barrier,
            out: Slice, lock: threading.Lock) -> None:
    conn = Connection(port, SERVICE_PATH, len(body))
    latencies, errors, last = [], 0, ""
    start.wait()
    while True:
        raw = body.next()  # a new hookInstance per call, as an EHR sends
        t0 = time.perf_counter()
        if t0 >= stop_at[0]:
            break
        try:
            status, data = conn.post(raw)
            elapsed = time.perf_counter() - t0
            if status == 200 and orjson.loads(data).get("cards"):
                latencies.append(elapsed)
                continue
            last = f"HTTP {status}: {data[:200]!r}"
        except (OSError, ValueError, IndexError) as exc:  # orjson.JSONDecodeError is a ValueError
            last = f"{type(exc).__name__}: {exc}"
            conn.close()  # reconnects on the next request
        errors += 1
    conn.close()
    with lock:
        out.latencies.extend(latencies)
        out.errors += errors
        out.last_error = last or out.last_error


def load(port: int, body: records.RequestBody, clients: int, seconds: float) -> Slice:
    """`clients` threads posting back to back for `seconds`; throughput counts until the last answer."""
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]
    out, lock = Slice(seconds), threading.Lock()
    threads = [threading.Thread(target=_client, args=(port, body, stop_at, start, out, lock), daemon=True)
               for _ in range(clients)]
    for t in threads:
        t.start()
    c0, t0 = time.process_time(), time.perf_counter()
    stop_at[0] = t0 + seconds
    start.wait()
    for t in threads:
        t.join(seconds + 35)
    out.seconds = time.perf_counter() - t0
    out.client_cpu = time.process_time() - c0
    return out


# --------------------------------------------------------------------------------------------
# the part
# --------------------------------------------------------------------------------------------

def _pooled(slices: list[Slice]) -> dict:
    lat = [x for s in slices for x in s.latencies]
    calls, seconds = len(lat), sum(s.seconds for s in slices)
    row = {"calls": calls, "errors": sum(s.errors for s in slices), "seconds": seconds, "rate": calls / seconds,
           "client_cpu_ms_per_call": ms(sum(s.client_cpu for s in slices)) / max(1, calls),
           "client_cores": sum(s.client_cpu for s in slices) / seconds,
           "last_error": next((s.last_error for s in slices if s.last_error), "")}
    if lat:
        row.update({f"p{p}": ms(percentile(lat, p)) for p in (50, 95, 99)})
        row["max"] = ms(max(lat))
    return row


def measure(floor: Server, service: Server, size: int, clients: int, seconds: float, slices: int) -> dict:
    body = records.RequestBody(records.hook_request(size))
    each = seconds / slices
    got: dict[str, list[Slice]] = {"floor": [], "service": []}
    for i in range(slices):
        order = (floor, service) if i % 2 == 0 else (service, floor)
        for server in order:
            got[server.name].append(load(server.port, body, clients, each))
    ratios = [s.rate / f.rate if f.rate else 0.0 for f, s in zip(got["floor"], got["service"], strict=True)]
    f, s = _pooled(got["floor"]), _pooled(got["service"])
    return {"size": size, "clients": clients, "slices": slices, "floor": f, "service": s,
            "ratio": s["rate"] / f["rate"] if f["rate"] else 0.0,
            "ratio_min": min(ratios), "ratio_max": max(ratios), "ratio_median": median(ratios)}


def run(sizes: list[int], client_counts: list[int], seconds: float, slices: int, workers: int,
        database_url: str | None) -> tuple[list[dict], dict]:
    tmp = tempfile.mkdtemp(prefix="wcds-bench-server-")
    floor, service = _servers(tmp, workers, database_url)
    rows = []
    try:
        for server in (floor, service):
            server.start()
        for server in (floor, service):
            server.wait_ready(60)
        floor_gc = floor.floor_gc()
        for size in sizes:
            warm = records.RequestBody(records.hook_request(size))
            for server in (floor, service):  # every worker: lazy imports, connections, caches
                load(server.port, warm, max(client_counts), min(2.0, max(0.5, seconds / 4)))
            for clients in client_counts:
                row = measure(floor, service, size, clients, seconds, slices)
                rows.append(row)
                print(f"  [server] {size} resources, {clients} client(s): floor {row['floor']['rate']:.1f}/s, "
                      f"service {row['service']['rate']:.1f}/s, x{row['ratio']:.2f}; errors "
                      f"{row['floor']['errors']}/{row['service']['errors']}", file=sys.stderr, flush=True)
                for who in ("floor", "service"):
                    if row[who]["errors"]:
                        print(f"    {who} errors, last: {row[who]['last_error']}", file=sys.stderr)
    except Exception:
        for server in (floor, service):
            if server.log:
                print(f"--- {server.name} log ---\n{server.tail()}", file=sys.stderr)
        raise
    finally:
        for server in (floor, service):
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    shown = {"service": " ".join(["withdrawal-cds", *service.cmd[1:]]),
             "floor": " ".join(["python", *floor.cmd[1:]]), "floor_gc": floor_gc}
    return rows, shown


def render(rows: list[dict], commands: dict, workers: int, busy: bool, database: str) -> str:
    head = (f"## server: production server vs floor server, {workers} workers each, {database}\n\n"
            f"Service: `{commands['service']}`; floor: `{commands['floor']}` (same gunicorn options and worker "
            "class, the floor app). A Python load generator (threads, keep-alive connections) on the same "
            "cores drives one server at a time, in alternating slices; calls/s and latencies pooled over the "
            "slices; the ratio's range is over the slice pairs. Only 200 answers with cards count as calls. "
            f"{gc_line('A floor worker', commands['floor_gc'])} (the worker class's imports among them).\n")
    out = []
    for r in rows:
        f, s = r["floor"], r["service"]
        target = TARGETS.get((r["size"], r["clients"]))
        lat = " / ".join(f"{s.get(k, 0):.1f}" for k in ("p50", "p95", "p99"))
        flat = " / ".join(f"{f.get(k, 0):.1f}" for k in ("p50", "p95", "p99"))
        out.append([f"{r['size']:,}", str(r["clients"]), f"{f['rate']:.1f}", f"{s['rate']:.1f}",
                    f"**{r['ratio']:.2f}x**", f"{r['ratio_min']:.2f}-{r['ratio_max']:.2f}", lat, flat,
                    f"{s['calls']} / {f['calls']}", f"{s['errors']} / {f['errors']}",
                    f"{s['client_cpu_ms_per_call']:.2f} ({s['client_cores']:.0%}) / "
                    f"{f['client_cpu_ms_per_call']:.2f} ({f['client_cores']:.0%})",
                    target.text() if target else "-", verdict(r["ratio"], target, busy)])
    return head + "\n" + table(["resources", "clients", "floor calls/s", "service calls/s", "service / floor",
                                "range", "service p50 / p95 / p99 ms", "floor p50 / p95 / p99 ms",
                                "calls service / floor", "errors service / floor",
                                "load generator CPU ms per call (of a core), service / floor", "target", "verdict"],
                                out)
