"""The vendored SMART JavaScript client is the file its record says, and the pages load that file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "cds_service" / "apps" / "cows" / "vendor"


def test_the_vendored_fhirclient_matches_its_recorded_checksum_and_carries_its_licence():
    record = json.loads((VENDOR / "fhirclient.json").read_text())
    assert record["package"] == "fhirclient" and record["license"] == "Apache-2.0"
    assert record["tarball_integrity"].startswith("sha512-")
    built = (VENDOR / record["file"]).read_bytes()
    assert hashlib.sha256(built).hexdigest() == record["file_sha256"], "refresh with scripts/refresh-fhirclient.sh"
    assert "Apache License, Version 2.0" in (VENDOR / "fhirclient-LICENSE").read_text()
    assert (VENDOR / f"{record['file']}.LICENSE.txt").is_file()


def test_both_pages_load_the_vendored_build():
    record = json.loads((VENDOR / "fhirclient.json").read_text())
    for page in ("index.html", "launch.html"):
        assert f'<script src="vendor/{record["file"]}"></script>' in (VENDOR.parent / page).read_text(), page
