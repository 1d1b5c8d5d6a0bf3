"""A PostgreSQL that stops answering, against the real server (`withdrawal-cds serve`): every call and
/healthz is answered 503 within the store's timeout, the service recovers when the database does,
and the card log never keeps a card of a call that was answered 503."""

from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.engine import make_url

from cds_service.store.engine import make_engine
from cds_service.store.models import issued_card
from tests.calls import PATIENT_VIEW, patient_view
from tests.store.databases import pg_schema
from tests.store.freezable_proxy import FreezableProxy
from tests.store.live_server import LiveServer

STORE_TIMEOUT = 1.0
# The answer may come a little after the timeout; a hung call would take the client's 20 s.
SLACK = 2.0
PV = f"/cds-services/{PATIENT_VIEW}"


@pytest.fixture
def frozen_world(tmp_path):
    """(server, proxy, direct database URL): the real server on a PostgreSQL reached through the proxy."""
    with pg_schema() as url:
        upstream = make_url(url)
        proxy = FreezableProxy((upstream.host, upstream.port or 5432))
        through_proxy = upstream.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        server = LiveServer(through_proxy, tmp_path / "data", tmp_path / "server.log", workers=1,
                            config=f"[store]\ntimeout_seconds = {STORE_TIMEOUT}\n")
        try:
            server.wait_ready()
            yield server, proxy, url
        finally:
            proxy.thaw()
            server.close()
            proxy.close()


def timed_post(url: str, body: dict) -> tuple[int, float, dict]:
    started = time.monotonic()
    response = requests.post(url, json=body, timeout=20)
    return response.status_code, time.monotonic() - started, response.json()


def logged_cards(database_url: str) -> set[str]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return set(conn.scalars(select(issued_card.c.card_uuid)))
    finally:
        engine.dispose()


def test_a_frozen_database_is_a_prompt_503_and_no_card_of_it_is_kept(frozen_world):
    """Before: no connect, statement or lock timeout, so every call and /healthz hung as long as
    the database did."""
    server, proxy, database_url = frozen_world
    given: set[str] = set()
    status, _, answer = timed_post(server.base_url + PV, patient_view("before"))
    assert status == 200
    given |= {card["uuid"] for card in answer["cards"]}

    proxy.freeze()
    for n in range(3):
        status, seconds, answer = timed_post(server.base_url + PV, patient_view(f"frozen-{n}"))
        assert (status, answer["error"]) == (503, "store-unavailable")
        assert seconds < STORE_TIMEOUT + SLACK
    started = time.monotonic()
    health = requests.get(server.base_url + "/healthz", timeout=20)
    assert health.status_code == 503 and time.monotonic() - started < STORE_TIMEOUT + SLACK

    proxy.thaw()
    status, _, answer = timed_post(server.base_url + PV, patient_view("after"))
    assert status == 200, server.log_tail()
    given |= {card["uuid"] for card in answer["cards"]}
    assert requests.get(server.base_url + "/healthz", timeout=20).status_code == 200
    assert logged_cards(database_url) == given


def test_a_card_whose_commit_was_never_acknowledged_is_deleted_once_the_database_answers(frozen_world):
    """The server has the COMMIT and applies it; the service never hears back, answers 503, and
    so must not keep the card it logged."""
    server, proxy, database_url = frozen_world
    assert timed_post(server.base_url + PV, patient_view("warm-up"))[0] == 200
    given = logged_cards(database_url)

    proxy.freeze_after(b"COMMIT")
    status, seconds, _ = timed_post(server.base_url + PV, patient_view("in-doubt"))
    assert status == 503 and seconds < STORE_TIMEOUT + SLACK
    assert len(logged_cards(database_url)) == 2 * len(given)  # committed, for a call that got nothing

    proxy.thaw()
    status, _, answer = timed_post(server.base_url + PV, patient_view("next"))
    assert status == 200, server.log_tail()
    given |= {card["uuid"] for card in answer["cards"]}
    assert logged_cards(database_url) == given
