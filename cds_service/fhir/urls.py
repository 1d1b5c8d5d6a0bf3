"""FHIR server URLs compared as a server reads them: RFC 3986 normalised, dot segments removed.

A textual prefix test says `https://ehr/fhir/../admin` is under `https://ehr/fhir`; the server
it reaches reads `/admin`. `%2e%2e` is the same dot segment percent-encoded, and `%2f` a slash
that many servers decode before they route. So a URL is compared, and sent, in one normal form:
scheme and host in lower case, no default port, the path percent-decoded, its dot segments
removed (RFC 3986 section 5.2.4) and re-encoded. What is checked is then what is sent.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 3986 pchar (unreserved, sub-delims, ':' and '@') plus '/': kept as they are when re-encoding.
_PATH_SAFE = "/!$&'()*+,;=:@~"


class UnsafeUrl(ValueError):
    """A URL we will not send a request (or a token) to; the message is safe to log."""


def normalize(url: str) -> str:
    """`url` in normal form, without fragment; UnsafeUrl if it is not a plain http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("not a URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise UnsafeUrl("not an http or https URL")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("credentials in the URL")
    if _has_control(url):
        raise UnsafeUrl("control characters in the URL")
    try:
        path = unquote(parts.path, errors="strict")
    except UnicodeDecodeError:
        raise UnsafeUrl("percent-encoding that is not UTF-8") from None
    # A decoded backslash or control character is read as a separator or a line end by some servers.
    if "\\" in path or _has_control(path):
        raise UnsafeUrl("a backslash or control character in the path")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, quote(remove_dot_segments(path), safe=_PATH_SAFE), parts.query, ""))


def normalize_base(url: str) -> str:
    """A FHIR base URL in normal form, without a trailing slash, query or fragment."""
    parts = urlsplit(normalize(url))
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def is_under(url: str, base: str) -> bool:
    """Whether normalised `url` lies under normalised `base` (normalize_base)."""
    u, b = urlsplit(url), urlsplit(base)
    return (u.scheme, u.netloc) == (b.scheme, b.netloc) and (u.path == b.path or u.path.startswith(b.path + "/"))


def origin(url: str) -> str:
    """scheme://host[:port] of a normalised URL: one server, whatever its paths."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 for an absolute path: `.` dropped, `..` removes the segment before it,
    and never climbs above the root."""
    segments = path.split("/")
    kept: list[str] = []
    for segment in segments:
        if segment == ".":
            continue
        if segment == "..":
            if len(kept) > 1:
                kept.pop()
            continue
        kept.append(segment)
    if segments[-1] in (".", ".."):
        kept.append("")  # "/a/b/.." is the directory "/a/"
    return "/".join(kept)


def _has_control(text: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)
