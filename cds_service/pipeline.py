"""A hook call and a feedback post as plain functions: values in, values out; no Flask, no globals.

The Flask views (api/hooks.py, api/feedback.py) and `withdrawal-cds evaluate` (cli.py) are thin
adapters over these, so the server and the command line give the same cards for the same request.

A hook call's steps, in the contract's order: a well-formed request for the service's hook (400),
the data the rules need (412), the clinical engine (413 past its bounds), the topics snoozed for
the patient dropped, the site's switches applied, and the card log committed before the answer is
returned. (Who is calling, 401, and which service, 404, are settled before: they are the
adapter's.) Feedback: well-formed (400), naming only cards, suggestions and reasons this service
issued to this caller (400, nothing stored), stored with the snooze it sets (snooze.py).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson

import cards
from cards.data import server_queries
from cds_service import snooze
from cds_service.apps.links import CowsForm, card_links, cows_form
from cds_service.auth.tokens import OPEN, Principal
from cds_service.config import Settings
from cds_service.errors import BadRequest, record_too_large
from cds_service.fhir.assemble import FhirAccess, assemble_record
from cds_service.fhir.fetch import FhirFetcher
from cds_service.fhir.prefetch import bundle_resources
from cds_service.protocol import card_json
from cds_service.protocol.base import load
from cds_service.protocol.card_json import ShownCard
from cds_service.protocol.contexts import HOOKS
from cds_service.protocol.decode import RequestReader, parse_json
from cds_service.protocol.feedback_schemas import FeedbackRequestSchema
from cds_service.protocol.request_schemas import validate_request
from cds_service.protocol.services import PREFETCH_KEY_OF, SERVICES, Service
from cds_service.store import FeedbackRow, IssuedCard, Store
from cds_service.switches import ALL_ON, SHOWN, Plan, Switchboard

log = logging.getLogger("withdrawal_cds.hooks")


@dataclass(frozen=True)
class Answer:
    """What one hook call came to: the cards returned, and what the log and the counts need."""

    hook_instance: str
    resources: int
    shown: list[ShownCard]
    # The topics logged, by what became of them (switches.SHOWN, SILENT, CAPPED).
    topics: Mapping[str, tuple[str, ...]]
    # The topics that fired but that feedback hides for this patient now.
    snoozed: tuple[str, ...]

    @property
    def body(self) -> dict[str, Any]:
        return card_json.response(self.shown)


def answer_hook(service: Service, body: bytes, caller: Principal, *, now: datetime, settings: Settings,
                fetcher: FhirFetcher, store: Store | None, switches: Switchboard | None = None,
                form: CowsForm | None = None, base_url: str | None = None) -> Answer:
    """The cards for one hook call. `store` None (the command line): nothing is snoozed or logged.
    `base_url` is our own URL as the EHR calls us, for links to the apps we serve (`form`)."""
    plan = switches.plan(caller.iss, caller.tenant, service.hook) if switches is not None else ALL_ON
    call = _advise(service, body, caller, now, settings, fetcher, plan)
    answer = Answer(call.request["hookInstance"], call.resources, [], {}, ())
    if not call.advised:  # most charts raise nothing: then there is nothing to snooze or to log
        return answer
    links = _app_links(call.request, form, base_url, vouched=call.access is not None)
    # The patient is the id within its source (Principal.source), so a snooze from one EHR never
    # hides a card at another whose patient has the same id.
    source = caller.source(call.named.base_url if call.named else None)
    patient_ref = store.patient_ref(source, call.patient_id) if store is not None else ""
    source_ref = store.source_ref(source) if store is not None else ""
    with store.card_log(patient_ref, now) if store is not None else nullcontext(_NOTHING_LOGGED) as card_log:
        kept = [(advice.topic, advice) for advice in call.advised if advice.topic not in card_log.snoozed]
        # Held-back cards (silent, capped) are worded apart: a note goes on a card that is shown.
        rendered = {status: card_json.cards([advice for _, advice in pairs], links, settings.snooze)
                    for status, pairs in plan.triage(kept).items() if pairs}
        card_log.add([IssuedCard(card_uuid=card.uuid, service_id=service.id, topic=card.topic,
                                 patient_ref=patient_ref, suggestion_uuids=card.suggestion_uuids, issued_at=now,
                                 source_ref=source_ref,
                                 override_reasons=card.override_reasons, hook=service.hook,
                                 hook_instance=answer.hook_instance, status=status)
                      for status, shown in rendered.items() for card in shown])
    return replace(answer, shown=rendered.get(SHOWN, []),
                   topics={status: tuple(card.topic for card in shown) for status, shown in rendered.items()},
                   snoozed=tuple(advice.topic for advice in call.advised if advice.topic in card_log.snoozed))


@dataclass(frozen=True)
class _Advised:
    request: dict
    named: FhirAccess | None  # the FHIR server the request names
    access: FhirAccess | None  # the one we may query: named, and vouched for by the caller
    resources: int
    patient_id: str
    advised: list[cards.Advice]


def _advise(service: Service, body: bytes, caller: Principal, now: datetime, settings: Settings,
            fetcher: FhirFetcher, plan: Plan) -> _Advised:
    """The request read (400), the record assembled (412) and the rules' advice (413 past their
    bounds), for the topics the site's switches leave on."""
    try:
        reader = RequestReader(settings.clinical)
        request = validate_request(service.hook, reader.request(body))
        named = FhirAccess.of(request)
        access, no_access = _usable(named, caller)
        resources = assemble_record(service.prefetch, request, access, fetcher, no_access=no_access,
                                    read=reader.fhir_answer, queries=lambda: server_queries(settings.clinical, now))
        inputs = replace(HOOKS[service.hook].inputs(request["context"]), skip=plan.skip)
        advised = cards.evaluate(resources, inputs, now, settings.clinical, cpu_until=reader.cpu_until)
    except cards.RecordTooLarge as exc:
        log.warning("413: the record passed clinical.%s", exc.setting)
        raise record_too_large(exc) from None
    return _Advised(request, named, access, len(resources), inputs.patient_id, advised)


def _usable(named: FhirAccess | None, caller: Principal) -> tuple[FhirAccess | None, str]:
    """The FHIR server we may query for this call, or None and why not: a server the caller's
    issuer does not vouch for is treated as absent, so the token is never sent where it was not
    meant to go. Said only in a 412, when it matters: with prefetch complete, no server is needed."""
    if named is None:
        return None, "no usable fhirServer was given"
    if not caller.may_use(named.base_url):
        return None, "fhirServer is not one this issuer's fhir_servers lists, so it was not contacted"
    return named, ""


def _app_links(request: dict, form: CowsForm | None, base_url: str | None,
               vouched: bool) -> card_json.ExtraLinks | None:
    """Links from a card to the apps we serve (the COWS form), naming the card; none without our URL."""
    if form is None or not base_url:
        return None
    return lambda advice, card_uuid: card_links(advice, request, card_uuid, form, base_url, vouched=vouched)


class _NothingLogged:
    """The card log of a call nobody logs (the command line): no snoozes, nothing kept."""

    snoozed: frozenset[str] = frozenset()

    def add(self, cards: Sequence[IssuedCard]) -> None:
        pass


_NOTHING_LOGGED = _NothingLogged()


# --- feedback -------------------------------------------------------------------------------------

_FEEDBACK = FeedbackRequestSchema()


@dataclass(frozen=True)
class Received:
    """What one feedback post came to: the rows stored, and how many were already there."""

    stored: list[FeedbackRow]
    duplicates: int

    @property
    def body(self) -> dict[str, int]:
        return {"stored": len(self.stored), "duplicates": self.duplicates}


def receive_feedback(service: Service, body: bytes, caller: Principal, *, now: datetime, settings: Settings,
                     store: Store) -> Received:
    """Store what the clinician did with cards we issued (CDS Hooks 2.0, Feedback).

    Decisions the standard leaves open (docs/feedback-and-report.md):
    - **Unknown card: 400, nothing stored.** A `card` that is not one this service issued to
      this caller (never issued, issued by another service or to another source, i.e. another
      issuer or tenant, or purged) is reported at `feedback.N.card` in the same words whichever
      it is, so nobody learns of other EHRs' cards; an accepted suggestion that is not one of the
      card's at `feedback.N.acceptedSuggestions.M.id`. All or nothing, so a client that fixes and
      resends cannot double-count. 400 rather than 404: 404 would read as "no such endpoint".
    - **An override reason must be one the card offered** (compared by `system` and `code`),
      else a 400 at `feedback.N.overrideReason.reason`: what is stored is our own code, never
      client text. A card logged before store revision 0003 recorded no reasons: it takes an
      override without one. `userComment` is not stored: free text may carry patient data.
    - The snooze it sets is snooze.py's; the same feedback sent twice is stored once, so resending
      does not restart it. The caller answers only after the commit.
    """
    items = load(_FEEDBACK, parse_json(body), "a feedback request")["feedback"]
    issued = store.issued_cards(item["card"] for item in items)
    # Open mode has no verified caller to compare (and feedback names no fhirServer); the
    # snooze still lands on the card's own patient within the card's own source.
    caller_ref = store.source_ref(caller.source(None)) if caller.iss is not None else None
    problems = _unknown_references(items, issued, service.id, caller_ref)
    if problems:
        raise BadRequest("the feedback refers to cards, suggestions or reasons this service did not issue", problems)
    rows = [_feedback_row(item, issued[item["card"]], settings, now) for item in items]
    stored = store.record_feedback(rows, now)
    return Received(stored, len(rows) - len(stored))


def _unknown_references(items: list[dict], issued: dict[str, IssuedCard], service_id: str,
                        caller_source_ref: str | None) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for n, item in enumerate(items):
        card = issued.get(item["card"])
        if (card is None or card.service_id != service_id
                or caller_source_ref is not None and card.source_ref != caller_source_ref):
            problems[f"feedback.{n}.card"] = ["no card with this uuid was issued by this service"]
            continue
        for m, suggestion in enumerate(item.get("acceptedSuggestions") or ()):
            if suggestion["id"] not in card.suggestion_uuids:
                problems[f"feedback.{n}.acceptedSuggestions.{m}.id"] = ["not a suggestion of this card"]
        reason = (item.get("overrideReason") or {}).get("reason")
        if reason and (reason["system"], reason["code"]) not in card.override_reasons:
            problems[f"feedback.{n}.overrideReason.reason"] = ["not one of the overrideReasons this card offered"]
    return problems


def _feedback_row(item: dict, card: IssuedCard, settings: Settings, received_at: datetime) -> FeedbackRow:
    reason = (item.get("overrideReason") or {}).get("reason") or {}
    return FeedbackRow(
        card_uuid=card.card_uuid,
        outcome=item["outcome"],
        outcome_timestamp=item["outcomeTimestamp"],
        reason_system=reason.get("system", ""),
        reason_code=reason.get("code", ""),
        accepted_suggestions=tuple(s["id"] for s in item.get("acceptedSuggestions") or ()),
        service_id=card.service_id,
        topic=card.topic,
        patient_ref=card.patient_ref,
        snoozed_until=snooze.snoozed_until(settings.snooze, item["outcome"], reason.get("code"), received_at),
    )


# --- the command line ----------------------------------------------------------------------------

def evaluate_document(document: Any, settings: Settings, now: datetime) -> Answer:
    """`withdrawal-cds evaluate`: what the server would answer an open caller (no [[issuers]]
    entry applies) for a hook request or one patient's FHIR Bundle, through answer_hook. No store:
    nothing is snoozed or logged. Links to the apps we serve name our configured public URL, else
    the address `serve` listens on."""
    if isinstance(document, dict) and document.get("resourceType") == "Bundle":
        document = request_from_bundle(document)
    service = _service_for(document)
    return answer_hook(service, orjson.dumps(document), OPEN, now=now, settings=settings,
                       fetcher=FhirFetcher(settings.fhir), store=None, switches=Switchboard.from_settings(settings),
                       form=cows_form(settings), base_url=_served_at(settings))


def _served_at(settings: Settings) -> str:
    """Our URL as an EHR calls us: the configured one, else where `serve` listens (a wildcard
    address is reached on loopback)."""
    server = settings.server
    if server.base_urls:
        return server.base_urls[0]
    host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(server.host, server.host)
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{host}:{server.port}/"


def _service_for(document: Any) -> Service:
    if not isinstance(document, dict):
        raise BadRequest("expected a CDS Hooks request or a FHIR Bundle")
    if "hook" not in document:
        what = f"a {document['resourceType']} resource" if isinstance(document.get("resourceType"), str) else "it"
        raise BadRequest(f"no hook: {what} is neither a CDS Hooks request nor a FHIR Bundle",
                         {"hook": ["Missing data for required field."]})
    service = next((s for s in SERVICES.values() if s.hook == document.get("hook")), None)
    if service is None:
        hooks = sorted({s.hook for s in SERVICES.values()})
        raise BadRequest("unsupported hook", {"hook": [f"must be one of {hooks}"]})
    return service


def request_from_bundle(bundle: dict) -> dict:
    """A patient-view request whose prefetch holds the Bundle's resources, sorted into our keys
    (`withdrawal-cds evaluate` takes a patient's Bundle as well as a hook request)."""
    resources = bundle_resources(bundle)
    patient = next((r for r in resources if r.get("resourceType") == "Patient"), None)
    if patient is None or not patient.get("id"):
        raise BadRequest("the Bundle has no Patient with an id")
    prefetch: dict[str, Any] = {key: {"resourceType": "Bundle", "type": "searchset", "entry": []}
                                for key in set(PREFETCH_KEY_OF.values())}
    prefetch["patient"] = patient
    for resource in resources:
        key = PREFETCH_KEY_OF.get(resource.get("resourceType"))
        if key and key != "patient":
            prefetch[key]["entry"].append({"resource": resource})
    return {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/withdrawal-cds-cli", "patientId": patient["id"]},
            "prefetch": prefetch}
