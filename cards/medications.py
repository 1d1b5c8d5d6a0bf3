"""What a medication record says about when, where and whether a product was taken or given
(design 4.1 v3, "Where medication facts come from").

Four resource types carry medication facts, and each says it differently: a request is an order
(its `category` says whether it is used in hospital or outside), a statement is what the patient
takes, a dispense is a pharmacy fill, an administration is a dose given in care. The table below
is the whole difference between them; the finders in cards/evidence.py read only these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cards import dates
from cards.fhir_read import codes_in
from cards.record import Item

MEDICATION_TYPES = ("MedicationRequest", "MedicationStatement", "MedicationDispense", "MedicationAdministration")
# MedicationRequest.category (http://terminology.hl7.org/CodeSystem/medicationrequest-category).
INPATIENT = "inpatient"
OUTPATIENT_CATEGORIES = frozenset({"outpatient", "community", "discharge"})


@dataclass(frozen=True)
class Source:
    # Statuses that never count (design 4: entered-in-error, cancelled, not-taken) ...
    excluded: frozenset[str] = frozenset()
    # ... or, where a record counts only in some statuses, those (dispenses, administrations).
    only: frozenset[str] | None = None
    # Statuses in which the record is in use today, however long ago it was written.
    active: frozenset[str] = frozenset()
    # An administration is "given" (its window for explaining a test is days, not months).
    given: bool = False


SOURCES: dict[str, Source] = {
    "MedicationRequest": Source(excluded=frozenset({"entered-in-error", "cancelled"}),
                                active=frozenset({"active", "on-hold"})),
    "MedicationStatement": Source(excluded=frozenset({"entered-in-error", "not-taken"}),
                                  active=frozenset({"active"})),
    "MedicationDispense": Source(only=frozenset({"completed", "in-progress"})),
    "MedicationAdministration": Source(only=frozenset({"completed", "in-progress"}), given=True),
}


def counts(item: Item) -> bool:
    """Whether the record counts at all (a draft of this call always does: it is being ordered)."""
    if item.draft:
        return True
    source = SOURCES.get(item.type)
    status = item.resource.get("status")
    if source is None or not isinstance(status, str):  # read before validation: junk never counts
        return False
    return status in source.only if source.only is not None else status not in source.excluded


def when(resource: dict) -> datetime | None:
    """When it was ordered (request), taken (statement), handed over (dispense) or given."""
    kind = resource.get("resourceType")
    if kind == "MedicationRequest":
        return dates.parse(resource.get("authoredOn"))
    if kind == "MedicationDispense":
        return dates.parse(resource.get("whenHandedOver")) or dates.parse(resource.get("whenPrepared"))
    effective = dates.parse(resource.get("effectiveDateTime")) or dates.period_latest(resource.get("effectivePeriod"))
    if kind == "MedicationStatement":
        return effective or dates.parse(resource.get("dateAsserted"))
    return effective


def active(item: Item) -> bool:
    """In use today, however long ago it was written: an active fentanyl patch prescribed a year ago
    is taken today (design 4.1)."""
    source = SOURCES.get(item.type)
    status = item.resource.get("status")
    return item.draft or (source is not None and isinstance(status, str) and status in source.active)


def given(item: Item) -> bool:
    return SOURCES[item.type].given


def outpatient(item: Item) -> bool:
    """Outpatient requests (outpatient, community, discharge, or no category), statements and
    dispenses: what the patient has, or goes home with. Administrations and inpatient orders are
    used in hospital."""
    if item.type == "MedicationRequest":
        return INPATIENT not in categories(item.resource)
    return item.type in ("MedicationStatement", "MedicationDispense")


def categories(resource: dict) -> set[str]:
    """A request's category codes. Read before the resource is validated (a finder's keep test):
    anything but a list of CodeableConcepts reads as no category."""
    found = resource.get("category")
    return {code for category in found for code in codes_in(category)} if isinstance(found, list) else set()


def for_pharmacy(item: Item) -> bool:
    """A request to be filled outside care: an outpatient category, or no category with a
    dispenseRequest (something for a pharmacy to fill). An order with neither is a dose given here."""
    if item.type != "MedicationRequest":
        return False
    found = categories(item.resource)
    return bool(found & OUTPATIENT_CATEGORIES) or (not found and isinstance(item.resource.get("dispenseRequest"), dict))


def taken_in(item: Item, now: datetime, window: timedelta) -> bool:
    """Taken or given in the window ending now: active, or dated in it (design 4.1)."""
    if not counts(item):
        return False
    if active(item):
        return True
    moment = when(item.resource)
    return moment is not None and now - window <= moment
