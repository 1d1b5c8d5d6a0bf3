"""The request-buffering worker's poller side, in process: what it waits for, what it hands over,
what it answers itself, what it drops. (tests/test_hostile_input.py runs it inside the real gunicorn server.)"""

from __future__ import annotations

import contextlib
import selectors
import socket
import time
from collections import deque
from concurrent.futures import Future
from types import SimpleNamespace

import pytest
from gunicorn.workers.gthread import TConn

from cds_service.serving import worker as w

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
    # The poller answers 100 Continue and waits for the body like any other.
    (HEAD + b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n", "partial"),
    (HEAD + b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\nabcde", "ready"),
    (b"X" * w.HEAD_LIMIT_BYTES, "ready"),                                # head too large: refused
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", "partial"),
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n", "partial"),
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "ready"),
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n", "partial"),
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n", "ready"),
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed"),
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n0x3\r\n", "malformed"),
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3;=\r\n", "malformed"),        # an extension without a name
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcXX1\r\n", "malformed"),  # no CRLF after the data
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3e9\r\n", "too-large"),       # one chunk over the limit
    (HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"1\r\nx\r\n" * 200, "too-large"),  # all of them
    # Framing gunicorn refuses on sight, whatever follows: the head is handed over at once.
    (HEAD + b"Transfer-Encoding: chunked\r\n , gzip\r\n\r\n3\r\n", "ready"),  # obsolete line folding
    (HEAD + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n3\r\n", "ready"),
    (HEAD + b"Transfer-Encoding: gzip\r\n\r\n3\r\n", "ready"),
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


def test_a_chunk_size_line_without_end_is_malformed():
    assert state(HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"1" * 5000, max_body=10_000) == "malformed"


@pytest.mark.parametrize("head, expected", [
    (HEAD + b"Content-Length: 5\r\nExpect: 100-Continue\r\n\r\n", True),
    (HEAD + b"Content-Length: 5\r\n\r\n", False),
    (HEAD + b"Content-Length: 5\r\nExpect: 100-continue\r\n", False),  # the head is not in yet
    (HEAD.replace(b"HTTP/1.1", b"HTTP/1.0") + b"Expect: 100-continue\r\n\r\n", False),  # RFC 9110 10.1.1
])
def test_expects_continue(head, expected):
    assert w.expects_continue(head) is expected


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
    worker.nr_conns, worker.buffered_bytes = 0, 0
    worker.limits = w.Limits(head_timeout=10, request_timeout=30, write_timeout=10, max_body_bytes=1000,
                             buffer_budget_bytes=64 * 1024)
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
    assert conn.held == HEAD + b"Content-Length: 4\r\n\r\n{}  "
    assert worker.buffered_bytes == 0


def test_a_request_not_in_by_its_deadline_is_dropped_and_its_bytes_released(poller_worker):
    worker, connect = poller_worker
    conn, client = connect()
    _arrive(worker, conn, client, HEAD + b"Content-Length: 400\r\n\r\n{")
    assert conn.timeout == pytest.approx(conn.pending.started + worker.limits.request_timeout)
    head_only, head_client = connect()
    _arrive(worker, head_only, head_client, HEAD)
    assert head_only.timeout == pytest.approx(head_only.pending.started + worker.limits.head_timeout)
    # The later connection's deadline passes first although it is behind in the queue.
    head_only.timeout = time.monotonic() - 1
    worker.murder_pending()
    assert list(worker.pending_conns) == [conn] and worker.nr_conns == 1
    assert head_client.recv(10) == b""  # closed
    conn.timeout = time.monotonic() - 1
    worker.murder_pending()
    assert not worker.pending_conns and worker.nr_conns == 0 and worker.buffered_bytes == 0


def test_past_the_buffer_budget_a_request_is_refused_and_never_read_by_a_thread(poller_worker):
    worker, connect = poller_worker
    worker.limits = w.Limits(10, 30, 10, max_body_bytes=1000, buffer_budget_bytes=100)
    conn, client = connect()
    _arrive(worker, conn, client, HEAD + b"Content-Length: 900\r\n\r\n" + b" " * 200)
    assert worker.tpool.submitted == [] and worker.buffered_bytes == 0 and worker.nr_conns == 0
    assert client.recv(100).startswith(b"HTTP/1.1 503 ")


def test_a_client_expecting_100_continue_is_answered_by_the_poller_once(poller_worker):
    """Before, the head went to a thread at once, which then waited for the body on the socket."""
    worker, connect = poller_worker
    conn, client = connect()
    _arrive(worker, conn, client, HEAD + b"Content-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    assert worker.tpool.submitted == [] and list(worker.pending_conns) == [conn]
    assert client.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
    _arrive(worker, conn, client, b"{")
    client.setblocking(False)
    with pytest.raises(BlockingIOError):
        client.recv(100)  # not twice
    _arrive(worker, conn, client, b"}  ")
    assert worker.tpool.submitted == [conn]


def test_a_pipelined_request_left_over_after_an_answer_waits_in_the_poller(poller_worker):
    """Before, bytes read ahead sent the connection to a thread, which blocked reading the rest."""
    worker, connect = poller_worker
    conn, client = connect()
    conn.initialized, conn.parser = True, w.HeldRequestParser(SimpleNamespace(), ("127.0.0.1", 2))
    conn.parser.unreader.unread(b"GET /healthz HTTP/1.1\r\nX")  # what the last parse left
    worker.enqueue_req(conn)
    assert worker.tpool.submitted == [] and list(worker.pending_conns) == [conn]
    _arrive(worker, conn, client, b"-A: b\r\n\r\n")
    assert worker.tpool.submitted == [conn] and conn.held == b"GET /healthz HTTP/1.1\r\nX-A: b\r\n\r\n"


def test_a_client_that_reads_no_answers_waits_in_the_poller_until_there_is_room_for_one(poller_worker):
    """Before, the thread wrote the answer into a full socket and blocked there, for good."""
    worker, connect = poller_worker
    conn, client = connect()
    conn.sock.setblocking(False)
    with pytest.raises(BlockingIOError):
        while True:
            conn.sock.send(b"x" * 65536)  # earlier answers the client has not read
    _arrive(worker, conn, client, b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n")
    assert worker.tpool.submitted == [] and list(worker.pending_conns) == [conn]
    client.setblocking(False)
    with contextlib.suppress(BlockingIOError):
        while client.recv(1 << 20):
            pass
    for key, _ in worker.poller.select(1):
        key.data(key.fileobj)
    assert worker.tpool.submitted == [conn] and not worker.pending_conns


def _done(result) -> Future:
    future = Future()
    future.set_result(result)
    return future


def test_a_threads_answer_is_sent_by_the_poller_and_a_closing_connection_closes_at_once(poller_worker,
                                                                                        monkeypatch):
    """gunicorn's graceful close waits up to 2 s, in the poller, for the client to close first: a
    client that never does stalled every connection of the worker meanwhile."""
    import gunicorn.util
    monkeypatch.setattr(gunicorn.util, "close_graceful", lambda *a, **k: pytest.fail("a lingering close"))
    worker, connect = poller_worker
    conn, client = connect()
    outbox = w.Outbox(conn.sock)
    outbox.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
    conn.outbox = outbox
    worker.finish_request(conn, _done(False))
    assert client.recv(1000).endswith(b"\r\n\r\n{}") and client.recv(10) == b""  # closed, not lingering
    assert worker.nr_conns == 0 and not worker.pending_conns


def test_an_answer_the_client_does_not_take_waits_in_the_poller_by_the_write_deadline(poller_worker):
    """Before, the thread wrote the answer itself and blocked there while the client read nothing."""
    worker, connect = poller_worker
    conn, client = connect()
    conn.outbox = w.Outbox(conn.sock)
    conn.outbox.sendall(b"x" * (16 << 20))  # more than the socket buffers hold
    worker.finish_request(conn, _done(True))
    assert list(worker.pending_conns) == [conn]
    assert conn.timeout == pytest.approx(time.monotonic() + worker.limits.write_timeout, abs=1)
    conn.timeout = time.monotonic() - 1
    worker.murder_pending()
    assert not worker.pending_conns and worker.nr_conns == 0


def test_a_threads_parser_meets_the_end_of_what_was_read_never_the_socket(poller_worker):
    worker, connect = poller_worker
    parser = w.HeldRequestParser(SimpleNamespace(), ("127.0.0.1", 2))
    parser.unreader.unread(b"abc")
    assert parser.unreader.read(10) == b"abc" and parser.unreader.read(10) == b""


def test_a_client_that_leaves_before_its_request_is_in_is_closed(poller_worker):
    worker, connect = poller_worker
    conn, client = connect()
    _arrive(worker, conn, client, HEAD)
    client.close()
    time.sleep(0.01)
    worker._on_more(conn, conn.sock)
    assert not worker.pending_conns and worker.tpool.submitted == [] and worker.nr_conns == 0
    assert worker.buffered_bytes == 0


def test_gunicorns_error_page_becomes_a_json_error_with_the_same_status():
    page = (b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Type: text/html\r\n"
            b"Content-Length: 5\r\n\r\n<html>")
    head, _, body = w.json_error(page).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"Content-Type: application/json" in head and b"Content-Length: %d" % len(body) in head
    assert body.startswith(b'{"error":"request-header-fields-too-large"')
    assert w.json_error(b"not a response") == b"not a response"
