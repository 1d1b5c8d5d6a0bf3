"""compose.yaml and deploy/kubernetes/: what can be checked without Docker or a cluster. Both parse;
every variable and key the service reads is set, and set where it is read; the TOML they mount
loads with load_settings and passes the start policy; ports, probes and the Service agree with it.
That several replicas can start together on one PostgreSQL is
tests/store/test_migrations.py::test_workers_starting_together_migrate_once_without_errors."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path, PurePosixPath

import kubernetes_validate
import pytest
import yaml
from sqlalchemy.engine import make_url

from cds_service import config as config_module
from cds_service.auth import check_start_policy
from cds_service.config import ConfigError, load_settings
from cds_service.serving.preflight import check_store_files

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
# Every environment variable the service reads, as config.py names them.
KUBERNETES_VERSION = kubernetes_validate.latest_version()
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

COMPOSE_TEXT = (ROOT / "compose.yaml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
DB = COMPOSE["services"]["db"]
REPLICAS = {name: service for name, service in COMPOSE["services"].items() if service.get("build") == "."}
SERVICE = next(iter(REPLICAS.values()))
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
# A registry host: what Podman needs before a repository's name, where Docker assumes docker.io/library/.
REGISTRY = re.compile(r"(localhost|[\w-]+(\.[\w-]+)+)(:\d+)?")


def test_compose_runs_two_or_more_replicas_of_the_image_built_here_on_the_official_postgresql():
    assert len(REPLICAS) >= 2 and {service["image"] for service in REPLICAS.values()} == {f"withdrawal-cds:{VERSION}"}
    # The official image, pinned by digest like the service's base (the tag stays for the reader).
    assert re.fullmatch(r"docker\.io/library/postgres:\d+@sha256:[0-9a-f]{64}", DB["image"])
    assert "docker-library/repo-info" in COMPOSE_TEXT
    for service in REPLICAS.values():
        assert service["depends_on"]["db"]["condition"] == "service_healthy" and "pg_isready" in str(DB["healthcheck"])


def test_every_image_compose_pulls_is_fully_qualified_and_pinned():
    """Podman refuses a short name it would have to guess a registry for (it has no docker.io default);
    only the image built here may go without one, being found locally by both tools."""
    pulled = [service["image"] for service in COMPOSE["services"].values() if "build" not in service]
    assert pulled
    for image in pulled:
        registry = image.split("/", 1)[0]
        assert "/" in image and REGISTRY.fullmatch(registry), f"{image} does not name its registry"
        assert re.search(r"@sha256:[0-9a-f]{64}$", image), f"{image} is not pinned by digest"


def _port(mapping: str) -> tuple[int, int]:
    # "HOST:CONTAINER" or "IP:HOST:CONTAINER"; podman-compose refuses "FIRST-LAST:CONTAINER" for replicas.
    *_, host, container = mapping.split(":")
    assert host.isdigit() and container.isdigit(), f"{mapping!r} is not one host port for one container port"
    return int(host), int(container)


def test_each_replica_publishes_one_host_port_of_its_own_and_no_range():
    served = load_settings(DEPLOY / "config.toml", environ={}).server.port
    published = []
    for name, service in COMPOSE["services"].items():
        assert "replicas" not in service.get("deploy", {}), f"{name}: replicas need a port range; one service each"
        published += [_port(mapping) for mapping in service.get("ports", [])]
    replica_ports = [_port(mapping) for service in REPLICAS.values() for mapping in service["ports"]]
    assert len(replica_ports) == len(REPLICAS) and {container for _, container in replica_ports} == {served}
    assert len({host for host, _ in published}) == len(published)


def _mounts(service: dict) -> dict[str, str]:
    """Container path -> source, for every volume of the service."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        found[target] = source
    return found


def _unmounted_files(service: dict, config_text: str) -> list[str]:
    """The files the mounted config names (its issuers' jwks_file, relative to it) that no mount brings."""
    mounts = _mounts(service)
    (config_path,) = [target for target, source in mounts.items() if source == "./deploy/config.toml"]
    named = [PurePosixPath(config_path).parent / issuer["jwks_file"]
             for issuer in tomllib.loads(config_text).get("issuers", []) if issuer.get("jwks_file")]
    return [str(path) for path in named
            if not any(path.is_relative_to(target) and target != config_path for target in mounts)]


def _uncommented(text: str, start: str, count: int) -> str:
    """`text` with the `count` commented lines from the one holding `start` made live."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if start in line)
    example = [re.sub(r"^(\s*)# ", r"\1", line) for line in lines[first:first + count]]
    return "\n".join(lines[:first] + example + lines[first + count:]) + "\n"


def test_every_file_the_config_names_is_mounted():
    config = (DEPLOY / "config.toml").read_text()
    for service in REPLICAS.values():
        assert _unmounted_files(service, config) == []


def test_the_key_file_example_is_mounted_once_both_are_uncommented():
    """deploy/config.toml's commented issuer with a jwks_file, and compose.yaml's commented mount."""
    config = _uncommented((DEPLOY / "config.toml").read_text(), "# [[issuers]]", 4)
    assert any(issuer.get("jwks_file") for issuer in tomllib.loads(config)["issuers"])
    assert _unmounted_files(SERVICE, config) == ["/etc/withdrawal-cds/keys/ehr-jwks.json"]
    compose = yaml.safe_load(_uncommented(COMPOSE_TEXT, "# - ./deploy/keys", 1))
    for name in REPLICAS:
        assert _unmounted_files(compose["services"][name], config) == []


def test_no_container_leaves_an_anonymous_volume_behind():
    """Every volume has a source, and each named one is declared: `compose down` without -v keeps them
    by name, and the image declares no VOLUME of its own (tests/test_image.py)."""
    declared = set(COMPOSE["volumes"])
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            assert ":" in volume, f"{name}: {volume} would be an anonymous volume"
        named = {source for source in _mounts(service).values() if not source.startswith((".", "/"))}
        assert named <= declared
    for service in REPLICAS.values():
        assert _mounts(service)[IMAGE_ENV["WITHDRAWAL_CDS_DATA_DIR"]] in declared


def test_the_replicas_health_check_is_the_images():
    """Given in compose too: Podman's default (OCI) image format drops the Dockerfile's HEALTHCHECK. As
    one shell line: podman-compose 1.0 turns a CMD list into `/bin/sh -c python -m ...`, a bare python."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    options, image_check = re.search(r'HEALTHCHECK (.*?)CMD (\[.*?\])', dockerfile, flags=re.S).groups()
    timing = dict(re.findall(r"--([\w-]+)=(\S+)", options))
    for service in REPLICAS.values():
        check = service["healthcheck"]
        assert check["test"] == ["CMD-SHELL", " ".join(yaml.safe_load(image_check))]
        assert {key.replace("_", "-"): str(value) for key, value in check.items() if key != "test"} == timing


def test_compose_sets_every_variable_the_replicas_share_from_its_env_file():
    assert {service["env_file"] for service in REPLICAS.values()} == {SERVICE["env_file"]}
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
    source = _mounts(SERVICE)[IMAGE_ENV["WITHDRAWAL_CDS_CONFIG"]]
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


# The Pod Security Standard "restricted" (kubernetes.io/docs/concepts/security/pod-security-standards),
# its baseline controls included, as rules on a pod spec and on each container's securityContext.
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret"}
SAFE_SECCOMP = {"RuntimeDefault", "Localhost"}


def _restricted_violations(pod: dict) -> list[str]:
    pod_context = pod.get("securityContext", {})
    found = [f"pod: {key}" for key in ("hostNetwork", "hostPID", "hostIPC") if pod.get(key)]
    found += [f"volume {v['name']}: {kind}" for v in pod.get("volumes", [])
              for kind in set(v) - {"name"} - RESTRICTED_VOLUMES]
    found += ["pod: sysctls" for _ in pod_context.get("sysctls", [])]
    for container in pod.get("initContainers", []) + pod["containers"]:
        name, context = container["name"], container.get("securityContext", {})
        effective = {**pod_context, **context}
        if context.get("privileged"):
            found.append(f"{name}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation is not false")
        if effective.get("runAsNonRoot") is not True or effective.get("runAsUser") == 0:
            found.append(f"{name}: may run as root")
        if effective.get("seccompProfile", {}).get("type") not in SAFE_SECCOMP:
            found.append(f"{name}: seccompProfile is not RuntimeDefault or Localhost")
        capabilities = context.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []) or set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: capabilities not all dropped")
        if any(port.get("hostPort") for port in container.get("ports", [])):
            found.append(f"{name}: hostPort")
        if context.get("procMount", "Default") != "Default":
            found.append(f"{name}: procMount")
    return found


def test_the_pods_meet_the_restricted_pod_security_standard():
    pod = DEPLOYMENT["spec"]["template"]["spec"]
    assert _restricted_violations(pod) == []
    # Each rule can fail: the pod as it was before seccompProfile was set, and others.
    without_seccomp = {**pod, "securityContext": {k: v for k, v in pod["securityContext"].items()
                                                  if k != "seccompProfile"}}
    assert _restricted_violations(without_seccomp) == [
        "withdrawal-cds: seccompProfile is not RuntimeDefault or Localhost"]
    escalating = {**pod, "containers": [{**CONTAINER, "securityContext": {"runAsUser": 0}}], "hostNetwork": True,
                  "volumes": [{"name": "host", "hostPath": {"path": "/"}}]}
    assert _restricted_violations(escalating) == [
        "pod: hostNetwork", "volume host: hostPath", "withdrawal-cds: allowPrivilegeEscalation is not false",
        "withdrawal-cds: may run as root", "withdrawal-cds: capabilities not all dropped"]


def test_the_root_file_system_is_read_only_and_every_writable_dir_an_emptydir():
    pod = DEPLOYMENT["spec"]["template"]["spec"]
    assert CONTAINER["securityContext"]["readOnlyRootFilesystem"] is True
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    writable = {mount["mountPath"] for mount in CONTAINER["volumeMounts"] if not mount.get("readOnly")}
    assert writable == {IMAGE_ENV["WITHDRAWAL_CDS_DATA_DIR"], "/tmp"}
    for mount in CONTAINER["volumeMounts"]:
        assert mount.get("readOnly") or "emptyDir" in volumes[mount["name"]]
    assert pod["automountServiceAccountToken"] is False


@pytest.mark.parametrize("path", sorted(p.name for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml"))
def test_each_manifest_is_valid_for_the_kubernetes_api_strictly(path):
    for document in yaml.safe_load_all((KUBERNETES / path).read_text()):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_strict_validation_refuses_an_unknown_field():
    misspelt = {**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSION, strict=True)


def test_every_file_the_configmaps_toml_names_is_in_the_configmap():
    """A jwks_file is read relative to the config, so from the ConfigMap's own mount: its key there."""
    named = [issuer["jwks_file"] for issuer in tomllib.loads(CONFIGMAP["data"]["config.toml"]).get("issuers", [])
             if issuer.get("jwks_file")]
    assert set(named) <= set(CONFIGMAP["data"])


def test_one_image_tag_everywhere_the_package_version():
    """The Deployment, compose and the operator's page name one tag, pyproject's version."""
    assert CONTAINER["image"] == f"withdrawal-cds:{VERSION}"
    docs = (ROOT / "docs" / "deploying.md").read_text()
    assert f"docker build -t withdrawal-cds:{VERSION} ." in docs
    for text in (docs, COMPOSE_TEXT, (KUBERNETES / "deployment.yaml").read_text()):
        assert set(re.findall(r"\bwithdrawal-cds:(\w[\w.-]*)", text)) == {VERSION}
