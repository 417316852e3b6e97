#!/usr/bin/env bash
# Run the whole test suite (lint + pytest). As root, the mount tests run too.
# A pytest run that collects no test is an error, not a success.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
if [ ! -x "$PY" ]; then echo "test.sh: run scripts/setup.sh first" >&2; exit 1; fi

status=0
if "$PY" -m ruff --version >/dev/null 2>&1; then
    echo "== ruff check"
    "$PY" -m ruff check . || status=1
fi

echo "== pytest"
"$PY" -m pytest tests -q "$@"
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
