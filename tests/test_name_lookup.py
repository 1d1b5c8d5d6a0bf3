"""A host name is looked up within the caller's deadline. `getaddrinfo` has no timeout and cannot
be interrupted: before, a resolver that did not answer held the fetch thread (and the EHR's call)
for as long as the system resolver kept retrying, past `fhir.deadline_seconds`."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from cds_service.outbound.bounded_http import BoundedHttp, HttpFailure
from cds_service.outbound.deadline import bounded
from cds_service.outbound.name_lookup import LOOKUP, NameLookup, TooManyLookups
from tests.calls import hook_request, oud_condition, patient

PV = "/cds-services/withdrawal-patient-view"
_GETADDRINFO = socket.getaddrinfo
# Generous against a loaded machine, and far below a hung lookup (released only at the test's end).
SLACK = 1.5


class Resolver:
    """A stand-in for getaddrinfo: names in `hung` never answer until released; the rest resolve
    to loopback. Counts the lookups it is asked for."""

    def __init__(self, *hung: str):
        self.hung, self.release, self.asked = set(hung), threading.Event(), []

    def __call__(self, host, port, family=0, kind=0, *rest):
        self.asked.append(host)
        if host in self.hung:
            self.release.wait(30)
            raise socket.gaierror(socket.EAI_AGAIN, "no answer")
        return _GETADDRINFO("127.0.0.1", port, family, kind)


@pytest.fixture
def resolver():
    fake = Resolver("hung.test", "hung-too.test")
    yield fake
    fake.release.set()


def test_a_lookup_that_never_answers_ends_at_the_callers_deadline(resolver):
    lookup = NameLookup(getaddrinfo=resolver)
    started = time.monotonic()
    with bounded(time.monotonic() + 0.3), pytest.raises(TimeoutError):
        lookup.addresses("hung.test", 80)
    assert time.monotonic() - started < 0.3 + SLACK


def test_callers_of_one_name_share_one_lookup_and_other_names_do_not_wait(resolver):
    lookup = NameLookup(getaddrinfo=resolver)

    def hung() -> None:
        with bounded(time.monotonic() + 0.5), pytest.raises(TimeoutError):
            lookup.addresses("hung.test", 80)

    with ThreadPoolExecutor(4) as callers:
        waiting = [callers.submit(hung) for _ in range(4)]
        time.sleep(0.1)
        started = time.monotonic()
        with bounded(time.monotonic() + 5):
            assert lookup.addresses("fhir.test", 80)[0][4][0] == "127.0.0.1"
        assert time.monotonic() - started < SLACK
        for caller in waiting:
            caller.result()
    assert resolver.asked.count("hung.test") == 1


def test_past_the_bound_of_names_in_flight_a_lookup_fails_at_once_and_a_literal_needs_none(resolver):
    lookup = NameLookup(max_lookups=2, getaddrinfo=resolver)
    for name in ("hung.test", "hung-too.test"):
        with bounded(time.monotonic() + 0.05), pytest.raises(TimeoutError):
            lookup.addresses(name, 80)
    with bounded(time.monotonic() + 5), pytest.raises(TooManyLookups):
        lookup.addresses("fhir.test", 80)
    with bounded(time.monotonic() + 5):
        assert lookup.addresses("127.0.0.1", 80)[0][4][0] == "127.0.0.1"
    resolver.release.set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the hung lookups end, and their places come free
        try:
            with bounded(time.monotonic() + 5):
                lookup.addresses("fhir.test", 80)
            break
        except OSError:
            time.sleep(0.05)
    else:
        pytest.fail("the bound never came free")


def test_a_failed_lookup_reaches_every_caller_as_the_resolvers_error(resolver):
    lookup = NameLookup(getaddrinfo=resolver)
    resolver.release.set()
    with bounded(time.monotonic() + 5), pytest.raises(socket.gaierror):
        lookup.addresses("hung.test", 80)


def only_fhir_server(server_url: str) -> dict:
    body = hook_request("patient-view", prefetch={}, fhirServer=server_url)
    del body["prefetch"]
    return body


def test_fhir_servers_whose_names_never_resolve_cost_their_own_calls_the_deadline_and_hold_no_thread(
        make_app, fault_server, resolver, monkeypatch):
    """The whole hook path, the system's lookup standing in for a resolver that hangs. Before, the
    calls to the hung names got their 412 at the deadline, but their fetch threads stayed in
    getaddrinfo: with both of the pool's threads held, the healthy server's call got a 412 too."""
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    healthy = fault_server("delayed_real", delay=0, resources={"Patient": [patient()], "Condition": [oud_condition()]})
    client = make_app(fhir={"deadline_seconds": 1.0, "pool_size": 2, "max_per_server": 1}).test_client()

    for name in ("hung.test", "hung-too.test"):
        started = time.monotonic()
        hung = client.post(PV, json=only_fhir_server(f"http://{name}:{healthy.port}/fhir"))
        assert hung.status_code == 412, hung.get_json()
        assert time.monotonic() - started < 1.0 + SLACK

    answered = client.post(PV, json=only_fhir_server(f"http://fhir.test:{healthy.port}/fhir"))
    assert answered.status_code == 200, answered.get_json()
    assert answered.get_json()["cards"]


@pytest.mark.parametrize("error, reason", [(socket.gaierror(socket.EAI_NONAME, "unknown"), "name lookup failed"),
                                           (TooManyLookups("busy"), "too many name lookups")])
def test_a_lookup_that_fails_is_a_failure_that_says_so(monkeypatch, error, reason):
    def fails(*args):
        raise error

    monkeypatch.setattr(LOOKUP, "_getaddrinfo", fails)
    http = BoundedHttp(maxsize=1)
    with pytest.raises(HttpFailure, match=reason):
        http.get("http://fhir.test:9/fhir/Patient/x", headers={}, deadline=time.monotonic() + 5,
                 connect_timeout=1, read_timeout=1, max_bytes=1024)


def test_a_name_the_system_resolves_is_connected_to(fault_server):
    server = fault_server("canary")
    http = BoundedHttp(maxsize=1)
    url = server.url("Condition").replace("127.0.0.1", "localhost")
    assert http.get(url, headers={}, deadline=time.monotonic() + 5, connect_timeout=2, read_timeout=2,
                    max_bytes=1 << 20)[0] == 200
