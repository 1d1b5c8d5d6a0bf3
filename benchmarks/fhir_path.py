"""Part `fhir`: the FHIR-server path, against the slowest single query measured beside it.

A FHIR test server that delays every answer (tests.fhir_servers.FaultServer "delayed_real") holds
the record split by type, in a process of its own (`python -m benchmarks.fhir_path SIZE DELAY`),
so it shares no GIL with the service; each distinct answer is encoded once. The hook request
carries only `fhirServer`: the service fetches its 9 prefetch queries in parallel.

The baseline is the slowest single query: one GET as the service sends it (same `_count`), on a
warm keep-alive connection, body parsed with orjson, from a bare client process with the service's
GC settings (benchmarks/child.py "client"): a lower bound, so it gets every advantage the service
has. Which query is the slowest is found once per size (each timed twice, best of two); then that
query and the service's whole hook call are timed in turn, call by call (the first alternating),
and each round gives a ratio: whole call / slowest query. The median of those is the
figure; the service's fetch phase (FhirFetcher.fetch, timed in the service process) is shown beside.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys

from benchmarks import records
from benchmarks.child import REPO, Child
from benchmarks.inprocess import checked
from benchmarks.report import Target, median, ms, spread, table, verdict

# Issue 14, "new target": at 10,000 resources, whole call / slowest single query.
TARGETS = {10000: Target(1.2)}


class FhirServerProcess:
    """The delayed FHIR test server for one record size, in a child process; stops when we close its stdin."""

    def __init__(self, size: int, delay: float, timeout: float = 60.0):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.fhir_path", str(size), str(delay)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
        ready = select.select([self.proc.stdout], [], [], timeout)[0]
        self.base_url = self.proc.stdout.readline().strip() if ready else ""
        if not self.base_url.startswith("http://127.0.0.1:"):
            self.close()
            raise RuntimeError(f"FHIR test server did not start within {timeout}s")

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> FhirServerProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _queries() -> tuple[dict[str, str], int]:
    from cds_service.config import FhirSettings
    from cds_service.fhir.prefetch import render
    from cds_service.protocol.services import PREFETCH

    context = {"userId": "Practitioner/doc-7", "patientId": records.PATIENT_ID}
    return {key: render(t, context) for key, t in PREFETCH.items()}, FhirSettings().page_size


def _get(client: Child, base: str, query: str, page_size: int) -> dict:
    # As the fetcher: a search gets _count, a read does not.
    params = {"_count": page_size} if "?" in query else None
    answer = client.ask("get", f"{base}/{query}", params)
    if answer["status"] != 200:
        raise SystemExit(f"FHIR test server: HTTP {answer['status']} for {query}")
    return answer


def measure(service: Child, client: Child, size: int, delay: float, rounds: int) -> dict:
    queries, page_size = _queries()
    with FhirServerProcess(size, delay) as fhir:
        key = ("fhir", size, fhir.base_url)
        service.send_body(key, records.RequestBody(records.hook_request(size, prefetch=False,
                                                                         fhir_server=fhir.base_url)))
        answer = checked(service.call(key, "direct"), "service (FHIR path)", size)  # opens the pool's connections
        _get(client, fhir.base_url, queries["patient"], page_size)  # opens the client's connection
        # Each query's best of two (a noise spike must not crown a small query), then the slowest.
        each = {k: min(_get(client, fhir.base_url, q, page_size)["wall"] for _ in range(2))
                for k, q in queries.items()}
        slowest = max(each, key=each.get)
        query_s, call_s, fetch_s = [], [], []
        for i in range(rounds):
            if i % 2 == 0:
                query_s.append(_get(client, fhir.base_url, queries[slowest], page_size)["wall"])
            result = checked(service.call(key, "direct"), "service (FHIR path)", size)
            call_s.append(result["wall"])
            fetch_s.append(result["fetch"] or 0.0)
            if i % 2 == 1:
                query_s.append(_get(client, fhir.base_url, queries[slowest], page_size)["wall"])
    ratios = [c / q for c, q in zip(call_s, query_s, strict=True)]
    return {"size": size, "delay": delay, "rounds": rounds, "queries": len(queries), "slowest_key": slowest,
            "slowest": ms(median(query_s)), "fetch": ms(median(fetch_s)), "call": ms(median(call_s)),
            "call_ratio": spread(ratios), "fetch_ratio": spread([f / q for f, q in zip(fetch_s, query_s,
                                                                                         strict=True)]),
            "cards": answer["cards"]}


def run(service: Child, client: Child, sizes: list[int], delay: float, rounds: int) -> list[dict]:
    rows = []
    for size in sizes:
        row = measure(service, client, size, delay, rounds)
        rows.append(row)
        print(f"  [fhir] {size}: slowest query {row['slowest_key']} {row['slowest']:.1f} ms, fetch phase "
              f"{row['fetch']:.1f} ms, whole call {row['call']:.1f} ms, x{row['call_ratio']['median']:.2f}; "
              f"{row['cards']} cards", file=sys.stderr, flush=True)
    return rows


def render(rows: list[dict], busy: bool) -> str:
    delay = rows[0]["delay"] if rows else 0
    head = (f"## fhir: FHIR-server path, fhirServer only, every answer delayed {delay:g} s\n\n"
            "Slowest single query and whole hook call timed in turn, round by round; medians; the ratio's "
            "median and p10-p90 are over the per-round ratios. FHIR test server in its own process, each "
            "answer encoded once; the baseline client has the service's GC settings.\n")
    out = []
    for r in rows:
        target = TARGETS.get(r["size"])
        c = r["call_ratio"]
        out.append([f"{r['size']:,}", str(r["rounds"]), f"{r['slowest']:.1f} ({r['slowest_key']})",
                    f"{r['fetch']:.1f}", f"{r['call']:.1f}", f"{r['fetch_ratio']['median']:.2f}x",
                    f"**{c['median']:.2f}x**", f"{c['p10']:.2f}-{c['p90']:.2f}",
                    target.text() if target else "-", verdict(c["median"], target, busy)])
    return head + "\n" + table(["resources", "rounds", "slowest single query ms (key)", "fetch phase ms",
                                "whole call ms", "fetch / slowest", "whole call / slowest", "p10-p90",
                                "target", "verdict"], out)


def _serve(size: int, delay: float) -> None:
    """The child: serve the record until stdin closes."""
    import json

    from tests.fhir_servers import FaultServer

    class EncodedOnce(FaultServer):
        # Each distinct answer is JSON-encoded once (json.dumps of 7 MB cost this process 0.1-0.3 s a
        # time, on the cores the service and the baseline need): what is left per request is the
        # delay and the socket. The warm-up asks every query before anything is timed.
        cache: dict = {}

        def respond(self, req):
            key = (req.method, req.path, req.query)
            if key not in self.cache:
                status, ctype, payload, extra = super().respond(req)
                body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.cache[key] = (status, ctype, body, extra)
            return self.cache[key]

    with EncodedOnce("delayed_real", delay=delay, resources=records.by_type(records.resources(size))) as fhir:
        print(fhir.base_url, flush=True)
        sys.stdin.read()  # until the parent closes it (or dies)


if __name__ == "__main__":
    _serve(int(sys.argv[1]), float(sys.argv[2]))
