"""The `withdrawal-cds` command: serve, evaluate, report, purge.

Whatever stops a command is one line on stderr, `withdrawal-cds: <what is wrong>`, and the exit
status says whose move it is: 1, evaluate's document was refused (what the service would answer
400 or 412); 2, the command cannot run (usage, an unreadable file, the configuration, the store,
the address to listen on).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import orjson

from cds_service import config
from cds_service.config import ENV_CONFIG, ConfigError, Settings, load_settings

REFUSED, CANNOT_RUN = 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other error (argparse prints the usage first)."""

    def error(self, message: str) -> NoReturn:
        _say(f"{message} (see {self.prog} --help)")
        sys.exit(CANNOT_RUN)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="withdrawal-cds", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
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

    report = commands.add_parser("report", help="per-topic counts of cards issued, accepted and overridden; with "
                                                "--html or --csv, the CDS committee's report (docs/committee.md)")
    report.add_argument("--since", type=_date, help="only cards issued on or after this date (YYYY-MM-DD)")
    report.add_argument("--config", help="TOML config file")
    report.add_argument("--html", metavar="FILE", help="write the committee report, charts included, to FILE")
    report.add_argument("--csv", metavar="DIR", help="write the committee report's tables as CSV files in DIR")
    report.add_argument("--from", dest="first_day", type=_day,
                        help="committee report: first day (YYYY-MM-DD, UTC; default: 12 weeks before --to)")
    report.add_argument("--to", dest="last_day", type=_day,
                        help="committee report: last day, included (default: today)")
    report.add_argument("--site", metavar="ISSUER", help="committee report: only the calls of this issuer")
    report.add_argument("--tenant", help="committee report: only this tenant of --site")
    report.set_defaults(run=_report)

    purge = commands.add_parser("purge", help="delete card and feedback records older than the retention period")
    purge.add_argument("--older-than-days", type=int, help="default: store.retention_days from the config")
    purge.add_argument("--config", help="TOML config file")
    purge.set_defaults(run=_purge)

    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except ConfigError as exc:
        _say(str(exc))
        return CANNOT_RUN


def _say(message: str) -> None:
    # One line, whatever the message holds: a shell loop or a log shipper reads a line per error.
    print("withdrawal-cds: " + " ".join(_without_secrets(message).split()), file=sys.stderr)


def _without_secrets(message: str) -> str:
    """The last guard of every line printed: no secret the environment holds is in it, whatever
    produced the message (each source already leaves them out)."""
    from cds_service.store import database_url

    for variable in config.SECRETS.values():
        if os.environ.get(variable):
            message = message.replace(os.environ[variable], database_url.HIDDEN)
    url = os.environ.get(config.ENV_DATABASE_URL)
    return database_url.scrub(message, url) if url else message


def _date(text: str) -> datetime:
    from cds_service.store.report import parse_since
    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _day(text: str):
    from datetime import date
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _serve(args) -> int:
    from cds_service.auth import check_start_policy
    from cds_service.logs import configure_logging, log
    from cds_service.serving import preflight
    from cds_service.serving.server import run_server

    server = {k: v for k, v in {"host": args.host, "port": args.port, "workers": args.workers}.items() if v}
    if args.allow_unauthenticated:
        server["allow_unauthenticated"] = True
    settings = load_settings(args.config, overrides={"server": server})
    preflight.check_loopback_only(settings, args.config or os.environ.get(ENV_CONFIG))
    notice = check_start_policy(settings, settings.server.host, settings.server.allow_unauthenticated)
    preflight.check_can_listen(settings.server.host, settings.server.port)
    configure_logging(settings.logging.format)
    preflight.check_issuer_key_files(settings)
    # Migrated once here, so a store that cannot be opened is one line now rather than a traceback
    # per worker; the workers then find the schema at head.
    _open_store(settings).dispose()
    if notice:
        log.warning(notice)
    run_server(settings, args.config)
    return 0


def _evaluate(args) -> int:
    from cds_service.errors import ApiError
    from cds_service.pipeline import evaluate_document
    from cds_service.runtime import utcnow

    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        _say(f"cannot read {args.file}: {exc.strerror or type(exc).__name__}")
        return CANNOT_RUN
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        _say(f"{args.file} is not valid JSON: {exc}")
        return CANNOT_RUN
    settings = load_settings(args.config)
    try:
        answer = evaluate_document(document, settings, now=utcnow())
    except ApiError as exc:
        _say(f"{args.file}: {_refusal(exc.body)}")
        return REFUSED
    print(orjson.dumps(answer.body, option=orjson.OPT_INDENT_2).decode())
    return 0


def _refusal(body: dict) -> str:
    """An error body as one phrase: the message, then each bad field or missing key."""
    parts = [body["message"]]
    parts += [f"{path}: {' '.join(messages)}" for path, messages in (body.get("fields") or {}).items()]
    if body.get("missing"):
        parts.append("missing: " + ", ".join(body["missing"]))
    return "; ".join(parts)


def _open_store(settings: Settings, must_exist: bool = False):
    from alembic.util import CommandError
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    from cds_service.serving import preflight
    from cds_service.store import Store, database_url

    preflight.check_store_files(settings, must_exist=must_exist)
    try:
        # Not bounded by store.timeout_seconds: a report over a long log may take longer than a call may.
        return Store.from_settings(settings, bounded=False)
    except (SQLAlchemyError, CommandError, OSError, ValueError, ImportError) as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        first_line = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        url = settings.store.database_url
        raise ConfigError(f"cannot open the store at {database_url.shown(url)}: "
                          f"{database_url.scrub(first_line, url)}") from None


def _report(args) -> int:
    from cds_service.store.report import format_report, report

    if args.html or args.csv:
        return _committee_report(args)
    if args.first_day or args.last_day or args.site or args.tenant:
        raise ConfigError("--from, --to, --site and --tenant are for the committee report: "
                          "add --html FILE or --csv DIR")
    store = _open_store(load_settings(args.config), must_exist=True)
    try:
        sys.stdout.write(format_report(report(store, args.since), since=args.since))
    finally:
        store.dispose()
    return 0


def _committee_report(args) -> int:
    from datetime import timedelta

    from cds_service import snooze
    from cds_service.committee.csv_files import write_csv
    from cds_service.committee.figures import Scope, gather
    from cds_service.committee.html import write_html
    from cds_service.runtime import utcnow

    if args.since:
        raise ConfigError("the committee report takes --from and --to, not --since")
    if args.tenant and not args.site:
        raise ConfigError("--tenant needs --site (the issuer the tenant belongs to)")
    now = utcnow()
    last_day = args.last_day or now.date()
    first_day = args.first_day or last_day - timedelta(weeks=12) + timedelta(days=1)
    if first_day > last_day:
        raise ConfigError(f"--from {first_day} is after --to {last_day}")
    settings = load_settings(args.config)
    store = _open_store(settings, must_exist=True)
    try:
        figures = gather(store, Scope(first_day, last_day, args.site, args.tenant))
    finally:
        store.dispose()
    figures = dataclasses.replace(figures, snoozes=snooze.policy(settings.snooze))
    try:
        if args.html:
            Path(args.html).write_text(write_html(figures, now), encoding="utf-8")
        if args.csv:
            write_csv(figures, Path(args.csv), now)
    except OSError as exc:
        _say(f"cannot write {exc.filename or args.html or args.csv}: {exc.strerror or type(exc).__name__}")
        return CANNOT_RUN
    return 0


def _purge(args) -> int:
    from cds_service.runtime import utcnow
    from cds_service.store.report import purge

    settings = load_settings(args.config)
    days = args.older_than_days if args.older_than_days is not None else settings.store.retention_days
    store = _open_store(settings, must_exist=True)
    try:
        counts = purge(store, days, utcnow())
    finally:
        store.dispose()
    print(" ".join(f"{name}={count}" for name, count in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
