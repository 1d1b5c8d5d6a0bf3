"""A gunicorn gthread worker in which no thread ever waits for a client, reading or writing.

Stock gthread hands a connection to a worker thread as soon as its first byte
arrives, and the thread then blocks reading the rest: a handful of clients that
drip their head or their body hold every thread and the worker answers no one
(slowloris). Here the worker's poller reads every request itself, without
blocking, and submits the connection to the pool only when the head and the
body it announces have arrived. The thread's parser reads those bytes and
nothing else: past them it sees the end of the input, never the socket, so a
thread cannot block on a read whatever the client does. Bytes a client sent
behind its request (pipelining) go back to the poller with the connection.

Deadlines (server settings, cds_service/config.py), each closing the connection:
- a head must be complete within `head_timeout_seconds` and the whole request
  within `request_timeout_seconds` of its first byte (of the connection, for a
  new one that sends nothing);
- an idle kept-alive connection is closed after `keepalive_seconds` (gunicorn);
- a thread writes its answer into an outbox, never to the socket: the poller sends
  it, and a client must take it within `write_timeout_seconds`; a request is
  handed to a thread only when the socket has room for its answer. A connection
  that closes is closed at once (gunicorn's graceful close waited, in the poller,
  for the client to close first).

Bounds, so buffering cannot become the attack:
- a request gunicorn or the app will refuse anyway (a head over HEAD_LIMIT_BYTES,
  a body over the app's `max_body_bytes`, framing it cannot trust) is handed over
  at once, so it is refused at once;
- all connections of a worker together hold at most `buffer_budget_bytes`; a
  request that would need more is answered 503 and closed;
- `Expect: 100-continue` is answered by the poller, which then waits for the body
  like any other (gunicorn's own answer is switched off: it would come from a
  thread, after the body).

It relies on gthread internals (TConn, pending_conns, the parser's unreader,
handle_error), so the gunicorn version is pinned to one major release in
pyproject.toml and tests/test_hostile_input.py attacks the real server.

What gunicorn itself refuses (a request line or header block over its limits,
a malformed request) it answers with an HTML page; here that answer is JSON like
every other error of the service, with the same status.
"""

from __future__ import annotations

import re
import select
import selectors
import socket
import time
from dataclasses import dataclass
from functools import partial

import orjson
from gunicorn.http.body import CHUNK_EXT_RE
from gunicorn.http.errors import InvalidRequestLine
from gunicorn.http.message import Request
from gunicorn.http.parser import RequestParser
from gunicorn.http.unreader import Unreader
from gunicorn.workers.gthread import ThreadWorker

from cds_service.config import ServerSettings
from cds_service.runtime import EXTENSION
from cds_service.serving.server import LIMIT_REQUEST_FIELD_SIZE, LIMIT_REQUEST_FIELDS, LIMIT_REQUEST_LINE

# Request line plus headers that gunicorn accepts at most (limit_request_line,
# limit_request_fields x limit_request_field_size), with room to spare: a head
# larger than this is handed over so gunicorn's parser can refuse it.
HEAD_LIMIT_BYTES = 64 * 1024
# A chunk-size line (size and extensions) longer than this is not an EHR's.
CHUNK_LINE_LIMIT_BYTES = 4096
_RECV_BYTES = 256 * 1024
_END_OF_HEAD = b"\r\n\r\n"
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")  # more digits than 16 is more than any body
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
READY, PARTIAL, MALFORMED, TOO_LARGE = "ready", "partial", "malformed", "too-large"


@dataclass(frozen=True)
class Limits:
    head_timeout: float
    request_timeout: float
    write_timeout: float
    max_body_bytes: int
    buffer_budget_bytes: int

    @classmethod
    def of(cls, server: ServerSettings) -> Limits:
        return cls(server.head_timeout_seconds, server.request_timeout_seconds, server.write_timeout_seconds,
                   server.max_body_bytes, server.buffer_budget_bytes)


class Pending:
    """What has arrived of one request, and how far the chunked-body scan has got."""

    def __init__(self, data: bytes = b"") -> None:
        self.data = bytearray(data)
        self.started = time.monotonic()
        self.chunk_scan: int | None = None
        self.continued = False


# --- the thread's parser: the bytes the poller read, then the end ---------------------------

class HeldBytes(Unreader):
    """A parser's input that is only what the poller handed over: past it, end of input."""

    def chunk(self, size_hint=None) -> bytes:
        return b""


class HeldRequest(Request):
    # The poller has answered any `Expect: 100-continue` already.
    _policy_expect_continue = False


class HeldRequestParser(RequestParser):
    mesg_class = HeldRequest

    def __init__(self, cfg, source_addr):
        super().__init__(cfg, (), source_addr)
        self.unreader = HeldBytes()


class RequestBufferingWorker(ThreadWorker):
    limits = Limits.of(ServerSettings())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.cfg.is_ssl:
            # A TLS handshake would be read by a thread; `serve` configures no TLS (end it in front).
            raise RuntimeError("RequestBufferingWorker does not end TLS")
        self.buffered_bytes = 0

    def load_wsgi(self):
        super().load_wsgi()
        runtime = getattr(self.wsgi, "extensions", {}).get(EXTENSION)
        if runtime is not None:
            self.limits = Limits.of(runtime.settings.server)

    # --- the poller's side ----------------------------------------------------------------

    def enqueue_req(self, conn):
        """Called for a new connection, a readable one, and one whose response has gone out."""
        pending = getattr(conn, "pending", None)
        if pending is None:
            pending = conn.pending = Pending(self._take_read_ahead(conn))
            self.buffered_bytes += len(pending.data)
        open_ = self._receive(conn, pending)
        state = request_state(pending, self.limits.max_body_bytes)
        if state == READY and not _writable(conn.sock):
            # A client that does not read its answers (pipelining behind them): it waits here for
            # room, by its request deadline or the write deadline, whichever comes first.
            self._park(conn, pending, selectors.EVENT_WRITE)
            conn.timeout = min(conn.timeout, time.monotonic() + self.limits.write_timeout)
        elif state == READY:
            self._hand_over(conn, pending)
        elif state in _REFUSALS:
            _send_now(conn.sock, json_response(*_REFUSALS[state]))
            self._drop(conn, pending)
        elif not open_:
            self._drop(conn, pending)
        elif self.buffered_bytes > self.limits.buffer_budget_bytes:
            _send_now(conn.sock, json_response(503, "Service Unavailable",
                                               "the server is holding too many requests; try again"))
            self._drop(conn, pending)
        else:
            self._continue_if_asked(conn, pending)
            self._park(conn, pending)

    def _take_read_ahead(self, conn) -> bytes:
        # What the previous request's parse left: the start of the next request, pipelined.
        parser = conn.parser if conn.initialized else None
        return parser.unreader.take_buffered() if isinstance(parser, HeldRequestParser) else b""

    def _receive(self, conn, pending: Pending) -> bool:
        """Read what the socket has now, without waiting; False once the peer has closed."""
        conn.sock.setblocking(False)
        try:
            chunk = conn.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        pending.data += chunk
        self.buffered_bytes += len(chunk)
        return bool(chunk)

    def _continue_if_asked(self, conn, pending: Pending) -> None:
        if not pending.continued and expects_continue(pending.data):
            pending.continued = True
            _send_now(conn.sock, _CONTINUE)

    def _park(self, conn, pending: Pending, event: int = selectors.EVENT_READ) -> None:
        """Wait in the poller, not in a thread, for more of the request (or room for its answer)."""
        head_in = _END_OF_HEAD in pending.data
        conn.timeout = pending.started + (self.limits.request_timeout if head_in else self.limits.head_timeout)
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, event, partial(self._on_more, conn))

    def _on_more(self, conn, client) -> None:
        self.poller.unregister(client)
        self.pending_conns.remove(conn)
        self.enqueue_req(conn)

    def _hand_over(self, conn, pending: Pending) -> None:
        conn.held = bytes(pending.data)
        self._forget(conn, pending)
        conn.data_ready = True  # gthread's handle() must not wait for the socket
        super().enqueue_req(conn)

    def _drop(self, conn, pending: Pending) -> None:
        self._forget(conn, pending)
        self.nr_conns -= 1
        conn.close()

    def _forget(self, conn, pending: Pending) -> None:
        self.buffered_bytes -= len(pending.data)
        conn.pending = None

    def murder_pending(self):
        # Deadlines here differ (head, whole request), so the queue is not in deadline order
        # as gunicorn's version assumes: look at every connection.
        now = time.monotonic()
        for conn in [c for c in self.pending_conns if c.timeout <= now]:
            self.pending_conns.remove(conn)
            try:
                self.poller.unregister(conn.sock)
            except (OSError, KeyError, ValueError):
                pass
            pending = getattr(conn, "pending", None)
            if pending is not None:
                self._forget(conn, pending)
            self.nr_conns -= 1
            conn.close()

    # --- the thread's side ----------------------------------------------------------------

    def handle(self, conn):
        if not conn.initialized:
            conn.initialized = True
            conn.parser = HeldRequestParser(self.cfg, conn.client)
        conn.parser.unreader.unread(conn.held)
        conn.held = b""
        # The thread writes its answer into an outbox; the poller sends it (finish_request).
        sock, conn.sock = conn.sock, Outbox(conn.sock)
        try:
            return super().handle(conn)
        finally:
            conn.outbox, conn.sock = conn.sock, sock

    # --- the poller's side, after the thread: sending the answer --------------------------

    def finish_request(self, conn, fs):
        outbox, conn.outbox = getattr(conn, "outbox", None), None
        if outbox is None:
            return self._after_answer(conn, fs)
        conn.answer = Answer(outbox.data, outbox.closed, fs, time.monotonic() + self.limits.write_timeout)
        self._send_answer(conn)

    def _send_answer(self, conn) -> None:
        answer = conn.answer
        try:
            conn.sock.setblocking(False)
            while answer.sent < len(answer.data):
                answer.sent += conn.sock.send(answer.data[answer.sent:answer.sent + _RECV_BYTES])
        except (BlockingIOError, InterruptedError):
            # The client is not taking it yet: wait here for room, by the write deadline.
            conn.timeout = answer.deadline
            self.pending_conns.append(conn)
            self.poller.register(conn.sock, selectors.EVENT_WRITE, partial(self._on_room, conn))
            return
        except OSError:
            answer.closes = True
        conn.answer = None
        if answer.closes:
            self.nr_conns -= 1
            _close_now(conn.sock)
        else:
            self._after_answer(conn, answer.fs)

    def _on_room(self, conn, client) -> None:
        self.poller.unregister(client)
        self.pending_conns.remove(conn)
        self._send_answer(conn)

    def _after_answer(self, conn, fs) -> None:
        try:
            keep_alive = not fs.cancelled() and fs.result()
        except Exception:  # noqa: BLE001 - gunicorn's own finish_request treats any failure so
            keep_alive = False
        if keep_alive:
            super().finish_request(conn, fs)
        else:
            # gunicorn's graceful close waits (up to 2 s) for the client to close first, in the
            # poller's thread: a client that never closes would stall every other connection.
            self.nr_conns -= 1
            _close_now(conn.sock)

    def handle_error(self, req, client, addr, exc):
        if isinstance(exc, InvalidRequestLine):
            # gunicorn logs the line it refused; its query string can carry a patient's id.
            exc.req = _without_query(str(exc.req))
        # gunicorn decides the status and logs as ever; only the page it writes is replaced.
        super().handle_error(req, _JsonErrorPage(client), addr, exc)


def _without_query(line: str) -> str:
    before, query, after = line.partition("?")
    if not query:
        return line[:200]
    _, space, version = after.partition(" ")
    return (before + "?..." + space + version)[:200]


class Outbox:
    """The client socket as a thread sees it: what the thread writes is kept for the poller to send;
    its close is noted (and done once the answer has gone); it reads nothing."""

    def __init__(self, sock):
        self._sock = sock
        self.data = bytearray()
        self.closed = False

    def __getattr__(self, name):  # fileno, getpeername, getsockname, ...
        return getattr(self._sock, name)

    def sendall(self, data) -> None:
        self.data += data

    def send(self, data) -> int:
        self.data += data
        return len(data)

    def recv(self, *args) -> bytes:
        return b""

    def shutdown(self, how) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True

    def setblocking(self, flag) -> None:
        pass

    def settimeout(self, timeout) -> None:
        pass

    def gettimeout(self):
        return None


@dataclass
class Answer:
    """An answer the poller is sending: the bytes, how far, whether the connection then closes."""
    data: bytearray
    closes: bool
    fs: object  # the thread's future: whether to keep the connection alive
    deadline: float
    sent: int = 0


def _close_now(sock) -> None:
    """Close without waiting: half-close, drop what the client has sent meanwhile (unread bytes at
    close would make the kernel reset the connection, cutting off the answer), close."""
    try:
        sock.setblocking(False)
        sock.shutdown(socket.SHUT_WR)
        for _ in range(16):
            if not sock.recv(4096):
                break
    except OSError:
        pass
    finally:
        sock.close()


def _writable(sock) -> bool:
    poll = select.poll()
    poll.register(sock, select.POLLOUT)
    return bool(poll.poll(0))


def _send_now(sock, data: bytes) -> None:
    """Write what the socket takes now; a client that cannot take a few bytes loses them."""
    try:
        sock.setblocking(False)
        sock.send(data)
    except OSError:
        pass


# What the poller answers a chunked body it refuses (the body's bytes are not all read: the
# connection closes after the answer).
_REFUSALS = {
    MALFORMED: (400, "Bad Request", "the request's chunked body is malformed"),
    TOO_LARGE: (413, "Payload Too Large", "the request body is larger than the configured limit"),
}


# What to tell a client whose request gunicorn refused, by status; else its reason phrase.
_ERROR_MESSAGES = {
    414: f"the request line is longer than {LIMIT_REQUEST_LINE} bytes",
    431: f"the request's header fields are too large: at most {LIMIT_REQUEST_FIELDS} fields of at most "
         f"{LIMIT_REQUEST_FIELD_SIZE} bytes each",
}


class _JsonErrorPage:
    """The client socket, as gunicorn's handle_error writes its error page to it: the page goes
    out as a JSON error body instead. gunicorn's own message is not repeated: it can quote the
    request line back."""

    def __init__(self, sock):
        self._sock = sock

    def __getattr__(self, name):
        return getattr(self._sock, name)

    def sendall(self, data: bytes):
        return self._sock.sendall(json_error(data))


def json_response(code: int, reason: str, message: str) -> bytes:
    body = orjson.dumps({"error": reason.lower().replace(" ", "-"), "message": message})
    head = (f"HTTP/1.1 {code} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def json_error(page: bytes) -> bytes:
    """gunicorn's HTML error response as a JSON one with the same status; anything else as it is."""
    status_line = page.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return page
    _, code, reason = parts
    return json_response(int(code), reason, _ERROR_MESSAGES.get(int(code), reason))


# --- when a request is in ---------------------------------------------------------------------

def request_state(pending: Pending, max_body_bytes: int) -> str:
    """READY when the request is in, or will be refused by gunicorn whatever follows (the thread then
    meets the end of what was read, never a wait); MALFORMED or TOO_LARGE for a chunked body the
    poller refuses itself; else PARTIAL."""
    data = pending.data
    end = data.find(_END_OF_HEAD)
    if end < 0:
        return READY if len(data) >= HEAD_LIMIT_BYTES else PARTIAL
    body_start = end + len(_END_OF_HEAD)
    lines = bytes(data[:end]).split(b"\r\n")
    if any(line[:1] in (b" ", b"\t") for line in lines[1:]):
        return READY  # obsolete line folding: gunicorn refuses the head
    headers = _headers(lines)
    codings = [c.strip() for v in headers.get(b"transfer-encoding", ()) for c in v.split(b",")]
    lengths = headers.get(b"content-length", ())
    if codings:
        if lengths or codings[-1] != b"chunked" or codings.count(b"chunked") > 1:
            return READY  # ambiguous or unsupported framing: gunicorn refuses the head
        if len(data) - body_start > max_body_bytes:
            return TOO_LARGE
        return _chunked_body_state(pending, body_start, max_body_bytes)
    if not lengths:
        return READY
    if len(lengths) > 1 or not lengths[0].isdigit() or int(lengths[0]) > max_body_bytes:
        return READY  # refused on sight by gunicorn or the app
    return READY if len(data) - body_start >= int(lengths[0]) else PARTIAL


def expects_continue(data: bytes | bytearray) -> bool:
    """An HTTP/1.1 head asking for `100 Continue` (an HTTP/1.0 one must be ignored: RFC 9110 10.1.1)."""
    end = data.find(_END_OF_HEAD)
    if end < 0:
        return False
    lines = bytes(data[:end]).split(b"\r\n")
    return (lines[0].endswith(b"HTTP/1.1")
            and any(value == b"100-continue" for value in _headers(lines).get(b"expect", ())))


def _headers(lines: list[bytes]) -> dict[bytes, list[bytes]]:
    found: dict[bytes, list[bytes]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        found.setdefault(name.strip().lower(), []).append(value.strip().lower())
    return found


def _chunked_body_state(pending: Pending, body_start: int, max_body_bytes: int) -> str:
    """READY once the last chunk and the trailer section have arrived; MALFORMED or TOO_LARGE at
    the first chunk gunicorn would refuse, or that is larger than a body may be. Resumes where the
    previous call stopped, so a body of many tiny chunks costs one pass, not one per arrival."""
    data = pending.data
    position = pending.chunk_scan if pending.chunk_scan is not None else body_start
    while True:
        line_end = data.find(b"\r\n", position, position + CHUNK_LINE_LIMIT_BYTES)
        if line_end < 0:
            pending.chunk_scan = position
            return MALFORMED if len(data) - position >= CHUNK_LINE_LIMIT_BYTES else PARTIAL
        size = _chunk_size(bytes(data[position:line_end]))
        if size is None:
            return MALFORMED
        if size > max_body_bytes:
            return TOO_LARGE
        if size == 0:
            # Trailer fields, if any, end with an empty line.
            pending.chunk_scan = position
            return READY if data.find(_END_OF_HEAD, line_end) >= 0 else PARTIAL
        next_position = line_end + 2 + size + 2
        if next_position > len(data):
            pending.chunk_scan = position
            return PARTIAL
        if data[next_position - 2:next_position] != b"\r\n":
            return MALFORMED
        position = next_position


def _chunk_size(line: bytes) -> int | None:
    """A chunk-size line's size, or None where gunicorn's ChunkedReader refuses the line."""
    size, semicolon, extensions = line.partition(b";")
    if semicolon:
        size = size.rstrip(b" \t")
        if b"\r" in extensions or not CHUNK_EXT_RE.fullmatch(b";" + extensions):
            return None
    return int(size, 16) if _CHUNK_SIZE.fullmatch(size) else None
