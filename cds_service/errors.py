"""The errors every layer raises, each carrying the status and JSON body it leaves as.

400 says which fields are wrong (by dotted path), 401 says nothing at all (best
practice: no hints for an attacker), 412 says which data could not be had.
No Flask here: the FHIR, auth and protocol layers raise these, and cds_service/api/errors.py
turns them (and our own bugs) into answers.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any, Mapping


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.body = {"error": error, "message": message, **extra}


class BadRequest(ApiError):
    def __init__(self, message: str, fields: Mapping[str, list[str]] | None = None):
        super().__init__(400, "bad-request", message, **({"fields": dict(fields)} if fields else {}))


class Unauthorized(ApiError):
    def __init__(self):
        # No message: a 401 must not explain which check failed.
        super().__init__(401, "unauthorized", "unauthorized")
        self.body = {"error": "unauthorized"}


class PreconditionFailed(ApiError):
    def __init__(self, message: str, missing: list[str]):
        super().__init__(412, "precondition-failed", message, missing=missing)


def record_too_large(exc) -> ApiError:
    """413 for a cards.RecordTooLarge: the record needs more work than one evaluation may do.
    Retrying cannot help, and no partial answer is given: cards from part of a record could be
    wrong either way."""
    return ApiError(413, "record-too-large", f"{exc}; the bound is clinical.{exc.setting}")


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict -> {"context.selections.0": ["..."]}."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix and key != "_schema" else (prefix or str(key))
            flat.update(flatten_messages(value, path))
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": list(messages)}
    if isinstance(messages, list):
        flat = {}
        for item in messages:
            for key, value in flatten_messages(item, prefix).items():
                flat.setdefault(key, []).extend(value)
        return flat
    return {prefix or "_schema": [str(messages)]}


def where(exc: BaseException) -> str:
    """Where an exception was raised: file:line (function) frames, innermost first; no values."""
    frames = traceback.extract_tb(exc.__traceback__)
    return " < ".join(f"{Path(f.filename).name}:{f.lineno} ({f.name})" for f in reversed(frames[-8:]))
