"""Fixtures for tests in a real browser: Debian's Chromium driven by Playwright, and the service
served over HTTP so the browser can load the COWS form from it (a fixture plugin, see conftest.py).

``chromium`` (session)
    A headless Chromium (/usr/bin/chromium, from `apt-get install chromium`) driven by the PyPI
    ``playwright`` package; Playwright's own browser download is never used (it cannot be fetched
    on our machines). Each launch gets a fresh profile directory from Playwright. Missing chromium
    or playwright skips the test locally and fails it with CI=true: a CI run that quietly skipped
    the browser would prove nothing about the form.
``page`` (function)
    A new browser context and page; the console errors and page errors it saw are in
    ``page.problems`` for assertion messages.
``live_service`` (function)
    ``live_service(**overrides) -> base URL``: the Flask app (settings as ``make_settings``) on
    127.0.0.1 and an ephemeral port, served by werkzeug in a thread, stopped after the test.
"""

from __future__ import annotations

import os
import threading
from typing import Iterator

import pytest
from werkzeug.serving import make_server

from cds_service import create_app
from cds_service.runtime import EXTENSION

__all__ = ["chromium", "page", "live_service", "CHROMIUM"]

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google's hosts, which our
# closed network refuses; --no-sandbox because CI runs as root.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _unavailable() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: pip install -e '.[test]'"
    return ""


@pytest.fixture(scope="session")
def chromium():
    problem = _unavailable()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot run: {problem}", pytrace=False)
        pytest.skip(f"browser tests skipped: {problem}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 900, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def live_service(make_settings, at_head) -> Iterator:
    servers = []

    def start(**overrides) -> str:
        settings = make_settings(**overrides)
        at_head(settings.store.database_url)
        app = create_app(settings)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True, name="live-service")
        thread.start()
        servers.append((server, thread, app))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread, app in servers:
        server.shutdown()
        thread.join(5)
        app.extensions[EXTENSION].store.dispose()
