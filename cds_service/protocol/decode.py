"""A hook request decoded only as far as the rules will read it.

Parsing the whole body was the largest single cost of a big hook call: most of a record is
vital signs and labs that no rule reads, and every one of them became a tree of dicts. Here
(msgspec) the envelope is decoded as usual, but each resource of a prefetch Bundle is first
read for the few fields `cards.Sieve` judges by; only the resources the record would keep
are decoded whole. Everything else about the request is what orjson would have produced:

- an entry the sieve drops is left out of its Bundle (nothing downstream counts entries);
- a Bundle keeps the members prefetch handling reads (`resourceType`, `type`, `total`,
  `link`, `entry`) and an entry its `resource` and `search`;
- members the request schema ignores (unknown top-level members) are not decoded: they are
  checked as JSON but not converted, so a number beyond a double's range there, which orjson
  refuses, is ignored like the rest of the member.

Anything unexpected in the body's shape (not an object, an entry that is not one, a
resource that is not one, invalid JSON, a nesting bomb) returns None and the caller decodes
the whole body the ordinary way, which gives the errors and the tolerance it always gave.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

from cards import Sieve

# The request members the hook request schema reads (request_schemas.HookRequestSchema).
_ENVELOPE = ("hook", "hookInstance", "fhirServer", "fhirAuthorization", "context")
_BUNDLE = ("resourceType", "type", "total", "link")


class _Request(Struct):
    hook: Any = UNSET
    hookInstance: Any = UNSET
    fhirServer: Any = UNSET
    fhirAuthorization: Any = UNSET
    context: Any = UNSET
    prefetch: dict[str, Raw] | UnsetType = UNSET


class _Kind(Struct):
    resourceType: Any = UNSET


class _Entry(Struct):
    resource: Raw | UnsetType = UNSET
    search: Any = UNSET


class _Bundle(Struct):
    resourceType: Any = UNSET
    type: Any = UNSET
    total: Any = UNSET
    link: Any = UNSET
    entry: list[_Entry] | UnsetType = UNSET


# The fields the sieve judges by, as a struct: msgspec skips every other member unread.
_Fields = msgspec.defstruct("_Fields", [(name, Any, UNSET) for name in Sieve.FIELDS])

_REQUEST = msgspec.json.Decoder(_Request)
_KIND = msgspec.json.Decoder(_Kind)
_BUNDLE_DECODER = msgspec.json.Decoder(_Bundle)
_FIELDS = msgspec.json.Decoder(_Fields)
_WHOLE = msgspec.json.Decoder()
# A body that decodes as JSON but not to these shapes is read the ordinary way. RecursionError:
# msgspec decodes `Any` members recursively, and a nesting bomb must become the ordinary 400.
_OBJECT = ord("{")
_NOT_THIS_SHAPE = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


def decode_hook_request(body: bytes, sieve: Sieve) -> dict | None:
    """The request as a dict, its prefetch Bundles holding only what `sieve` keeps; None when
    the body is not the shape this reads (the caller then parses it whole)."""
    try:
        request = _REQUEST.decode(body)
        decoded = {name: value for name in _ENVELOPE if (value := getattr(request, name)) is not UNSET}
        if request.prefetch is not UNSET:
            decoded["prefetch"] = {key: _prefetch_value(raw, sieve) for key, raw in request.prefetch.items()}
        return decoded
    except _NOT_THIS_SHAPE:
        return None


def _prefetch_value(raw: Raw, sieve: Sieve) -> Any:
    kind = _KIND.decode(raw) if memoryview(raw)[0] == _OBJECT else None
    if kind is None or kind.resourceType != "Bundle":
        return _WHOLE.decode(raw)  # a single resource, null, or something the schema will refuse
    bundle = _BUNDLE_DECODER.decode(raw)
    decoded = {name: value for name in _BUNDLE if (value := getattr(bundle, name)) is not UNSET}
    if bundle.entry is not UNSET:
        decoded["entry"] = [entry for item in bundle.entry if (entry := _entry(item, sieve)) is not None]
    return decoded


def _entry(item: _Entry, sieve: Sieve) -> dict | None:
    if item.resource is UNSET:
        return None  # an entry without a resource holds nothing the record reads
    fields = _FIELDS.decode(item.resource)
    if not sieve.keeps({name: value for name in Sieve.FIELDS if (value := getattr(fields, name)) is not UNSET}):
        return None
    entry: dict[str, Any] = {"resource": _WHOLE.decode(item.resource)}
    if item.search is not UNSET:
        entry["search"] = item.search
    return entry
