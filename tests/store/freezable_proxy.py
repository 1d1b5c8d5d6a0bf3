"""A TCP relay on loopback in front of a database that a test can freeze: what a stopped server
(SIGSTOP, a hung disk) looks like from outside. Its kernel still accepts connections and takes the
bytes sent; nothing ever comes back. Frozen, the relay accepts and reads as before but forwards
nothing in either direction until thawed.

`freeze_after(marker)` freezes the moment a client's message holding `marker` has been passed on:
`b"COMMIT"` makes a commit the server has, and the client never hears about.
"""

from __future__ import annotations

import socket
import threading


class FreezableProxy:
    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self._flowing = threading.Event()
        self._flowing.set()
        self._marker: bytes | None = None
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name="proxy-accept").start()

    def freeze(self) -> None:
        self._flowing.clear()

    def freeze_after(self, marker: bytes) -> None:
        self._marker = marker

    def thaw(self) -> None:
        self._marker = None
        self._flowing.set()

    def close(self) -> None:
        self._closed.set()
        self._flowing.set()
        self._listener.close()
        for sock in list(self._sockets):
            try:
                sock.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self._flowing.wait()  # a frozen server's kernel accepts; its process never answers
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        server.settimeout(None)
        self._sockets += [client, server]
        threading.Thread(target=self._relay, args=(client, server, True), daemon=True).start()
        threading.Thread(target=self._relay, args=(server, client, False), daemon=True).start()

    def _relay(self, source: socket.socket, target: socket.socket, from_client: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                self._flowing.wait()  # held, not lost, while frozen
                if self._closed.is_set():
                    break
                target.sendall(data)
                if from_client and self._marker is not None and self._marker in data:
                    self._flowing.clear()
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
