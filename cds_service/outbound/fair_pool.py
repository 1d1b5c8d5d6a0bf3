"""A thread pool in which no one key (a FHIR server) holds more than its share of the threads.

The FHIR fetch threads are shared by every call in a worker. A server that answers slowly holds
a thread per query for up to the deadline, and with a few calls to it in flight it held them all:
calls to healthy servers then waited in the queue until their own deadline passed (412). Here a
key runs at most `per_key` tasks at once; the rest of its tasks wait in a queue of its own, off
the shared threads, and start as its running ones finish. Other keys keep the remaining threads.
A task cancelled while it waits (its caller's deadline passed) is dropped unrun.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class FairPool:
    def __init__(self, size: int, per_key: int, name: str):
        self._executor = ThreadPoolExecutor(size, thread_name_prefix=name)
        self._per_key = per_key
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}
        self._waiting: dict[str, deque[tuple[Future, Callable[..., Any], tuple]]] = {}

    def submit(self, key: str, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        with self._lock:
            start = self._running.get(key, 0) < self._per_key
            if start:
                self._running[key] = self._running.get(key, 0) + 1
            else:
                self._waiting.setdefault(key, deque()).append((future, fn, args))
        if start:
            self._executor.submit(self._run, key, future, fn, args)
        return future

    def _run(self, key: str, future: Future, fn: Callable[..., Any], args: tuple) -> None:
        # The thread keeps the key's slot and works through the key's queue, then gives it back.
        while True:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # handed to the caller, as ThreadPoolExecutor does
                    future.set_exception(exc)
            with self._lock:
                queue = self._waiting.get(key)
                if not queue:
                    self._waiting.pop(key, None)
                    self._running[key] -= 1
                    if not self._running[key]:
                        del self._running[key]
                    return
                future, fn, args = queue.popleft()
