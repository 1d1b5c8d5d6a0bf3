"""Shared fixtures: an app per test on its own SQLite store; the FHIR servers (tests/fhir_servers.py),
the databases (tests/store/databases.py) and the browser (tests/apps/browser.py) are fixture plugins."""

from __future__ import annotations

import pytest

from cds_service import create_app
from cds_service.config import load_settings
from cds_service.runtime import EXTENSION

pytest_plugins = ["tests.fhir_servers", "tests.store.databases", "tests.apps.browser"]


@pytest.fixture
def make_settings(tmp_path):
    def make(**overrides):
        return load_settings(environ={"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data")}, overrides=overrides)
    return make


@pytest.fixture
def make_app(make_settings):
    apps = []

    def make(**overrides):
        app = create_app(make_settings(**overrides))
        app.testing = True
        apps.append(app)
        return app
    yield make
    for app in apps:
        app.extensions[EXTENSION].store.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()
