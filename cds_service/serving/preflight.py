"""Checks made before the store is opened or a port is bound, so that what stops the service is one
line naming the path or address and the cause.

Left to themselves the failures are poor: SQLite says "unable to open database file" for a data
directory it may not write (the usual volume-permission mistake in a container), naming neither
the path nor why; gunicorn retries a port in use five times and then prints a traceback; in a
worker, either ends as gunicorn's "Worker failed to boot". Every message here says what to change.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

from cds_service.auth import is_loopback
from cds_service.auth.jwks import JwksError, read_jwks_file
from cds_service.config import ENV_DATABASE_URL, ConfigError, Settings
from cds_service.store import database_url
from cds_service.store.engine import sqlite_path
from cds_service.store.patient_key import KEY_FILE_NAME


def check_store_files(settings: Settings, *, must_exist: bool = False) -> None:
    """The directories the store writes (the SQLite file's, the generated patient key's) exist or can
    be made, and this process may write in them; with `must_exist`, the SQLite file is already there
    (report and purge read a store, they do not start an empty one)."""
    try:
        database_url.check(settings.store.database_url)
    except database_url.UnusableUrl as exc:
        raise ConfigError(f"store.database_url is not a database URL: {exc}; it is not shown, since it may hold "
                          f"the password (it is {ENV_DATABASE_URL}, or database_url in [store])") from None
    database = sqlite_path(settings.store.database_url)
    if database is not None:
        if must_exist and not database.is_file():
            raise ConfigError(f"no store at {database}: the service has not run with this data directory; "
                              f"run this where the service runs, or set WITHDRAWAL_CDS_DATA_DIR (or data_dir, "
                              f"or store.database_url) to the service's")
        _check_writable_dir(database.parent, "the SQLite store's directory")
        _check_writable_file(database)
    if settings.patient_key is None:
        # Where Store keeps the generated key: beside the SQLite file, else in the data directory.
        key_dir = database.parent if database is not None else Path(settings.data_dir)
        _check_writable_dir(key_dir, "the data directory (for the generated patient key)")
        _check_writable_file(key_dir / KEY_FILE_NAME)


def check_issuer_key_files(settings: Settings) -> None:
    """Each issuer's jwks_file holds a key to verify its calls with, read now: a wrong file stops the
    start with one line instead of failing every call with a 401. Neither line quotes the file."""
    for issuer in settings.issuers:
        if not issuer.jwks_file:
            continue
        try:
            keys = read_jwks_file(issuer.jwks_file)
        except JwksError as exc:
            raise ConfigError(f"issuer {issuer.iss}: {exc}") from None
        if not keys:
            raise ConfigError(f"issuer {issuer.iss}: jwks_file {issuer.jwks_file} holds no key to verify tokens "
                              f"with (each needs a kid, kty EC or RSA, use sig if any, and no private part)")


def check_can_listen(host: str, port: int) -> None:
    """Bind and release the address `serve` is about to listen on."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            # As gunicorn binds: a port whose last connections are in TIME_WAIT is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {_cause(exc)}; stop what holds it or choose "
                          f"another port (--port, or server.port in the config)") from None


def check_loopback_only(settings: Settings, config_file: str | None) -> None:
    """A config marked `server.loopback_only` (one for local testing, such as examples/sandbox.toml,
    which trusts a published key) is never served on an address other machines can reach."""
    if settings.server.loopback_only and not is_loopback(settings.server.host):
        source = config_file or "the configuration"
        raise ConfigError(f"refusing to listen on {settings.server.host}: {source} is for local testing only "
                          f"(server.loopback_only = true; it may trust keys that anyone can sign with), so it "
                          f"binds loopback only (127.0.0.1, ::1, localhost)")


def _check_writable_dir(path: Path, what: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"{what} {path} is not a directory") from None
    except OSError as exc:
        raise ConfigError(f"{what} {path} cannot be created: {_cause(exc)}") from None
    try:
        # Creating a file is the one test that holds for every cause: permissions, a read-only mount,
        # an ACL, a full disk. os.access answers for the real uid, and root passes it everywhere.
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ConfigError(f"{what} {path} is not writable by uid {os.geteuid()}: {_cause(exc)}; give that user "
                          f"write access (for a container volume: chown it to the image's user), or point "
                          f"WITHDRAWAL_CDS_DATA_DIR elsewhere") from None


def _check_writable_file(path: Path) -> None:
    if not path.exists():
        return
    try:
        with open(path, "r+b"):
            pass
    except OSError as exc:
        raise ConfigError(f"{path} cannot be opened for writing by uid {os.geteuid()}: {_cause(exc)}") from None


def _cause(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
