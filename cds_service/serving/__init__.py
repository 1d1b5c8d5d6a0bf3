"""Running the app: the gunicorn set-up (server.py) and its request-buffering worker (worker.py),
what start-up checks before the store opens or the port is bound (preflight.py), and the image's
HEALTHCHECK (healthcheck.py)."""
