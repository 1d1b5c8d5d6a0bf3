"""The secret that turns patient ids into keyed hashes (HMAC-SHA256).

A patient id names one patient only within its source (one EHR: the issuer that vouches for
the call, and its tenant; in open mode the FHIR server), so the hash is of the source and the
id together: `123` at one EHR and `123` at another are two patients, two refs, two sets of
snoozes. The source itself is kept as a keyed hash too, to tell whose card a card is.

A deployment sets it in WITHDRAWAL_CDS_PATIENT_KEY. In local mode (no key set) one
is generated at first start and kept in a file beside the database, readable by its
owner only, so snoozes survive restarts. Several workers may start at once: the key
is written to a private temporary file and linked into place, which fails if another
process won, so nobody ever reads a half-written key and everybody ends up with the
same one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import orjson

KEY_FILE_NAME = "patient-key"


def patient_ref(key: bytes, source: str, patient_id: str) -> str:
    # A JSON array keeps the parts apart: no source and id can run together into another pair.
    # Refs from before revision 0002 hashed the bare id, which never starts with "[".
    return _keyed(key, orjson.dumps(["patient", source, patient_id]))


def source_ref(key: bytes, source: str) -> str:
    return _keyed(key, orjson.dumps(["source", source]))


def _keyed(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def load_or_create(path: Path) -> bytes:
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another worker won; use its key
    finally:
        tmp.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    if len(text) < 32:
        raise ValueError(f"patient key file {path} is damaged (too short); restore it or set the key "
                         "in the environment")
    return text.encode("ascii")
