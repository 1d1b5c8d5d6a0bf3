"""`python -m cds_service.serving.healthcheck`: exit 0 when this machine's server answers 200 on /healthz.

The image's HEALTHCHECK runs it. It reads the settings `serve` reads (the file named by
WITHDRAWAL_CDS_CONFIG, then the environment), so it follows the configured port instead of
assuming 8080. A port given to `serve` on its command line is not seen here: in the image, set
it in the config file.
"""

from __future__ import annotations

import sys
import urllib.request

from cds_service.config import ConfigError, load_settings

TIMEOUT_SECONDS = 2.0
# A server bound to every address is reached on loopback.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def healthz_url(host: str, port: int) -> str:
    host = _WILDCARDS.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/healthz"


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    url = healthz_url(settings.server.host, settings.server.port)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:  # refused, timed out, or an HTTP error status (503: the store is unreachable)
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
