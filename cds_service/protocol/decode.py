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

import functools
from typing import Any, Optional, Union

import msgspec
import orjson
from msgspec import UNSET, Raw, Struct, UnsetType

from cards import EngineSettings, Sieve
from cds_service.errors import BadRequest

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


@functools.cache
def _bundle_decoder(fields: tuple[str, ...]) -> msgspec.json.Decoder:
    """A Bundle as prefetch handling reads it, each entry's resource as the sieve's `fields` only
    (an absent field is None, which the sieve reads as absent). One decoder per sieve's fields,
    which are cards.data's declaration's unless a test declares others."""
    resource = msgspec.defstruct("_Fields", [(name, Any, None) for name in fields])
    entry = msgspec.defstruct("_FieldsEntry", [("resource", Optional[resource], None)])
    bundle = msgspec.defstruct("_Bundle", [*((name, Any, UNSET) for name in _BUNDLE),
                                           ("entry", Union[list[entry], UnsetType], UNSET)])  # type: ignore[valid-type]
    return msgspec.json.Decoder(bundle)


class _RawEntry(Struct):
    resource: Raw | UnsetType = UNSET  # only read for entries whose resource is an object
    search: Any = UNSET


class _RawEntries(Struct):
    entry: list[_RawEntry] = []


class _Kind(Struct):
    resourceType: Any = UNSET


_REQUEST = msgspec.json.Decoder(_Request)
_KIND = msgspec.json.Decoder(_Kind)
_RAW_ENTRIES = msgspec.json.Decoder(_RawEntries)
_WHOLE = msgspec.json.Decoder()
_OBJECT = ord("{")
# A body that decodes as JSON but not to these shapes is read the ordinary way. RecursionError:
# msgspec decodes `Any` members recursively, and a nesting bomb must become the ordinary 400.
_NOT_THIS_SHAPE = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


class RequestReader:
    """How one hook call reads JSON: the request, and each answer of the EHR's FHIR server, as far
    as the rules will read them; one CPU budget for the reading and the rules (`cpu_until`).

    The request is read by the sieve made with the reader, which starts the budget. The FHIR
    server's pages are read on the fetch pool's threads, and a sieve is one thread's, so each page
    gets a sieve of its own."""

    def __init__(self, settings: EngineSettings):
        self._settings = settings
        self._sieve = Sieve(settings)

    @property
    def cpu_until(self) -> float | None:
        return self._sieve.cpu_until

    def request(self, body: bytes) -> Any:
        """The request document. A body of another shape than a hook request is parsed whole, and
        refused or accepted exactly as it would have been."""
        document = decode_hook_request(body, self._sieve)
        return document if document is not None else parse_json(body)

    def fhir_answer(self, raw: bytes) -> Any:
        return decode_fhir_answer(raw, Sieve(self._settings))


def parse_json(raw: bytes) -> Any:
    # orjson refuses nesting past 1024 levels, so a nesting bomb is a 400, not a stack overflow.
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc.msg} at position {exc.pos}") from None


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


def decode_fhir_answer(raw: bytes, sieve: Sieve) -> Any:
    """A FHIR server's answer (a search page, a resource) read as a prefetch value is: a Bundle
    keeps only what `sieve` keeps. Any other shape is parsed whole, with orjson's errors."""
    try:
        if _KIND.decode(raw).resourceType == "Bundle":
            return _prefetch_value(raw, sieve)
    except _NOT_THIS_SHAPE:
        pass
    return orjson.loads(raw)


def _prefetch_value(raw: Raw | bytes, sieve: Sieve) -> Any:
    kind = _KIND.decode(raw) if memoryview(raw)[0] == _OBJECT else None
    if kind is None or kind.resourceType != "Bundle":
        return _WHOLE.decode(raw)  # a single resource, null, or something the schema will refuse
    bundle = _bundle_decoder(sieve.FIELDS).decode(raw)
    decoded = {name: value for name in _BUNDLE if (value := getattr(bundle, name)) is not UNSET}
    if bundle.entry is not UNSET:
        decoded["entry"] = _kept_entries(raw, bundle.entry, sieve)
    return decoded


def _kept_entries(raw: Raw, entries: list, sieve: Sieve) -> list[dict]:
    """The entries the sieve keeps, decoded whole: the Bundle is read a second time, as raw
    entries, only when one is kept (most Bundles of vital signs keep none or a few)."""
    keeps, fields_of = sieve.keeps, msgspec.structs.asdict
    kept = [n for n, entry in enumerate(entries) if entry.resource is not None and keeps(fields_of(entry.resource))]
    if not kept:
        return []
    raw_entries = _RAW_ENTRIES.decode(raw).entry
    whole = []
    for n in kept:
        item = raw_entries[n]
        entry: dict[str, Any] = {"resource": _WHOLE.decode(item.resource)}
        if item.search is not UNSET:
            entry["search"] = item.search
        whole.append(entry)
    return whole
