"""When the COWS form is on, and the links a card carries to it.

The withdrawal-assessment advice names the app (`Advice.app == "cows-form"`); the service links it
only when it serves the form. Every such card gets a `smart` link, which an EHR launches (SMART EHR
launch: `launch` + `iss`). In open mode, or with a loopback-only config (examples/sandbox.toml),
the card also gets an `absolute` link to the open launch (`iss` + `patient`) for a call that came
with a `fhirServer` but no `fhirAuthorization`: the CDS Hooks Sandbox, for one, launches `smart`
links through an HSPC endpoint that open FHIR servers do not have, so there the smart link fails
and the absolute one still opens the form. With trusted issuers that fhirServer must be one the
caller's issuer lists, as for fetching.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from cards import Advice
from cds_service.config import Settings
from cds_service.fhir import urls

COWS_FORM = "cows-form"
APP_PATH = "/apps/cows/"
LAUNCH_PATH = APP_PATH + "launch.html"
# Open mode or a loopback-only config (config.py refuses the form with trusted issuers, no client id
# and another address): the sandboxes such a service runs beside (SMART launcher, HSPC) take any.
OPEN_MODE_CLIENT_ID = "withdrawal-cds-cows"


@dataclass(frozen=True)
class CowsForm:
    client_id: str
    item_system: str
    # The service runs open, or on loopback only, so the form may be opened on an open FHIR server
    # with iss and patient alone. Reachable by other machines with trusted issuers it may not: a
    # crafted link must not make the form write elsewhere.
    open_launch: bool
    # With trusted issuers: the FHIR servers (normal form) an EHR launch's `iss` may be, those the
    # issuers list; the origins the page may connect to; the origins that may frame it.
    trusted_servers: frozenset[str] = frozenset()
    connect_origins: tuple[str, ...] = ()
    frame_ancestors: tuple[str, ...] = ()

    def trusts(self, iss: str | None) -> bool:
        """Whether an EHR launch may name `iss` as its FHIR server."""
        if self.open_launch:
            return True
        try:
            return bool(iss) and urls.normalize_base(iss) in self.trusted_servers
        except urls.UnsafeUrl:
            return False


def cows_form(settings: Settings) -> CowsForm | None:
    """The form as configured, or None when it is off."""
    app = settings.cows_app
    local = not settings.auth_required or settings.server.loopback_only
    enabled = app.enabled if app.enabled is not None else (local or bool(app.client_id))
    if not enabled:
        return None
    servers = frozenset(urls.normalize_base(s) for issuer in settings.issuers for s in issuer.fhir_servers)
    connect = dict.fromkeys(urls.origin(urls.normalize(u)) for u in (*sorted(servers), *app.connect_origins))
    return CowsForm(client_id=app.client_id or OPEN_MODE_CLIENT_ID, item_system=app.item_system,
                    open_launch=local, trusted_servers=servers, connect_origins=tuple(connect),
                    frame_ancestors=tuple(urls.origin(urls.normalize(u)) for u in app.frame_ancestors))


def card_links(advice: Advice, hook_request: dict, card_uuid: str, form: CowsForm | None,
               base_url: str, vouched: bool = True) -> list[dict]:
    """The links to the form for the card built from `advice` (none when it names no app we serve);
    `vouched` says whether the caller may name the request's fhirServer (its issuer lists it)."""
    if form is None or advice.app != COWS_FORM:
        return []
    launch_url = base_url.rstrip("/") + LAUNCH_PATH
    # The EHR hands appContext to the app in its token response: the form says which card opened it.
    context = json.dumps({"card": card_uuid, "topic": advice.topic}, separators=(",", ":"))
    links = [{"label": "Score COWS now", "url": launch_url, "type": "smart", "appContext": context}]
    fhir_server = hook_request.get("fhirServer")
    if form.open_launch and fhir_server and not hook_request.get("fhirAuthorization") and vouched:
        query = urlencode({"iss": fhir_server, "patient": hook_request["context"]["patientId"]})
        links.append({"label": "Score COWS now (open FHIR server, no sign-in)", "url": f"{launch_url}?{query}",
                      "type": "absolute"})
    return links
