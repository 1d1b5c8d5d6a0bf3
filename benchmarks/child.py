"""One app (or HTTP client) in a process of its own, driven by the benchmark over a pipe.

    python -m benchmarks.child floor|service|client DATA_DIR

Why a process each: the service's workers tune the garbage collector (cds_service.serving.server.
prepare_process: gc.freeze and higher thresholds). In one process the floor would inherit that
tuning, and the ratio would flatter the service at 100 resources and wrong it at 10,000. Here:

- `floor` imports Flask, orjson and benchmarks.floor only, and keeps Python's default GC;
- `service` builds the service's app and calls prepare_process(app), as a gunicorn worker does;
- `client` is a bare HTTP client (requests + orjson, as the service's FHIR fetcher uses): the FHIR
  part's baseline, the slowest single query. The baseline is a lower bound of the service's path,
  so it gets the service's GC settings (start-up objects frozen, cds_service.serving.server.GC_THRESHOLDS):
  with default GC its parse of a large answer cost more than the service's, and whole call / slowest
  query came out below 1.0.

The parent sends a request body once per record (`body`), then asks for one call at a time
(`call`); the child times each call itself, wall clock (perf_counter) and CPU (its thread's and its
whole process's), and answers the figures. Frames on the pipe: 4-byte length, then a pickle.
This module is imported by the floor child, so its top level imports stay light.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import pickle
import select
import struct
import subprocess
import sys
import time
import traceback
import uuid
from pathlib import Path

SERVICE_PATH = "/cds-services/withdrawal-patient-view"  # records.SERVICE_ID (records imports the service)
CONTENT_TYPE = "application/json"
_HEADER = struct.Struct("!I")
REPO = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------------
# the wire
# --------------------------------------------------------------------------------------------

def _frame(message) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


def _write(stream, message) -> None:
    stream.write(_frame(message))
    stream.flush()


def _send(fd: int, message, deadline: float) -> None:
    """The parent's write, bounded in time: a child that stopped reading must not hang the run."""
    data = memoryview(_frame(message))
    while data:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
            raise TimeoutError("the child took no request in time")
        try:
            data = data[os.write(fd, data[:1 << 20]):]
        except BlockingIOError:
            continue


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, left = [], n
    while left:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError("no answer from the child in time")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read(fd: int, deadline: float | None = None):
    (n,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    return pickle.loads(_read_exact(fd, n, deadline))


# --------------------------------------------------------------------------------------------
# the parent's side
# --------------------------------------------------------------------------------------------

class Child:
    """A child process running one app; `call()` asks it for one timed call."""

    def __init__(self, kind: str, data_dir: str, timeout: float = 120.0):
        self.kind = kind
        self.timeout = timeout
        self.sent: set = set()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.child", kind, data_dir],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=data_dir)
        self.stdin = self.proc.stdin.fileno()
        os.set_blocking(self.stdin, False)  # writes are bounded by select (_send)
        self.info = self.ask("info")  # waits for the app to be built

    def ask(self, *message):
        deadline = time.monotonic() + self.timeout
        try:
            _send(self.stdin, message, deadline)
            answer = _read(self.proc.stdout.fileno(), deadline)
        except (OSError, EOFError, TimeoutError) as exc:
            self.kill()  # a half-written frame may be in the pipe: nothing more can be said to it
            raise RuntimeError(f"{self.kind} child: {exc} (its stderr is above)") from None
        if isinstance(answer, dict) and "error" in answer:
            raise RuntimeError(f"{self.kind} child failed:\n{answer['error']}")
        return answer

    def send_body(self, key, body) -> None:
        """Hand the child a serialized request (records.RequestBody) once; later calls name it by key."""
        if key not in self.sent:
            self.ask("body", key, body.raw, body.instance)
            self.sent.add(key)

    def call(self, key, mode: str) -> dict:
        """One timed call of the body `key`; mode "client" (Flask test client) or "direct" (WSGI call)."""
        return self.ask("call", key, mode)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                _send(self.stdin, ("quit",), time.monotonic() + 5)
                self.proc.wait(10)
            except (OSError, TimeoutError, subprocess.TimeoutExpired):
                self.proc.kill()
        self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream and not stream.closed:
                with contextlib.suppress(OSError):
                    stream.close()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# the child's side
# --------------------------------------------------------------------------------------------

class Body:
    """A request body whose hookInstance is new on every next(), like records.RequestBody."""

    def __init__(self, raw: bytes, instance: bytes):
        self.raw, self.instance = raw, instance

    def next(self) -> bytes:
        # Same length every time (a UUID), so a prepared CONTENT_LENGTH stays right.
        return self.raw.replace(self.instance, str(uuid.uuid4()).encode(), 1)


def quiet_service_logs() -> None:
    """The service logs a line per call: keep that cost, send the lines nowhere."""
    import logging

    logger = logging.getLogger("withdrawal_cds")
    if not logger.handlers:
        handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - lives for the process
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def service_app(data_dir: str):
    """The service's own app, open mode (no issuers), SQLite under data_dir, readied as a worker is."""
    from cds_service import create_app
    from cds_service.config import load_settings
    from cds_service.serving.server import prepare_process

    quiet_service_logs()
    app = create_app(load_settings(environ={"WITHDRAWAL_CDS_DATA_DIR": data_dir}))
    prepare_process(app)  # as a gunicorn worker does before its first request
    return app


def _time_fetch_phase(app) -> list[float]:
    """Time the service's FHIR fetch phase (FhirFetcher.fetch, wrapped on this app's instance only)."""
    from cds_service.runtime import EXTENSION

    fetcher = app.extensions[EXTENSION].fetcher
    sink: list[float] = []
    inner = fetcher.fetch

    def fetch(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            sink.append(time.perf_counter() - t0)

    fetcher.fetch = fetch
    return sink


class AppChild:
    """The floor or the service, called through a Flask test client or directly as a WSGI app."""

    def __init__(self, kind: str, data_dir: str):
        if kind == "service":
            self.app = service_app(data_dir)
            self.fetch_times = _time_fetch_phase(self.app)
        else:
            from benchmarks.floor import create_app
            self.app = create_app()
            self.fetch_times = []
        self.test_client = self.app.test_client()
        self.bodies: dict = {}
        self.environs: dict = {}

    def body(self, key, raw: bytes, instance: bytes) -> None:
        from werkzeug.test import EnvironBuilder

        self.bodies[key] = Body(raw, instance)
        # The WSGI environ a server would build, made once; each call copies it and gets a new body.
        builder = EnvironBuilder(path=SERVICE_PATH, method="POST", data=raw, content_type=CONTENT_TYPE)
        try:
            self.environs[key] = builder.get_environ()
        finally:
            builder.close()

    def _via_test_client(self, raw: bytes) -> tuple[int, bytes]:
        response = self.test_client.post(SERVICE_PATH, data=raw, headers={"Content-Type": CONTENT_TYPE})
        return response.status_code, response.get_data()

    def _direct(self, key, raw: bytes) -> tuple[int, bytes]:
        environ = dict(self.environs[key])
        environ["wsgi.input"] = io.BytesIO(raw)
        status: list[str] = []

        def start_response(line, headers, exc_info=None):
            status.append(line)

        chunks = self.app(environ, start_response)
        try:
            data = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return int(status[0].split(" ", 1)[0]), data

    def call(self, key, mode: str) -> dict:
        raw = self.bodies[key].next()
        del self.fetch_times[:]
        c0, t0 = time.process_time(), time.thread_time()
        w0 = time.perf_counter()
        status, data = self._direct(key, raw) if mode == "direct" else self._via_test_client(raw)
        wall = time.perf_counter() - w0
        thread_cpu, cpu = time.thread_time() - t0, time.process_time() - c0
        return {"wall": wall, "cpu": cpu, "thread_cpu": thread_cpu, "status": status,
                "fetch": sum(self.fetch_times) if self.fetch_times else None, **_cards(status, data)}


def _cards(status: int, data: bytes) -> dict:
    """What the answer held (read after the clock stopped): card count and topics, or the error."""
    import orjson

    if status != 200:
        return {"cards": 0, "topics": [], "text": data[:400].decode(errors="replace")}
    cards = orjson.loads(data).get("cards") or []
    return {"cards": len(cards), "topics": sorted(c.get("source", {}).get("topic", {}).get("code", "?")
                                                  for c in cards)}


class ClientChild:
    """A bare HTTP client: one GET as the service's fetcher sends it, body parsed with orjson."""

    def __init__(self):
        import orjson
        import requests

        from cds_service.serving.server import GC_THRESHOLDS

        self.loads = orjson.loads
        self.session = requests.Session()
        self.session.trust_env = False
        gc.collect()  # as prepare_process does, without an app
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)

    def get(self, url: str, params: dict | None) -> dict:
        headers = {"Accept": "application/fhir+json, application/json"}
        c0, w0 = time.process_time(), time.perf_counter()
        r = self.session.get(url, params=params, headers=headers, timeout=30)
        body = self.loads(r.content)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        ok = r.status_code == 200 and isinstance(body, dict)
        return {"wall": wall, "cpu": cpu, "status": r.status_code if ok else -1, "bytes": len(r.content)}


def _info() -> dict:
    return {"pid": os.getpid(), "gc_threshold": gc.get_threshold(), "gc_frozen": gc.get_freeze_count(),
            "gc_tracked": len(gc.get_objects())}


def memory() -> dict:
    """Resident set now (VmRSS) and at its highest (VmHWM) in kB, from /proc/self/status.

    Not getrusage's ru_maxrss: Linux carries it over fork and exec, so a child started from a
    large parent reports the parent's peak until it outgrows it.
    """
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return {"rss_kb": fields["VmRSS"], "hwm_kb": fields["VmHWM"], "peak_reset": False}


def reset_peak() -> dict:
    """Start the high-water mark afresh at the current resident set (Linux 4.0+: clear_refs 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return {**memory(), "peak_reset": False}  # then the peak since the process started
    return {**memory(), "peak_reset": True}


def serve(kind: str, data_dir: str) -> None:
    # The pipe is stdin and a private copy of stdout; fd 1 then points at stderr, so a library that
    # prints cannot corrupt the frames.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer.fileno()
    worker = ClientChild() if kind == "client" else AppChild(kind, data_dir)
    while True:
        try:
            command, *args = _read(inp)
        except EOFError:
            return
        if command == "quit":
            return
        try:
            if command == "info":
                answer = _info()
            elif command == "memory":
                answer = memory()
            elif command == "reset_peak":
                gc.collect()
                answer = reset_peak()
            else:
                answer = getattr(worker, command)(*args)
        except Exception:
            answer = {"error": traceback.format_exc()}
        _write(out, answer)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
