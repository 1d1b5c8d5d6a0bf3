"""Which addresses a fhirServer may reach in open mode off loopback (design section 6).

Open mode on another address (`--allow-unauthenticated`) lets anyone who can reach the service name
a fhirServer, and have the service connect there: without a bound, the service is a way into the
networks behind it (a cloud's metadata address, the database, an admin port). So each address a
server's name resolves to is checked when the connection is made (outbound/bounded_http.py), the one the
socket then connects to, so a name that resolves to something else a moment later (DNS rebinding)
gains nothing, and every spelling of an address (2852039166, 0xa9fea9fe, 0251.0376.0251.0376,
::ffff:169.254.169.254) is the address it reaches. Allowed: global unicast addresses, and those
in `fhir.allowed_networks`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: an IPv4 address inside an IPv6 one


def reached(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IPv4 address an IPv4-mapped or NAT64 IPv6 address reaches; any other as it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def public_or_listed(networks: Iterable[str]) -> Callable[[str], bool]:
    """A check of a socket address: public (global unicast), or in one of `networks`."""
    listed: list[Network] = [ipaddress.ip_network(n, strict=False) for n in networks]

    def allowed(address: str) -> bool:
        try:
            ip = reached(address)
        except ValueError:
            return False
        if any(ip.version == net.version and ip in net for net in listed):
            return True
        return ip.is_global and not ip.is_multicast

    return allowed
