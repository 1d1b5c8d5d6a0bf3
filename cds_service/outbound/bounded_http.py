"""HTTP GETs with one deadline for the whole exchange: name lookup, connect, TLS handshake, request,
head and body.

A socket timeout bounds one read, not an exchange: a server that sends a byte a second never
trips a 2 s read timeout, and holds the thread as long as it likes, in the head or the body,
chunked or not. Here the thread that makes a request carries its deadline (deadline.py), and
each blocking operation on its sockets first cuts the socket's timeout to what is left of it,
and fails at once when nothing is. The sockets are urllib3's, made of two small subclasses: one for
TCP (http.client reads through `recv_into`), and the TLS context's `sslsocket_class` (each TLS
read, write and the handshake honour the socket timeout as a whole, in C).

urllib3 directly rather than requests: nothing of its cookies, redirects or environment is wanted
here. No redirects are followed (a redirect would take a token to a URL nobody allowed), no
proxies or .netrc come from the environment, and only a 200's body is read.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable

import certifi
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.connection import allowed_gai_family, create_connection
from urllib3.util.ssl_ import create_urllib3_context

from cds_service.outbound.deadline import bounded, remaining
from cds_service.outbound.name_lookup import LOOKUP, TooManyLookups

_CHUNK_BYTES = 64 * 1024
_ERROR_BODY_BYTES = 64 * 1024  # an OperationOutcome; past this the connection is not worth keeping


class HttpFailure(Exception):
    """The exchange failed; the message is safe to log (no URL, no token, no body)."""


def _shorten(sock: socket.socket) -> None:
    left = remaining()
    if left is None:
        return
    if left <= 0:
        raise TimeoutError("deadline passed")
    timeout = sock.gettimeout()
    # urllib3 sets the connect or read timeout before each use; this only ever shortens it.
    if timeout is None or timeout > left:
        sock.settimeout(left)


class _Shortened:
    """Every read and write of the socket first cuts its timeout to what is left of the deadline.
    Mixed into the plain and the TLS socket class, ahead of either in the MRO."""

    __slots__ = ()

    def recv_into(self, *args, **kwargs):
        _shorten(self)
        return super().recv_into(*args, **kwargs)

    def recv(self, *args, **kwargs):
        _shorten(self)
        return super().recv(*args, **kwargs)

    def sendall(self, *args, **kwargs):
        _shorten(self)
        return super().sendall(*args, **kwargs)

    def send(self, *args, **kwargs):
        _shorten(self)
        return super().send(*args, **kwargs)


class _BoundedSocket(_Shortened, socket.socket):
    __slots__ = ()


class _BoundedTlsSocket(_Shortened, ssl.SSLSocket):
    def do_handshake(self, *args, **kwargs):
        _shorten(self)
        return super().do_handshake(*args, **kwargs)


def _bounded_socket(sock: socket.socket) -> _BoundedSocket:
    timeout = sock.gettimeout()
    bounded_sock = _BoundedSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())
    bounded_sock.settimeout(timeout)
    return bounded_sock


class AddressRefused(NewConnectionError):
    """Every address the name resolved to is one the address check refuses."""


class _LookedUp:
    """Looks its host's name up within the deadline (name_lookup.py), then connects to each of its
    addresses the address check allows, in turn, as urllib3's own `_new_conn` does with an
    unbounded lookup. The check sees the address the socket connects to, not the name. Everything
    else (the Host header, TLS's server name and certificate check) still uses the name.
    Mixed into the plain and the TLS connection class, ahead of either in the MRO."""

    address_allowed: Callable[[str], bool] | None = None  # set per BoundedHttp (_pool_classes)

    def _new_conn(self) -> socket.socket:
        failure: Exception = NewConnectionError(self, "no address")
        for *_, sockaddr in self._addresses():
            if self.address_allowed is not None and not self.address_allowed(sockaddr[0]):
                failure = AddressRefused(self, "address not allowed")
                continue
            try:
                sock = create_connection(sockaddr[:2], self.timeout, source_address=self.source_address,
                                         socket_options=self.socket_options)
            except TimeoutError as exc:
                failure = ConnectTimeoutError(self, f"connect timed out: {exc}")
            except OSError as exc:
                failure = NewConnectionError(self, f"connect failed: {exc}")
            else:
                return _bounded_socket(sock)
        raise failure

    def _addresses(self) -> list[tuple]:
        # As urllib3's exceptions: it would wrap any other OSError as a bare "Connection aborted".
        try:
            return LOOKUP.addresses(self._dns_host, self.port, allowed_gai_family())
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, "name lookup timed out") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"name lookup: {exc}") from exc


class _Connection(_LookedUp, HTTPConnection):
    pass


class _TlsConnection(_LookedUp, HTTPSConnection):
    pass  # its socket is wrapped in _BoundedTlsSocket afterwards, by the context


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TlsPool(HTTPSConnectionPool):
    ConnectionCls = _TlsConnection


def tls_context(cafile: str | None = None) -> ssl.SSLContext:
    """What requests verifies with (certifi's CA bundle, unless `cafile`), its sockets bounded."""
    context = create_urllib3_context()
    context.load_verify_locations(cafile or certifi.where())
    context.sslsocket_class = _BoundedTlsSocket
    return context


def _pool_classes(address_allowed: Callable[[str], bool] | None) -> dict[str, type]:
    if address_allowed is None:
        return {"http": _Pool, "https": _TlsPool}
    check = {"address_allowed": staticmethod(address_allowed)}
    return {"http": type("_CheckedPool", (_Pool,), {"ConnectionCls": type("_Checked", (_Connection,), check)}),
            "https": type("_CheckedTlsPool", (_TlsPool,),
                          {"ConnectionCls": type("_CheckedTls", (_TlsConnection,), check)})}


class BoundedHttp:
    """A pool of keep-alive connections (thread-safe) and GETs that end by their deadline; with
    `address_allowed`, connections only to the addresses it allows (fhir/addresses.py)."""

    def __init__(self, maxsize: int, context: ssl.SSLContext | None = None,
                 address_allowed: Callable[[str], bool] | None = None):
        self._manager = urllib3.PoolManager(num_pools=64, maxsize=maxsize, ssl_context=context or tls_context())
        self._manager.pool_classes_by_scheme = _pool_classes(address_allowed)

    def get(self, url: str, *, headers: dict[str, str], deadline: float, connect_timeout: float,
            read_timeout: float, max_bytes: int) -> tuple[int, bytes]:
        """(status, body): the body of a 200, b"" for any other status. HttpFailure on anything else."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise HttpFailure("deadline passed")
        timeout = urllib3.Timeout(connect=min(connect_timeout, left), read=min(read_timeout, left))
        with bounded(deadline):
            try:
                response = self._manager.urlopen("GET", url, headers=headers, timeout=timeout, retries=False,
                                                 redirect=False, preload_content=False)
            except (HTTPError, OSError) as exc:
                raise HttpFailure(_reason(exc, deadline)) from None
            try:
                body = _read_capped(response, max_bytes) if response.status == 200 else _drop_body(response)
            except (HTTPError, OSError) as exc:
                response.close()  # half read: never back into the pool
                raise HttpFailure(_reason(exc, deadline)) from None
            except HttpFailure:
                response.close()
                raise
            finally:
                response.release_conn()
        return response.status, body

    def clear(self) -> None:
        self._manager.clear()


def _read_capped(response: urllib3.BaseHTTPResponse, limit: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HttpFailure("answer too large")
    chunks, size = [], 0
    for chunk in response.stream(_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise HttpFailure("answer too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _drop_body(response: urllib3.BaseHTTPResponse) -> bytes:
    """Read another status's body and drop it. Left unread, it could still be on its way when the
    connection went back to the pool, and the next GET on that connection read it as its status
    line. A long one is not worth reading: its connection is closed instead."""
    try:
        _read_capped(response, _ERROR_BODY_BYTES)
    except HttpFailure:
        response.close()
    return b""


def _reason(exc: BaseException, deadline: float) -> str:
    if time.monotonic() >= deadline:
        return "deadline passed"
    if isinstance(exc, NameResolutionError):
        return "name lookup failed"
    if isinstance(exc, AddressRefused) or isinstance(getattr(exc, "reason", None), AddressRefused):
        return "address not allowed"
    if isinstance(exc.__cause__, TooManyLookups):
        return "too many name lookups"
    # NewConnectionError is a ConnectTimeoutError to urllib3, for history's sake: ask it first.
    if isinstance(exc, (NewConnectionError, ConnectionError)):
        return "connection failed"
    if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError, TimeoutError)):
        return "timed out"
    if isinstance(exc, SSLError):
        return "TLS failed"
    return type(exc).__name__
