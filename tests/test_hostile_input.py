"""Hostile input: junk inside valid-looking requests, bombs, and slow clients.

- hypothesis feeds FHIR-shaped junk into prefetch and draftOrders: never a 500;
- nesting and size bombs are refused fast (400 / 413) before any real work;
- a gunicorn subprocess shows what slow clients can and cannot do to it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cds_service import create_app
from cds_service.config import load_settings
from tests.calls import hook_request, oud_condition, patient
from tests.junk import anything as _json
from tests.junk import draft as _draft
from tests.junk import prefetch as _prefetch

SERVICE = {"patient-view": "withdrawal-patient-view", "order-select": "withdrawal-order-select",
           "order-sign": "withdrawal-order-sign"}


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory):
    app = create_app(load_settings(
        environ={"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path_factory.mktemp("hostile-data"))},
        overrides={"server": {"max_body_bytes": 256 * 1024}}))
    app.testing = False  # exceptions become 500s, as in production, instead of propagating
    yield app
    app.extensions["withdrawal_cds"].store.dispose()


# --- FHIR-shaped junk (tests/junk.py) -----------------------------------------------------

@given(hook=st.sampled_from(list(SERVICE)), prefetch=_prefetch, drafts=st.lists(_draft, max_size=3),
       junk_drafts=st.one_of(st.none(), _json), complete=st.booleans())
# Found by this test: a Bundle whose `link` or `entry` is not a list.
@example(hook="patient-view", prefetch={"conditions": {"resourceType": "Bundle", "link": 5}}, drafts=[],
         junk_drafts=None, complete=True)
@example(hook="patient-view", prefetch={"observations": {"resourceType": "Bundle", "entry": 7}}, drafts=[],
         junk_drafts=None, complete=True)
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_fhir_shaped_junk_never_yields_a_500(hostile_app, hook, prefetch, drafts, junk_drafts, complete):
    body = hook_request(hook, [patient(), oud_condition()] if complete else None, drafts=drafts)
    body["prefetch"] = {**body.get("prefetch", {}), **prefetch}
    if junk_drafts is not None and hook != "patient-view":
        body["context"]["draftOrders"] = junk_drafts
    response = hostile_app.test_client().post(f"/cds-services/{SERVICE[hook]}", json=body)
    assert response.status_code in (200, 400, 412), (response.status_code, response.get_data()[:300])


# --- bombs ---------------------------------------------------------------------------------

PV = "/cds-services/withdrawal-patient-view"


@contextmanager
def quick(seconds: float):
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    assert elapsed < seconds, f"took {elapsed:.2f} s"


@pytest.mark.parametrize("depth", [2_000, 100_000])
def test_nesting_bomb_is_a_fast_400(hostile_app, depth):
    body = b'{"hook": "patient-view", "prefetch": {"patient": ' + b"[" * depth + b"]" * depth + b"}}"
    if len(body) > 256 * 1024:
        body = body[: 200 * 1024]  # still nested far past any parser's limit, and now not even closed
    with quick(1.0):
        response = hostile_app.test_client().post(PV, data=body, content_type="application/json")
    assert response.status_code == 400


def test_nesting_just_under_the_parser_limit_is_not_a_500(hostile_app):
    """Deep but parseable JSON inside a resource must not crash the engine (e.g. RecursionError)."""
    # Written by hand: serializers refuse to produce JSON this deep.
    deep = b'{"a":' * 1000 + b'"x"' + b"}" * 1000
    body = hook_request("patient-view", [patient(), oud_condition()])
    body["prefetch"]["conditions"]["entry"][0]["resource"]["note"] = "DEEP"
    body["prefetch"]["patient"]["extension"] = ["DEEP"]
    raw = orjson.dumps(body).replace(b'"DEEP"', deep)
    with quick(5.0):
        response = hostile_app.test_client().post(PV, data=raw, content_type="application/json")
    assert response.status_code in (200, 400)


def test_oversized_body_is_a_fast_413(hostile_app):
    body = b'{"hook": "patient-view", "padding": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    with quick(1.0):
        response = hostile_app.test_client().post(PV, data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload-too-large"


def test_many_keys_and_long_strings_are_not_a_500(hostile_app):
    body = hook_request("patient-view", [patient(), oud_condition()])
    body["prefetch"].update({f"k{n}": None for n in range(5000)})
    body["context"]["userId"] = "Practitioner/" + "9" * 100_000
    response = hostile_app.test_client().post(PV, data=orjson.dumps(body), content_type="application/json")
    assert response.status_code == 400


# --- slow clients against the production server ---------------------------------------------

THREADS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read()
        assert response.status == 200
    return time.perf_counter() - started


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory):
    """`withdrawal-cds serve` as deployed (gunicorn, our worker class), one worker with THREADS threads."""
    port = _free_port()
    data = tmp_path_factory.mktemp("gunicorn-data")
    config = data / "config.toml"
    config.write_text(f"[server]\nthreads = {THREADS}\ntimeout_seconds = 5\n")
    env = {**os.environ, "WITHDRAWAL_CDS_DATA_DIR": str(data)}
    process = subprocess.Popen(
        [sys.executable, "-m", "cds_service.cli", "serve", "--config", str(config), "--workers", "1",
         "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _get(url + "/healthz", timeout=1)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.1)
        yield port, url
    finally:
        # The whole process group: the master and its workers.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@contextmanager
def slow_clients(port: int, count: int, drip: bool):
    """`count` connections that send a request one byte every 0.3 s (drip) or nothing at all."""
    request = f"POST {PV} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n".encode()
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=2) for _ in range(count)]
    stop = threading.Event()

    def dribble():
        for i in range(200):  # bounded: at most a minute, even if the test forgets to stop it
            if stop.is_set():
                return
            for s in sockets:
                try:
                    s.send(request[i % len(request):i % len(request) + 1])
                except OSError:
                    pass
            stop.wait(0.3)

    thread = threading.Thread(target=dribble, daemon=True)
    if drip:
        thread.start()
    try:
        time.sleep(0.5)  # let the server pick the connections up
        yield
    finally:
        stop.set()
        for s in sockets:
            s.close()
        if drip:
            thread.join(2)


def test_oversized_body_is_refused_before_it_is_read(gunicorn_server):
    """The declared length alone decides: a 1 GB promise is refused without waiting for a byte of it."""
    port, _ = gunicorn_server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s, quick(2.0):
        s.sendall(f"POST {PV} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {1024 ** 3}\r\n\r\n{{".encode())
        status_line = s.recv(200).split(b"\r\n", 1)[0]
    assert b" 413 " in status_line, status_line


def test_idle_connections_are_parked(gunicorn_server):
    """Connections that never send a byte wait in the poller from the start (stock gthread gave each a
    thread for 5 s first): with as many idle connections as threads, others are answered."""
    port, url = gunicorn_server
    with slow_clients(port, count=THREADS, drip=False):
        assert _get(url + "/healthz", timeout=8) < 6.0
        for _ in range(3):
            assert _get(url + "/healthz", timeout=2) < 1.0


def test_a_few_dripping_clients_do_not_delay_others(gunicorn_server):
    port, url = gunicorn_server
    with slow_clients(port, count=THREADS - 1, drip=True):
        for _ in range(3):
            assert _get(url + "/healthz", timeout=2) < 1.0


def test_more_dripping_clients_than_threads_do_not_starve_the_server(gunicorn_server):
    """Stock gthread fails this: each client dripping its head holds a thread. Our worker keeps them
    in its poller until their request is in (cds_service/serving/worker.py)."""
    port, url = gunicorn_server
    with slow_clients(port, count=3 * THREADS, drip=True):
        assert _get(url + "/healthz", timeout=3) < 1.0
    # Once they go, the server recovers.
    assert _get(url + "/healthz", timeout=5) < 1.0


@contextmanager
def body_drippers(port: int, count: int):
    """`count` connections that send a whole head promptly, then their body one byte every 0.3 s."""
    head = (f"POST {PV} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: 1000\r\n\r\n").encode()
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=2) for _ in range(count)]
    for s in sockets:
        s.sendall(head + b"{")
    stop = threading.Event()

    def dribble():
        for _ in range(200):
            if stop.wait(0.3):
                return
            for s in sockets:
                try:
                    s.send(b" ")
                except OSError:
                    pass

    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        yield
    finally:
        stop.set()
        for s in sockets:
            s.close()
        thread.join(2)


def test_clients_dripping_their_body_do_not_starve_the_server(gunicorn_server):
    """Stock gthread, and our worker when it waited for the head only, fail this: a thread blocks
    reading each dripped body. Now the poller holds the body until it is all in."""
    port, url = gunicorn_server
    with body_drippers(port, count=3 * THREADS):
        for _ in range(3):
            assert _get(url + "/healthz", timeout=3) < 1.0


def _raw_exchange(port: int, pieces: list[bytes], responses: int = 1) -> list[bytes]:
    """Send `pieces` with a pause between them on one connection; the status lines of `responses`
    answers, read in full (by Content-Length)."""
    statuses = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        for i, piece in enumerate(pieces):
            if i:
                time.sleep(0.2)
            s.sendall(piece)
        stream = s.makefile("rb")
        for _ in range(responses):
            status = stream.readline()
            length = 0
            while (line := stream.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if status.startswith(b"HTTP/1.1 100"):
                continue
            assert orjson.loads(stream.read(length)).get("cards") is not None, status
            statuses.append(status.split(b" ")[1])
    return statuses


def _hook_head(body: bytes, *extra: str) -> bytes:
    return "\r\n".join([f"POST {PV} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
                          *extra, "", ""]).encode()


@pytest.fixture(scope="module")
def hook_body() -> bytes:
    return orjson.dumps(hook_request("patient-view", [patient(), oud_condition()]))


def test_a_request_arriving_in_pieces_is_answered_whole(gunicorn_server, hook_body):
    port, _ = gunicorn_server
    head = _hook_head(hook_body, f"Content-Length: {len(hook_body)}")
    third = len(hook_body) // 3
    pieces = [head[:20], head[20:], hook_body[:third], hook_body[third:2 * third], hook_body[2 * third:]]
    assert _raw_exchange(port, pieces) == [b"200"]


def test_a_chunked_request_arriving_in_pieces_is_answered_whole(gunicorn_server, hook_body):
    port, _ = gunicorn_server
    half = len(hook_body) // 2
    chunks = [b"%x\r\n%s\r\n" % (len(part), part) for part in (hook_body[:half], hook_body[half:])]
    pieces = [_hook_head(hook_body, "Transfer-Encoding: chunked"), chunks[0], chunks[1][:5], chunks[1][5:],
              b"0\r\n", b"\r\n"]
    assert _raw_exchange(port, pieces) == [b"200"]


def test_expect_100_continue_is_answered_before_the_body_is_sent(gunicorn_server, hook_body):
    port, _ = gunicorn_server
    head = _hook_head(hook_body, f"Content-Length: {len(hook_body)}", "Expect: 100-continue")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(head)
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue"), "the client would wait before sending its body"


def test_kept_alive_and_pipelined_requests_are_each_answered(gunicorn_server, hook_body):
    port, _ = gunicorn_server
    one = _hook_head(hook_body, f"Content-Length: {len(hook_body)}") + hook_body
    assert _raw_exchange(port, [one, one], responses=2) == [b"200", b"200"]
    assert _raw_exchange(port, [one + one + one], responses=3) == [b"200", b"200", b"200"]


def _answer(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        stream = s.makefile("rb")
        status = int(stream.readline().split(b" ")[1])
        headers = {}
        while (line := stream.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers, stream.read(int(headers.get("content-length", 0)))


@pytest.mark.parametrize("request_bytes, status, error", [
    (f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * 9000}\r\n\r\n".encode(), 431,
     "request-header-fields-too-large"),
    (("GET /healthz HTTP/1.1\r\nHost: x\r\n" + "".join(f"X-{n}: y\r\n" for n in range(120)) + "\r\n").encode(),
     431, "request-header-fields-too-large"),
    (f"GET /{'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), 414, "uri-too-long"),
    (b"NOT A REQUEST LINE\r\n\r\n", 400, "bad-request"),
], ids=["header too long", "too many headers", "request line too long", "malformed request line"])
def test_what_the_http_server_refuses_is_answered_in_json_as_documented(gunicorn_server, request_bytes, status,
                                                                        error):
    """Before: gunicorn's own HTML page, which no client of a JSON API expects."""
    from cds_service.api.openapi import build_spec
    port, _ = gunicorn_server
    answered, headers, body = _answer(port, request_bytes)
    assert answered == status
    assert headers["content-type"] == "application/json"
    assert orjson.loads(body)["error"] == error
    if status != 400:
        assert str(status) in build_spec(auth_required=False)["paths"][PV]["post"]["responses"]
