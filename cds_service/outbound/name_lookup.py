"""Host names looked up within the caller's deadline.

`getaddrinfo` cannot be given a timeout and cannot be interrupted: a resolver that does not answer
holds the calling thread for the system resolver's own retries (5 s a try, per nameserver, by
glibc's defaults), past any deadline. So each lookup runs on a thread of its own and the caller
waits for it only as long as its deadline allows; a lookup that outlives its caller finishes (or
fails) on that thread and is dropped. Callers that want the same name at once share one lookup,
so a resolver that hangs costs one thread per name, and the names being looked up at once are
bounded: past the bound a lookup fails at once rather than start another thread.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from dataclasses import dataclass, field

from cds_service.outbound.deadline import remaining

# Distinct names in flight at once, in this process. FHIR servers and JWKS hosts are a handful per
# site; only a resolver that hangs on many names at once comes near it.
MAX_LOOKUPS = 32

Address = tuple  # (family, type, proto, canonname, sockaddr): one answer of getaddrinfo


class TooManyLookups(OSError):
    """MAX_LOOKUPS names are being looked up already."""


@dataclass
class _Lookup:
    done: threading.Event = field(default_factory=threading.Event)
    addresses: list[Address] = field(default_factory=list)
    error: OSError | None = None


class NameLookup:
    def __init__(self, max_lookups: int = MAX_LOOKUPS, getaddrinfo=None):
        self._max = max_lookups
        self._getaddrinfo = getaddrinfo or (lambda *args: socket.getaddrinfo(*args))
        self._lock = threading.Lock()
        self._in_flight: dict[tuple[str, int, int], _Lookup] = {}

    def addresses(self, host: str, port: int, family: int = socket.AF_UNSPEC) -> list[Address]:
        """The TCP addresses of `host`, by this thread's deadline (TimeoutError past it)."""
        if _is_literal(host):
            return self._getaddrinfo(host, port, family, socket.SOCK_STREAM)  # numeric: no resolver
        lookup = self._join((host, port, family))
        left = remaining()
        if not lookup.done.wait(None if left is None else max(left, 0)):
            raise TimeoutError("deadline passed")
        if lookup.error is not None:
            raise lookup.error
        return lookup.addresses

    def _join(self, key: tuple[str, int, int]) -> _Lookup:
        with self._lock:
            lookup = self._in_flight.get(key)
            if lookup is None:
                if len(self._in_flight) >= self._max:
                    raise TooManyLookups("too many name lookups in flight")
                lookup = self._in_flight[key] = _Lookup()
                threading.Thread(target=self._run, args=(key, lookup), name="name-lookup", daemon=True).start()
            return lookup

    def _run(self, key: tuple[str, int, int], lookup: _Lookup) -> None:
        try:
            lookup.addresses = self._getaddrinfo(*key, socket.SOCK_STREAM)
        except OSError as exc:
            lookup.error = exc
        except Exception as exc:  # noqa: BLE001 - whatever it was, the waiting callers get an OSError
            lookup.error = OSError(f"name lookup failed: {type(exc).__name__}")
        finally:
            with self._lock:
                del self._in_flight[key]
            lookup.done.set()


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


LOOKUP = NameLookup()
