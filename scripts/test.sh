#!/usr/bin/env bash
# Run the whole test suite (lint + pytest), or the tests named: test.sh tests/cli -x.
# As root, the mount tests run too.  A pytest run that collects no test is an error,
# not a success.  The test tools (pyproject's [test] extra) are installed into .venv
# here, on first use: scripts/setup.sh leaves them out of the installation.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
if [ ! -x "$PY" ]; then echo "test.sh: run scripts/setup.sh first" >&2; exit 1; fi

if ! "$PY" -c 'import pytest, hypothesis, ruff' 2>/dev/null; then
    echo "== the [test] extra into .venv"
    # the extra's requirements only: reinstalling glupy would rebuild the bridge
    "$PY" -c 'import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["test"]))' \
        | xargs -d '\n' "$PY" -m pip install -q || exit 1
fi

status=0
if "$PY" -m ruff --version >/dev/null 2>&1; then
    echo "== ruff check"
    "$PY" -m ruff check . || status=1
fi

echo "== pytest"
# test paths given: only those; otherwise (options only, or nothing) the whole suite
paths=()
for arg in "$@"; do [[ "$arg" == tests* ]] && paths+=("$arg"); done
[ "${#paths[@]}" -eq 0 ] && set -- tests "$@"
"$PY" -m pytest -q "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "test.sh: ERROR: pytest collected no tests" >&2
    rc=1
fi
[ "$rc" -ne 0 ] && status=$rc

if grep -s 'fuse.glusterfs' /proc/mounts | grep -q pytest-of; then
    echo "test.sh: ERROR: tests left glusterfs mounts behind:" >&2
    grep 'fuse.glusterfs' /proc/mounts | grep pytest-of >&2
    status=1
fi
exit "$status"
