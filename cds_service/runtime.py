"""What a request handler needs, built once per app: settings, FHIR fetcher, store, authenticator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app

from cds_service.config import Settings
from cds_service.fhir_fetch import FhirFetcher

if TYPE_CHECKING:
    from cards import EngineSettings
    from cds_service.auth import Authenticator
    from cds_service.store import Store

EXTENSION = "withdrawal_cds"


@dataclass
class Runtime:
    settings: Settings
    engine_settings: "EngineSettings"
    fetcher: FhirFetcher
    store: "Store"
    authenticator: "Authenticator"


def runtime() -> Runtime:
    return current_app.extensions[EXTENSION]
