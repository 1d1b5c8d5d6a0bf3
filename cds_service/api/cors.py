"""CORS for browser clients: the CDS Hooks Sandbox calls discovery, hooks and feedback from the page."""

from __future__ import annotations

from flask import Flask, request

ALLOWED_HEADERS = "Authorization, Content-Type"
ALLOWED_METHODS = "GET, POST, OPTIONS"


def register_cors(app: Flask, origins: tuple[str, ...]) -> None:
    allow_any = "*" in origins

    @app.after_request
    def _cors(response):
        origin = request.headers.get("Origin")
        if not origin:
            return response
        if allow_any:
            response.headers["Access-Control-Allow-Origin"] = "*"
        elif origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.vary.add("Origin")
        else:
            return response
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Max-Age"] = "600"
        return response
