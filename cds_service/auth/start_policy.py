"""When the service may start without authentication: loopback only, unless told explicitly."""

from __future__ import annotations

import ipaddress

from cds_service.config import ConfigError, Settings


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_start_policy(settings: Settings, host: str, allow_unauthenticated: bool) -> str | None:
    """Whether the service may start bound to `host`, and what to tell the operator.

    None: trusted issuers are configured, every call is authenticated. A line to print: running
    open, which is allowed on loopback (local sandboxes) or when explicitly overridden.
    ConfigError: open on a reachable address without the override.
    """
    if settings.auth_required:
        return None
    if is_loopback(host):
        return (f"withdrawal-cds: no trusted issuers configured; running WITHOUT authentication on "
                f"{host} (loopback only), any fhirServer may be used")
    if allow_unauthenticated:
        return (f"withdrawal-cds: WARNING: no trusted issuers configured; running WITHOUT authentication on "
                f"{host} because allow_unauthenticated is set; anyone who can reach it can call it")
    raise ConfigError(
        f"refusing to listen on {host} without authentication: configure at least one [[issuers]] "
        f"entry (iss plus jwks_file or jku), bind to 127.0.0.1, or set server.allow_unauthenticated = true "
        f"(or pass --allow-unauthenticated) if something else in front of the service authenticates callers")
