"""One deadline per thread for everything the thread waits on while it holds it: HTTP sockets
(bounded_http.py) and the database (store/engine.py). A socket timeout, a statement timeout
or a pool timeout bounds one wait; a call is many waits, and what the EHR waits for is their
sum, so each wait asks what is left of the one deadline instead.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

_local = threading.local()


@contextmanager
def bounded(deadline: float) -> Iterator[None]:
    """This thread's waits, inside the block, end by `deadline` (a time.monotonic() value).
    Nested, the earlier deadline holds."""
    outer = getattr(_local, "deadline", None)
    _local.deadline = deadline if outer is None else min(outer, deadline)
    try:
        yield
    finally:
        _local.deadline = outer


def remaining() -> float | None:
    """Seconds left of this thread's deadline (0 or less once it passed); None without one."""
    deadline = getattr(_local, "deadline", None)
    return None if deadline is None else deadline - time.monotonic()
