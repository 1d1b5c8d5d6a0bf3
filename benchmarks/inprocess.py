"""Parts `inprocess` and `direct`: the floor against the service, each app in its own process.

The parent holds two children (benchmarks/child.py): the floor with Python's default GC, the
service readied as a gunicorn worker (prepare_process). Per record size it hands both the same
request body once, warms both up, then asks for one call at a time, floor and service in turn
(the first of the pair alternating), so drift on the machine falls on both alike. Each child
times its own call; the headline is the CPU-time ratio, service / floor, paired round by round.

- `inprocess`: through Flask test clients (what earlier runs reported; the test client's own cost,
  ~0.3 ms a call, is in both figures and so dilutes the ratio at small records);
- `direct`: the WSGI app called as a server calls it, `app(environ, start_response)`, with an
  environ built once per size and a new BytesIO body per call: no test client in the figure.
"""

from __future__ import annotations

import functools
import sys

from benchmarks import records
from benchmarks.child import Child
from benchmarks.report import Target, median, ms, spread, table, verdict

# Issue 14, "new target": service / floor CPU time per call.
TARGETS = {100: Target(2.5), 1000: Target(1.5), 10000: Target(1.2)}
MODES = {"inprocess": "client", "direct": "direct"}
TITLES = {"inprocess": "Flask test clients", "direct": "direct WSGI calls, no test client"}


@functools.lru_cache(maxsize=None)
def prefetch_body(size: int) -> records.RequestBody:
    """The patient-view request with every prefetch key filled, built once per size per run."""
    return records.RequestBody(records.hook_request(size))


def rounds_for(size: int, rounds: int | None) -> int:
    return rounds if rounds else (20 if size >= 10000 else 60)


def checked(result: dict, who: str, size: int) -> dict:
    """A call that did not answer 200 with cards measured an error page: stop rather than report it."""
    if result["status"] != 200:
        raise SystemExit(f"{who} at {size} resources: HTTP {result['status']}: {result.get('text', '')}")
    if result["cards"] < 1:
        raise SystemExit(f"{who} at {size} resources: 200 but no cards; the record should raise some")
    return result


def _pair(floor: Child, service: Child, key, mode: str, size: int, floor_first: bool) -> tuple[dict, dict]:
    first, second = (floor, service) if floor_first else (service, floor)
    a = checked(first.call(key, mode), first.kind, size)
    b = checked(second.call(key, mode), second.kind, size)
    return (a, b) if floor_first else (b, a)


def measure(floor: Child, service: Child, size: int, mode: str, rounds: int | None) -> dict:
    body = prefetch_body(size)
    key = ("prefetch", size)
    floor.send_body(key, body)
    service.send_body(key, body)
    # Warm-up: lazy imports, caches, the store's first writes, the allocator's arenas.
    for i in range(3 if size >= 10000 else 10):
        _, answer = _pair(floor, service, key, mode, size, i % 2 == 0)
    pairs = [_pair(floor, service, key, mode, size, i % 2 == 0) for i in range(rounds_for(size, rounds))]
    return _row(size, len(body), pairs, answer["topics"])


def _row(size: int, body_bytes: int, pairs: list[tuple[dict, dict]], topics: list[str]) -> dict:
    def med(who: int, what: str) -> float:
        return ms(median([p[who][what] for p in pairs]))

    return {"size": size, "mb": body_bytes / 1e6, "rounds": len(pairs), "topics": topics,
            "floor_cpu": med(0, "cpu"), "service_cpu": med(1, "cpu"),
            "floor_thread_cpu": med(0, "thread_cpu"), "service_thread_cpu": med(1, "thread_cpu"),
            "floor_wall": med(0, "wall"), "service_wall": med(1, "wall"),
            "cpu_ratio": spread([s["cpu"] / f["cpu"] for f, s in pairs]),
            "wall_ratio": spread([s["wall"] / f["wall"] for f, s in pairs])}


def run(part: str, floor: Child, service: Child, sizes: list[int], rounds: int | None) -> list[dict]:
    mode = MODES[part]
    rows = []
    for size in sizes:
        row = measure(floor, service, size, mode, rounds)
        rows.append(row)
        print(f"  [{part}] {size}: CPU floor {row['floor_cpu']:.2f} ms, service {row['service_cpu']:.2f} ms, "
              f"x{row['cpu_ratio']['median']:.2f} (wall x{row['wall_ratio']['median']:.2f}; {row['rounds']} rounds); "
              f"cards: {', '.join(row['topics'])}", file=sys.stderr, flush=True)
    return rows


def render(part: str, rows: list[dict], busy: bool, floor_info: dict, service_info: dict) -> str:
    head = (f"## {part}: floor vs service in process, {TITLES[part]}\n\n"
            f"Two processes, calls interleaved one by one; medians per call. CPU = the child process's CPU "
            f"time for the call (all its threads); the ratio is service / floor paired per round, median "
            f"and p10-p90 over the rounds. {gc_line('Floor', floor_info)}; {gc_line('service', service_info)}.\n")
    out = []
    for r in rows:
        target = TARGETS.get(r["size"])
        c, w = r["cpu_ratio"], r["wall_ratio"]
        out.append([f"{r['size']:,}", f"{r['mb']:.2f}", str(r["rounds"]), f"{r['floor_cpu']:.2f}",
                    f"{r['service_cpu']:.2f}", f"**{c['median']:.2f}x**", f"{c['p10']:.2f}-{c['p90']:.2f}",
                    f"{r['floor_wall']:.2f}", f"{r['service_wall']:.2f}", f"{w['median']:.2f}x",
                    target.text() if target else "-", verdict(c["median"], target, busy)])
    text = table(["resources", "body MB", "rounds", "floor CPU ms", "service CPU ms", "service / floor CPU",
                  "p10-p90", "floor wall ms", "service wall ms", "wall ratio", "target", "verdict"], out)
    notes = _linearity(rows) + _other_threads(rows)
    return "\n".join([head, text, *notes])


def gc_line(who: str, info: dict) -> str:
    """A process's GC state: what its collections have to walk decides much of a large call's cost."""
    return (f"{who} GC thresholds {tuple(info['gc_threshold'])}, {info['gc_tracked']:,} objects tracked, "
            f"{info['gc_frozen']:,} frozen")


def _linearity(rows: list[dict]) -> list[str]:
    if len(rows) < 2:
        return []
    out = ["", "Marginal CPU cost per 1,000 resources between sizes:"]
    for a, b in zip(rows, rows[1:], strict=False):
        k = (b["size"] - a["size"]) / 1000
        out.append(f"- {a['size']:,} -> {b['size']:,}: service {(b['service_cpu'] - a['service_cpu']) / k:.2f} ms, "
                   f"floor {(b['floor_cpu'] - a['floor_cpu']) / k:.2f} ms")
    return out


def _other_threads(rows: list[dict]) -> list[str]:
    """The ratio counts every thread of the child; say so when the calling thread is not all of it."""
    out = []
    for r in rows:
        extra = r["service_cpu"] - r["service_thread_cpu"]
        if extra > 0.05 * r["service_cpu"]:
            out.append(f"- at {r['size']:,}: {extra:.2f} ms of the service's CPU per call ran outside the "
                       "calling thread (counted in the ratio).")
    return ["", *out] if out else []
