"""The lock files (requirements/, written by scripts/lock.sh) agree with pyproject.toml, pin every
package with its hashes, and are what the image and the README's test command install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCKS = {name: ROOT / "requirements" / f"{name}.txt" for name in ("service", "test", "build")}
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)(?:\s*;\s*(.+?))?\s*\\?$")


def pins(lock: Path) -> dict[str, set[str]]:
    """{package: its pinned versions} (a universal lock may pin two, under different markers);
    fails on any requirement line that is not `name==version` followed by its hashes."""
    found: dict[str, set[str]] = {}
    entries = re.split(r"\n(?=\S)", lock.read_text())
    for entry in entries:
        if entry.startswith("#") or not entry.strip():
            continue
        first, *rest = entry.splitlines()
        match = _PIN.match(first)
        assert match, f"{lock.name}: not an exact pin: {first!r}"
        hashes = [line for line in rest if line.strip().startswith("--hash=sha256:")]
        assert hashes, f"{lock.name}: {first} has no hash"
        found.setdefault(canonicalize_name(match.group(1)), set()).add(match.group(2))
    return found


@pytest.mark.parametrize("lock", LOCKS, ids=list(LOCKS))
def test_every_package_is_pinned_with_hashes(lock):
    assert pins(LOCKS[lock])


@pytest.mark.parametrize("lock,requirements", [
    ("service", PYPROJECT["project"]["dependencies"]),
    ("test", PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["test"]),
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
    assert "COPY requirements/service.txt /tmp/service.txt RUN pip install --require-hashes -r /tmp/service.txt" \
        in dockerfile
    assert "RUN pip install --require-hashes -r requirements/build.txt" in dockerfile
    readme = (ROOT / "README.md").read_text()
    command = readme.split("<!-- test-command -->", 1)[1].split("```sh\n", 1)[1].split("\n", 1)[0]
    assert "--require-hashes -r requirements/test.txt -r requirements/build.txt" in command
    assert "--no-deps --no-build-isolation -e ." in command
