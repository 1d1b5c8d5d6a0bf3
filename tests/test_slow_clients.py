"""No client can hold the service (design section 6): each way of stalling a connection, against the
real `withdrawal-cds serve` with one worker of two threads and short deadlines. While more attack
connections than threads are open, a healthy probe is answered; then each attack connection is
closed by the server, within its deadline (with slack for a loaded machine: this checks that the
server closes it, not how fast)."""

from __future__ import annotations

import select
import socket
import threading
import time
from contextlib import contextmanager

import pytest
import requests

from tests.serving import Serving, free_port

THREADS = 2
ATTACKERS = 3 * THREADS
HEAD_TIMEOUT, REQUEST_TIMEOUT, KEEPALIVE, WRITE_TIMEOUT = 2.0, 3.0, 1, 2.0
# A probe gets this long; attack connections are waited for this long past their deadline.
PROBE_SECONDS, SLACK_SECONDS = 20.0, 10.0
HOOK = "/cds-services/withdrawal-patient-view"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("slow-clients")
    config = data / "config.toml"
    config.write_text(f"[server]\nthreads = {THREADS}\nhead_timeout_seconds = {HEAD_TIMEOUT}\n"
                      f"request_timeout_seconds = {REQUEST_TIMEOUT}\nkeepalive_seconds = {KEEPALIVE}\n"
                      f"write_timeout_seconds = {WRITE_TIMEOUT}\n")
    port = free_port()
    serving = Serving(["--config", str(config), "--workers", "1", "--port", str(port)],
                      {"WITHDRAWAL_CDS_DATA_DIR": str(data)}, data, port)
    try:
        serving.wait_ready()
        yield serving
    finally:
        serving.stop()


def _head(*extra: str, method: str = "POST", path: str = HOOK) -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
                          *extra, "", ""]).encode()


def _healthz() -> bytes:
    return _head(method="GET", path="/healthz")


# Each attack: what a connection sends at once, and what it then drips a byte at a time (or nothing).
ATTACKS = {
    "head dripped": (b"", _head("Content-Length: 2")),
    "nothing sent": (b"", b""),
    "body dripped": (_head("Content-Length: 10000") + b"{", b" " * 10000),
    "body stopped": (_head("Content-Length: 10000") + b"{", b""),
    "Expect: 100-continue, no body": (_head("Content-Length: 10000", "Expect: 100-continue"), b""),
    "Expect: 100-continue, body dripped": (_head("Content-Length: 10000", "Expect: 100-continue"), b" " * 10000),
    "chunked body stopped": (_head("Transfer-Encoding: chunked") + b"10\r\n{", b""),
    "pipelined half request": (_healthz() + b"GET /healthz HTTP/1.1\r\nX", b""),
}
DEADLINE = {"head dripped": HEAD_TIMEOUT, "nothing sent": HEAD_TIMEOUT,
            "pipelined half request": HEAD_TIMEOUT}


@contextmanager
def attack(port: int, sent: bytes, dripped: bytes):
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(ATTACKERS)]
    for s in sockets:
        s.sendall(sent)
    stop = threading.Event()

    def drip():
        for byte in dripped:
            if stop.wait(0.3):
                return
            for s in sockets:
                try:
                    s.send(bytes([byte]))
                except OSError:
                    pass

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        yield sockets
    finally:
        stop.set()
        dripper.join(5)
        for s in sockets:
            s.close()


def _still_open(s: socket.socket) -> bool:
    """Not closed by the server (an interim or a final answer may be waiting to be read)."""
    readable, _, _ = select.select([s], [], [], 0)
    if not readable:
        return True
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except OSError:
        return False


def _closed_within(s: socket.socket, seconds: float) -> bytes:
    """Everything the server sends until it closes the connection; AssertionError if it has not in `seconds`."""
    s.settimeout(seconds)
    received = b""
    try:
        while chunk := s.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError(f"still open after {seconds} s; received {received[:200]!r}") from None
    return received


@pytest.mark.parametrize("name", list(ATTACKS))
def test_an_attack_costs_a_socket_and_is_closed_by_its_deadline(server, name):
    port = int(server.base_url.rsplit(":", 1)[1])
    sent, dripped = ATTACKS[name]
    with attack(port, sent, dripped) as sockets:
        probe = requests.get(f"{server.base_url}/healthz", timeout=PROBE_SECONDS)
        assert probe.status_code == 200
        hook = requests.post(server.base_url + HOOK, json={}, timeout=PROBE_SECONDS)
        assert hook.status_code == 400  # an answer: the app was reached
        # The probes were answered while the attack was still in place.
        assert sum(_still_open(s) for s in sockets) == ATTACKERS
        deadline = DEADLINE.get(name, REQUEST_TIMEOUT)
        for s in sockets:
            received = _closed_within(s, deadline + SLACK_SECONDS)
            if name == "pipelined half request":
                assert received.startswith(b"HTTP/1.1 200 OK")  # the whole request was answered
            elif name.startswith("Expect"):
                assert received.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
            else:
                assert received == b""


def test_a_client_that_reads_no_answers_costs_no_thread_and_is_closed(server):
    """Each connection pipelines many requests for a large answer and reads none of them. Before,
    a thread wrote an answer into the full socket and blocked there for good."""
    port, requests_each = int(server.base_url.rsplit(":", 1)[1]), 100
    sockets = []
    for _ in range(ATTACKERS):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills after a few answers
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        s.sendall(_head(method="GET", path="/openapi.json") * requests_each)
        sockets.append(s)
    try:
        assert requests.get(f"{server.base_url}/healthz", timeout=PROBE_SECONDS).status_code == 200
        assert sum(_still_open(s) for s in sockets) == ATTACKERS
        # Past the deadline of the request left waiting (and the write deadline), each connection
        # has been given up on: closed, with most of its answers never sent.
        time.sleep(REQUEST_TIMEOUT + WRITE_TIMEOUT + 2)
        for s in sockets:
            answered = _closed_within(s, SLACK_SECONDS).count(b"HTTP/1.1 200 OK")
            assert answered < requests_each
    finally:
        for s in sockets:
            s.close()


def test_an_idle_kept_alive_connection_is_closed(server):
    with socket.create_connection(("127.0.0.1", int(server.base_url.rsplit(":", 1)[1])), timeout=5) as s:
        s.sendall(_healthz())
        time.sleep(0.2)
        assert s.recv(65536).startswith(b"HTTP/1.1 200 OK")
        assert _closed_within(s, KEEPALIVE + SLACK_SECONDS) == b""


@pytest.mark.parametrize("request_bytes", [
    _head("Transfer-Encoding: chunked", "  , chunked") + b"1\r\n{",
    _head("Transfer-Encoding:", " chunked") + b"1\r\n{",
    _head("Transfer-Encoding: chunked") + b"fffffffffff\r\n{",
    _head("Transfer-Encoding: chunked") + b"0x10\r\n{",
    _head("Transfer-Encoding: gzip") + b"{",
    _head("Transfer-Encoding: chunked", "Content-Length: 5") + b"1\r\n{",
], ids=["folded", "folded value", "oversize chunk", "malformed chunk size", "not chunked", "with a length"])
def test_framing_that_will_be_refused_is_refused_at_once_not_at_the_deadline(server, request_bytes):
    """Before: the worker waited for such a body until the request deadline, then closed the
    connection without a word."""
    with socket.create_connection(("127.0.0.1", int(server.base_url.rsplit(":", 1)[1])), timeout=5) as s:
        s.sendall(request_bytes)
        status_line = _closed_within(s, REQUEST_TIMEOUT + SLACK_SECONDS).split(b"\r\n", 1)[0]
    assert status_line.split(b" ")[1] in (b"400", b"413", b"501"), status_line


def test_a_refused_request_line_is_logged_without_its_query_string(server):
    """gunicorn logged the whole line it refused; a query string can carry a patient's id."""
    with socket.create_connection(("127.0.0.1", int(server.base_url.rsplit(":", 1)[1])), timeout=5) as s:
        s.sendall(b"GET /cds-services?patient=Zyxwer-4711\x7f HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _closed_within(s, REQUEST_TIMEOUT + SLACK_SECONDS).startswith(b"HTTP/1.1 400 ")
    logged = server.stderr() + server.stdout()
    assert "Invalid request from ip=" in logged and "/cds-services" in logged
    assert "Zyxwer-4711" not in logged
