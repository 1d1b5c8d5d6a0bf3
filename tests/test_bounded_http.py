"""One deadline bounds a whole HTTP exchange, whatever part of it a server drips: the head, a body
with a length, a chunked body, a TLS handshake or a TLS body. A read timeout alone bounds none of
these (each byte arrives well within it)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cds_service.outbound.bounded_http import BoundedHttp, HttpFailure, tls_context

DEADLINE = 1.0
# Generous against a loaded machine, and far below what the drip would take (4 KB at a byte a second).
SLACK = 1.5


def get(http: BoundedHttp, url: str, deadline: float = DEADLINE, **kwargs) -> tuple[int, bytes]:
    options = {"headers": {}, "connect_timeout": 5.0, "read_timeout": 5.0, "max_bytes": 1 << 20, **kwargs}
    return http.get(url, deadline=time.monotonic() + deadline, **options)


@pytest.fixture
def http():
    client = BoundedHttp(maxsize=4)
    yield client
    client.clear()


@pytest.mark.parametrize("options", [{}, {"head": False}, {"head": False, "chunked": True}],
                         ids=["head", "body", "chunked body"])
def test_a_dripping_server_is_cut_off_at_the_deadline(http, fault_server, options):
    server = fault_server("drip", interval=0.2, **options)  # five bytes a second, each within the read timeout
    started = time.monotonic()
    with pytest.raises(HttpFailure, match="deadline passed"):
        get(http, server.url("Condition"))
    assert time.monotonic() - started < DEADLINE + SLACK


def test_a_healthy_server_is_answered_and_its_connection_kept(http, fault_server):
    server = fault_server("canary")
    for _ in range(3):
        status, body = get(http, server.url("Condition"))
        assert status == 200 and b'"searchset"' in body
    assert len(server.requests) == 3


def test_only_a_200s_body_is_read(http, fault_server):
    server = fault_server("error500", status=404)
    assert get(http, server.url("Patient/x")) == (404, b"")


class _LateBodyServer:
    """One keep-alive connection: a 404 whose body follows its head 0.3 s later, then a 200. A real
    server's body can trail its head like this (two sends, a busy machine); the next GET on that
    connection then read the 404's body as its status line."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/fhir/"
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        reader = conn.makefile("rb")
        with conn, reader:
            while request := _read_head(reader):
                missing = b"Patient/x" in request
                body = b'{"resourceType":"OperationOutcome"}' if missing else b'{"resourceType":"Bundle"}'
                conn.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n" % (404 if missing else 200, len(body)))
                if missing:
                    time.sleep(0.3)
                conn.sendall(body)

    def close(self):
        self.listener.close()


def _read_head(reader) -> bytes:
    head = b""
    while (line := reader.readline()) not in (b"\r\n", b""):
        head += line
    return head


def test_an_error_answer_leaves_no_unread_body_for_the_next_get(http):
    server = _LateBodyServer()
    try:
        assert get(http, server.url + "Patient/x") == (404, b"")
        assert get(http, server.url + "Condition") == (200, b'{"resourceType":"Bundle"}')
    finally:
        server.close()


def test_a_long_error_body_still_answers_its_status_and_costs_its_connection_only(http, fault_server):
    server = fault_server("custom", handler=lambda req: (404, "text/html", b"<p>gone</p>" * 20_000)
                          if "Patient" in req.path else (200, "application/fhir+json", b"{}"))
    assert get(http, server.url("Patient/x")) == (404, b"")
    assert get(http, server.url("Condition")) == (200, b"{}")


def test_a_body_over_the_limit_is_refused(http, fault_server):
    server = fault_server("canary")
    with pytest.raises(HttpFailure, match="too large"):
        get(http, server.url("Condition"), max_bytes=16)


def test_a_refused_connection_is_a_failure_not_an_exception_of_the_library(http, fault_server):
    with pytest.raises(HttpFailure, match="connection failed"):
        get(http, fault_server("down").url("Condition"))


def test_redirects_are_not_followed(http, fault_server):
    canary = fault_server("canary")
    server = fault_server("custom", handler=lambda req: (302, "text/plain", b"", {"Location": canary.url("x")}))
    assert get(http, server.url("Condition"))[0] == 302
    assert canary.requests == []


# --- TLS ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    directory = tmp_path_factory.mktemp("tls")
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    return directory / "cert.pem", directory / "key.pem"


class TlsDripper:
    """Accepts connections on 127.0.0.1; `handshake=False`: never answers the TLS handshake; else
    completes it, reads the request and drips a response a byte every 0.2 s."""

    def __init__(self, certificate, handshake: bool):
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(*certificate)
        self.handshake = handshake
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self.listener.getsockname()[1]}/fhir/Condition"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.listener.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn):
        with conn:
            if not self.handshake:
                self.stop.wait(30)
                return
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(65536)
                    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n" + b" " * 4096:
                        tls.sendall(bytes([byte]))
                        if self.stop.wait(0.2):
                            return
            except (OSError, ssl.SSLError):
                return

    def close(self):
        self.stop.set()
        self.listener.close()


@pytest.mark.parametrize("handshake", [False, True], ids=["silent handshake", "dripped body"])
def test_tls_is_bounded_by_the_deadline_too(certificate, handshake):
    server = TlsDripper(certificate, handshake)
    http = BoundedHttp(maxsize=2, context=tls_context(cafile=str(certificate[0])))
    try:
        started = time.monotonic()
        with pytest.raises(HttpFailure, match="deadline passed"):
            get(http, server.url)
        assert time.monotonic() - started < DEADLINE + SLACK
    finally:
        server.close()
        http.clear()
