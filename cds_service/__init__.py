"""withdrawal-cds: a CDS Hooks 2.0 service for opioid and kratom withdrawal.

`create_app()` builds the Flask app from defaults, the TOML file named by
WITHDRAWAL_CDS_CONFIG and the environment; pass `settings` to configure it
directly (tests, the CLI).
"""

from __future__ import annotations

from flask import Flask

from cds_service.config import Settings, load_settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    # Imported here so that `cds_service.config` (read by the CLI before anything starts) stays light.
    from cds_service.api import register_blueprints
    from cds_service.api.cors import register_cors
    from cds_service.api.errors import register_error_handlers
    from cds_service.api.metrics import observe_requests
    from cds_service.apps.links import cows_form
    from cds_service.auth import Authenticator
    from cds_service.fhir.fetch import FhirFetcher
    from cds_service.logs import configure_logging
    from cds_service.metrics import Metrics
    from cds_service.protocol.services import SERVICES, check_hooks
    from cds_service.runtime import EXTENSION, Runtime, utcnow
    from cds_service.serving.preflight import check_store_files
    from cds_service.store import Store
    from cds_service.switches import Switchboard

    check_hooks(SERVICES)
    settings = settings or load_settings()
    configure_logging(settings.logging.format)
    app = Flask(__name__)
    # Werkzeug enforces the body limit before we read a byte: an oversized body is a 413.
    app.config["MAX_CONTENT_LENGTH"] = settings.server.max_body_bytes
    # A data directory this process may not write stops it here, naming the path and the cause.
    check_store_files(settings)
    store = Store.from_settings(settings)
    metrics = Metrics()
    fetcher = FhirFetcher(settings.fhir, observe=metrics.fhir_fetched, address_allowed=fhir_address_check(settings))
    runtime = Runtime(settings=settings, fetcher=fetcher, store=store,
                      authenticator=Authenticator(settings, store, clock=lambda: runtime.clock()), metrics=metrics,
                      switches=Switchboard.from_settings(settings), cows_form=cows_form(settings), clock=utcnow)
    app.extensions[EXTENSION] = runtime
    register_blueprints(app)
    register_error_handlers(app, metrics)
    observe_requests(app)
    register_cors(app, settings.server.cors_origins)
    return app


def fhir_address_check(settings: Settings):
    """Open mode off loopback: the addresses a fhirServer may have (design section 6); else None, any."""
    from cds_service.auth.start_policy import is_loopback
    from cds_service.fhir.addresses import public_or_listed

    if settings.auth_required or is_loopback(settings.server.host):
        return None
    return public_or_listed(settings.fhir.allowed_networks)
