"""Logging: one line per event, no PHI and no tokens (see tests/test_log_hygiene.py)."""

from __future__ import annotations

import logging

_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger("withdrawal_cds")
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(handler)
        root.setLevel(level)
    for name in ("cards",):
        logging.getLogger(name).setLevel(level)
