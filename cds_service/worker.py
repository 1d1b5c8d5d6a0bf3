"""A gunicorn gthread worker that gives a connection a thread only once its request head is in.

Stock gthread hands a connection to a worker thread as soon as its first byte
arrives, and the thread then blocks reading the rest: a handful of clients that
drip their headers a byte at a time hold every thread and the worker answers
no one (slowloris). Here the worker's poller keeps such connections: it peeks
at the socket (MSG_PEEK, nothing is consumed) and submits the connection to
the pool only when the blank line ending the head has arrived, or the head is
larger than gunicorn would accept (gunicorn then refuses it). A head still
incomplete after `head_timeout` seconds is dropped, using gunicorn's own
pending-connection reaper.

What this does not bound: a client that sends its head promptly and then drips
its body holds a thread while gunicorn reads the body. Deployments put a
buffering proxy in front for that (README, "Deploying securely").

It relies on gthread internals (TConn, pending_conns, murder_pending), so the
gunicorn version is pinned to one major release in pyproject.toml and
tests/test_hostile_input.py exercises it against the real server.
"""

from __future__ import annotations

import selectors
import socket
import time
from functools import partial

from gunicorn.workers.gthread import ThreadWorker

# Request line plus headers that gunicorn accepts at most (limit_request_line,
# limit_request_fields x limit_request_field_size), with room to spare: a head
# larger than this is handed over so gunicorn's parser can refuse it.
_PEEK_LIMIT = 64 * 1024
_END_OF_HEAD = b"\r\n\r\n"
HEAD_TIMEOUT_SECONDS = 10.0


class HeadBufferingWorker(ThreadWorker):
    def enqueue_req(self, conn):
        if self.cfg.is_ssl or conn.initialized and conn.parser.unreader.buf.getvalue():
            # TLS bytes cannot be peeked at; bytes already read ahead are a head in progress.
            return super().enqueue_req(conn)
        state = _head_state(conn.sock)
        if state == "closed":
            self.nr_conns -= 1
            conn.close()
        elif state == "complete":
            super().enqueue_req(conn)
        else:
            self._park(conn)

    def _park(self, conn) -> None:
        """Wait in the poller, not in a thread, for more of the head."""
        conn.sock.setblocking(False)
        started = getattr(conn, "head_started", None)
        if started is None:
            started = conn.head_started = time.monotonic()
        # murder_pending closes it once this passes: one deadline for the whole head.
        conn.timeout = started + HEAD_TIMEOUT_SECONDS
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_more_head, conn))

    def _on_more_head(self, conn, client) -> None:
        self.poller.unregister(client)
        self.pending_conns.remove(conn)
        conn.data_ready = True
        self.enqueue_req(conn)


def _head_state(sock: socket.socket) -> str:
    was_blocking = sock.getblocking()
    sock.setblocking(False)
    try:
        peeked = sock.recv(_PEEK_LIMIT, socket.MSG_PEEK)
    except (BlockingIOError, InterruptedError):
        return "partial"
    except OSError:
        return "closed"
    finally:
        sock.setblocking(was_blocking)
    if not peeked:
        return "closed"
    if _END_OF_HEAD in peeked or len(peeked) >= _PEEK_LIMIT:
        return "complete"
    return "partial"
