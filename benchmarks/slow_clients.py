"""Slow and stalled clients against `withdrawal-cds serve` (design section 6, docs/hardening.md).

For each kind of attack, ATTACKERS connections behave that way for SECONDS (each reopened as soon as
the server closes it, so the pressure never lets up) while 8 healthy clients post hook calls back to
back (benchmarks/http_load.py's load generator). Before the attacks, the same load alone gives the
quiet figures. Reported per kind: the healthy calls' p50/p99 and failures, how many attack
connections were opened, and the longest an attack connection lived against the deadline that
should have closed it (the server looks at its deadlines once a second: a connection may live up
to a second past it). An attacker that reads nothing never sees the server's close (it is queued
behind the answers it does not read): for it, the connection's end is read from the server's side
(/proc/net/tcp), once a second, and its time counts from when the server last sent it a byte.

    python -m benchmarks.slow_clients [--seconds 60] [--attackers 200] [--kinds head-dripped,...]
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import records
from benchmarks.child import REPO, SERVICE_PATH
from benchmarks.http_load import Server, _cli, _free_port, _pooled, load

HEAD_TIMEOUT, REQUEST_TIMEOUT, KEEPALIVE, WRITE_TIMEOUT = 10.0, 30.0, 5.0, 10.0
# How often a dripping attacker sends its next byte (the review's figure for bodies: every 5 s).
DRIP_SECONDS = 5.0
# Past its deadline, what a connection may live before the poll that closes it comes round.
POLL_SLACK_SECONDS = 1.5


def _head(*extra: str, method: str = "POST", path: str = SERVICE_PATH) -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
                          *extra, "", ""]).encode()


HEALTHZ = _head(method="GET", path="/healthz")
# The COWS form's vendored SMART client (the form is on in open mode): 56 KB sent from the file.
_LARGE_FILE = "/apps/cows/vendor/fhir-client.pure.min.js"


@dataclass(frozen=True)
class Kind:
    sent: bytes       # at once
    dripped: bytes    # then a byte every DRIP_SECONDS
    deadline: float   # after which the server must have closed the connection
    reads: bool = True  # whether the attacker reads what the server sends


KINDS = {
    "head-dripped": Kind(b"", _head("Content-Length: 2"), HEAD_TIMEOUT),
    "nothing-sent": Kind(b"", b"", HEAD_TIMEOUT),
    "body-dripped": Kind(_head("Content-Length: 10000") + b"{", b" " * 10000, REQUEST_TIMEOUT),
    "body-stopped": Kind(_head("Content-Length: 10000") + b"{", b"", REQUEST_TIMEOUT),
    "expect-no-body": Kind(_head("Content-Length: 10000", "Expect: 100-continue"), b"", REQUEST_TIMEOUT),
    "expect-body-dripped": Kind(_head("Content-Length: 10000", "Expect: 100-continue"), b" " * 10000,
                                REQUEST_TIMEOUT),
    "chunked-stopped": Kind(_head("Transfer-Encoding: chunked") + b"10\r\n{", b"", REQUEST_TIMEOUT),
    "pipelined-half": Kind(HEALTHZ + b"GET /healthz HTTP/1.1\r\nX", b"", HEAD_TIMEOUT),
    "idle-keepalive": Kind(HEALTHZ, b"", KEEPALIVE),
    # Pipelines requests for a 56 KB static file (little work to answer) and reads none. Its time
    # is counted from when the server stopped sending to it (before, it was answering what was
    # asked): then an answer not taken, or a request waiting for room for one, has the write deadline.
    "answers-not-read": Kind(_head(method="GET", path=_LARGE_FILE) * 10, b"", WRITE_TIMEOUT, reads=False),
}
_POLLRDHUP = getattr(select, "POLLRDHUP", 0x2000)


@dataclass
class Attack:
    """`count` connections of one kind, kept open (reopened when the server closes one) by one thread."""
    port: int
    kind: Kind
    count: int
    opened: int = 0
    lifetimes: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    open_at_end: list[float] = field(default_factory=list)

    def run(self) -> None:
        poll = select.poll()
        # A kind that reads nothing learns of the server's close from POLLRDHUP (its answers unread).
        events = select.POLLIN | _POLLRDHUP if self.kind.reads else _POLLRDHUP
        conns: dict[int, tuple[socket.socket, list]] = {}

        def open_one() -> None:
            s = socket.socket()
            if not self.kind.reads:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(5)
            s.connect(("127.0.0.1", self.port))
            s.sendall(self.kind.sent)
            s.setblocking(False)
            # opened (for a kind that reads nothing: when the server last sent), dripped, next drip,
            # the server's unsent bytes
            conns[s.fileno()] = (s, [time.monotonic(), 0, time.monotonic() + DRIP_SECONDS, -1])
            poll.register(s, events)
            self.opened += 1

        def closed(fd: int) -> None:
            s, state = conns.pop(fd)
            self.lifetimes.append(time.monotonic() - state[0])
            poll.unregister(fd)
            s.close()
            if not self.stop.is_set():
                open_one()

        for _ in range(self.count):
            open_one()
        next_look = time.monotonic() + 1
        while not self.stop.is_set():
            if not self.kind.reads and time.monotonic() >= next_look:
                # Its close stays queued behind the answers this attacker never reads: the server's
                # side of the connection says when it was given up.
                established = _established_from(self.port)
                for fd, (s, state) in list(conns.items()):
                    unsent = established.get(s.getsockname()[1])
                    if unsent is None:
                        closed(fd)
                    elif unsent != state[3]:
                        # The server is still sending (it answers what was asked): the deadline
                        # runs from when it stopped, stalled by this client.
                        state[0], state[3] = time.monotonic(), unsent
                next_look = time.monotonic() + 1
            for fd, event in poll.poll(200):
                if fd not in conns:
                    continue
                if event & (select.POLLHUP | select.POLLERR | _POLLRDHUP):
                    closed(fd)
                    continue
                try:
                    data = conns[fd][0].recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    closed(fd)
            now = time.monotonic()
            for s, state in conns.values():
                opened, dripped, next_drip, _ = state
                if dripped < len(self.kind.dripped) and now >= next_drip:
                    try:
                        s.send(self.kind.dripped[dripped:dripped + 1])
                    except OSError:
                        pass
                    state[1], state[2] = dripped + 1, now + DRIP_SECONDS
        now = time.monotonic()
        self.open_at_end = [now - state[0] for _, state in conns.values()]
        for s, _ in conns.values():
            s.close()


def _established_from(port: int) -> dict[int, int]:
    """The connections the server on `port` (loopback) holds ESTABLISHED: client port -> the bytes
    it has queued for the client and not yet sent (tx_queue)."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                local, remote, state, queues = line.split()[1:5]
                if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                    found[int(remote.rsplit(":", 1)[1], 16)] = int(queues.split(":")[0], 16)
    return found


def _service(tmp: str) -> Server:
    config = Path(tmp, "config.toml")
    config.write_text(f"[server]\nhead_timeout_seconds = {HEAD_TIMEOUT}\nrequest_timeout_seconds = "
                      f"{REQUEST_TIMEOUT}\nkeepalive_seconds = {int(KEEPALIVE)}\n"
                      f"write_timeout_seconds = {WRITE_TIMEOUT}\n")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WITHDRAWAL_CDS_")}
    env.update(WITHDRAWAL_CDS_DATA_DIR=tmp, PYTHONPATH=str(REPO))
    return Server("service", [*_cli(), "serve", "--config", str(config), "--workers", "2", "--port", str(port)],
                  env, tmp, port)


def run(seconds: float, attackers: int, kinds: list[str], size: int) -> list[dict]:
    body = records.RequestBody(records.hook_request(size))
    rows = []
    with tempfile.TemporaryDirectory(prefix="slow-clients-") as tmp:
        service = _service(tmp).start()
        try:
            service.wait_ready(60)
            load(service.port, body, 8, 5)  # warm up
            rows.append({"kind": "quiet", **_pooled([load(service.port, body, 8, seconds)])})
            for name in kinds:
                attack = Attack(service.port, KINDS[name], attackers)
                thread = threading.Thread(target=attack.run, daemon=True)
                thread.start()
                time.sleep(1)
                healthy = _pooled([load(service.port, body, 8, seconds)])
                attack.stop.set()
                thread.join(30)
                longest = max(attack.lifetimes + attack.open_at_end, default=0.0)
                rows.append({"kind": name, **healthy, "opened": attack.opened, "closed": len(attack.lifetimes),
                             "longest_s": longest, "deadline_s": KINDS[name].deadline,
                             "closed_by_deadline": longest <= KINDS[name].deadline + POLL_SLACK_SECONDS})
                print(_line(rows[-1]), file=sys.stderr, flush=True)
        finally:
            service.stop()
    return rows


def _line(row: dict) -> str:
    text = f"{row['kind']:<20} calls {row['calls']:>6} errors {row['errors']:>3} p50 {row.get('p50', 0):7.1f} ms " \
           f"p99 {row.get('p99', 0):7.1f} ms"
    if "opened" in row:
        text += (f"  attack: {row['opened']} opened, {row['closed']} closed by the server, longest "
                 f"{row['longest_s']:.1f} s (deadline {row['deadline_s']:.0f} s): "
                 f"{'ok' if row['closed_by_deadline'] else 'LATE'}")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.slow_clients", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--attackers", type=int, default=200)
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated, of: " + ", ".join(KINDS))
    parser.add_argument("--size", type=int, default=100, help="resources in each healthy call's record")
    args = parser.parse_args(argv)
    rows = run(args.seconds, args.attackers, args.kinds.split(","), args.size)
    quiet = rows[0]
    print(_line(quiet))
    for row in rows[1:]:
        ratio = row.get("p99", float("inf")) / quiet["p99"]
        print(_line(row) + f"  p99 {ratio:.2f}x quiet")
    ok = all(r["errors"] == 0 and r["closed_by_deadline"] and r.get("p99", float("inf")) <= 2 * quiet["p99"]
             for r in rows[1:])
    print("verdict:", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
