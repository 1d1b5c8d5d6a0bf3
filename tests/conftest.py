"""Shared fixtures: an app per test on its own SQLite store; the FHIR servers (tests/fhir_servers.py),
the databases (tests/store/databases.py) and the browser (tests/apps/browser.py) are fixture plugins.

Each test's store is its own file, but the Alembic chain runs once per session (per xdist worker):
`migrated_sqlite` is migrated to head, and `at_head` copies it to where a test's store will be, so
create_app finds the schema at head and only checks it. tests/store/ runs the migrations themselves.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cds_service import create_app
from cds_service.config import load_settings
from cds_service.runtime import EXTENSION
from cds_service.store import migrate
from cds_service.store.engine import make_engine, sqlite_path

pytest_plugins = ["tests.fhir_servers", "tests.store.databases", "tests.apps.browser"]


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite store at head, made the way the store makes one (make_engine, migrate.upgrade)."""
    path = tmp_path_factory.mktemp("migrated") / "withdrawal-cds.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()  # the last connection checkpoints the WAL: the one file holds it all
    return path


@pytest.fixture(scope="session")
def at_head(migrated_sqlite):
    """at_head(database_url): a SQLite file the URL names and nobody has made yet becomes a copy of
    the migrated one; anything else (PostgreSQL, a file a test made) is left alone."""
    def seed(database_url: str) -> None:
        path = sqlite_path(database_url)
        if path is not None and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(migrated_sqlite, path)
    return seed


@pytest.fixture
def make_settings(tmp_path):
    def make(**overrides):
        return load_settings(environ={"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data")}, overrides=overrides)
    return make


@pytest.fixture
def make_app(make_settings, at_head):
    apps = []

    def make(**overrides):
        settings = make_settings(**overrides)
        at_head(settings.store.database_url)
        app = create_app(settings)
        app.testing = True
        apps.append(app)
        return app
    yield make
    for app in apps:
        app.extensions[EXTENSION].store.dispose()


@pytest.fixture(scope="module")
def module_app(tmp_path_factory, at_head):
    """One app for a whole module, for a module whose tests never read what another wrote (card
    log, feedback, snoozes); it opts in by defining `app` from this one."""
    settings = load_settings(environ={"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path_factory.mktemp("data"))})
    at_head(settings.store.database_url)
    app = create_app(settings)
    app.testing = True
    yield app
    app.extensions[EXTENSION].store.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()
