"""The Docker image installs the wheel its first stage builds from the files that stage copies.

No Docker engine runs on our CI machines, so the image itself is not built here; this builds
the same wheel from the same files, the same way (`pip wheel --no-deps --no-build-isolation`, with
the locked build backend), and checks it carries everything the service reads at run time: every
module, the Alembic migrations, the value-set CSVs and the COWS form's static files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_FILES = ("cds_service/**/*.py", "cds_service/**/*.mako", "cards/**/*.py", "cards/**/*.csv",
                 "cds_service/apps/cows/**/*")


def _wheel_stage_copies() -> list[str]:
    """The sources of the COPY lines of the Dockerfile's `wheel` stage."""
    stage = (ROOT / "Dockerfile").read_text().split(" AS wheel\n", 1)[1].split("\nFROM ", 1)[0]
    sources = []
    for line in stage.splitlines():
        if match := re.match(r"COPY\s+(.+)\s+\S+$", line.strip()):
            sources += match.group(1).split()
    return sources


def test_the_wheel_built_from_the_dockerfiles_copies_carries_every_runtime_file(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in _wheel_stage_copies():
        path = ROOT / name
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    wanted = {str(p.relative_to(ROOT)) for pattern in RUNTIME_FILES for p in ROOT.glob(pattern)
              if "__pycache__" not in p.parts and p.is_file()}
    assert any(name.endswith(".csv") for name in wanted) and any("migrations/versions" in n for n in wanted)
    assert {"cds_service/apps/cows/index.html", "cds_service/apps/cows/vendor/fhir-client.pure.min.js"} <= wanted
    assert sorted(wanted - packed) == []
