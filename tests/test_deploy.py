"""compose.yaml and deploy/kubernetes/: what can be checked without Docker or a cluster. Both parse;
every variable and key the service reads is set, and set where it is read; the TOML they mount
loads with load_settings and passes the start policy; ports, probes and the Service agree with it.
That several replicas can start together on one PostgreSQL is
tests/store/test_migrations.py::test_workers_starting_together_migrate_once_without_errors."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from cds_service import config as config_module
from cds_service.auth import check_start_policy
from cds_service.config import ConfigError, load_settings
from cds_service.preflight import check_store_files

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
# Every environment variable the service reads, as config.py names them.
READ = {value for name, value in vars(config_module).items() if name.startswith("ENV_")}
# What many replicas on one database cannot do without: one database, one patient key.
SHARED = {"WITHDRAWAL_CDS_DATABASE_URL", "WITHDRAWAL_CDS_PATIENT_KEY"}
IMAGE_ENV = dict(re.findall(r"\b(WITHDRAWAL_CDS_\w+)=(\S+)", (ROOT / "Dockerfile").read_text()))


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))
    return {name: value for name, value in pairs}


def _toml_settings(text: str, tmp_path: Path, environ: dict[str, str]):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_settings(path, environ=environ)


def test_read_names_what_the_service_reads():
    assert READ == {"WITHDRAWAL_CDS_CONFIG", "WITHDRAWAL_CDS_DATABASE_URL", "WITHDRAWAL_CDS_DATA_DIR",
                    "WITHDRAWAL_CDS_PATIENT_KEY", "WITHDRAWAL_CDS_PUBLIC_BASE_URL", "WITHDRAWAL_CDS_METRICS_TOKEN"}
    assert set(IMAGE_ENV) == {"WITHDRAWAL_CDS_CONFIG", "WITHDRAWAL_CDS_DATA_DIR"}


# --- compose.yaml ------------------------------------------------------------------------------

COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICE, DB = COMPOSE["services"]["withdrawal-cds"], COMPOSE["services"]["db"]


def test_compose_runs_two_or_more_replicas_of_the_image_built_here_on_the_official_postgresql():
    assert SERVICE["build"] == "." and SERVICE["deploy"]["replicas"] >= 2
    # The official image, pinned by digest like the service's base (the tag stays for the reader).
    assert re.fullmatch(r"postgres:\d+@sha256:[0-9a-f]{64}", DB["image"])
    assert "docker-library/repo-info" in (ROOT / "compose.yaml").read_text()
    assert SERVICE["depends_on"]["db"]["condition"] == "service_healthy" and "pg_isready" in str(DB["healthcheck"])


def test_compose_publishes_a_host_port_for_each_replica():
    (mapping,) = SERVICE["ports"]
    first, last, container = map(int, re.fullmatch(r"(\d+)-(\d+):(\d+)", mapping).groups())
    assert last - first + 1 >= SERVICE["deploy"]["replicas"]
    assert container == load_settings(DEPLOY / "config.toml", environ={}).server.port


def test_compose_sets_every_variable_the_replicas_share_from_its_env_file():
    env_file = ROOT / SERVICE["env_file"]
    example = _env_file(env_file.with_name(env_file.name + ".example"))
    assert SHARED <= set(example) and set(example) <= READ
    url = make_url(example["WITHDRAWAL_CDS_DATABASE_URL"])
    postgres = _env_file((ROOT / DB["env_file"]).with_name(Path(DB["env_file"]).name + ".example"))
    assert url.drivername == "postgresql+psycopg" and url.host == "db" and url.port == 5432
    assert (url.username, url.password, url.database) == (
        postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"])


def test_the_env_files_with_the_secrets_are_never_committed():
    for name in (SERVICE["env_file"], DB["env_file"]):
        ignored = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT).returncode == 0
        assert ignored, f"{name} holds secrets and must be in .gitignore"


def test_compose_mounts_a_config_that_loads_and_may_start(tmp_path):
    (mount,) = SERVICE["volumes"]
    source, target, _ = mount.split(":")
    assert target == IMAGE_ENV["WITHDRAWAL_CDS_CONFIG"]
    environ = {**IMAGE_ENV, **_env_file(DEPLOY / "withdrawal-cds.env.example")}
    settings = _toml_settings((ROOT / source).read_text(), tmp_path, environ)
    assert settings.store.database_url == environ["WITHDRAWAL_CDS_DATABASE_URL"]
    assert settings.server.host == "0.0.0.0" and settings.auth_required
    assert check_start_policy(settings, settings.server.host, settings.server.allow_unauthenticated) is None


# --- deploy/kubernetes -------------------------------------------------------------------------

MANIFESTS = {doc["kind"]: doc for path in sorted(KUBERNETES.glob("*.yaml")) if path.name != "kustomization.yaml"
             for doc in yaml.safe_load_all(path.read_text())}
DEPLOYMENT, SECRET, CONFIGMAP, K8S_SERVICE = (MANIFESTS[k] for k in ("Deployment", "Secret", "ConfigMap", "Service"))
(CONTAINER,) = DEPLOYMENT["spec"]["template"]["spec"]["containers"]


def _container_env() -> dict[str, dict]:
    return {entry["name"]: entry for entry in CONTAINER["env"]}


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in KUBERNETES.glob("*.yaml")
                                                        if p.name != "kustomization.yaml")


def test_the_deployment_runs_replicas_with_both_probes_on_healthz():
    assert DEPLOYMENT["spec"]["replicas"] >= 2
    for probe in ("readinessProbe", "livenessProbe"):
        assert CONTAINER[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert DEPLOYMENT["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001


def test_every_variable_is_set_and_every_secret_key_it_names_exists():
    env = _container_env()
    assert set(env) <= READ and SHARED <= set(env)
    secrets = {name for name, variable in env.items() if "valueFrom" in variable}
    assert secrets == SHARED | {"WITHDRAWAL_CDS_METRICS_TOKEN"}
    for name in secrets:
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == SECRET["metadata"]["name"] and ref["key"] in SECRET["stringData"]
    assert env["WITHDRAWAL_CDS_DATA_DIR"]["value"] == IMAGE_ENV["WITHDRAWAL_CDS_DATA_DIR"]


def test_the_configmap_is_mounted_where_the_config_is_read(tmp_path):
    env = _container_env()
    (config_volume,) = [v for v in DEPLOYMENT["spec"]["template"]["spec"]["volumes"] if "configMap" in v]
    assert config_volume["configMap"]["name"] == CONFIGMAP["metadata"]["name"]
    (mount,) = [m for m in CONTAINER["volumeMounts"] if m["name"] == config_volume["name"]]
    (key,) = CONFIGMAP["data"]
    assert f"{mount['mountPath']}/{key}" == env["WITHDRAWAL_CDS_CONFIG"]["value"] == IMAGE_ENV["WITHDRAWAL_CDS_CONFIG"]
    # The writable mounts a read-only root file system needs.
    assert {m["mountPath"] for m in CONTAINER["volumeMounts"]} >= {env["WITHDRAWAL_CDS_DATA_DIR"]["value"], "/tmp"}


def test_the_configmaps_toml_loads_and_its_port_is_the_one_probed_and_served(tmp_path):
    environ = {**IMAGE_ENV, **SECRET["stringData"]}
    settings = _toml_settings(CONFIGMAP["data"]["config.toml"], tmp_path, environ)
    assert settings.server.host == "0.0.0.0" and settings.auth_required
    assert check_start_policy(settings, settings.server.host, settings.server.allow_unauthenticated) is None
    (port,) = CONTAINER["ports"]
    assert (port["name"], port["containerPort"]) == ("http", settings.server.port)
    assert [p["targetPort"] for p in K8S_SERVICE["spec"]["ports"]] == ["http"]
    assert K8S_SERVICE["spec"]["selector"] == DEPLOYMENT["spec"]["selector"]["matchLabels"]


def test_an_unedited_secret_stops_the_service_at_start(tmp_path):
    settings = _toml_settings(CONFIGMAP["data"]["config.toml"], tmp_path, {**IMAGE_ENV, **SECRET["stringData"]})
    with pytest.raises(ConfigError, match="store.database_url is not a database URL"):
        check_store_files(settings)
