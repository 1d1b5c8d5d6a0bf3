"""The app's Runtime, for a view: the one place the api reaches into Flask's app context for it."""

from __future__ import annotations

from flask import current_app

from cds_service.runtime import EXTENSION, Runtime


def runtime() -> Runtime:
    return current_app.extensions[EXTENSION]
