"""The floor: the least a service answering this request could do, to measure the service against.

A Flask app that reads the request body, parses it with orjson (as the service does) and answers
a fixed card list shaped like the service's answer for the benchmark records. It imports nothing of
the service and keeps Python's default GC settings wherever it runs, unless FREEZE_ENV is "1"
(`bench.py --floor-freeze`): then its start-up objects are frozen (gc.freeze), thresholds unchanged.

Why that matters: with default settings every full collection walks every object the process has
loaded, and a parsed record triggers several. The in-process floor holds Flask's ~31k tracked
objects; a gunicorn worker of the project's worker class also holds what that class imports (the
service's runtime, SQLAlchemy, requests: ~124k), which made a 1,000-resource floor call cost
7.1 ms instead of 4.8 on average (3.7 frozen). Both floors report their counts.

In process: `create_app()`. As a server, served exactly as `withdrawal-cds serve` serves the
service (same gunicorn options, worker class, worker count and bind), only the app differs:

    python -m benchmarks.floor --host 127.0.0.1 --port 8081 --workers 2

`benchmarks.floor:app` is also a WSGI app any gunicorn command line can load.
"""

from __future__ import annotations

import argparse
import gc
import os

import orjson
from flask import Flask, Response, request

# Three cards with a source, a suggestion and a link, like the service's answer for these records,
# so both serialize a similar response.
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


FREEZE_ENV = "BENCH_FLOOR_FREEZE"  # set by bench.py --floor-freeze, inherited by every floor process


def gc_state() -> dict:
    return {"gc_threshold": gc.get_threshold(), "gc_frozen": gc.get_freeze_count(),
            "gc_tracked": len(gc.get_objects())}


def create_app() -> Flask:
    app = Flask("floor")

    @app.get("/cds-services")
    def discovery():  # what the benchmark polls to know a server is up, and the worker's GC state
        return Response(orjson.dumps({"services": [], "floor": {"pid": os.getpid(), **gc_state()}}),
                        mimetype="application/json")

    @app.post("/cds-services/<service_id>")
    def call(service_id: str):
        body = orjson.loads(request.get_data())
        if not isinstance(body, dict):
            return Response(b'{"error":"not an object"}', 400, mimetype="application/json")
        return Response(orjson.dumps(FLOOR_CARDS), mimetype="application/json")

    if os.environ.get(FREEZE_ENV) == "1":
        gc.collect()
        gc.freeze()
    return app


def __getattr__(name: str):
    # `benchmarks.floor:app` for gunicorn, built on first use rather than on every import.
    if name == "app":
        return create_app()
    raise AttributeError(name)


def serve(host: str, port: int, workers: int) -> None:
    """Run the floor on the service's own gunicorn set-up (cds_service.serving.server.run_server)."""
    from cds_service.config import load_settings
    from cds_service.serving import server

    settings = load_settings(overrides={"server": {"host": host, "port": port, "workers": workers}})
    # run_server's options are the ones under test; only the app each worker loads is swapped. The
    # service's load() also calls prepare_process (frozen objects, higher GC thresholds); this does not.
    server._Gunicorn.load = lambda self: create_app()
    server.run_server(settings, None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
