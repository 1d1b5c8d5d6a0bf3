"""The lock files (requirements/, written by scripts/lock.sh) agree with pyproject.toml, pin every
package with its hashes, and are what the image and the README's test command install."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCKS = {name: ROOT / "requirements" / f"{name}.txt" for name in ("service", "test", "build")}
_PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[([A-Za-z0-9._,-]+)\])?==(\S+)(?:\s*;\s*(.+?))?\s*\\?$")


def entries(lock: Path) -> list[tuple[str, frozenset[str], str, Marker | None]]:
    """(package, its locked extras, version, marker) per requirement line; fails on any line that
    is not `name[extras]==version` followed by its hashes."""
    found = []
    for entry in re.split(r"\n(?=\S)", lock.read_text()):
        if entry.startswith("#") or not entry.strip():
            continue
        first, *rest = entry.splitlines()
        match = _PIN.match(first)
        assert match, f"{lock.name}: not an exact pin: {first!r}"
        hashes = [line for line in rest if line.strip().startswith("--hash=sha256:")]
        assert hashes, f"{lock.name}: {first} has no hash"
        name, extras, version, marker = match.groups()
        extras = frozenset(canonicalize_name(e) for e in (extras or "").split(",") if e)
        found.append((canonicalize_name(name), extras, version, Marker(marker) if marker else None))
    return found


def pins(lock: Path) -> dict[str, set[str]]:
    """{package: its pinned versions} (a universal lock may pin two, under different markers)."""
    found: dict[str, set[str]] = {}
    for name, _, version, _ in entries(lock):
        found.setdefault(name, set()).add(version)
    return found


@pytest.mark.parametrize("lock", LOCKS, ids=list(LOCKS))
def test_every_package_is_pinned_with_hashes(lock):
    assert pins(LOCKS[lock])


@pytest.mark.parametrize("lock,requirements", [
    ("service", PYPROJECT["project"]["dependencies"]),
    ("test", PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["test"]
     + PYPROJECT["project"]["optional-dependencies"]["sandbox"]),
    ("build", PYPROJECT["build-system"]["requires"]),
])
def test_each_lock_satisfies_what_pyproject_asks(lock, requirements):
    """A dependency added or bumped in pyproject.toml without running scripts/lock.sh fails here."""
    pinned = pins(LOCKS[lock])
    for text in requirements:
        requirement = Requirement(text)
        versions = pinned.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is not in requirements/{lock}.txt: run scripts/lock.sh"
        assert all(requirement.specifier.contains(v, prereleases=True) for v in versions), \
            f"requirements/{lock}.txt pins {requirement.name} {versions}, pyproject asks {requirement.specifier}"


def test_the_tests_run_on_the_versions_the_image_ships():
    service, test = pins(LOCKS["service"]), pins(LOCKS["test"])
    assert {name: test.get(name) for name in service} == service


def test_the_image_and_the_test_command_install_from_the_locks():
    dockerfile = " ".join((ROOT / "Dockerfile").read_text().split())
    # Downloaded in the first stage with their hashes checked, installed in the final stage from those
    # files with the hashes checked again.
    assert "RUN pip download --require-hashes --only-binary=:all: --dest /deps -r requirements/service.txt" \
        in dockerfile
    assert "COPY requirements/service.txt /tmp/service.txt RUN --mount=type=bind,from=wheel,source=/deps," \
        "target=/tmp/deps pip install --no-index --find-links=/tmp/deps --require-hashes -r /tmp/service.txt" \
        in dockerfile.replace(" \\ ", " ")
    assert "RUN pip install --require-hashes -r requirements/build.txt" in dockerfile
    readme = (ROOT / "README.md").read_text()
    command = readme.split("<!-- test-command -->", 1)[1].split("```sh\n", 1)[1].split("\n", 1)[0]
    assert "--require-hashes -r requirements/test.txt -r requirements/build.txt" in command
    assert "--no-deps --no-build-isolation -e ." in command


def unpinned_extras(lock: Path, requires_of) -> list[str]:
    """Every `name[extra]` that a package in the lock asks for (under this machine's markers) and the
    lock does not hold with that extra. pip before 24 treats `name[extra]` as a project apart from
    `name`: in --require-hashes mode it then finds it unpinned and stops, or, were the lock to hold
    only `name`, takes whatever release is newest (the uvicorn[standard] breakage of 2026-12-07)."""
    locked = entries(lock)
    extras_of: dict[str, set[str]] = {}
    for name, extras, _, marker in locked:
        if marker is None or marker.evaluate():
            extras_of.setdefault(name, set()).update(extras)
    missing = []
    for name, extras in extras_of.items():
        for text in requires_of(name):
            requirement = Requirement(text)
            applies = requirement.marker is None or any(
                requirement.marker.evaluate({"extra": extra}) for extra in {"", *extras})
            wanted = {canonicalize_name(e) for e in requirement.extras}
            if applies and wanted and not wanted <= extras_of.get(canonicalize_name(requirement.name), set()):
                missing.append(f"{name} asks for {requirement} (locked as "
                               f"{sorted(extras_of.get(canonicalize_name(requirement.name), set()))})")
    return missing


def installed_requires(name: str) -> list[str]:
    return importlib.metadata.distribution(name).requires or []


@pytest.mark.parametrize("lock", ["service", "test"])
def test_every_extra_a_locked_package_asks_for_is_locked_with_it(lock):
    """The test lock is what this environment was installed from, so each locked package's metadata is
    here to read; the service lock is a subset of it (test above)."""
    assert unpinned_extras(LOCKS[lock], installed_requires) == []


def test_a_lock_without_the_extra_a_dependency_asks_for_is_caught(tmp_path):
    lock = tmp_path / "lock.txt"
    lock.write_text("sekmet-fhir==0.1.1 \\\n    --hash=sha256:00\n"
                    "uvicorn==0.54.0 \\\n    --hash=sha256:00\n")
    requires = {"sekmet-fhir": ["uvicorn[standard]>=0.30"], "uvicorn": ["click>=7.0"]}
    assert unpinned_extras(lock, lambda name: requires.get(name, [])) == [
        "sekmet-fhir asks for uvicorn[standard]>=0.30 (locked as [])"]
    lock.write_text(lock.read_text().replace("uvicorn==", "uvicorn[standard]=="))
    assert unpinned_extras(lock, lambda name: requires.get(name, [])) == []
