"""Database fixtures: every store test runs on SQLite and on a real PostgreSQL.

``database_url`` (function, parametrized ``sqlite`` / ``postgresql``)
    A fresh, empty database: a SQLite file in the test's tmp dir, or a PostgreSQL
    schema of its own (dropped afterwards), so tests and parallel runs never meet.
``store_settings`` (function)
    ``Settings`` for that database, a tmp data dir and a fixed patient key.
``store`` (function)
    ``Store.from_settings(store_settings)``, migrated, disposed afterwards.

PostgreSQL is taken from WITHDRAWAL_CDS_TEST_PG_URL (default: the local server). If it
cannot be reached, the postgresql variants are skipped, except with CI=true, where they
fail: a CI run that quietly tested only SQLite would prove nothing about PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from cds_service.config import Settings, StoreSettings
from cds_service.store import Store

__all__ = ["PG_URL", "database_url", "store_settings", "store", "pg_schema", "settings_for", "DATABASES"]

PG_URL = os.environ.get("WITHDRAWAL_CDS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASES = ["sqlite", "postgresql"]
TEST_KEY = b"test-patient-key-0123456789abcdef"

_pg_error: list[str] = []


def _require_postgres() -> None:
    if not _pg_error:
        try:
            engine = create_engine(PG_URL, poolclass=NullPool, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            _pg_error.append("")
        except Exception as exc:
            _pg_error.append(f"PostgreSQL at {make_url(PG_URL).render_as_string()} unreachable: {exc}")
    if _pg_error[0]:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(_pg_error[0], pytrace=False)
        pytest.skip(_pg_error[0])


@contextlib.contextmanager
def pg_schema() -> Iterator[str]:
    """A URL for a new, empty PostgreSQL schema (the connection's search_path), dropped afterwards."""
    _require_postgres()
    schema = f"wcds_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'withdrawal-cds.db'}"
    else:
        with pg_schema() as url:
            yield url


def settings_for(database_url: str, data_dir: Path, patient_key: bytes | None = TEST_KEY, **changes) -> Settings:
    return Settings(store=StoreSettings(database_url=database_url), data_dir=data_dir,
                    patient_key=patient_key, **changes)


@pytest.fixture
def store_settings(database_url: str, tmp_path: Path) -> Settings:
    return settings_for(database_url, tmp_path / "data")


@pytest.fixture
def store(store_settings: Settings) -> Iterator[Store]:
    s = Store.from_settings(store_settings)
    yield s
    s.dispose()
