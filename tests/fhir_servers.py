"""Real and fault-injecting FHIR R4 servers on loopback, for tests and benchmarks.

Everything here binds to 127.0.0.1 only, on an ephemeral port chosen by the kernel,
and runs in daemon threads of the test process (no subprocesses are started).

Pytest fixtures (a plugin: tests/conftest.py lists this module in ``pytest_plugins``):

``fhir_server`` (session)
    A real FHIR R4 server (sekmet-fhir, FastAPI + SQLite in a temp dir) served by
    uvicorn in a background thread.  Open: no authentication is required and any
    ``Authorization`` header is ignored.  Data persists for the whole session.
``clean_fhir_server`` (function)
    The same session server, wiped (all resources deleted, ``requests_seen`` cleared)
    before the test.
``fhir_server_factory`` (function)
    ``fhir_server_factory(token=None, validation="warn") -> SekmetServer``: a new,
    private sekmet server per call, stopped at the end of the test.  With ``token``
    it only accepts ``Authorization: Bearer <token>`` (others get 401).
``fault_server`` (function) / ``fault_server_session`` (session)
    ``fault_server(kind, **opts) -> FaultServer`` with ``.base_url`` and ``.requests``;
    kinds: down, error500, slow, not_json, paging_forever, delayed_real, canary,
    custom.  See :class:`FaultServer`.

The classes can be used without pytest too (``with SekmetServer() as s: ...``).
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest

__all__ = [
    "LOOPBACK", "SeenRequest", "SekmetServer", "FaultServer", "FaultServerFactory",
    "free_loopback_port", "searchset", "operation_outcome",
    "fhir_server", "clean_fhir_server", "fhir_server_factory", "fault_server", "fault_server_session",
]

LOOPBACK = "127.0.0.1"
FHIR_JSON = "application/fhir+json; charset=utf-8"
# Requests carrying this header (our own fixture loading) are not recorded in requests_seen.
_LOAD_HEADER = "X-Test-Fixture-Load"


# ---------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------

@dataclass
class SeenRequest:
    """One request a test server received."""
    method: str
    path: str                       # full URL path, e.g. /fhir/Condition
    rel_path: str                   # path relative to the FHIR base, e.g. Condition or Patient/p1
    query: str                      # raw query string
    headers: dict[str, str]         # lower-cased header names
    body: bytes = b""
    time: float = field(default_factory=time.monotonic)

    @property
    def params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    @property
    def resource_type(self) -> str:
        return self.rel_path.split("/", 1)[0]

    def __repr__(self) -> str:  # short, for assertion messages
        q = f"?{self.query}" if self.query else ""
        return f"<{self.method} {self.path}{q} auth={self.authorization!r}>"


def _rel_path(path: str) -> str:
    p = path.split("?", 1)[0]
    if p == "/fhir" or p.startswith("/fhir/"):
        p = p[len("/fhir"):]
    return p.strip("/")


def free_loopback_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, read, closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def operation_outcome(text: str, code: str = "exception", severity: str = "error") -> dict:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": text}]}


def searchset(resources: Iterable[dict], base_url: str, self_url: str | None = None,
              next_url: str | None = None, total: int | None = None) -> dict:
    """A searchset Bundle of the given resources."""
    resources = list(resources)
    links = [{"relation": "self", "url": self_url or base_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    b: dict[str, Any] = {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "searchset",
                         "link": links}
    if total is not None:
        b["total"] = total
    if resources:
        b["entry"] = [{"fullUrl": f"{base_url}/{r['resourceType']}/{r.get('id', '')}", "resource": r,
                       "search": {"mode": "match"}} for r in resources]
    return b


def _wait_for_metadata(base_url: str, timeout: float, headers: dict[str, str] | None = None,
                       alive: Callable[[], bool] = lambda: True) -> None:
    """Poll GET {base}/metadata until 200, or raise RuntimeError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"FHIR test server at {base_url} died during startup (last: {last})")
        req = urllib.request.Request(f"{base_url}/metadata", headers={"Accept": "application/fhir+json",
                                                                       **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=1) as r:
                if r.status == 200:
                    return
                last = f"HTTP {r.status}"
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code}"
        except OSError as e:
            last = repr(e)
        time.sleep(0.05)
    raise RuntimeError(f"FHIR test server at {base_url} did not answer /metadata within {timeout}s (last: {last})")


# ---------------------------------------------------------------------------
# real FHIR server: sekmet-fhir in-process
# ---------------------------------------------------------------------------

class _RecordingASGI:
    """ASGI wrapper recording each HTTP request before sekmet sees it."""

    def __init__(self, app, sink: list[SeenRequest]):
        self.app = app
        self.sink = sink

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            if _LOAD_HEADER.lower() not in headers:
                self.sink.append(SeenRequest(scope["method"], scope["path"], _rel_path(scope["path"]),
                                             scope.get("query_string", b"").decode("latin-1"), headers))
        await self.app(scope, receive, send)


class SekmetServer:
    """sekmet-fhir (FHIR R4, SQLite) served by uvicorn in a daemon thread on 127.0.0.1:<ephemeral>.

    base_url is ``http://127.0.0.1:<port>/fhir``.  The sekmet simulator (which auto-reacts to
    ServiceRequest/MedicationRequest writes by creating Tasks etc.) and inbound traffic logging
    are disabled.  ``validation`` is sekmet's inbound structural validation: "warn" (default:
    store anything with a matching resourceType), "strict" (reject invalid R4B structure with
    400) or "off".
    """

    def __init__(self, token: str | None = None, validation: str = "warn", startup_timeout: float = 10.0):
        self.token = token
        self.validation = validation
        self.startup_timeout = startup_timeout
        self.requests_seen: list[SeenRequest] = []
        self.base_url = ""
        self.port = 0
        self._server = None
        self._thread: threading.Thread | None = None
        self._tmp: str | None = None
        self._ctx = None
        self._sock: socket.socket | None = None

    # -- lifecycle --------------------------------------------------------

    def start(self) -> "SekmetServer":
        import uvicorn
        from sekmet.config import ServerAuth, Settings, SimulatorSettings, ValidationSettings
        from sekmet.main import create_app

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, 0))
        self.port = sock.getsockname()[1]
        self._sock = sock
        self.base_url = f"http://{LOOPBACK}:{self.port}/fhir"
        self._tmp = tempfile.mkdtemp(prefix="sekmet-test-")
        auth = (ServerAuth(types=["bearer"], tokens=[self.token]) if self.token else ServerAuth(types=["none"]))
        settings = Settings(
            base_url=self.base_url, host=LOOPBACK, port=self.port, data_dir=self._tmp,
            db_path=os.path.join(self._tmp, "sekmet.db"), server_auth=auth,
            validation=ValidationSettings(inbound=self.validation),
            simulator=SimulatorSettings(enabled=False), log_inbound=False,
            own_private_key_path=os.path.join(self._tmp, "no-key.pem"))
        # create_app() calls logging.basicConfig(level=INFO); keep the test process's logging as it was.
        root = logging.getLogger()
        saved = (root.level, list(root.handlers))
        try:
            app = create_app(settings)
        finally:
            root.setLevel(saved[0])
            root.handlers[:] = saved[1]
        for name in ("sekmet", "sekmet.fhir"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._ctx = app.state.ctx
        config = uvicorn.Config(_RecordingASGI(app, self.requests_seen), host=LOOPBACK, port=self.port,
                                log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=2, timeout_keep_alive=5)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name=f"sekmet-{self.port}")
        self._thread.start()
        atexit.register(self.stop)
        try:
            _wait_for_metadata(self.base_url, self.startup_timeout, self.auth_headers(),
                               alive=lambda: self._thread is not None and self._thread.is_alive())
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(5)
            if thread.is_alive():
                server.force_exit = True
                thread.join(2)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._ctx is not None:
            try:
                self._ctx.store.conn.close()
            except Exception:
                pass
            self._ctx = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        try:
            atexit.unregister(self.stop)
        except Exception:
            pass

    def __enter__(self) -> "SekmetServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers ------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def url(self, rel: str) -> str:
        return f"{self.base_url}/{rel.lstrip('/')}"

    def _request(self, method: str, rel: str, body: dict | None = None) -> tuple[int, dict | None]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url(rel), data=data, method=method, headers={
            "Accept": "application/fhir+json", "Content-Type": "application/fhir+json",
            _LOAD_HEADER: "1", **self.auth_headers()})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, {"text": raw.decode(errors="replace")}

    def load(self, resources: Iterable[dict]) -> list[dict]:
        """Create/update resources in one transaction Bundle (PUT Type/id keeps the given ids;
        resources without an id are POSTed and get a server id).  Returns the stored resources.
        Raises RuntimeError with sekmet's OperationOutcome if the transaction fails."""
        resources = list(resources)
        if not resources:
            return []
        entries = []
        for r in resources:
            rt = r["resourceType"]
            req = {"method": "PUT", "url": f"{rt}/{r['id']}"} if r.get("id") else {"method": "POST", "url": rt}
            entries.append({"resource": r, "request": req})
        status, body = self._request("POST", "", {"resourceType": "Bundle", "type": "transaction", "entry": entries})
        if status != 200:
            raise RuntimeError(f"sekmet rejected the fixture transaction (HTTP {status}): {json.dumps(body)[:3000]}")
        return [e.get("resource") for e in body.get("entry", [])]

    def get(self, rel: str) -> tuple[int, dict | None]:
        """GET a path relative to the base (not recorded in requests_seen)."""
        return self._request("GET", rel)

    def delete(self, rtype: str, rid: str) -> None:
        self._request("DELETE", f"{rtype}/{rid}")

    def reset(self) -> None:
        """Delete every resource (and history) and forget recorded requests."""
        if self._ctx is None:
            raise RuntimeError("server not running")
        self._ctx.store.reset()
        self._ctx.subscriptions.invalidate()
        self.clear_requests()

    def clear_requests(self) -> None:
        self.requests_seen.clear()

    def requests_to(self, resource_type: str) -> list[SeenRequest]:
        return [r for r in self.requests_seen if r.resource_type == resource_type]


# ---------------------------------------------------------------------------
# fault servers (stdlib http.server)
# ---------------------------------------------------------------------------

class _QuietThreadingServer(ThreadingHTTPServer):
    daemon_threads = True       # handler threads never block shutdown or interpreter exit
    block_on_close = False
    allow_reuse_address = True
    # A call opens 9 connections at once; with the default backlog of 5, a busy machine dropped
    # a SYN now and then, and the retry came after the 1 s connect timeout.
    request_queue_size = 64

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
            return  # client gave up (e.g. timed out on the slow server): expected
        super().handle_error(request, client_address)


class _FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two sends; with Nagle on, every answer waited ~40 ms for the
    # client's delayed ACK, which made the configured delays unmeasurable.
    disable_nagle_algorithm = True
    timeout = 15  # idle keep-alive connections end on their own
    server: _QuietThreadingServer

    def log_message(self, *args):  # silence stderr access log
        pass

    def _handle(self) -> None:
        spec: FaultServer = self.server.spec  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        seen = SeenRequest(self.command, parts.path, _rel_path(parts.path), parts.query,
                           {k.lower(): v for k, v in self.headers.items()}, body)
        spec.requests.append(seen)
        if spec.kind == "drip":
            spec.drip(self)
            return
        delay = spec.opts.get("delay", 0) or 0
        if delay and spec.stop_event.wait(delay):
            # server is shutting down: drop the connection without answering
            self.close_connection = True
            return
        status, ctype, payload, extra = spec.respond(seen)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


Response = tuple[int, str, "bytes | dict", dict]

KINDS = ("down", "error500", "slow", "not_json", "paging_forever", "delayed_real", "canary", "custom", "drip")


class FaultServer:
    """A misbehaving (or canned) FHIR server on 127.0.0.1.  ``base_url`` ends in ``/fhir``;
    any path is accepted.  ``requests`` lists every request received (:class:`SeenRequest`),
    recorded on arrival, before any delay.

    Kinds and options (every kind also takes ``delay`` seconds before answering):

    - ``down``: nothing listens on the port (bound, then closed).  ``requests`` stays empty.
    - ``error500``: ``status`` (default 500) with an OperationOutcome, for every request.
    - ``slow``: waits ``delay`` (default 5 s) then answers an empty searchset Bundle (reads get a
      stub resource).  Waiting threads are woken and dropped at teardown, so tests end fast.
    - ``not_json``: 200, text/html, ``<html>oops</html>``.
    - ``paging_forever``: every search answers a searchset with one entry and a ``next`` link to
      the same search with ``page`` incremented, forever.
    - ``delayed_real``: canned data after ``delay`` (default 0.1 s) per request.  ``resources``:
      dict resource type -> list of resources.  ``Type?...`` answers a searchset of that type's
      resources (filtered by ``patient``/``subject`` if given and the resource has such a
      reference); ``Type/id`` answers the resource or 404; ``metadata`` a CapabilityStatement.
    - ``canary``: answers every request with an empty searchset Bundle; inspect ``requests``.
    - ``custom``: ``handler(SeenRequest) -> (status, content_type, bytes|dict[, headers])``.
    - ``drip``: a 200 with an empty searchset sent one byte every ``interval`` seconds (default
      1.0): the head too unless ``head=False``; ``chunked=True`` sends the body as one-byte
      chunks. A server that never trips a read timeout, and never finishes.
    """

    def __init__(self, kind: str, **opts):
        if kind not in KINDS:
            raise ValueError(f"unknown fault server kind {kind!r}; expected one of {KINDS}")
        if kind == "slow":
            opts.setdefault("delay", 5.0)
        if kind == "delayed_real":
            opts.setdefault("delay", 0.1)
            opts.setdefault("resources", {})
        if kind == "custom" and not callable(opts.get("handler")):
            raise ValueError("custom fault server needs handler=callable(SeenRequest)")
        self.kind = kind
        self.opts = opts
        self.requests: list[SeenRequest] = []
        self.stop_event = threading.Event()
        self._httpd: _QuietThreadingServer | None = None
        self._thread: threading.Thread | None = None
        if kind == "down":
            self.port = free_loopback_port()
        else:
            httpd = _QuietThreadingServer((LOOPBACK, 0), _FaultHandler)
            httpd.spec = self  # type: ignore[attr-defined]
            self._httpd = httpd
            self.port = httpd.server_address[1]
            self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                            daemon=True, name=f"fault-{kind}-{self.port}")
            self._thread.start()
            atexit.register(self.close)
        self.base_url = f"http://{LOOPBACK}:{self.port}/fhir"

    def __str__(self) -> str:
        return self.base_url

    def __repr__(self) -> str:
        return f"<FaultServer {self.kind} {self.base_url}>"

    def url(self, rel: str) -> str:
        return f"{self.base_url}/{rel.lstrip('/')}"

    def close(self) -> None:
        self.stop_event.set()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()       # returns within poll_interval
            httpd.server_close()   # does not wait for (daemon) handler threads
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        try:
            atexit.unregister(self.close)
        except Exception:
            pass

    def __enter__(self) -> "FaultServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- behaviours -----------------------------------------------------------

    def respond(self, req: SeenRequest) -> Response:
        return getattr(self, f"_r_{self.kind}")(req)

    def _full_url(self, req: SeenRequest) -> str:
        return f"http://{LOOPBACK}:{self.port}{req.path}" + (f"?{req.query}" if req.query else "")

    def _empty_or_read(self, req: SeenRequest) -> Response:
        segs = [s for s in req.rel_path.split("/") if s]
        if len(segs) == 2 and not segs[1].startswith(("_", "$")):
            return 200, FHIR_JSON, {"resourceType": segs[0], "id": segs[1]}, {}
        return 200, FHIR_JSON, searchset([], self.base_url, self._full_url(req), total=0), {}

    def _r_error500(self, req: SeenRequest) -> Response:
        status = int(self.opts.get("status", 500))
        return status, FHIR_JSON, operation_outcome(f"Injected failure (HTTP {status})"), {}

    def _r_slow(self, req: SeenRequest) -> Response:
        return self._empty_or_read(req)

    def _r_not_json(self, req: SeenRequest) -> Response:
        return 200, "text/html; charset=utf-8", b"<html>oops</html>", {}

    def _r_canary(self, req: SeenRequest) -> Response:
        return 200, FHIR_JSON, searchset([], self.base_url, self._full_url(req), total=0), {}

    def _r_paging_forever(self, req: SeenRequest) -> Response:
        segs = [s for s in req.rel_path.split("/") if s]
        rtype = segs[0] if segs else "Bundle"
        if len(segs) == 2 and not segs[1].startswith(("_", "$")):
            return 200, FHIR_JSON, {"resourceType": rtype, "id": segs[1]}, {}
        params = parse_qsl(req.query, keep_blank_values=True)
        page = 0
        for k, v in params:
            if k == "page":
                try:
                    page = int(v)
                except ValueError:
                    pass
        rest = [(k, v) for k, v in params if k != "page"]
        next_url = f"{self.base_url}/{rtype}?{urlencode([*rest, ('page', str(page + 1))])}"
        entry = {"resourceType": rtype, "id": f"page-{page}"}
        if "patient" in dict(params) and rtype not in ("Patient", "Bundle"):
            entry["subject"] = {"reference": f"Patient/{dict(params)['patient'].split('/')[-1]}"}
        return 200, FHIR_JSON, searchset([entry], self.base_url, self._full_url(req), next_url), {}

    def _r_delayed_real(self, req: SeenRequest) -> Response:
        data: dict[str, list[dict]] = self.opts["resources"]
        segs = [s for s in req.rel_path.split("/") if s]
        if segs == ["metadata"]:
            return 200, FHIR_JSON, {"resourceType": "CapabilityStatement", "status": "active",
                                    "kind": "instance", "fhirVersion": "4.0.1", "format": ["json"],
                                    "date": "2024-01-01"}, {}
        if not segs:
            return 400, FHIR_JSON, operation_outcome("no resource type", "not-supported"), {}
        rtype = segs[0]
        if len(segs) == 2 and not segs[1].startswith(("_", "$")):
            for r in data.get(rtype, []):
                if r.get("id") == segs[1]:
                    return 200, FHIR_JSON, r, {}
            return 404, FHIR_JSON, operation_outcome(f"{rtype}/{segs[1]} not found", "not-found"), {}
        params = dict(parse_qsl(req.query, keep_blank_values=True))
        if req.method == "POST" and segs[1:] == ["_search"]:
            params.update(parse_qsl(req.body.decode(errors="replace"), keep_blank_values=True))
        pid = (params.get("patient") or params.get("subject") or "").split("/")[-1]
        out = []
        for r in data.get(rtype, []):
            ref = (r.get("subject") or r.get("patient") or {}).get("reference", "")
            if pid and ref and ref.split("/")[-1] != pid:
                continue
            out.append(r)
        return 200, FHIR_JSON, searchset(out, self.base_url, self._full_url(req), total=len(out)), {}

    def drip(self, handler: BaseHTTPRequestHandler) -> None:
        chunked = self.opts.get("chunked", False)
        body = json.dumps(searchset([], self.base_url, total=0)).encode() + b" " * 4096
        framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % len(body)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\n" + framing + b"\r\n\r\n"
        pieces = [body[i:i + 1] for i in range(len(body))]
        if chunked:
            pieces = [b"1\r\n" + piece + b"\r\n" for piece in pieces]
        if self.opts.get("head", True):
            pieces = [head[i:i + 1] for i in range(len(head))] + pieces
        else:
            pieces.insert(0, head)
        handler.close_connection = True
        for piece in pieces:
            try:
                handler.wfile.write(piece)
            except OSError:
                return  # the client gave up, as it should
            if self.stop_event.wait(self.opts.get("interval", 1.0)):
                return

    def _r_custom(self, req: SeenRequest) -> Response:
        res = self.opts["handler"](req)
        status, ctype, payload = res[:3]
        return status, ctype, payload, (res[3] if len(res) > 3 else {})


class FaultServerFactory:
    """Callable ``factory(kind, **opts) -> FaultServer``; ``close_all()`` stops them all."""

    def __init__(self):
        self.servers: list[FaultServer] = []

    def __call__(self, kind: str, **opts) -> FaultServer:
        s = FaultServer(kind, **opts)
        self.servers.append(s)
        return s

    def close_all(self) -> None:
        for s in self.servers:
            s.close()
        self.servers.clear()


# ---------------------------------------------------------------------------
# pytest fixtures
# ---------------------------------------------------------------------------

_shared: dict[str, Any] = {"server": None, "users": 0}
_shared_lock = threading.Lock()


@pytest.fixture(scope="session")
def fhir_server():
    """Session-wide open sekmet FHIR R4 server: .base_url, .load(resources), .requests_seen, .reset().

    One server per process even if this fixture is imported into several modules/conftests."""
    with _shared_lock:
        if _shared["server"] is None:
            _shared["server"] = SekmetServer().start()
        _shared["users"] += 1
        s = _shared["server"]
    try:
        yield s
    finally:
        with _shared_lock:
            _shared["users"] -= 1
            if _shared["users"] == 0:
                _shared["server"] = None
                s.stop()


@pytest.fixture
def clean_fhir_server(fhir_server):
    """The session sekmet server, emptied (no resources, no recorded requests) for this test."""
    fhir_server.reset()
    yield fhir_server


@pytest.fixture
def fhir_server_factory():
    """fhir_server_factory(token=None, validation="warn") -> a private, started SekmetServer."""
    started: list[SekmetServer] = []

    def make(token: str | None = None, validation: str = "warn") -> SekmetServer:
        s = SekmetServer(token=token, validation=validation).start()
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def fault_server():
    """fault_server(kind, **opts) -> FaultServer (closed at the end of the test)."""
    f = FaultServerFactory()
    yield f
    f.close_all()


@pytest.fixture(scope="session")
def fault_server_session():
    """Like fault_server, but servers live for the whole session (benchmarks)."""
    f = FaultServerFactory()
    yield f
    f.close_all()
