#!/usr/bin/env bash
# Build the glupy Debian package for this machine's Debian release and GlusterFS
# (Debian 12: GlusterFS 10.3, Debian 13: GlusterFS 11.1), from Debian's own packages.
#
#   bash scripts/build-deb.sh [OUTDIR]        # default OUTDIR: dist/
#
# Run as root on a build machine of the release the package is for (it installs the
# build dependencies: debhelper, dh-python, libglusterfs-dev, python3-dev, lintian ...);
# scripts/test-package.sh runs it in a fresh debootstrap root instead.  The package
# depends on the exact GlusterFS release it was built for; lintian must report no
# errors.  Prints the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
OUT=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)

if [ "$(id -u)" -ne 0 ]; then echo "build-deb.sh: run as root" >&2; exit 1; fi
. /etc/os-release
case "${ID:-}:${VERSION_ID:-}" in
    debian:12|debian:13) ;;
    *) echo "build-deb.sh: ${PRETTY_NAME:-this system} is not Debian 12 or 13" >&2; exit 1 ;;
esac
export DEBIAN_FRONTEND=noninteractive

echo "== build dependencies"
apt-get update -q
apt-get install -y -q --no-install-recommends build-essential lintian >/dev/null
apt-get build-dep -y -q "$SRC" >/dev/null

VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' glupy/__init__.py)+deb${VERSION_ID}
GFS=$(pkg-config --modversion glusterfs-api | sed 's/^7\.//')
BUILD=$(mktemp -d /tmp/glupy-deb.XXXXXX)
trap 'rm -rf "$BUILD"' EXIT
echo "== glupy $VERSION for GlusterFS $GFS, Python $(/usr/bin/python3 -V | cut -d' ' -f2), in $BUILD"
mkdir "$BUILD/glupy-$VERSION"
tar -C "$SRC" --exclude=./.git --exclude=./.venv --exclude=./dist --exclude=./build \
    --exclude='*.egg-info' --exclude=__pycache__ --exclude='*.so' --exclude=build-info.json \
    --exclude=.pytest_cache --exclude=.ruff_cache --exclude=.mypy_cache --exclude=.hypothesis \
    -cf - . | tar -C "$BUILD/glupy-$VERSION" -xf -
cd "$BUILD/glupy-$VERSION"
# the changelog carries the version: one package per Debian release
cat > debian/changelog <<CHANGELOG
glupy ($VERSION) ${VERSION_CODENAME}; urgency=medium

  * glupy $VERSION for Debian $VERSION_ID (GlusterFS $GFS).

 -- glupy developers <glupy@example.org>  $(date -R -d "@$(git -C "$SRC" log -1 --format=%ct 2>/dev/null || date +%s)")
CHANGELOG

echo "== dpkg-buildpackage"
dpkg-buildpackage -b -us -uc >"$BUILD/build.log" 2>&1 || { tail -n 60 "$BUILD/build.log"; exit 1; }
DEB=$(ls "$BUILD"/glupy_"$VERSION"_*.deb)

echo "== lintian $(basename "$DEB")"
lintian --fail-on error --tag-display-limit 0 "$DEB"

cp "$DEB" "$OUT/"
echo "built $OUT/$(basename "$DEB")"
