"""Logging: one line per event, no PHI and no tokens."""

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
    # The clinical engine logs the resources it skips (type and a keyed hash of the id) under its own name.
    logging.getLogger("cards").setLevel(level)
