#!/usr/bin/env bash
# Build the bridge with another CPython (default 3.12) against this machine's
# GlusterFS, in a copy of the tree with its own venv, and run the bridge, library
# and integrity tests with it.  Uses pyenv's interpreter (built with a shared
# libpython); where it is absent, says so and succeeds.  Run after scripts/setup.sh.
#   .ci/other-python.sh [VERSION] [PYTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${1:-3.12}
shift || true

PY=""
for cand in "${PYENV_ROOT:-/root/.pyenv}"/versions/"$VERSION".*/bin/python"$VERSION" \
            "$(command -v "python$VERSION" || true)"; do
    if [ -x "$cand" ]; then PY=$cand; break; fi
done
if [ -z "$PY" ]; then
    echo "other-python.sh: CPython $VERSION is not installed here (no pyenv $VERSION.x, no python$VERSION): SKIPPED"
    exit 0
fi
echo "== CPython $VERSION: $PY"

WORK=$(mktemp -d "/tmp/glupy-py$VERSION.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
git ls-files -z -co --exclude-standard | xargs -0 tar -cf - 2>/dev/null | tar -C "$WORK" -xf -
cd "$WORK"
"$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"   # builds the bridge (setup.py)
# not installed as features/glupy: the tests load this tree's bridge by relative path
.venv/bin/python -m pytest -q -p no:cacheprovider tests/bridge tests/library tests/integrity "$@"
rc=$?
[ "$rc" -eq 5 ] && { echo "other-python.sh: pytest collected no tests" >&2; rc=1; }
exit "$rc"
