"""The performance benchmark (design section 7, issue 14). A benchmark, never a timed test: it prints figures.

    python -m benchmarks.bench                       # every part, about 1.5-2.5 minutes
    python -m benchmarks.bench --only direct,memory --sizes 100,1000 --rounds 100
    python -m benchmarks.bench --json run1.json      # all figures, for benchmarks/summarize.py
    python -m benchmarks.bench --quick               # a few seconds' worth of everything (the smoke test)
    python -m benchmarks.bench --profile 1000        # pyinstrument report of the service path
    python -m benchmarks.bench --record inpatient --only direct --sizes 1000,10000   # a long stay (v3)

Parts (--only, comma-separated; benchmarks/README.md says exactly what each does):
  inprocess  floor vs service, each in its own process, through Flask test clients, interleaved
  direct     the same, calling the WSGI apps directly (no test client)
  fhir       the FHIR-server path against the slowest single query, interleaved
  server     `withdrawal-cds serve` against a floor server, same gunicorn set-up, 1 and 8 clients
  memory     peak resident memory of a fresh process for one request, service vs floor

Every part reports how much CPU other processes used meanwhile; above a threshold its verdicts
read NO VERDICT. Everything binds to 127.0.0.1, runs in temp dirs, is bounded in time, and stops
what it started.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone

from benchmarks import fhir_path, http_load, inprocess, machine, memory, records
from benchmarks.child import Child
from benchmarks.floor import FREEZE_ENV
from benchmarks.report import Target, ms, table, verdict

PARTS = ("inprocess", "direct", "fhir", "server", "memory")

# name: (default, --quick)
SETTINGS = {
    "sizes": ("100,1000,10000", "100"),
    "rounds": (None, 3),
    "http_sizes": ("100,1000", "100"),
    "clients": ("1,8", "1,2"),
    "seconds": (6.0, 0.6),
    "slices": (3, 1),
    "workers": (2, 1),
    "fhir_delay": (0.2, 0.02),
    "fhir_rounds": (7, 2),
    "memory_sizes": ("100,1000,10000,20000", "200"),
}


# --------------------------------------------------------------------------------------------
# the table: what each headline figure is, where it comes from
# --------------------------------------------------------------------------------------------

def _find(rows: list[dict], **match) -> dict | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


def _direct(size: int):
    return lambda parts: (_find(parts["direct"]["rows"], size=size) or {}).get("cpu_ratio", {}).get("median")


def _http(parts) -> float | None:
    return (_find(parts["server"]["rows"], size=100, clients=8) or {}).get("ratio")


def _fhir(parts) -> float | None:
    return (_find(parts["fhir"]["rows"], size=10000) or {}).get("call_ratio", {}).get("median")


def _memory(parts) -> float | None:
    return (_find(parts["memory"]["rows"], size=20000) or {}).get(memory.HEADLINE)


# key, the words, part, figure, target. In process the direct-call CPU ratio is judged: without
# the test client's fixed cost in both figures, the ratio is the service's own (and the harder one).
HEADLINE = [
    ("inprocess_100", "in process, 100 resources, service / floor (CPU, direct call)", "direct", _direct(100),
     inprocess.TARGETS[100]),
    ("inprocess_1000", "in process, 1,000", "direct", _direct(1000), inprocess.TARGETS[1000]),
    ("inprocess_10000", "in process, 10,000", "direct", _direct(10000), inprocess.TARGETS[10000]),
    ("http_100_8", "HTTP, 100 resources, 8 clients: service throughput / floor throughput", "server", _http,
     http_load.TARGETS[(100, 8)]),
    ("fhir_10000", "FHIR-server path at 10,000, whole call / slowest single query", "fhir", _fhir,
     fhir_path.TARGETS[10000]),
    ("memory_20000", "peak RSS of a worker for one 20,000-resource request / floor's", "memory", _memory,
     memory.TARGETS[20000]),
]


def headline(parts: dict) -> list[dict]:
    out = []
    for key, label, part, figure, target in HEADLINE:
        value = figure(parts) if part in parts else None
        busy = part in parts and parts[part]["check"]["busy"] and part not in machine.UNAFFECTED_BY_LOAD
        out.append({"key": key, "label": label, "part": part, "value": value, "target": target.value,
                    "higher_is_better": target.higher_is_better, "busy": busy,
                    "verdict": verdict(value, target, busy) if value is not None else "not run"})
    return out


def summary_line(items: list[dict]) -> str:
    counts = {v: sum(1 for i in items if i["verdict"] == v) for v in ("met", "missed", "NO VERDICT", "not run")}
    each = "; ".join(f"{i['key']} " + (f"{i['value']:.2f}x ({Target(i['target'], i['higher_is_better']).text()}) "
                                       if i["value"] is not None else "") + i["verdict"] for i in items)
    return (f"**Targets: {counts['met']} met, {counts['missed']} missed, {counts['NO VERDICT']} no verdict "
            f"(machine busy), {counts['not run']} not run.** {each}")


def headline_table(items: list[dict]) -> str:
    rows = [[i["label"], f"{i['value']:.2f}x" if i["value"] is not None else "-",
             Target(i["target"], i["higher_is_better"]).text(), i["verdict"]] for i in items]
    return table(["measure", "this run", "new target", "verdict"], rows, "lrrl")


# --------------------------------------------------------------------------------------------
# flat figures, for --json and summarize.py
# --------------------------------------------------------------------------------------------

def figures(parts: dict) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in ("inprocess", "direct"):
        for r in parts.get(part, {}).get("rows", []):
            p = f"{part}.{r['size']}"
            out.update({f"{p}.cpu_ratio": r["cpu_ratio"]["median"], f"{p}.wall_ratio": r["wall_ratio"]["median"],
                        f"{p}.floor_cpu_ms": r["floor_cpu"], f"{p}.service_cpu_ms": r["service_cpu"],
                        f"{p}.floor_wall_ms": r["floor_wall"], f"{p}.service_wall_ms": r["service_wall"]})
    for r in parts.get("server", {}).get("rows", []):
        p = f"server.{r['size']}.{r['clients']}c"
        out.update({f"{p}.ratio": r["ratio"], f"{p}.floor_calls_s": r["floor"]["rate"],
                    f"{p}.service_calls_s": r["service"]["rate"]})
        out.update({f"{p}.service_{k}_ms": r["service"][k] for k in ("p50", "p95", "p99") if k in r["service"]})
    for r in parts.get("fhir", {}).get("rows", []):
        p = f"fhir.{r['size']}"
        out.update({f"{p}.call_ratio": r["call_ratio"]["median"], f"{p}.fetch_ratio": r["fetch_ratio"]["median"],
                    f"{p}.slowest_ms": r["slowest"], f"{p}.call_ms": r["call"]})
    for r in parts.get("memory", {}).get("rows", []):
        p = f"memory.{r['size']}"
        out.update({f"{p}.peak_ratio": r["peak_ratio"], f"{p}.increase_ratio": r["increase_ratio"],
                    f"{p}.floor_peak_mb": r["floor"]["peak_mb"], f"{p}.service_peak_mb": r["service"]["peak_mb"],
                    f"{p}.floor_increase_mb": r["floor"]["increase_mb"],
                    f"{p}.service_increase_mb": r["service"]["increase_mb"]})
    return out


# --------------------------------------------------------------------------------------------
# running the parts
# --------------------------------------------------------------------------------------------

class Apps:
    """The long-lived floor, service and client processes, started when a part first needs them."""

    def __init__(self, tmp: str):
        self.tmp = tmp
        self.children: dict[str, Child] = {}

    def get(self, kind: str) -> Child:
        if kind not in self.children:
            self.children[kind] = Child(kind, tempfile.mkdtemp(prefix=f"{kind}-", dir=self.tmp))
        return self.children[kind]

    def close(self) -> None:
        for child in self.children.values():
            child.close()
        self.children.clear()


def _run_part(part: str, args, apps: Apps, tmp: str) -> tuple[list[dict], Callable[[bool], str]]:
    """One part's rows and its markdown (without the machine check)."""
    if part in ("inprocess", "direct"):
        floor, service = apps.get("floor"), apps.get("service")
        rows = inprocess.run(part, floor, service, args.sizes, args.rounds)
        return rows, lambda busy: inprocess.render(part, rows, busy, floor.info, service.info)
    if part == "fhir":
        rows = fhir_path.run(apps.get("service"), apps.get("client"), args.sizes, args.fhir_delay,
                             args.fhir_rounds)
        return rows, lambda busy: fhir_path.render(rows, busy)
    if part == "server":
        apps.close()  # the in-process apps would only sit in memory meanwhile
        rows, commands = http_load.run(args.http_sizes, args.clients, args.seconds, args.slices, args.workers,
                                       args.database_url)
        # The URL's scheme only: it may carry a password.
        database = f"store {args.database_url.split(':', 1)[0]}" if args.database_url else "SQLite in a temp dir"
        return rows, lambda busy: http_load.render(rows, commands, args.workers, busy, database)
    rows = memory.run(args.memory_sizes, tmp)
    return rows, lambda busy: memory.render(rows)


def run(args, shown: str) -> dict:
    started = time.perf_counter()
    result = {"version": 1, "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "command": shown, "machine": machine.describe(), "load_start": machine.load_average(),
              "busy_threshold_core_fraction": machine.BUSY_OTHERS_CORE_FRACTION,
              "record": args.record,
              "floor_gc": "frozen start-up objects" if args.floor_freeze else "default", "parts": {}}
    print(f"# withdrawal-cds benchmark\n\nMachine: {result['machine']}  ")
    print(f"Command: `{shown}`  ")
    print(f"Record: {args.record}  ")
    print(f"Floor GC: {result['floor_gc']}; service GC: as its workers set it (prepare_process)  ")
    print(f"Load average at start: {' '.join(map(str, result['load_start']))}\n", flush=True)
    tmp = tempfile.mkdtemp(prefix="wcds-bench-")
    apps = Apps(tmp)
    try:
        for part in PARTS:
            if part not in args.only:
                continue
            with machine.Watch(part) as watch:
                rows, render = _run_part(part, args, apps, tmp)
            check = watch.check
            result["parts"][part] = {"check": check.as_dict(), "rows": rows}
            print(render(check.busy))
            print(f"\n{check.line(cpu_bound=part not in machine.UNAFFECTED_BY_LOAD)}\n", flush=True)
    finally:
        apps.close()
        shutil.rmtree(tmp, ignore_errors=True)
    result["load_end"] = machine.load_average()
    result["seconds"] = time.perf_counter() - started
    result["headline"] = headline(result["parts"])
    result["figures"] = figures(result["parts"])
    print("## Issue 14's table, this run\n")
    print(headline_table(result["headline"]))
    print(f"\nLoad average at end: {' '.join(map(str, result['load_end']))}; "
          f"total benchmark time {result['seconds']:.0f} s.\n")
    print(summary_line(result["headline"]), flush=True)
    return result


# --------------------------------------------------------------------------------------------
# profile
# --------------------------------------------------------------------------------------------

def run_profile(size: int, calls: int | None, tmp: str) -> str:
    try:
        from pyinstrument import Profiler
        from pyinstrument.renderers import ConsoleRenderer
    except ImportError:
        raise SystemExit("pyinstrument is not installed: pip install pyinstrument") from None
    from benchmarks.child import SERVICE_PATH, service_app

    client = service_app(tmp).test_client()
    body = records.RequestBody(records.hook_request(size))

    def post(raw: bytes):
        r = client.post(SERVICE_PATH, data=raw, headers={"Content-Type": "application/json"})
        if r.status_code != 200:
            raise SystemExit(f"service at {size}: HTTP {r.status_code}: {r.get_data()[:300]!r}")

    for _ in range(3):
        post(body.next())
    calls = calls or max(5, min(50, 20000 // size))
    raws = [body.next() for _ in range(calls)]
    profiler = Profiler(interval=0.0005)
    t0 = time.perf_counter()
    profiler.start()
    for raw in raws:
        post(raw)
    profiler.stop()
    wall = time.perf_counter() - t0
    session = profiler.last_session
    tree = ConsoleRenderer(unicode=True, color=False, show_all=False, time="percent_of_total").render(session)
    flat = ConsoleRenderer(unicode=True, color=False, flat=True, time="percent_of_total").render(session)
    flat_top = "\n".join(flat.splitlines()[:40])
    return (f"## pyinstrument: {calls} service calls at {size:,} resources, {ms(wall) / calls:.1f} ms per call "
            f"(profiled, in this process, test client)\n\n### call tree\n{tree}\n"
            f"### flat: self time, top frames\n{flat_top}\n")


# --------------------------------------------------------------------------------------------

def _ints(text: str) -> list[int]:
    return [int(s.replace("_", "")) for s in text.split(",") if s.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--only", default=",".join(PARTS), help=f"parts to run (default all: {','.join(PARTS)})")
    add("--quick", action="store_true", help="tiny sizes, few rounds, short loads: checks the harness, "
        "not the service (defaults in brackets below are the full run's)")
    add("--sizes", help="in-process and FHIR-path record sizes (100,1000,10000)")
    add("--rounds", type=int, help="in-process rounds per size (60; 20 at 10,000+)")
    add("--http-sizes", help="record sizes for the server part (100,1000)")
    add("--clients", help="client counts for the server part (1,8)")
    add("--seconds", type=float, help="load seconds per server, size and client count (6)")
    add("--slices", type=int, help="alternating slices those seconds are cut into (3)")
    add("--workers", type=int, help="worker processes of each server (2)")
    add("--database-url", help="the service's store in the server part (default: SQLite in a temp dir)")
    add("--fhir-delay", type=float, help="FHIR test server delay per answer, seconds (0.2)")
    add("--fhir-rounds", type=int, help="interleaved rounds per size on the FHIR path (7)")
    add("--memory-sizes", help="record sizes for the memory part (100,1000,10000,20000)")
    add("--floor-freeze", action="store_true", help="freeze the floors' start-up objects (gc.freeze; thresholds "
        "stay default): a floor that is not slowed by what its process imported (see benchmarks/floor.py)")
    add("--record", choices=sorted(records.SHAPES), default="chart",
        help="the record every part measures: chart (vitals and labs, the default) or inpatient (a long stay: "
        "~60%% MedicationAdministrations, most not opioids; design section 7, v3)")
    add("--json", metavar="PATH", help="also write every figure to PATH (input of benchmarks/summarize.py)")
    add("--profile", type=int, metavar="SIZE", help="only profile the service path at SIZE resources (pyinstrument)")
    add("--profile-calls", type=int, help="calls to profile (default: ~20,000 resources' worth)")
    args = parser.parse_args(argv)
    for name, (full, quick) in SETTINGS.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    for name in ("sizes", "http_sizes", "clients", "memory_sizes"):
        setattr(args, name, _ints(getattr(args, name)))
    args.only = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(args.only) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}; parts: {', '.join(PARTS)}")
    return args


def _exit_on_sigterm(signum, frame) -> None:
    # SIGTERM (a timeout, a kill) ends the run through the finally blocks, which stop every server.
    # Once: `timeout` signals the process and then its group, and a second SystemExit raised inside
    # a finally block would cut the clean-up short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    records.use_shape(args.record)
    if args.floor_freeze:
        os.environ[FREEZE_ENV] = "1"  # every floor process started from here inherits it
    if args.profile:
        tmp = tempfile.mkdtemp(prefix="wcds-bench-")
        try:
            print(f"Machine: {machine.describe()}; load average {machine.load_average()}\n")
            print(run_profile(args.profile, args.profile_calls, tmp))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return 0
    shown = " ".join(["python -m benchmarks.bench", *(argv if argv is not None else sys.argv[1:])])
    shown = re.sub(r"(://[^:/@\s]+):[^@/\s]+@", r"\1:***@", shown)  # no database password in the output
    result = run(args, shown)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
