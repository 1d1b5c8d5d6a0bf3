#!/usr/bin/env bash
# Rewrite the lock files in requirements/ from pyproject.toml, every file pinned with its hashes:
#   service.txt  the runtime dependencies: the image installs exactly these (Dockerfile)
#   test.txt     the runtime, test and sandbox dependencies, at the same versions: the README's test
#                command and .ci/run install these
#   build.txt    the build backend (build-system.requires), for building our wheel without fetching
#                an unpinned one
# Resolved for Python 3.11 on every platform (--universal), from the default package index only:
# index settings from the environment or a uv.toml are ignored. Uses `uv` from PATH, else installs
# it into a throwaway venv. tests/test_lock.py fails when pyproject.toml and these files disagree.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v uv > /dev/null; then
  uv=uv
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m venv "$tmp/venv" && "$tmp/venv/bin/pip" install -q uv
  uv="$tmp/venv/bin/uv"
fi

compile() {
  env -u UV_INDEX -u UV_INDEX_URL -u UV_DEFAULT_INDEX -u UV_EXTRA_INDEX_URL -u UV_FIND_LINKS \
    "$uv" pip compile --no-config --universal --python-version 3.11 --generate-hashes --no-strip-extras --quiet \
    --custom-compile-command "scripts/lock.sh" "$@"
}

compile pyproject.toml -o requirements/service.txt
compile pyproject.toml --extra test --extra sandbox --constraint requirements/service.txt -o requirements/test.txt
python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))' \
  | compile - -o requirements/build.txt
