"""The performance benchmark of design section 7. A benchmark, never a timed test: it prints figures.

    python -m benchmarks.bench [--sizes 100,1000,10000] [--rounds N] [--only inprocess,server,fhir]
    python -m benchmarks.bench --profile 1000        # pyinstrument report of the service path

1. In process: the floor (a Flask app that parses the same request JSON with orjson and returns a
   fixed card list) against the service's own app (open mode, SQLite in a temp dir), through Flask
   test clients, alternating floor/service call by call, medians per record size.
2. Production server: `withdrawal-cds serve --workers 2` on loopback driven by a Python load
   generator (threads + requests.Session) at the 1,000-resource record: throughput, p50/p95/p99.
3. FHIR-server path: a FHIR server that delays every answer (tests.fhir_servers FaultServer
   "delayed_real") holds the record; the request carries only fhirServer; the whole call and the
   fetch phase are compared with the slowest single query, timed directly against the same server.

Everything binds to 127.0.0.1, runs in a temp dir, is bounded in time, and stops what it started.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson
from flask import Flask, Response, request

from benchmarks import records

SERVICE_PATH = f"/cds-services/{records.SERVICE_ID}"
HEADERS = {"Content-Type": "application/json"}
DEFAULT_SIZES = (100, 1000, 10000)

# What the floor answers: a fixed list shaped like the service's answer for these records
# (three cards with a source, a suggestion and a link), so both serialize a similar response.
FLOOR_CARDS = {"cards": [
    {"uuid": f"00000000-0000-4000-8000-00000000000{i}", "summary": summary, "indicator": indicator,
     "detail": "Fixed card returned by the benchmark floor.",
     "source": {"label": "withdrawal-cds", "topic": {"code": topic, "system": "urn:withdrawal-cds:topic"}},
     "suggestions": [{"label": "Order", "uuid": f"10000000-0000-4000-8000-00000000000{i}", "actions": []}],
     "links": [{"label": "Guideline", "url": "https://example.org/guideline", "type": "absolute"}]}
    for i, (topic, summary, indicator) in enumerate([
        ("moud-referral", "Consider medication for opioid use disorder and referral", "warning"),
        ("counseling", "Offer counseling", "info"),
        ("naloxone", "Offer naloxone", "info")])]}


# --------------------------------------------------------------------------------------------
# machine and apps
# --------------------------------------------------------------------------------------------

def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ""
    with contextlib.suppress(OSError):
        load = f"; load average at start {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
    return (f"{model}, {os.cpu_count()} cores ({affinity} usable){mem}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()} ({platform.python_implementation()}){load}")


def floor_app() -> Flask:
    """The floor: parse the request like the service does, answer a fixed card list."""
    app = Flask("floor")

    @app.post("/cds-services/<service_id>")
    def call(service_id: str):
        body = orjson.loads(request.get_data())
        if not isinstance(body, dict):
            return Response(b'{"error":"not an object"}', 400, mimetype="application/json")
        return Response(orjson.dumps(FLOOR_CARDS), mimetype="application/json")

    return app


def _quiet_service_logs() -> None:
    """The service logs one line per call (and per FHIR query): keep that cost, send it nowhere."""
    logger = logging.getLogger("withdrawal_cds")
    if not logger.handlers:
        handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - lives for the process
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def service_app(data_dir: str) -> Flask:
    """The service's own app, open mode (no issuers), SQLite under data_dir."""
    from cds_service import create_app
    from cds_service.config import load_settings
    from cds_service.server import prepare_process

    _quiet_service_logs()
    settings = load_settings(environ={"WITHDRAWAL_CDS_DATA_DIR": data_dir})
    app = create_app(settings)
    # As a gunicorn worker does before its first request: warm validators, freeze start-up objects.
    prepare_process(app)
    return app


def _post(client, raw: bytes):
    return client.post(SERVICE_PATH, data=raw, headers=HEADERS)


def _check(response, what: str) -> dict:
    if response.status_code != 200:
        raise SystemExit(f"{what}: HTTP {response.status_code}: {response.get_data()[:500]!r}")
    return orjson.loads(response.get_data())


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def _median_ms(samples: list[float]) -> float:
    return _ms(statistics.median(samples))


def _rounds_for(size: int, rounds: int | None) -> int:
    return rounds if rounds else (10 if size >= 10000 else 30)


# --------------------------------------------------------------------------------------------
# 1. in process: floor vs service
# --------------------------------------------------------------------------------------------

def run_inprocess(service, sizes: list[int], rounds: int | None) -> list[dict]:
    floor = floor_app().test_client()
    client = service.test_client()
    rows = []
    for size in sizes:
        body = records.RequestBody(records.hook_request(size))
        n = _rounds_for(size, rounds)
        answer = _check(_post(client, body.next()), f"service at {size}")
        topics = sorted(c.get("source", {}).get("topic", {}).get("code", "?") for c in answer.get("cards", []))
        _check(_post(floor, body.next()), f"floor at {size}")
        for _ in range(2 if size >= 10000 else 5):  # warm up both
            _post(floor, body.next())
            _post(client, body.next())
        floor_t, service_t, floor_cpu, service_cpu = [], [], [], []
        for i in range(n):
            # Alternate which goes first so neither always runs on a warmer cache.
            order = (((floor, floor_t, floor_cpu), (client, service_t, service_cpu)) if i % 2 == 0
                     else ((client, service_t, service_cpu), (floor, floor_t, floor_cpu)))
            for c, sink, cpu_sink in order:
                raw = body.next()
                c0 = time.thread_time()
                t0 = time.perf_counter()
                r = _post(c, raw)
                sink.append(time.perf_counter() - t0)
                cpu_sink.append(time.thread_time() - c0)
                if r.status_code != 200:
                    raise SystemExit(f"HTTP {r.status_code} at {size}: {r.get_data()[:300]!r}")
        f, s = _median_ms(floor_t), _median_ms(service_t)
        fc, sc = _median_ms(floor_cpu), _median_ms(service_cpu)
        rows.append({"size": size, "mb": len(body) / 1e6, "rounds": n, "floor": f, "service": s, "ratio": s / f,
                     "floor_cpu": fc, "service_cpu": sc, "ratio_cpu": sc / fc,
                     "per_1k": s / (size / 1000), "extra_per_1k": (s - f) / (size / 1000), "topics": topics})
        print(f"  [in-process] {size}: floor {f:.2f} ms, service {s:.2f} ms, x{s / f:.2f} "
              f"(CPU {fc:.2f} / {sc:.2f} ms, x{sc / fc:.2f}; {n} rounds); cards: {', '.join(topics) or 'none'}",
              file=sys.stderr, flush=True)
    return rows


def table_inprocess(rows: list[dict]) -> str:
    target = {100: 3.0}
    out = ["| resources | body MB | rounds | floor ms | service ms | service / floor | target | "
           "floor CPU ms | service CPU ms | CPU ratio | service ms per 1k resources |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        t = target.get(r["size"], 2.0)
        ok = "ok" if r["ratio"] <= t else "MISSED"
        out.append(f"| {r['size']:,} | {r['mb']:.2f} | {r['rounds']} | {r['floor']:.2f} | {r['service']:.2f} | "
                   f"**{r['ratio']:.2f}x** | <= {t:g}x {ok} | {r['floor_cpu']:.2f} | {r['service_cpu']:.2f} | "
                   f"{r['ratio_cpu']:.2f}x | {r['per_1k']:.2f} |")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# 2. production server under concurrent clients
# --------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("withdrawal-cds")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("withdrawal-cds")
    return [found] if found else [sys.executable, "-m", "cds_service.cli"]


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} during startup")
        with contextlib.suppress(OSError, urllib.error.URLError):
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"server not ready at {url} within {timeout}s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # gunicorn master: graceful stop of its workers
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the process group we started (start_new_session)
        proc.wait(5)


def _load(url: str, body: records.RequestBody, clients: int, seconds: float) -> dict:
    """`clients` threads, each on its own keep-alive session, posting back to back for `seconds`."""
    import requests

    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    bodies = [[body.next() for _ in range(4)] for _ in range(clients)]
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(k: int) -> None:
        session = requests.Session()
        session.trust_env = False
        start.wait()
        i = 0
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at[0]:
                break
            try:
                r = session.post(url, data=bodies[k][i % 4], headers=HEADERS, timeout=30)
                ok = r.status_code == 200
            except requests.RequestException:
                ok = False
            if ok:
                latencies[k].append(time.perf_counter() - t0)
            else:
                errors[k] += 1
            i += 1
        session.close()

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    t_start = time.perf_counter()
    stop_at[0] = t_start + seconds
    start.wait()
    for t in threads:
        t.join(seconds + 35)
    elapsed = time.perf_counter() - t_start
    lat = sorted(x for per in latencies for x in per)
    if not lat:
        return {"clients": clients, "n": 0, "errors": sum(errors), "rps": 0.0, "elapsed": elapsed}

    def pct(p: float) -> float:
        return _ms(lat[min(len(lat) - 1, max(0, round(p / 100 * len(lat)) - 1))])

    return {"clients": clients, "n": len(lat), "errors": sum(errors), "rps": len(lat) / elapsed, "elapsed": elapsed,
            "p50": pct(50), "p95": pct(95), "p99": pct(99), "max": _ms(lat[-1])}


def run_server(size: int, clients: int, seconds: float, workers: int,
               database_url: str | None = None) -> tuple[list[dict], str]:
    tmp = tempfile.mkdtemp(prefix="wcds-bench-server-")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WITHDRAWAL_CDS_")}
    env["WITHDRAWAL_CDS_DATA_DIR"] = tmp
    if database_url:
        env["WITHDRAWAL_CDS_DATABASE_URL"] = database_url
    # The checkout, importable even when the package is not installed (python -m cds_service.cli fallback).
    repo = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
    log_path = Path(tmp, "server.log")
    cmd = [*_cli(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    base = f"http://127.0.0.1:{port}"
    rows = []
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp, start_new_session=True)
        try:
            _wait_ready(f"{base}/cds-services", proc, 60)
            body = records.RequestBody(records.hook_request(size))
            url = base + SERVICE_PATH
            # Warm every worker (first calls pay lazy imports and connection setup).
            _load(url, body, clients, 2.0)
            for c in sorted({1, clients}):
                r = _load(url, body, c, seconds if c == clients else max(2.0, seconds / 3))
                rows.append(r)
                print(f"  [server] {c} client(s): {r['n']} calls, {r['errors']} errors, {r['rps']:.1f}/s",
                      file=sys.stderr, flush=True)
        except Exception:
            log.flush()
            print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        finally:
            _stop(proc)
    shutil.rmtree(tmp, ignore_errors=True)
    shown = ["withdrawal-cds", *cmd[1:]] if cmd[0].endswith("withdrawal-cds") else ["python", *cmd[1:]]
    return rows, " ".join(shown)


def table_server(rows: list[dict], size: int, workers: int) -> str:
    out = ["| record | workers | concurrent clients | calls | errors | seconds | throughput (calls/s) | "
           "p50 ms | p95 ms | p99 ms | max ms |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if not r["n"]:
            out.append(f"| {size:,} | {workers} | {r['clients']} | 0 | {r['errors']} | {r['elapsed']:.1f} "
                       "| 0 | - | - | - | - |")
            continue
        out.append(f"| {size:,} | {workers} | {r['clients']} | {r['n']} | {r['errors']} | {r['elapsed']:.1f} | "
                   f"{r['rps']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['max']:.1f} |")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# 3. FHIR-server path against a server that delays every answer
# --------------------------------------------------------------------------------------------

def _timed_fetcher(service: Flask) -> list[float]:
    """Wrap this app's FhirFetcher.fetch (on the instance only) to time the fetch phase of each call."""
    from cds_service.runtime import EXTENSION

    fetcher = service.extensions[EXTENSION].fetcher
    sink: list[float] = []
    inner = fetcher.fetch

    def fetch(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            sink.append(time.perf_counter() - t0)

    fetcher.fetch = fetch
    return sink


def _single_query_s(session, base: str, query: str, page_size: int) -> float:
    """One GET as the service sends it (same _count), body parsed with orjson as the service does."""
    url = f"{base}/{query}"
    params = None if "?" not in query else {"_count": page_size}
    t0 = time.perf_counter()
    r = session.get(url, params=params, headers={"Accept": "application/fhir+json, application/json"}, timeout=30)
    body = orjson.loads(r.content)
    elapsed = time.perf_counter() - t0
    if r.status_code != 200 or not isinstance(body, dict):
        raise SystemExit(f"FHIR test server: HTTP {r.status_code} for {query}")
    return elapsed


def run_fhir(service, sizes: list[int], delay: float, rounds: int) -> list[dict]:
    import requests

    from cds_service.fhir.prefetch import render
    from cds_service.protocol.services import PREFETCH
    from cds_service.runtime import EXTENSION
    from tests.fhir_servers import FaultServer

    page_size = service.extensions[EXTENSION].settings.fhir.page_size
    fetch_times = _timed_fetcher(service)
    client = service.test_client()
    rows = []
    for size in sizes:
        rs = records.resources(size)
        with FaultServer("delayed_real", delay=delay, resources=records.by_type(rs)) as fhir:
            body = records.RequestBody(records.hook_request(size, prefetch=False, fhir_server=fhir.base_url))
            context = {"userId": "Practitioner/doc-7", "patientId": records.PATIENT_ID}
            queries = {key: render(t, context) for key, t in PREFETCH.items()}
            session = requests.Session()
            session.trust_env = False
            # Find the slowest query (one warm GET each), then time it `rounds` times.
            _single_query_s(session, fhir.base_url, queries["patient"], page_size)  # open the connection
            each = {key: _single_query_s(session, fhir.base_url, q, page_size) for key, q in queries.items()}
            slowest_key = max(each, key=each.get)
            slowest = [_single_query_s(session, fhir.base_url, queries[slowest_key], page_size) for _ in range(rounds)]
            session.close()
            answer = _check(_post(client, body.next()), f"FHIR path at {size}")  # warm-up: opens the pool's connections
            n_cards = len(answer.get("cards", []))
            fetch_times.clear()
            calls = []
            for _ in range(rounds):
                raw = body.next()
                t0 = time.perf_counter()
                r = _post(client, raw)
                calls.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    raise SystemExit(f"FHIR path at {size}: HTTP {r.status_code}: {r.get_data()[:300]!r}")
            q, c, f = _median_ms(slowest), _median_ms(calls), _median_ms(fetch_times)
            rows.append({"size": size, "delay": delay, "slowest_key": slowest_key, "slowest": q, "fetch": f,
                         "call": c, "fetch_ratio": f / q, "call_ratio": c / q, "rounds": rounds, "cards": n_cards,
                         "queries": len(queries)})
            print(f"  [fhir] {size}: slowest query {slowest_key} {q:.1f} ms, fetch phase {f:.1f} ms, "
                  f"whole call {c:.1f} ms, x{c / q:.2f}; {n_cards} cards", file=sys.stderr, flush=True)
    return rows


def table_fhir(rows: list[dict]) -> str:
    out = ["| resources | server delay s | queries | slowest single query (key) ms | fetch phase ms | whole call ms | "
           "fetch / slowest | whole call / slowest | target |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ok = "ok" if r["call_ratio"] <= 1.3 else ("fetch ok, call MISSED" if r["fetch_ratio"] <= 1.3 else "MISSED")
        out.append(f"| {r['size']:,} | {r['delay']:g} | {r['queries']} | {r['slowest']:.1f} ({r['slowest_key']}) | "
                   f"{r['fetch']:.1f} | {r['call']:.1f} | {r['fetch_ratio']:.2f}x | {r['call_ratio']:.2f}x | "
                   f"<= 1.3x {ok} |")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# profile
# --------------------------------------------------------------------------------------------

def run_profile(service, size: int, calls: int | None) -> str:
    try:
        from pyinstrument import Profiler
        from pyinstrument.renderers import ConsoleRenderer
    except ImportError:
        raise SystemExit("pyinstrument is not installed: pip install pyinstrument") from None
    client = service.test_client()
    body = records.RequestBody(records.hook_request(size))
    for _ in range(3):
        _check(_post(client, body.next()), f"service at {size}")
    calls = calls or max(5, min(50, 20000 // size))
    raws = [body.next() for _ in range(calls)]
    profiler = Profiler(interval=0.0005)
    t0 = time.perf_counter()
    profiler.start()
    for raw in raws:
        _post(client, raw)
    profiler.stop()
    wall = time.perf_counter() - t0
    session = profiler.last_session
    tree = ConsoleRenderer(unicode=True, color=False, show_all=False, time="percent_of_total").render(session)
    flat = ConsoleRenderer(unicode=True, color=False, flat=True, time="percent_of_total").render(session)
    flat_top = "\n".join(flat.splitlines()[:40])
    return (f"## pyinstrument: {calls} service calls at {size:,} resources, {_ms(wall) / calls:.1f} ms per call "
            f"(profiled)\n\n### call tree\n{tree}\n### flat: self time, top frames\n{flat_top}\n")


# --------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="record sizes in resources, comma-separated (default 100,1000,10000)")
    parser.add_argument("--rounds", type=int, help="in-process rounds per size (default 30; 10 at 10,000+)")
    parser.add_argument("--only", default="inprocess,server,fhir", help="parts to run (default all three)")
    parser.add_argument("--server-size", type=int, default=1000, help="record size for the server part (1000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for the server part (8)")
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration for the server part (10)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    parser.add_argument("--database-url", help="store for the server part (default: SQLite in a temp dir)")
    parser.add_argument("--fhir-delay", type=float, default=0.2, help="FHIR server delay per answer, seconds (0.2)")
    parser.add_argument("--fhir-rounds", type=int, default=5, help="calls per size on the FHIR path (5)")
    parser.add_argument("--profile", type=int, metavar="SIZE",
                        help="only profile the service path at SIZE resources with pyinstrument (text to stdout)")
    parser.add_argument("--profile-calls", type=int, help="calls to profile (default: ~20,000 resources' worth)")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    parts = {p.strip() for p in args.only.split(",")}

    started = time.perf_counter()
    tmp = tempfile.mkdtemp(prefix="wcds-bench-")
    try:
        if args.profile:
            service = service_app(tmp)
            print(f"Machine: {machine()}\n")
            print(run_profile(service, args.profile, args.profile_calls))
            return 0

        print(f"# withdrawal-cds benchmark\n\nMachine: {machine()}  ")
        shown = " ".join(["python -m benchmarks.bench", *(argv if argv is not None else sys.argv[1:])])
        print(f"Command: `{shown}`\n", flush=True)
        service = service_app(tmp) if parts & {"inprocess", "fhir"} else None
        if "inprocess" in parts:
            rows = run_inprocess(service, sizes, args.rounds)
            print("## 1. In process: floor vs service (Flask test clients, alternating; medians)\n")
            print("ms = wall-clock median per call; CPU ms = median CPU time of the calling thread "
                  "(insensitive to other load on the machine).\n")
            print(table_inprocess(rows))
            if len(rows) > 1:
                print("\nLinearity, marginal cost per 1k resources between sizes (wall ms; CPU ms):")
                for a, b in zip(rows, rows[1:], strict=False):
                    k = (b["size"] - a["size"]) / 1000
                    print(f"- {a['size']:,} -> {b['size']:,}: service {(b['service'] - a['service']) / k:.2f}; "
                          f"{(b['service_cpu'] - a['service_cpu']) / k:.2f} CPU | floor "
                          f"{(b['floor'] - a['floor']) / k:.2f}; {(b['floor_cpu'] - a['floor_cpu']) / k:.2f} CPU")
            print(flush=True)
        if "server" in parts:
            rows, cmd = run_server(args.server_size, args.clients, args.seconds, args.workers,
                                   args.database_url)
            print(f"## 2. Production server: `{cmd}` (gunicorn gthread), Python load generator on the same machine\n")
            print(f"{args.clients} client threads (requests.Session, keep-alive) post the "
                  f"{args.server_size:,}-resource "
                  f"record back to back for {args.seconds:g} s after a 2 s warm-up; the 1-client row is unloaded "
                  "latency. Clients share the machine's cores with the server.\n")
            print(table_server(rows, args.server_size, args.workers))
            print(flush=True)
        if "fhir" in parts:
            rows = run_fhir(service, sizes, args.fhir_delay, args.fhir_rounds)
            print(f"## 3. FHIR-server path: fhirServer only, no prefetch; server delays every answer by "
                  f"{args.fhir_delay:g} s (medians of {args.fhir_rounds})\n")
            print("Slowest single query: the slowest of the 7 prefetch queries, one GET on a warm connection, "
                  "body parsed with orjson, as the service sends it. Fetch phase: the service's FhirFetcher.fetch. "
                  "Test server with TCP_NODELAY (see bench.py).\n")
            print(table_fhir(rows))
            print(flush=True)
        print(f"_Total benchmark time: {time.perf_counter() - started:.0f} s._")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
