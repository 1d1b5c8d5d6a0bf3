"""The Dockerfile's promises that can be checked without a Docker engine (none runs on our machines):
the base pinned by a documented digest, dependencies and source in separate layers, a wheel and not
a source tree, no VOLUME (so no anonymous volume), build arguments for a package index and CA
certificates that stay in the first stage, no --host/--port on the command line, and a health check
that probes the port the config names, run here for real."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cds_service.auth import check_start_policy
from cds_service.config import ConfigError, load_settings
from cds_service.serving.healthcheck import healthz_url
from tests.serving import REPO, Serving, free_port

DOCKERFILE = (REPO / "Dockerfile").read_text()
FIRST_STAGE, FINAL_STAGE = DOCKERFILE.rsplit("\nFROM ", 1)
FIRST_STAGE_RUNS = [" ".join(line.split()) for line in re.sub(r"\\\n", " ", FIRST_STAGE).splitlines()
                    if line.startswith("RUN ")]
INSTRUCTIONS = [" ".join(line.split()) for line in re.sub(r"\\\n", " ", FINAL_STAGE).splitlines()
                if line.strip() and not line.lstrip().startswith("#")]


def _env(name: str) -> str:
    return re.search(rf"\b{name}=(\S+)", FINAL_STAGE).group(1)


def test_the_base_image_is_pinned_by_a_digest_whose_source_is_named():
    (base,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, flags=re.M)
    assert re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", base)
    assert re.findall(r"^FROM (\S+)", DOCKERFILE, flags=re.M) == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]
    assert "docker-library/repo-info" in DOCKERFILE and "imagetools inspect" in DOCKERFILE


def test_dependencies_are_a_layer_of_their_own_before_our_wheel():
    deps = INSTRUCTIONS.index("RUN --mount=type=bind,from=wheel,source=/deps,target=/tmp/deps pip install --no-index "
                              "--find-links=/tmp/deps --require-hashes -r /tmp/service.txt && rm /tmp/service.txt")
    wheel = next(i for i, line in enumerate(INSTRUCTIONS) if line.startswith("COPY --from=wheel"))
    assert INSTRUCTIONS[deps - 1] == "COPY requirements/service.txt /tmp/service.txt" and deps < wheel
    assert "RUN pip install --no-deps /tmp/dist/*.whl && rm -r /tmp/dist" in INSTRUCTIONS
    # Fetched, with their hashes checked, in the first stage; as wheels only, so the final stage checks
    # the same hashes again offline.
    assert "RUN pip download --require-hashes --only-binary=:all: --dest /deps -r requirements/service.txt" in (
        " ".join(line.split()) for line in FIRST_STAGE.splitlines())


def test_the_image_holds_no_source_tree():
    copies = [line for line in INSTRUCTIONS if line.startswith("COPY")]
    assert not any(name in line for line in copies for name in ("cds_service", "cards", "pyproject.toml"))


def test_the_image_declares_no_volume():
    """A VOLUME leaves an anonymous volume behind every container run without one (and every compose
    replica); the named volume is in compose.yaml and in the docs' `docker run`."""
    assert not [line for line in INSTRUCTIONS if line.startswith("VOLUME")]
    docs = (REPO / "docs" / "deploying.md").read_text()
    assert f"-v withdrawal-cds-data:{_env('WITHDRAWAL_CDS_DATA_DIR')}" in docs


def test_the_build_arguments_reach_the_first_stage_only():
    """The index URL (it may carry a token) and the CA certificates are pip's in the first stage; the
    final stage installs offline and declares no argument, so its history records neither."""
    first_args = re.findall(r"^ARG (\w+)", FIRST_STAGE, flags=re.M)
    assert {"PIP_INDEX_URL", "BUILD_CA_CERTS"} <= set(first_args)
    assert not [line for line in INSTRUCTIONS if line.startswith("ARG")]
    assert not re.search(r"PIP_INDEX_URL|BUILD_CA_CERTS|PIP_CERT", FINAL_STAGE)
    assert all("--no-index" in line for line in INSTRUCTIONS if "pip install" in line and "/tmp/dist" not in line)


@pytest.mark.parametrize("given", ["", "-----BEGIN CERTIFICATE-----\nMIIB...proxy\n-----END CERTIFICATE-----"])
def test_the_ca_certificates_given_are_added_to_pips_own(tmp_path, given):
    """The first stage's RUN that writes PIP_CERT, run here: pip's bundle, then what was given."""
    (run,) = [line for line in FIRST_STAGE_RUNS if "BUILD_CA_CERTS" in line]
    bundle = tmp_path / "ca-certificates.pem"
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PIP_CERT": str(bundle), "BUILD_CA_CERTS": given}
    subprocess.run(["sh", "-c", run.removeprefix("RUN mkdir /build && ")], env=env, check=True, timeout=60)
    from pip._vendor import certifi
    assert bundle.read_text() == Path(certifi.where()).read_text() + given + "\n"


def test_the_command_line_sets_no_address_so_the_config_file_decides():
    (cmd,) = [line for line in INSTRUCTIONS if line.startswith("CMD ")]
    assert cmd == 'CMD ["withdrawal-cds", "serve"]'
    healthcheck = next(line for line in INSTRUCTIONS if line.startswith("HEALTHCHECK"))
    assert healthcheck.endswith('CMD ["python", "-m", "cds_service.serving.healthcheck"]') and "8080" not in healthcheck


def test_the_built_in_config_binds_every_address_and_stays_closed_without_issuers():
    """deploy/image.toml, copied to the path the image's WITHDRAWAL_CDS_CONFIG names."""
    assert f"COPY deploy/image.toml {_env('WITHDRAWAL_CDS_CONFIG')}" in INSTRUCTIONS
    settings = load_settings(REPO / "deploy" / "image.toml", environ={})
    assert settings.server.host == "0.0.0.0" and f"EXPOSE {settings.server.port}" in INSTRUCTIONS
    with pytest.raises(ConfigError, match="refusing to listen on 0.0.0.0 without authentication"):
        check_start_policy(settings, settings.server.host, settings.server.allow_unauthenticated)


@pytest.mark.parametrize("host,port,url", [
    ("0.0.0.0", 8080, "http://127.0.0.1:8080/healthz"),
    ("::", 9000, "http://[::1]:9000/healthz"),
    ("127.0.0.5", 8081, "http://127.0.0.5:8081/healthz"),
])
def test_the_health_check_probes_where_the_server_listens(host, port, url):
    assert healthz_url(host, port) == url


def _healthcheck(config) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WITHDRAWAL_CDS_")}
    env.update({"WITHDRAWAL_CDS_CONFIG": str(config), "PYTHONPATH": str(REPO)})
    return subprocess.run([sys.executable, "-m", "cds_service.serving.healthcheck"], env=env, capture_output=True,
                          text=True, timeout=30)


def test_the_health_check_follows_the_configured_port(tmp_path):
    port, other = free_port(), free_port()
    config, elsewhere = tmp_path / "config.toml", tmp_path / "elsewhere.toml"
    config.write_text(f"[server]\nport = {port}\nworkers = 1\n")
    elsewhere.write_text(f"[server]\nport = {other}\n")
    # The port comes from the file alone, as in the image.
    server = Serving(["--config", str(config)], {"WITHDRAWAL_CDS_DATA_DIR": str(tmp_path / "data")}, tmp_path, port)
    try:
        server.wait_ready()
        assert _healthcheck(config).returncode == 0
        missed = _healthcheck(elsewhere)
        assert missed.returncode == 1 and f"unhealthy: http://127.0.0.1:{other}/healthz" in missed.stderr
    finally:
        server.stop()
