"""Logging: one line per event, no PHI and no tokens.

Two formats of the same fields (`[logging] format`):
- "text", the default: `<time> <level> <logger> <message>`;
- "json", for log shippers: one JSON object a line, `{"time", "level", "logger", "message"}`, the
  time in ISO 8601 UTC. gunicorn's own lines (start, workers, the access log) take the same shape
  (cds_service/serving/server.py), so a shipper reads one format from both streams.

What goes into a message is decided where it is logged (ids, counts, check names; never record
content or a token). The JSON format adds nothing to it: an exception attached to a record is
given by type and code location only, as in cds_service/api/errors.py, since its message may quote
the record.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone

import orjson

from cds_service.errors import where

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# The clinical engine logs what it skips (type and a keyed hash of the id) under its own name.
_LOGGERS = ("withdrawal_cds", "cards")
_OURS = "_withdrawal_cds_handler"

log = logging.getLogger("withdrawal_cds")


class _StderrHandler(logging.StreamHandler):
    """Writes to sys.stderr as it is when a record comes, not as it was when the handler was made
    (pytest swaps it per test), as logging's own last-resort handler does."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
                            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            entry["exception"] = f"{type(exc).__name__} at {where(exc)}"
        return orjson.dumps(entry).decode()


def formatter(log_format: str = "text") -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT_FORMAT)


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Our loggers write to stderr in `log_format`. Called for every app built (tests build many,
    in several formats): one handler per logger, its format set each time."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        handler = next((h for h in logger.handlers if getattr(h, _OURS, False)), None)
        if handler is None:
            handler = _StderrHandler()
            setattr(handler, _OURS, True)
            logger.addHandler(handler)
        handler.setFormatter(formatter(log_format))
        logger.setLevel(level)
