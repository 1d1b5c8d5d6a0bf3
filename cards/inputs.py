"""What the engine is asked about, besides the record: the patient, the moment of care, the drafts.

These are plain values with no protocol in them: ``cds_service`` maps each CDS Hooks hook onto
them (its hook table), so a new hook needs no change here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Moment(Enum):
    """When the clinician meets the advice. Each topic says at which moments it applies."""

    CHART = "chart"          # a chart is opened
    ORDER = "order"          # orders are being chosen or signed
    DISCHARGE = "discharge"  # the patient is leaving


ALL_MOMENTS = frozenset(Moment)


@dataclass(frozen=True)
class Inputs:
    patient_id: str
    moment: Moment = Moment.CHART
    # The user acting, as a FHIR reference (Practitioner/…): the requester of suggested orders.
    user_ref: str | None = None
    # Draft orders of this call. They count as record: an order for naloxone being written now
    # means naloxone is on hand.
    drafts: tuple[dict, ...] = ()
    # The drafts being selected or signed now. At the order moment the engine answers only when
    # one of them is an opioid, a MOUD product or naloxone: ordering an antibiotic raises nothing.
    acted_on: tuple[dict, ...] = ()
    # Topic codes not to evaluate at all (a site switched them off).
    skip: frozenset[str] = frozenset()
