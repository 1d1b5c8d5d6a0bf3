"""What an error line may say about a database URL: never its password, even when the URL is malformed.

SQLAlchemy's own messages quote a URL it cannot parse whole ("Could not parse SQLAlchemy URL from
string '...'"), and a URL that parses wrongly is worse: in `user:p@ss@db` the password ends at the
first `@`, so `ss@db` becomes the host, and the driver's "could not translate host name" names it.
So a URL is checked here before anything else reads it, each problem is named without quoting the
URL, and a URL is shown only as `shown` renders it: no password, no query (psycopg takes
`?password=` too). Text from elsewhere that may quote it goes through `scrub`.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\+[A-Za-z][A-Za-z0-9_]*)?")
FORM = "dialect+driver://user:password@host:port/database"
HIDDEN = "***"


class UnusableUrl(ValueError):
    """The URL cannot be used; the message says why without quoting any of it."""


def check(raw: str) -> URL:
    """The URL parsed, if it parses as it was meant to; else UnusableUrl naming the problem."""
    scheme, separator, rest = raw.partition("://")
    if not separator:
        raise UnusableUrl(f"it has no '://' after the dialect (expected {FORM})")
    if not _SCHEME.fullmatch(scheme):
        raise UnusableUrl(f"what comes before '://' is not a dialect such as postgresql+psycopg or sqlite "
                          f"(expected {FORM})")
    try:
        url = make_url(raw)
    except ArgumentError:
        raise UnusableUrl(f"it does not parse as {FORM}") from None
    except ValueError:
        # int() of the port: its message would quote what stood there, which may be the password
        # when the `@` before the host is missing.
        raise UnusableUrl("its port is not a number (a password holding ':', '/', '@', '?' or '#' must be "
                          "percent-encoded, e.g. '@' as %40)") from None
    if url.host and any(c in url.host for c in "@?# "):
        raise UnusableUrl("its host is not a host name: a user name or password holding '@' must be "
                          "percent-encoded (%40)")
    return url


def shown(raw: str) -> str:
    """The URL as an error line may print it: password hidden, query left out; only the dialect when
    the URL does not parse as it was meant to."""
    try:
        url = check(raw)
    except UnusableUrl:
        scheme = raw.partition("://")[0]
        return f"{scheme}://{HIDDEN}" if _SCHEME.fullmatch(scheme) else "(a URL that is not shown)"
    text = url.set(query={}).render_as_string(hide_password=True)
    return text + ("?" + HIDDEN if url.query else "")


def scrub(text: str, raw: str) -> str:
    """`text` (a driver's message, say) without the URL's password or its query's values. Meant for a
    URL that passed `check`, so that what parses as the password is the password."""
    for secret in sorted(_secrets(raw), key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text


def _secrets(raw: str) -> set[str]:
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        return {raw}
    found = {str(url.password), quote(str(url.password), safe="")} if url.password else set()
    for value in url.query.values():
        found.update(value if isinstance(value, tuple) else (value,))
    return {secret for secret in found if secret}
