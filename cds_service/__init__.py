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
    from cards import EngineSettings
    from cds_service import discovery, feedback, health, hooks, openapi
    from cds_service.auth import Authenticator
    from cds_service.cors import register_cors
    from cds_service.errors import register_error_handlers
    from cds_service.fhir_fetch import FhirFetcher
    from cds_service.logs import configure_logging
    from cds_service.runtime import EXTENSION, Runtime
    from cds_service.store import Store

    settings = settings or load_settings()
    configure_logging()
    app = Flask(__name__)
    # Werkzeug enforces the body limit before we read a byte: an oversized body is a 413.
    app.config["MAX_CONTENT_LENGTH"] = settings.server.max_body_bytes
    store = Store.from_settings(settings)
    app.extensions[EXTENSION] = Runtime(
        settings=settings,
        engine_settings=EngineSettings.from_mapping(settings.clinical),
        fetcher=FhirFetcher(settings.fhir),
        store=store,
        authenticator=Authenticator(settings, store),
    )
    for module in (discovery, hooks, feedback, health, openapi):
        app.register_blueprint(module.bp)
    register_error_handlers(app)
    register_cors(app, settings.server.cors_origins)
    return app
