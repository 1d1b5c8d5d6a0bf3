"""The services we offer and the data each needs: the table discovery publishes.

The prefetch templates are derived from the engine's declaration of the data it reads
(cards/data.py), as are the FHIR server queries and the sieve; a type is added there.
"""

from __future__ import annotations

from dataclasses import dataclass

from cards import data
from cards.topics import TOPICS
from cds_service.errors import ApiError
from cds_service.protocol.contexts import HOOKS

# key -> template. data.server_queries gives, under the same keys, what the service asks the FHIR
# server for when prefetch did not satisfy a key.
PREFETCH: dict[str, str] = data.prefetch_templates()

# Which prefetch key a resource of each type belongs under (Medications come with their requests).
PREFETCH_KEY_OF: dict[str, str] = data.KEY_OF


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    title: str
    description: str
    prefetch: dict[str, str]


def _describe(hook: str, when: str) -> str:
    """What a service advises, from the card topics its hook's moment allows (cards/topics): a new topic
    is described without an edit here."""
    moment = HOOKS[hook].moment
    titles = [topic.title[0].lower() + topic.title[1:] for topic in TOPICS if moment in topic.moments]
    return ("Looks for opioid or kratom use alongside signs of withdrawal, disorder or overdose and advises: "
            + "; ".join(titles) + ". " + when)


SERVICES: dict[str, Service] = {s.id: s for s in (
    Service("withdrawal-patient-view", "patient-view", "Opioid and kratom withdrawal",
            _describe("patient-view", "Runs when a chart is opened."), PREFETCH),
    Service("withdrawal-order-select", "order-select", "Opioid and kratom withdrawal (order select)",
            _describe("order-select", "Runs only when an opioid, a MOUD product or naloxone is being selected."),
            PREFETCH),
    Service("withdrawal-order-sign", "order-sign", "Opioid and kratom withdrawal (order sign)",
            _describe("order-sign", "Runs only when an opioid, a MOUD product or naloxone is being signed."),
            PREFETCH),
    Service("withdrawal-encounter-discharge", "encounter-discharge", "Opioid and kratom withdrawal (discharge)",
            _describe("encounter-discharge", "Runs when a patient is discharged."), PREFETCH),
)}


def check_hooks(services: dict[str, Service]) -> None:
    """Every service's hook has a row in contexts.HOOKS: a hook we cannot read stops the start,
    rather than answering every call with an empty card list."""
    unknown = sorted({s.hook for s in services.values()} - set(HOOKS))
    if unknown:
        raise LookupError(f"services name hooks with no entry in cds_service/protocol/contexts.py HOOKS: {unknown}")


def find_service(service_id: str) -> Service:
    try:
        return SERVICES[service_id]
    except KeyError:
        raise ApiError(404, "not-found", f"no CDS service with id '{service_id}'; see GET /cds-services") from None
