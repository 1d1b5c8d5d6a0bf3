"""The secret that turns patient ids into keyed hashes (HMAC-SHA256).

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

KEY_FILE_NAME = "patient-key"


def patient_ref(key: bytes, patient_id: str) -> str:
    return hmac.new(key, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()


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
