"""The request-buffering worker's poller side, in process: what it waits for, what it hands over,
what it drops. (tests/test_hostile_input.py runs it inside the real gunicorn server.)"""

from __future__ import annotations

import selectors
import socket
import time
from collections import deque
from types import SimpleNamespace

import pytest
from gunicorn.workers.gthread import TConn

from cds_service import worker as w

HEAD = b"POST /cds-services/x HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"


def state(data: bytes, max_body: int = 1000) -> str:
    pending = w.Pending()
    pending.data += data
    return w.request_state(pending, max_body)


@pytest.mark.parametrize("data, expected", [
    (HEAD, "partial"),                                                    # head not ended
    (b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n", "ready"),               # no body
    (HEAD + b"Content-Length: 5\r\n\r\nabc", "partial"),
    (HEAD + b"Content-Length: 5\r\n\r\nabcde", "ready"),
    (HEAD + b"content-length: 5\r\n\r\nabcdeGET / HTTP/1.1\r\n", "ready"),  # pipelined bytes after it
    (HEAD + b"Content-Length: 1001\r\n\r\n", "ready"),                    # over the limit: refused on sight
    (HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n", "ready"),  # ambiguous: gunicorn refuses
    (HEAD + b"Content-Length: -5\r\n\r\n", "ready"),
    (HEAD + b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n", "ready"),
    (b"X" * w.HEAD_LIMIT_BYTES, "ready"),                                # head too large: refused
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", "partial"),
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n", "partial"),
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "ready"),
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n", "partial"),
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n", "ready"),
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", "ready"),         # malformed: gunicorn refuses
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"1\r\nx\r\n" * 200, "ready"),  # over the limit
])
def test_request_state(data, expected):
    assert state(data) == expected


def test_a_chunked_body_arriving_a_byte_at_a_time_is_scanned_once():
    body = b"".join(b"1\r\n%c\r\n" % c for c in b"abcdefgh") + b"0\r\n\r\n"
    pending = w.Pending()
    pending.data += HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
    states = []
    for byte in body:
        pending.data.append(byte)
        states.append(w.request_state(pending, 1000))
        if pending.chunk_scan is not None:
            # The scan resumes at the chunk it stopped at, never from the start of the body.
            assert pending.data[pending.chunk_scan - 2:pending.chunk_scan] == b"\r\n"
    assert states[-1] == "ready" and set(states[:-1]) == {"partial"}


class _Pool:
    def __init__(self):
        self.submitted = []

    def submit(self, fn, conn):
        self.submitted.append(conn)
        return SimpleNamespace(add_done_callback=lambda callback: None)


@pytest.fixture
def poller_worker():
    worker = object.__new__(w.RequestBufferingWorker)
    worker.cfg = SimpleNamespace(is_ssl=False, http2_cleartext="off")
    worker.pending_conns, worker.poller, worker.tpool = deque(), selectors.DefaultSelector(), _Pool()
    worker.nr_conns, worker.buffered_bytes, worker.max_body_bytes = 0, 0, 1000
    worker.method_queue = SimpleNamespace(defer=lambda *a: None)
    sockets = []

    def connect():
        server_side, client_side = socket.socketpair()
        sockets.extend([server_side, client_side])
        worker.nr_conns += 1
        conn = TConn(SimpleNamespace(is_ssl=False), server_side, ("127.0.0.1", 1), ("127.0.0.1", 2))
        return conn, client_side

    yield worker, connect
    worker.poller.close()
    for s in sockets:
        s.close()


def _arrive(worker, conn, client, data: bytes) -> None:
    client.sendall(data)
    time.sleep(0.01)
    if conn in worker.pending_conns:
        worker._on_more(conn, conn.sock)
    else:
        worker.enqueue_req(conn)


def test_a_request_is_handed_to_a_thread_only_when_complete_with_every_byte_read(poller_worker):
    worker, connect = poller_worker
    conn, client = connect()
    _arrive(worker, conn, client, HEAD + b"Content-Length: 4\r\n\r\n{}")
    assert list(worker.pending_conns) == [conn] and worker.tpool.submitted == []
    assert worker.buffered_bytes > 0
    _arrive(worker, conn, client, b"  ")
    assert worker.tpool.submitted == [conn] and not worker.pending_conns
    assert conn.early_bytes == HEAD + b"Content-Length: 4\r\n\r\n{}  "
    assert worker.buffered_bytes == 0


def test_a_request_not_in_by_its_deadline_is_dropped_and_its_bytes_released(poller_worker):
    worker, connect = poller_worker
    conn, client = connect()
    _arrive(worker, conn, client, HEAD + b"Content-Length: 400\r\n\r\n{")
    assert conn.timeout == pytest.approx(conn.pending.started + w.REQUEST_TIMEOUT_SECONDS)
    head_only, head_client = connect()
    _arrive(worker, head_only, head_client, HEAD)
    assert head_only.timeout == pytest.approx(head_only.pending.started + w.HEAD_TIMEOUT_SECONDS)
    # The later connection's deadline passes first although it is behind in the queue.
    head_only.timeout = time.monotonic() - 1
    worker.murder_pending()
    assert list(worker.pending_conns) == [conn] and worker.nr_conns == 1
    assert head_client.recv(10) == b""  # closed
    conn.timeout = time.monotonic() - 1
    worker.murder_pending()
    assert not worker.pending_conns and worker.nr_conns == 0 and worker.buffered_bytes == 0


def test_past_the_buffer_budget_a_request_goes_to_a_thread_part_read(poller_worker, monkeypatch):
    worker, connect = poller_worker
    monkeypatch.setattr(w, "BUFFER_BUDGET_BYTES", 100)
    conn, client = connect()
    _arrive(worker, conn, client, HEAD + b"Content-Length: 900\r\n\r\n" + b" " * 200)
    assert worker.tpool.submitted == [conn] and worker.buffered_bytes == 0


def test_a_client_that_leaves_before_its_request_is_in_is_closed(poller_worker):
    worker, connect = poller_worker
    conn, client = connect()
    _arrive(worker, conn, client, HEAD)
    client.close()
    time.sleep(0.01)
    worker._on_more(conn, conn.sock)
    assert not worker.pending_conns and worker.tpool.submitted == [] and worker.nr_conns == 0
    assert worker.buffered_bytes == 0


def test_with_http2_prior_knowledge_on_a_new_connection_is_gunicorns_to_read(poller_worker, monkeypatch):
    worker, connect = poller_worker
    monkeypatch.setattr(w.negotiation, "prior_knowledge_allowed", lambda cfg, client: True)
    conn, client = connect()
    client.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    worker.enqueue_req(conn)
    assert worker.tpool.submitted == [conn] and worker.buffered_bytes == 0
    assert conn.sock.recv(4, socket.MSG_PEEK) == b"PRI "  # the preface is still there for gunicorn


def test_gunicorns_error_page_becomes_a_json_error_with_the_same_status():
    page = (b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Type: text/html\r\n"
            b"Content-Length: 5\r\n\r\n<html>")
    head, _, body = w.json_error(page).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"Content-Type: application/json" in head and b"Content-Length: %d" % len(body) in head
    assert body.startswith(b'{"error":"request-header-fields-too-large"')
    assert w.json_error(b"not a response") == b"not a response"
