#!/usr/bin/env bash
# The bridge on a free-threaded CPython with the GIL off, in a Debian 13 root:
#   .ci/release-root.sh --release trixie . bash .ci/free-threaded.sh [PYTEST ARGS...]
#   ... bash .ci/free-threaded.sh --build-only    # .venv ready, no tests (bench/gil-free-threaded.sh)
# Debian packages no free-threaded CPython, so this builds one from the CPython source
# of Debian's python3.13 package (./configure --disable-gil --enable-shared; ~5 min on
# two cores) into /opt/python3.13t, with cffi 2.0 built for it: cffi refuses 3.13t
# (it supports free threading from 3.14, whose sources Debian 13 does not carry), so
# its setup.py check is lifted here, and its modules still declare that they need no
# GIL.  glupy's bridge and glupy._core are then built for that interpreter, where
# GLUPY_FREE_THREADED is on by itself (core.h), and the bridge suite, faults, POSIX
# conformance and stress run in real glusterfs processes whose Python never takes the
# GIL (glupy status ``gil_enabled``: tests/bridge/test_free_threaded_switch.py).  Not
# here: crypt (`cryptography` has no build for 3.13t).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(cut -d. -f1 /etc/debian_version)" != 13 ]; then
    echo "free-threaded.sh: run in a Debian 13 root (.ci/release-root.sh --release trixie)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
PREFIX=/opt/python3.13t
FT=$PREFIX/bin/python3.13t
CFFI=2.0.0

bash scripts/setup.sh >/tmp/free-threaded-setup.log 2>&1 || {
    tail -n 40 /tmp/free-threaded-setup.log; exit 1; }

if [ ! -x "$FT" ]; then
    echo "== CPython 3.13 from Debian's source package, free-threaded, into $PREFIX"
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/glupy-src.list \
        2>/dev/null || true
    sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
    apt-get update -q
    apt-get install -y -q --no-install-recommends make xz-utils libffi-dev libbz2-dev liblzma-dev \
        zlib1g-dev libssl-dev >/dev/null
    build=$(mktemp -d /tmp/python3.13t.XXXXXX)
    # the upstream tarball as Debian ships it (apt checks it against the signed index);
    # Debian's own patches go with its packaging, not with a plain ./configure
    (cd "$build" && apt-get source -q --download-only python3.13 >/dev/null \
        && tar -xf python3.13_*.orig.tar.xz)
    src=$(find "$build" -mindepth 1 -maxdepth 1 -type d -name 'Python-3.13*' | head -n1)
    (cd "$src" && ./configure -q --disable-gil --enable-shared --prefix="$PREFIX" \
        LDFLAGS="-Wl,-rpath,$PREFIX/lib" && make -s -j"$(nproc)" && make -s install) \
        >"$build.log" 2>&1 || { tail -n 40 "$build.log"; exit 1; }
    rm -rf "$build" "$build.log"
fi
"$FT" -c 'import sys, sysconfig
assert sysconfig.get_config_var("Py_GIL_DISABLED") and not sys._is_gil_enabled(), sys.version
print("==", sys.version.replace("\n", " "))'

echo "== cffi $CFFI built for it, glupy into .venv"
sdist=$(mktemp -d /tmp/cffi.XXXXXX)
# setup.sh's venv (GIL) fetches the sdist: pip's metadata step runs the check being lifted
.venv/bin/python -m pip download -q --no-deps --no-binary :all: -d "$sdist" "cffi==$CFFI"
rm -rf .venv
"$FT" -m venv .venv
V=.venv/bin/python
$V -m pip install -q --upgrade pip setuptools wheel pycparser click pytest
tar -C "$sdist" -xzf "$sdist/cffi-$CFFI.tar.gz"
sed -i 's/^if FREE_THREADED_BUILD and sys.version_info < (3, 14):/if False:/' \
    "$sdist/cffi-$CFFI/setup.py"
$V -m pip install -q --no-build-isolation "$sdist/cffi-$CFFI"
rm -rf "$sdist"
$V -m pip install -q --no-build-isolation --no-deps -e .
$V -m glupy._build
# not installed as features/glupy: the tests load this tree's bridge by relative path
$V -c 'import sys, glupy._core as core
assert core.FREE_THREADED and not sys._is_gil_enabled(), "the GIL came back"'

[ "${1:-}" = --build-only ] && exit 0

echo "== pytest (free-threaded)"
rc=0
$V -m pytest -q -p no:cacheprovider tests/bridge tests/faults tests/conformance tests/stress \
    tests/unit/test_latefrees.py -k "not crypt" "$@" \
    || rc=$?
[ "$rc" -eq 5 ] && { echo "free-threaded.sh: pytest collected no tests" >&2; rc=1; }
exit "$rc"
