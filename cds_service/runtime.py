"""What a request handler needs, built once per app: settings, FHIR fetcher, store, authenticator,
metrics, switches, the COWS form, clock. No Flask here: a view reaches it through api/current.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cds_service.apps.links import CowsForm
from cds_service.auth import Authenticator
from cds_service.config import Settings
from cds_service.fhir.fetch import FhirFetcher
from cds_service.metrics import Metrics
from cds_service.store import Store
from cds_service.switches import Switchboard

EXTENSION = "withdrawal_cds"
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Runtime:
    settings: Settings
    fetcher: FhirFetcher
    store: Store
    authenticator: Authenticator
    metrics: Metrics
    # Per-topic switches and the card cap by site and hook ([topics], [[sites]]).
    switches: Switchboard = field(default_factory=Switchboard)
    # The COWS form when it is on (apps/links.py), worked out once from the settings.
    cows_form: CowsForm | None = None
    # The one source of "now": the rules' request time, feedback receipt, token replay expiry.
    # Tests replace it to move through windows and snooze periods.
    clock: Clock = field(default=utcnow)
