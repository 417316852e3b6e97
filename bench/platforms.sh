#!/usr/bin/env bash
# bench/run.py --quick on both Debian releases: on this machine (after
# scripts/setup.sh) and in a fresh debootstrap root of the other release (set up
# there with README's command).  Each run writes bench/platforms/<debianN>/;
# bench/run.py --render-only then puts both side by side in bench/RESULTS.md.
#   bash bench/platforms.sh [run.py args...]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "platforms.sh: run scripts/setup.sh first" >&2; exit 1; }
here="debian$(cut -d. -f1 /etc/debian_version)"
case "$here" in debian12) other=debian13 ;; debian13) other=debian12 ;;
    *) echo "platforms.sh: not Debian 12 or 13" >&2; exit 1 ;; esac

echo "== $here"
.venv/bin/python bench/run.py --quick --out "bench/platforms/$here" "$@"

echo "== $other (debootstrap root)"
ROOT=$(mktemp -d /var/cache/glupy-ci/bench-root.XXXXXX)
trap 'rm -rf --one-file-system "$ROOT"' EXIT
.ci/release-root.sh --keep "$ROOT" . bash -c \
    "bash scripts/setup.sh >/tmp/setup.log 2>&1 || { tail -20 /tmp/setup.log; exit 1; }
     .venv/bin/python bench/run.py --quick --out bench/platforms/$other $*"
rm -rf "bench/platforms/$other"
cp -r "$ROOT/src/bench/platforms/$other" "bench/platforms/$other"
.venv/bin/python bench/run.py --render-only
