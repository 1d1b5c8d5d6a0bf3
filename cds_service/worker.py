"""A gunicorn gthread worker that gives a connection a thread only once its whole request is in.

Stock gthread hands a connection to a worker thread as soon as its first byte
arrives, and the thread then blocks reading the rest: a handful of clients that
drip their head, or send a prompt head and then drip the body, hold every
thread and the worker answers no one (slowloris). Here the worker's poller
reads each request itself, without blocking, and submits the connection to
the pool only when the head and the body it announces have arrived. The bytes
read are handed to gunicorn's parser as if it had read them.

Bounds, so buffering cannot become the attack:
- a head must be complete within HEAD_TIMEOUT_SECONDS and the whole request
  within REQUEST_TIMEOUT_SECONDS of its first byte, or the connection is closed;
- a request gunicorn or the app will refuse anyway (head over HEAD_LIMIT_BYTES,
  declared body over the app's `max_body_bytes`, a malformed length) is handed
  over at once so it is refused at once;
- all connections together hold at most BUFFER_BUDGET_BYTES; past that a
  request is handed over part-read and a thread reads the rest, as stock
  gthread would;
- `Expect: 100-continue` requests are handed over when their head is in: the
  client waits for the interim answer before it sends the body.

It relies on gthread internals (TConn, pending_conns, murder_pending, the
parser's unreader, handle_error), so the gunicorn version is pinned to one major
release in pyproject.toml and tests/test_hostile_input.py exercises it against
the real server. TLS is passed straight through: its bytes cannot be read before
the handshake, which happens in the thread.

What gunicorn itself refuses (a request line or header block over its limits,
a malformed request) it answers with an HTML page; here that answer is JSON like
every other error of the service, with the same status.
"""

from __future__ import annotations

import selectors
import time
from functools import partial

import orjson
from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import ThreadWorker

from cds_service.config import ServerSettings
from cds_service.runtime import EXTENSION
from cds_service.server import LIMIT_REQUEST_FIELD_SIZE, LIMIT_REQUEST_FIELDS, LIMIT_REQUEST_LINE

# Request line plus headers that gunicorn accepts at most (limit_request_line,
# limit_request_fields x limit_request_field_size), with room to spare: a head
# larger than this is handed over so gunicorn's parser can refuse it.
HEAD_LIMIT_BYTES = 64 * 1024
HEAD_TIMEOUT_SECONDS = 10.0
REQUEST_TIMEOUT_SECONDS = 30.0
BUFFER_BUDGET_BYTES = 64 * 1024 * 1024
_RECV_BYTES = 256 * 1024
_END_OF_HEAD = b"\r\n\r\n"


class Pending:
    """What has arrived of one request, and how far the chunked-body scan has got."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.started = time.monotonic()
        self.chunk_scan: int | None = None


class RequestBufferingWorker(ThreadWorker):
    max_body_bytes = ServerSettings().max_body_bytes

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.buffered_bytes = 0

    def load_wsgi(self):
        super().load_wsgi()
        # The app's own body limit: a body it will refuse is not worth waiting for.
        runtime = getattr(self.wsgi, "extensions", {}).get(EXTENSION)
        if runtime is not None:
            self.max_body_bytes = runtime.settings.server.max_body_bytes

    # --- the poller's side ----------------------------------------------------------------

    def enqueue_req(self, conn):
        if (self.cfg.is_ssl or conn.initialized and conn.parser.unreader.buf.getvalue()
                or not conn.initialized and negotiation.prior_knowledge_allowed(self.cfg, conn.client)):
            # TLS bytes cannot be read before the handshake; bytes already read ahead are a
            # pipelined request gunicorn will parse itself; an HTTP/2 preface, if that is
            # switched on, is gunicorn's to read.
            return super().enqueue_req(conn)
        pending = getattr(conn, "pending", None)
        if pending is None:
            pending = conn.pending = Pending()
        open_ = self._receive(conn, pending)
        state = request_state(pending, self.max_body_bytes)
        if state == "ready" or (state == "partial" and self.buffered_bytes > BUFFER_BUDGET_BYTES):
            self._hand_over(conn, pending)
        elif not open_:
            self._forget(conn, pending)
            self.nr_conns -= 1
            conn.close()
        else:
            self._park(conn, pending)

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

    def _park(self, conn, pending: Pending) -> None:
        """Wait in the poller, not in a thread, for more of the request."""
        head_in = _END_OF_HEAD in pending.data
        conn.timeout = pending.started + (REQUEST_TIMEOUT_SECONDS if head_in else HEAD_TIMEOUT_SECONDS)
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_more, conn))

    def _on_more(self, conn, client) -> None:
        self.poller.unregister(client)
        self.pending_conns.remove(conn)
        self.enqueue_req(conn)

    def _hand_over(self, conn, pending: Pending) -> None:
        conn.early_bytes = bytes(pending.data)
        self._forget(conn, pending)
        conn.data_ready = True
        super().enqueue_req(conn)

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

    def handle_error(self, req, client, addr, exc):
        # gunicorn decides the status and logs as ever; only the page it writes is replaced.
        super().handle_error(req, _JsonErrorPage(client), addr, exc)

    def handle(self, conn):
        early = getattr(conn, "early_bytes", None)
        if early:
            conn.early_bytes = None
            conn.init()
            conn.parser.unreader.unread(early)
        return super().handle(conn)


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


def json_error(page: bytes) -> bytes:
    """gunicorn's HTML error response as a JSON one with the same status; anything else as it is."""
    status_line = page.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return page
    _, code, reason = parts
    body = orjson.dumps({"error": reason.lower().replace(" ", "-"),
                         "message": _ERROR_MESSAGES.get(int(code), reason)})
    head = (f"HTTP/1.1 {code} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def request_state(pending: Pending, max_body_bytes: int) -> str:
    """"ready" when the request is in (or will be refused whatever follows), else "partial"."""
    data = pending.data
    end = data.find(_END_OF_HEAD)
    if end < 0:
        return "ready" if len(data) >= HEAD_LIMIT_BYTES else "partial"
    body_start = end + len(_END_OF_HEAD)
    headers = _headers(bytes(data[:end]))
    if b"100-continue" in headers.get(b"expect", ()):
        return "ready"
    if any(b"chunked" in value for value in headers.get(b"transfer-encoding", ())):
        if len(data) - body_start > max_body_bytes:
            return "ready"
        return "ready" if _chunked_body_complete(pending, body_start) else "partial"
    lengths = headers.get(b"content-length", ())
    if not lengths:
        return "ready"
    if len(lengths) > 1 or not lengths[0].isdigit() or int(lengths[0]) > max_body_bytes:
        return "ready"  # refused on sight by gunicorn or the app
    return "ready" if len(data) - body_start >= int(lengths[0]) else "partial"


def _headers(head: bytes) -> dict[bytes, list[bytes]]:
    found: dict[bytes, list[bytes]] = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        found.setdefault(name.strip().lower(), []).append(value.strip().lower())
    return found


def _chunked_body_complete(pending: Pending, body_start: int) -> bool:
    """Whether the last chunk and the trailer section have arrived. Resumes where the previous
    call stopped, so a body of many tiny chunks costs one pass, not one per arrival."""
    data = pending.data
    position = pending.chunk_scan if pending.chunk_scan is not None else body_start
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            pending.chunk_scan = position
            return False
        size_field = bytes(data[position:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            return True  # malformed: gunicorn refuses it
        if size == 0:
            # Trailer fields, if any, end with an empty line.
            pending.chunk_scan = position
            return data.find(_END_OF_HEAD, line_end) >= 0
        next_position = line_end + 2 + size + 2
        if next_position > len(data):
            pending.chunk_scan = position
            return False
        position = next_position
