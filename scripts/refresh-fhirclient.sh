#!/usr/bin/env bash
# Refresh the vendored SMART JavaScript client (npm package fhirclient) that the COWS form loads.
#
#   scripts/refresh-fhirclient.sh [VERSION]     # default: the version recorded in fhirclient.json
#
# npm fetches the package tarball and checks it against the registry's integrity hash; this copies
# the browser build (the "pure" one: no polyfills, for current browsers), its licences, and writes
# the version, the tarball's integrity and the file's SHA-256 to fhirclient.json, which
# tests/apps/test_vendor.py checks the file against. Only this script needs npm; the service does not.
set -euo pipefail
cd "$(dirname "$0")/.."
vendor=cds_service/apps/cows/vendor
build=fhir-client.pure.min.js
version=${1:-$(python3 -c "import json; print(json.load(open('$vendor/fhirclient.json'))['version'])")}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent --json "fhirclient@$version" > pack.json)
integrity=$(python3 -c "import json; print(json.load(open('$work/pack.json'))[0]['integrity'])")
tarball=$(python3 -c "import json; print(json.load(open('$work/pack.json'))[0]['filename'])")
tar -xzf "$work/$tarball" -C "$work" package/LICENSE "package/build/$build" "package/build/$build.LICENSE.txt"

cp "$work/package/build/$build" "$vendor/$build"
cp "$work/package/build/$build.LICENSE.txt" "$vendor/$build.LICENSE.txt"
cp "$work/package/LICENSE" "$vendor/fhirclient-LICENSE"
sha256=$(sha256sum "$vendor/$build" | cut -d' ' -f1)
license=$(python3 -c "import json,tarfile; print(json.load(tarfile.open('$work/$tarball').extractfile('package/package.json'))['license'])")
cat > "$vendor/fhirclient.json" <<JSON
{
  "package": "fhirclient",
  "version": "$version",
  "license": "$license",
  "tarball_integrity": "$integrity",
  "file": "$build",
  "file_sha256": "$sha256",
  "from": "package/build/$build in the npm tarball fhirclient-$version.tgz"
}
JSON
echo "fhirclient $version: $vendor/$build sha256 $sha256"
