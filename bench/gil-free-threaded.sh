#!/usr/bin/env bash
# What the GIL costs, measured without it: bench/gil.py on Debian 13's CPython 3.13 (GIL)
# and on CPython 3.13t (free-threaded, built by .ci/free-threaded.sh; the GIL off in
# glusterfsd), same sources, same fresh Debian 13 root, one after the other.
#   bash bench/gil-free-threaded.sh [gil.py args...]   # default: --graphs none,py-passthrough,py-busy
# Writes bench/platforms/debian13-gil/ and bench/platforms/debian13-free-threaded/
# (GIL_RESULTS.md, gil_results.json).
set -euo pipefail
cd "$(dirname "$0")/.."
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--graphs none,py-passthrough,py-busy)
ROOT=$(mktemp -d /var/cache/glupy-ci/gil-root.XXXXXX)
trap 'rm -rf --one-file-system "$ROOT"' EXIT
.ci/release-root.sh --release trixie --keep "$ROOT" . bash -c '
    set -e
    bash scripts/setup.sh >/tmp/setup.log 2>&1 || { tail -20 /tmp/setup.log; exit 1; }
    echo "== CPython $(.venv/bin/python -c "import sys; print(sys.version.split()[0])") with the GIL"
    .venv/bin/python bench/gil.py --out bench/platforms/debian13-gil "$@"
    bash .ci/free-threaded.sh --build-only
    echo "== CPython 3.13t, the GIL off"
    .venv/bin/python bench/gil.py --out bench/platforms/debian13-free-threaded "$@"' \
    bash "${args[@]}"
for d in debian13-gil debian13-free-threaded; do
    rm -rf "bench/platforms/$d"
    cp -r "$ROOT/src/bench/platforms/$d" "bench/platforms/$d"
done
