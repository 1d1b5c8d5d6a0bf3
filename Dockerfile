# syntax=docker/dockerfile:1
# withdrawal-cds: the production image. Secure by default: bound to 0.0.0.0 it refuses to start
# until trusted issuers are configured (mount a config over /etc/withdrawal-cds/config.toml).
#
# The base image is pinned by digest: the multi-platform index of python:3.11-slim (Python 3.11.15,
# Debian trixie, built 2026-08-05) as recorded by docker-library/repo-info, commit
# 2477d553d2fdfa57b4ec11f63c8376eca8b7a253, file repos/python/remote/3.11-slim.md. It was read there,
# not pulled: the machines this was written on run no Docker engine, so that the registry still
# serves it is unchecked. To refresh it, take the digest the registry gives today and replace it here:
#   docker buildx imagetools inspect python:3.11-slim      (the "Digest:" line)
# or the repo-info file above, then build and run the tests against the new image. The tag stays for
# the reader; Docker pulls by the digest alone. --build-arg PYTHON_IMAGE=... builds on another base.
ARG PYTHON_IMAGE=python:3.11-slim@sha256:90744cff8f32887f075c47d747a173ff333e9e98801667af93c357fa9f5e28ff

# --- the wheels: every download happens in this stage, so nothing a build argument names reaches the
# image: our wheel built from the source with the pinned build backend, and the locked dependencies'
# wheels, their hashes checked as they arrive.
FROM ${PYTHON_IMAGE} AS wheel
# A package index of your own (a mirror, a proxy of PyPI), for pip: `--build-arg PIP_INDEX_URL=...`.
# It is a build argument of this stage only: the image's history does not record it.
ARG PIP_INDEX_URL
# CA certificates (PEM text) for pip to trust besides its own bundle: a TLS-inspecting proxy's, or
# your index's. `--build-arg BUILD_CA_CERTS="$(cat corporate-ca.pem)"`. Used here, never copied on.
ARG BUILD_CA_CERTS=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CERT=/build/ca-certificates.pem
WORKDIR /src
# pip's own bundle plus those given; with none given, pip trusts what it always does.
RUN mkdir /build && cat "$(python -c 'import pip._vendor.certifi as c; print(c.where())')" > "$PIP_CERT" \
 && printf '%s\n' "$BUILD_CA_CERTS" >> "$PIP_CERT"
COPY requirements/build.txt requirements/build.txt
RUN pip install --require-hashes -r requirements/build.txt
COPY requirements/service.txt requirements/service.txt
RUN pip download --require-hashes --only-binary=:all: --dest /deps -r requirements/service.txt
COPY pyproject.toml README.md ./
COPY cds_service ./cds_service
COPY cards ./cards
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /dist .

# --- the image: dependencies, then our wheel, as a non-root user; no network, no build argument ---
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WITHDRAWAL_CDS_DATA_DIR=/var/lib/withdrawal-cds \
    WITHDRAWAL_CDS_CONFIG=/etc/withdrawal-cds/config.toml

# The data directory belongs to the service's user, so a named volume mounted there starts out
# writable by it (Docker and Podman copy the directory's owner into a new volume). It is no VOLUME:
# that would leave an anonymous volume behind every container run without one; mount a named volume
# for the SQLite store (`-v withdrawal-cds-data:/var/lib/withdrawal-cds`). A host directory mounted
# there must be writable by uid 10001; if it is not, the service stops with a line naming it.
RUN useradd --system --uid 10001 --home-dir /var/lib/withdrawal-cds --create-home cds
COPY deploy/image.toml /etc/withdrawal-cds/config.toml

# Dependencies in their own layer, exactly as locked (hashes checked again), from the first stage's
# wheels mounted for this one step: a change to our source does not reinstall them, and the wheels
# are in no layer.
COPY requirements/service.txt /tmp/service.txt
RUN --mount=type=bind,from=wheel,source=/deps,target=/tmp/deps \
    pip install --no-index --find-links=/tmp/deps --require-hashes -r /tmp/service.txt && rm /tmp/service.txt

# Our code: the wheel, not an editable source tree, and nothing else from the build.
COPY --from=wheel /dist/ /tmp/dist/
RUN pip install --no-deps /tmp/dist/*.whl && rm -r /tmp/dist

USER cds
WORKDIR /var/lib/withdrawal-cds
EXPOSE 8080
# Reads the same config as the server, so it probes the configured port (cds_service/serving/healthcheck.py).
# Its Python start-up alone took 2 to 4 s on a busy 2-core machine: 3 s timed out, hence 10.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["python", "-m", "cds_service.serving.healthcheck"]
# No --host or --port here: they would outrank the config file (command line > environment > file).
CMD ["withdrawal-cds", "serve"]
