#!/usr/bin/env bash
# A root of the other Debian release, to run the project's commands on it.
#
#   .ci/release-root.sh [--release bookworm|trixie] [--keep DIR] SRC CMD...
#
# Builds (or reuses the cached base of) a debootstrap root of the release that
# this machine is not (Debian 12 -> trixie, Debian 13 -> bookworm), copies the
# tracked and untracked-but-not-ignored files of SRC into /src inside it, and
# runs CMD there (as root, cwd /src) in a private mount namespace with /proc,
# /sys and /dev bound in.  Every bind, FUSE mount and network-namespace mount
# made inside lives in that namespace and disappears with it; processes left
# behind in the root are killed on every exit path.
#
# The base root (debootstrap + trust store + pip configuration) is cached as a
# tarball in $GLUPY_ROOT_CACHE (default /var/cache/glupy-ci); each run unpacks
# it into a fresh directory, so runs never see each other's state.
set -euo pipefail

CACHE=${GLUPY_ROOT_CACHE:-/var/cache/glupy-ci}
RELEASE=""
KEEP=""
while [ $# -gt 0 ]; do
    case "$1" in
        --release) RELEASE=$2; shift 2 ;;
        --keep) KEEP=$2; shift 2 ;;
        *) break ;;
    esac
done
if [ $# -lt 2 ]; then
    echo "usage: $0 [--release bookworm|trixie] [--keep DIR] SRC CMD..." >&2
    exit 2
fi
SRC=$(cd "$1" && pwd)
shift

if [ "$(id -u)" -ne 0 ]; then echo "release-root.sh: run as root" >&2; exit 1; fi

if [ -z "$RELEASE" ]; then
    case "$(cut -d. -f1 /etc/debian_version)" in
        12) RELEASE=trixie ;;
        13) RELEASE=bookworm ;;
        *) echo "release-root.sh: this is not Debian 12 or 13 ($(cat /etc/debian_version))" >&2
           exit 1 ;;
    esac
fi
case "$RELEASE" in
    bookworm|trixie) ;;
    *) echo "release-root.sh: unsupported release $RELEASE (bookworm or trixie)" >&2; exit 1 ;;
esac

# The mirror this machine's own apt uses.
MIRROR=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1)
if [ -z "$MIRROR" ]; then
    MIRROR=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
MIRROR=${MIRROR:-http://deb.debian.org/debian}

command -v debootstrap >/dev/null || {
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; }

mkdir -p "$CACHE"
BASE=$CACHE/$RELEASE-base.tar
if [ ! -s "$BASE" ]; then
    echo "== debootstrap $RELEASE from $MIRROR"
    BUILD=$(mktemp -d "$CACHE/$RELEASE-build.XXXXXX")
    trap 'rm -rf "$BUILD"' EXIT
    debootstrap --variant=minbase --include=ca-certificates "$RELEASE" "$BUILD" "$MIRROR"
    cat > "$BUILD/etc/apt/sources.list" <<EOF
deb $MIRROR $RELEASE main
deb $MIRROR $RELEASE-updates main
deb http://deb.debian.org/debian-security $RELEASE-security main
EOF
    # services must not start at package install time: the tests start their own
    printf '#!/bin/sh\nexit 101\n' > "$BUILD/usr/sbin/policy-rc.d"
    chmod 755 "$BUILD/usr/sbin/policy-rc.d"
    tar -C "$BUILD" -cf "$BASE.tmp" .
    mv "$BASE.tmp" "$BASE"
    rm -rf "$BUILD"
    trap - EXIT
fi

if [ -n "$KEEP" ]; then
    ROOT=$KEEP
    mkdir -p "$ROOT"
    [ -e "$ROOT/etc/debian_version" ] || tar -C "$ROOT" -xf "$BASE"
else
    ROOT=$(mktemp -d "$CACHE/$RELEASE-run.XXXXXX")
    tar -C "$ROOT" -xf "$BASE"
fi

kill_root_processes() {
    local pid n=0
    for _ in 1 2 3 4 5; do
        n=0
        for pid in $(ls /proc | grep -E '^[0-9]+$'); do
            [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT" ] || continue
            kill -9 "$pid" 2>/dev/null && n=$((n + 1))
        done
        [ "$n" -eq 0 ] && return 0
        sleep 1
    done
}
cleanup() {
    local rc=$?
    set +e
    kill_root_processes
    # binds live in the private namespace; this catches anything that leaked to ours
    grep -o " $ROOT[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
    [ -n "$KEEP" ] || rm -rf --one-file-system "$ROOT"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the machine's trust store, pip configuration, resolver and host names (glusterd resolves
# `hostname` to decide that a brick is local)
mkdir -p "$ROOT/usr/local/share/ca-certificates" "$ROOT/etc/xdg"
cp -a /usr/local/share/ca-certificates/. "$ROOT/usr/local/share/ca-certificates/" 2>/dev/null || true
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$ROOT/etc/pip.conf"
[ -d /etc/xdg/pip ] && rm -rf "$ROOT/etc/xdg/pip" && cp -a /etc/xdg/pip "$ROOT/etc/xdg/pip"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
cp -L /etc/hosts "$ROOT/etc/hosts"

echo "== sources into $ROOT/src"
# a kept root keeps its venv; everything else is this tree's (no files of an earlier copy)
if [ -n "$KEEP" ] && [ -d "$ROOT/src" ]; then
    find "$ROOT/src" -mindepth 1 -maxdepth 1 ! -name .venv -exec rm -rf {} +
else
    rm -rf "$ROOT/src"
fi
mkdir -p "$ROOT/src"
(cd "$SRC" && git ls-files -z -co --exclude-standard | xargs -0 -r tar -cf - --ignore-failed-read 2>/dev/null) \
    | tar -C "$ROOT/src" -xf -
[ -d "$SRC/.git" ] && cp -a "$SRC/.git" "$ROOT/src/.git"

echo "== running in $RELEASE: $*"
# shellcheck disable=SC2016
unshare --mount --propagation private -- /bin/bash -c '
    set -e
    ROOT=$1; shift
    mount --bind "$ROOT" "$ROOT"  # "/" inside is a mount point, as on a machine
    mount --rbind /proc "$ROOT/proc"
    mount --rbind /sys "$ROOT/sys"
    mount --rbind /dev "$ROOT/dev"
    mount -t tmpfs tmpfs "$ROOT/run"
    exec chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb CI="${CI:-}" \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        GLUPY_SLOW="${GLUPY_SLOW:-}" /bin/bash -c "update-ca-certificates >/dev/null 2>&1 || true; cd /src && \"\$@\"" bash "$@"
' bash "$ROOT" "$@"
