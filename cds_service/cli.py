"""The `withdrawal-cds` command: serve, evaluate, report, purge."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

import orjson

from cds_service.config import ConfigError, Settings, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="withdrawal-cds", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the service on the production WSGI server (gunicorn)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080)")
    serve.add_argument("--workers", type=int, help="worker processes (default 2)")
    serve.add_argument("--config", help="TOML config file (or set WITHDRAWAL_CDS_CONFIG)")
    serve.add_argument("--allow-unauthenticated", action="store_true",
                       help="run without JWT verification on a non-loopback address (not for production)")
    serve.set_defaults(run=_serve)

    evaluate = commands.add_parser("evaluate", help="print the cards for a hook request or a patient Bundle")
    evaluate.add_argument("file", help="a CDS Hooks request JSON, or a FHIR Bundle of one patient's record "
                                       "('-' for stdin)")
    evaluate.add_argument("--config", help="TOML config file")
    evaluate.set_defaults(run=_evaluate)

    report = commands.add_parser("report", help="per-topic counts of cards issued, accepted and overridden")
    report.add_argument("--since", type=_date, help="only cards issued on or after this date (YYYY-MM-DD)")
    report.add_argument("--config", help="TOML config file")
    report.set_defaults(run=_report)

    purge = commands.add_parser("purge", help="delete card and feedback records older than the retention period")
    purge.add_argument("--older-than-days", type=int, help="default: store.retention_days from the config")
    purge.add_argument("--config", help="TOML config file")
    purge.set_defaults(run=_purge)

    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except ConfigError as exc:
        print(f"withdrawal-cds: {exc}", file=sys.stderr)
        return 2


def _date(text: str) -> datetime:
    from cds_service.store.report import parse_since
    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _serve(args) -> int:
    from cds_service.auth import check_start_policy
    from cds_service.server import run_server

    server = {k: v for k, v in {"host": args.host, "port": args.port, "workers": args.workers}.items() if v}
    if args.allow_unauthenticated:
        server["allow_unauthenticated"] = True
    settings = load_settings(args.config, overrides={"server": server})
    notice = check_start_policy(settings, settings.server.host, settings.server.allow_unauthenticated)
    if notice:
        print(notice, file=sys.stderr)
    run_server(settings, args.config)
    return 0


def _evaluate(args) -> int:
    from cds_service.errors import ApiError
    from cds_service.offline import evaluate_document

    raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        print(f"withdrawal-cds: {args.file} is not valid JSON: {exc}", file=sys.stderr)
        return 2
    try:
        response = evaluate_document(document, load_settings(args.config))
    except ApiError as exc:
        print(orjson.dumps(exc.body, option=orjson.OPT_INDENT_2).decode(), file=sys.stderr)
        return 1
    print(orjson.dumps(response, option=orjson.OPT_INDENT_2).decode())
    return 0


def _open_store(settings: Settings):
    from cds_service.store import Store
    # Not bounded by store.timeout_seconds: a report over a long log may take longer than a call may.
    return Store.from_settings(settings, bounded=False)


def _report(args) -> int:
    from cds_service.store.report import format_report, report

    store = _open_store(load_settings(args.config))
    try:
        sys.stdout.write(format_report(report(store, args.since), since=args.since))
    finally:
        store.dispose()
    return 0


def _purge(args) -> int:
    from cds_service.runtime import utcnow
    from cds_service.store.report import purge

    settings = load_settings(args.config)
    days = args.older_than_days if args.older_than_days is not None else settings.store.retention_days
    store = _open_store(settings)
    try:
        counts = purge(store, days, utcnow())
    finally:
        store.dispose()
    print(" ".join(f"{name}={count}" for name, count in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
