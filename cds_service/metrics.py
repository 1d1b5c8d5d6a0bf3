"""Prometheus metrics: what an operator graphs and alerts on, with no patient data in any label.

Every label takes its values from a closed set (our service ids, topics, indicators,
outcomes, error names, HTTP statuses, exception class names), never from the request, so
a caller cannot make the series grow and nothing identifies a patient.

Under `withdrawal-cds serve` every gunicorn worker writes its values to files in
PROMETHEUS_MULTIPROC_DIR (set by cds_service/serving/server.py before the workers start) and
`GET /metrics` on any worker adds up all of them: prometheus_client's multiprocess mode.
Without that variable (tests, another WSGI server) the values are this process's own.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from cards import Advice

# prometheus_client's own variable; cds_service/serving/server.py sets it before the workers start.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Hook calls take milliseconds at a few hundred resources and up to the FHIR deadline (10 s by
# default) when the record must be fetched.
HOOK_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
FETCH_OUTCOMES = ("ok", "timeout", "error", "refused")


class Metrics:
    """One app's metrics. Built per app so that several apps in one process (tests) do not
    collide in prometheus_client's global registry."""

    def __init__(self) -> None:
        self.multiprocess = MULTIPROCESS_DIR in os.environ
        # In multiprocess mode the values live in files, not in a registry; the exposition
        # registry reads the files instead.
        own = None if self.multiprocess else CollectorRegistry(auto_describe=True)
        self.hook_seconds = Histogram(
            "withdrawal_cds_hook_duration_seconds", "Hook calls, from the request's arrival to the answer.",
            ["service"], buckets=HOOK_SECONDS_BUCKETS, registry=own)
        self.cards = Counter("withdrawal_cds_cards", "Cards returned to an EHR.",
                             ["service", "topic", "indicator"], registry=own)
        self.feedback = Counter("withdrawal_cds_feedback", "Feedback items stored, by what the clinician did.",
                                ["service", "topic", "outcome"], registry=own)
        self.fhir_fetches = Counter("withdrawal_cds_fhir_fetches", "Prefetch queries run against an EHR's FHIR "
                                    "server, by outcome (refused: the server answered 401 or 403).",
                                    ["outcome"], registry=own)
        self.errors = Counter("withdrawal_cds_http_errors", "Answers with a 4xx or 5xx status, by the error "
                              "name the body carries.", ["status", "error"], registry=own)
        self.store_errors = Counter("withdrawal_cds_store_errors", "Database failures that stopped a request, "
                                    "by driver exception class.", ["kind"], registry=own)
        self._exposition = own or _multiprocess_registry()

    def cards_returned(self, service: str, advised: Iterable[Advice]) -> None:
        """Count the cards returned, by the advice each was built from."""
        for advice in advised:
            self.cards.labels(service, advice.topic, advice.indicator).inc()

    def fhir_fetched(self, outcome: str) -> None:
        self.fhir_fetches.labels(outcome if outcome in FETCH_OUTCOMES else "error").inc()

    def exposition(self) -> bytes:
        return generate_latest(self._exposition)


def _multiprocess_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry
