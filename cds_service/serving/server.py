"""The production server: gunicorn with threaded workers, each building its own app.

Threaded workers (cds_service/serving/worker.py) keep clients that are still sending
their request in the poller, off the thread pool, and a thread never reads from a
client, so slow clients do not tie the worker up. The app is built in each
worker (not preloaded) so database connections and the FHIR fetch pool are
never shared across a fork.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from cds_service.config import ENV_CONFIG, Settings
from cds_service.logs import JsonFormatter

PROMETHEUS_MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# What gunicorn accepts of a head: a request line or header block this large is an attack, not an
# EHR. Past them gunicorn answers 414 or 431 itself (as JSON: worker.py).
LIMIT_REQUEST_LINE = 8190
LIMIT_REQUEST_FIELDS = 100
LIMIT_REQUEST_FIELD_SIZE = 8190


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from cds_service import create_app
        from cds_service.config import load_settings

        # Host/port/workers overrides from the command line do not matter inside a worker.
        app = create_app(load_settings())
        prepare_process(app)
        return app


class JsonLogger(Logger):
    """gunicorn's error and access logs as JSON objects, like ours, when `[logging] format = "json"`.
    The access line's message stays as access_log_format writes it below."""

    def setup(self, cfg):
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.setFormatter(JsonFormatter())


# A parsed record is a tree of dicts and lists with no cycles, freed by reference counting;
# the cyclic collector only re-walks it. At the default gen-0 threshold (700 allocations) it
# ran hundreds of times per large request (benchmarks/README.md).
GC_THRESHOLDS = (50_000, 20, 20)


def prepare_process(app) -> None:
    """Ready a worker before its first request: build the FHIR validators, touch the store, then
    freeze what is alive so the garbage collector stops re-walking it, and collect less often."""
    import cards
    from cds_service.runtime import EXTENSION

    cards.warm_up()
    app.extensions[EXTENSION].store.ping()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run_server(settings: Settings, config_file: str | None) -> None:
    if config_file:
        os.environ[ENV_CONFIG] = str(config_file)
    metrics_dir = _metrics_dir()
    _Gunicorn({
        "bind": f"{settings.server.host}:{settings.server.port}",
        "workers": settings.server.workers,
        # gthread, but a connection gets a thread only once its whole request is in (worker.py).
        "worker_class": "cds_service.serving.worker.RequestBufferingWorker",
        "threads": settings.server.threads,
        "timeout": settings.server.timeout_seconds,
        "graceful_timeout": 10,
        "keepalive": settings.server.keepalive_seconds,
        # A thread's answer goes into an outbox the poller sends (worker.py), not down sendfile.
        "sendfile": False,
        "limit_request_line": LIMIT_REQUEST_LINE,
        "limit_request_fields": LIMIT_REQUEST_FIELDS,
        "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
        # gunicorn 27's control socket lives in ~/.gunicorn; two instances on a host would clash.
        "control_socket_disable": True,
        "accesslog": "-",
        # No query strings in the access log: a FHIR id must not land there.
        "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms',
        "on_exit": lambda _arbiter: metrics_dir.cleanup(),
        **({"logger_class": JsonLogger} if settings.logging.format == "json" else {}),
    }).run()


class _MetricsDir:
    def __init__(self, path: str, ours: bool):
        self.path, self.ours = path, ours

    def cleanup(self) -> None:
        if self.ours:
            shutil.rmtree(self.path, ignore_errors=True)


def _metrics_dir() -> _MetricsDir:
    """Where the workers keep their metric values (cds_service/metrics.py), chosen before they
    fork. prometheus_client picks its mode once, when first imported, from this variable: so
    it is set here, and nothing the master imports may import prometheus_client
    (tests/test_metrics.py checks). An operator's own directory is used and emptied (files of an
    earlier run would add to this run's counters); otherwise a private temporary one is made and
    removed when the server stops."""
    given = os.environ.get(PROMETHEUS_MULTIPROC_DIR)
    path = given or tempfile.mkdtemp(prefix="withdrawal-cds-metrics-")
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))
    os.environ[PROMETHEUS_MULTIPROC_DIR] = path
    return _MetricsDir(path, ours=not given)
