#!/usr/bin/env bash
# Proof that the glupy Debian package works without a checkout (run as root):
#
#   bash scripts/test-package.sh [--keep-deb DIR] [--release bookworm|trixie]
#
#  1. builds the .deb for this machine's Debian release (or --release's) with scripts/build-deb.sh
#     inside a fresh debootstrap root of that release (.ci/release-root.sh), so this
#     machine gets no build dependencies;
#  2. in a second fresh root of the same release, with only the .deb copied in,
#     runs scripts/package-smoke.sh: apt install ./glupy_*.deb, the demo mount, an
#     author's package installed with pip (glupy check, mounted), glupy attach on a
#     one-peer glusterd volume, then apt remove/purge: nothing left, the volume serves;
#  3. in a root of the other release, apt refuses the .deb (another GlusterFS).
# Both roots are deleted afterwards; the base root stays cached by release-root.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
KEEP_DEB=""
. /etc/os-release
RELEASE=${VERSION_CODENAME:-}
while [ $# -gt 0 ]; do
    case "$1" in
        --keep-deb) KEEP_DEB=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
        --release) RELEASE=$2; shift 2 ;;
        *) echo "usage: $0 [--keep-deb DIR] [--release bookworm|trixie]" >&2; exit 2 ;;
    esac
done
if [ "$(id -u)" -ne 0 ]; then echo "test-package.sh: run as root" >&2; exit 1; fi
case "$RELEASE" in
    bookworm|trixie) ;;
    *) echo "test-package.sh: ${PRETTY_NAME:-this system} is not Debian 12 or 13" >&2; exit 1 ;;
esac
CACHE=${GLUPY_ROOT_CACHE:-/var/cache/glupy-ci}
mkdir -p "$CACHE"
BUILDROOT=$(mktemp -d "$CACHE/$RELEASE-pkgbuild.XXXXXX")
PKG=$(mktemp -d /tmp/glupy-pkg.XXXXXX)
trap 'rm -rf --one-file-system "$BUILDROOT" "$PKG"' EXIT
start=$SECONDS

echo "=== 1. build the .deb in a fresh $RELEASE root"
.ci/release-root.sh --release "$RELEASE" --keep "$BUILDROOT" . bash scripts/build-deb.sh /src/dist
cp "$BUILDROOT"/src/dist/glupy_*.deb "$PKG/"
rm -rf --one-file-system "$BUILDROOT"
[ -z "$KEEP_DEB" ] || cp "$PKG"/glupy_*.deb "$KEEP_DEB/"
built=$((SECONDS - start))
echo "=== built $(cd "$PKG" && ls glupy_*.deb) in $built s"

echo "=== 2. install and use it in a second fresh $RELEASE root (no checkout)"
cp scripts/package-smoke.sh "$PKG/"
git -C "$PKG" init -q  # release-root.sh copies a directory's files through git
.ci/release-root.sh --release "$RELEASE" "$PKG" bash package-smoke.sh
used=$((SECONDS - start - built))

OTHER=$([ "$RELEASE" = bookworm ] && echo trixie || echo bookworm)
echo "=== 3. apt refuses this .deb on $OTHER (another GlusterFS release)"
# shellcheck disable=SC2016
.ci/release-root.sh --release "$OTHER" "$PKG" bash -c '
    apt-get update -q >/dev/null
    if out=$(apt-get install -s ./glupy_*.deb 2>&1); then
        echo "$out"; echo "test-package: FAILED: apt would install it on $(cat /etc/debian_version)"; exit 1
    fi
    echo "$out" | sed -n "/following packages have unmet dependencies/,\$p"
    echo "$out" | grep -q "Depends: glusterfs-common" || { echo "$out"; exit 1; }'
echo "=== test-package: passed in $((SECONDS - start)) s (build $built s, install and use $used s)"
