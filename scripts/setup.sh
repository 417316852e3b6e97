#!/usr/bin/env bash
# Set up glupy on a fresh Debian 12 or Debian 13 machine (idempotent; run as root):
# GlusterFS (10.3 on Debian 12, 11.1 on Debian 13) and build tools from Debian, a
# venv at .venv with glupy installed editable (no test tools: scripts/test.sh adds the
# [test] extra when it runs), the bridge built
# for the installed GlusterFS and linked in as features/glupy, and a `glupy` command
# in /usr/local/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: run as root" >&2
    exit 1
fi
. /etc/os-release 2>/dev/null || true
case "${ID:-}:${VERSION_ID:-}" in
    debian:12|debian:13) ;;
    *) echo "setup.sh: ${PRETTY_NAME:-this system} is not supported by this script;" \
            "it supports Debian 12 (bookworm) and Debian 13 (trixie)." \
            "See README.md, Supported platforms, for others." >&2
       exit 1 ;;
esac
export DEBIAN_FRONTEND=noninteractive

echo "== Debian packages"
apt-get update -q
apt-get install -y -q --no-install-recommends \
    glusterfs-server glusterfs-client libglusterfs-dev libgfapi0 liburcu-dev libssl-dev uuid-dev \
    gcc libc6-dev pkg-config fio attr psmisc iproute2 procps ca-certificates git

echo "== Python"
PY=${PYTHON:-$(command -v python3 || true)}
if [ -z "$PY" ]; then
    apt-get install -y -q python3 python3-dev python3-venv
    PY=$(command -v python3)
fi
has_headers() {
    "$PY" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'
}
has_venv() { "$PY" -c 'import ensurepip, venv' 2>/dev/null; }
if ! has_headers || ! has_venv; then
    case "$(readlink -f "$PY")" in
        /usr/bin/*) apt-get install -y -q python3-dev python3-venv ;;
        *) echo "setup.sh: $PY lacks Python.h or venv/ensurepip and is not Debian's python3;" \
                "set PYTHON=/usr/bin/python3 or install its headers" >&2
           exit 1 ;;
    esac
fi
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' || {
    echo "setup.sh: glupy needs Python >= 3.11 ($PY is older)" >&2; exit 1; }
echo "using $PY ($("$PY" -c 'import sys; print(sys.version.split()[0])'))"

echo "== venv at $REPO/.venv"
VPY=$REPO/.venv/bin/python
want=$("$PY" -c 'import sys; print(sys.base_prefix)')
have=$("$VPY" -c 'import sys; print(sys.base_prefix)' 2>/dev/null || true)
if [ "$have" != "$want" ]; then
    rm -rf "$REPO/.venv"
    "$PY" -m venv "$REPO/.venv"
fi
"$VPY" -m pip install -q --upgrade pip
"$VPY" -m pip install -q -e "$REPO"

echo "== bridge"
"$VPY" -m glupy._build
"$REPO/.venv/bin/glupy" install
ln -sfn "$REPO/.venv/bin/glupy" /usr/local/bin/glupy
echo "glupy $("$VPY" -c 'import glupy; print(glupy.__version__)' 2>/dev/null || true) for GlusterFS" \
     "$(glusterfs --version | sed -n '1s/^glusterfs //p') and Python $("$VPY" -c 'import sys; print(sys.version.split()[0])')"
echo "setup done: /usr/local/bin/glupy -> $REPO/.venv/bin/glupy; try  bash scripts/demo.sh"
