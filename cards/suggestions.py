"""Building blocks for the draft FHIR R4 resources topics suggest. Each, once saved, settles its card.

Every resource is ``status: draft`` and ``intent: proposal`` (the clinician decides), for the
patient of the call. Codes come from the value sets (looked up with ``coding`` when a topic
module is imported, so a CSV edit that drops one fails at start) or from site settings; the
record index recognises each resource again by the same code or text (``cards.tags``).
"""

from __future__ import annotations

from typing import Any

from cards import valuesets as vs
from cards.inputs import Inputs
from cards.settings import Code

# A suggested order names its requester only when the user is one who can request.
REQUESTER_TYPES = ("Practitioner/", "PractitionerRole/")


def coding(key: vs.Key, value_set: vs.ValueSet) -> dict[str, str]:
    """The Coding for ``key``, which must be in ``value_set``: a suggestion never invents a code."""
    if key not in value_set:
        raise LookupError(f"{key} is not in {value_set.name}")
    return {"system": key[0], "code": key[1], "display": value_set.display(key)}


def code(text: str, configured: Code | None = None, standard: dict | None = None) -> dict:
    """A CodeableConcept: the site's configured code and/or a standard one, and always the text."""
    codings = [c for c in (configured.as_coding() if configured else None, standard) if c]
    return {"coding": codings, "text": text} if codings else {"text": text}


def draft(resource_type: str, inputs: Inputs, **elements: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": resource_type,
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": f"Patient/{inputs.patient_id}"},
    }
    user = inputs.user_ref
    if isinstance(user, str) and user.startswith(REQUESTER_TYPES):
        resource["requester"] = {"reference": user}
    resource.update(elements)
    return resource


def service_request(inputs: Inputs, text: str, configured: Code | None = None, standard: dict | None = None) -> dict:
    """A draft order (assessment, referral, counseling) named by ``text`` and its codes."""
    return draft("ServiceRequest", inputs, code=code(text, configured, standard))
