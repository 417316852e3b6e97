#!/usr/bin/env bash
# What an administrator does with the glupy Debian package, on a machine with no glupy
# checkout.  scripts/test-package.sh runs this as root inside a fresh debootstrap root
# with only the .deb (./glupy_*.deb) next to it; it is not meant for a real machine
# (it installs and removes packages and runs a glusterd).
#
#  1. apt install ./glupy_*.deb (with glusterfs-server and -client from Debian)
#  2. glupy --version; the package's files (bridge, filter, man page)
#  3. the demo: glupy mount of glupy.library.audit, a few file operations, the records
#  4. an author's package (glupy new) installed with pip: glupy check, then mounted
#  5. a one-peer glusterd volume (in its own network namespace): glupy attach of
#     glupy.library.audit on the client side, a FUSE mount, the records, glupy status,
#     glupy detach
#  6. apt remove, then purge: nothing of glupy left, and the volume still serves
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGDIR=$(pwd)
DEB=$(ls "$PKGDIR"/glupy_*.deb)
T=$(mktemp -d /tmp/smoke.XXXXXX)
step() { echo; echo "=== $*"; }
fail() { echo "package-smoke: FAILED: $*" >&2; exit 1; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local limit=$1 what=$2 i
    shift 2
    for ((i = 0; i < limit * 5; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    fail "timed out waiting for $what"
}

step "1. apt install ./$(basename "$DEB")"
apt-get update -q >/dev/null
apt-get install -y -q "./$(basename "$DEB")" glusterfs-server glusterfs-client python3-pip python3-setuptools \
    iproute2 procps psmisc attr man-db >"$T/apt.log" 2>&1 || { tail -n 40 "$T/apt.log"; fail "apt install"; }
dpkg -s glupy | grep -E '^(Version|Depends):'
[ ! -e /src/glupy ] && [ ! -e /src/setup.py ] || fail "a glupy checkout is present"
GFS=$(glusterfs --version | sed -n '1s/^glusterfs \([^ ]*\).*/\1/p')
XLATORDIR=$(glusterfs --print-xlatordir)

step "2. glupy --version and the installed files"
glupy --version | tee "$T/version"
grep -q "built for GlusterFS $GFS and Python .* (/usr/bin/python3)" "$T/version" || fail "--version"
! grep -q MISMATCH "$T/version" || fail "bridge/GlusterFS mismatch"
[ -f "$XLATORDIR/features/glupy.so" ] && [ ! -L "$XLATORDIR/features/glupy.so" ] || fail "bridge not a file"
[ -x "$XLATORDIR/../filter/glupy-filter" ] || fail "no volfile filter"
python3 -c 'import glupy, sys; sys.exit(glupy.__file__ != "/usr/lib/python3/dist-packages/glupy/__init__.py")' \
    || fail "glupy is not the system python3's package"
man -w glupy >/dev/null || fail "no man page"
man glupy 2>/dev/null | grep -q "glupy attach" || fail "man page without the commands"
glupy install | tee "$T/install"
grep -q "already installed" "$T/install" || fail "glupy install"

step "3. the demo: glupy mount -t glupy.library.audit"
mkdir -p "$T/demo/data" "$T/demo/mnt"
glupy volfile -t glupy.library.audit "$T/demo/data" | grep -q "type features/glupy" \
    || fail "the volfile does not use features/glupy"
glupy mount -t glupy.library.audit -o log-file="$T/demo/audit.jsonl" "$T/demo/data" "$T/demo/mnt"
mkdir "$T/demo/mnt/docs"
echo "hello from the glupy package" > "$T/demo/mnt/docs/hello.txt"
cat "$T/demo/mnt/docs/hello.txt"
mv "$T/demo/mnt/docs/hello.txt" "$T/demo/mnt/docs/greeting.txt"
ls -l "$T/demo/mnt/docs"
! stat "$T/demo/mnt/missing" 2>/dev/null
rm "$T/demo/mnt/docs/greeting.txt"
glupy ps
glupy umount "$T/demo/mnt"
for fop in mkdir create rename unlink; do
    grep -q "\"$fop\"" "$T/demo/audit.jsonl" || fail "no $fop record in the audit log"
done
echo "audit records: $(wc -l < "$T/demo/audit.jsonl")"; tail -n 3 "$T/demo/audit.jsonl"

step "4. an author's package installed with pip"
(cd "$T" && glupy new my-translator)
python3 -m pip install -q --break-system-packages --no-build-isolation "$T/my-translator" 2>&1 \
    | grep -v -e "Location 'file:" -e "running pip as the 'root' user" || true
rm -rf "$T/my-translator"  # from here on only the pip-installed copy exists
(cd / && glupy check my_translator.translator) | tee "$T/check"
grep -q "MyTranslator" "$T/check" || fail "glupy check"
mkdir -p "$T/author/data" "$T/author/mnt"
echo visible > "$T/author/data/a.txt"
echo hidden > "$T/author/data/b.secret"
glupy mount -t my_translator.translator:MyTranslator -o suffix=.secret "$T/author/data" "$T/author/mnt"
[ -f "$T/author/mnt/a.txt" ] && [ ! -e "$T/author/mnt/b.secret" ] || fail "the author's translator did not run"
echo "through the author's translator: a.txt found, b.secret: $(stat "$T/author/mnt/b.secret" 2>&1 | sed 's/.*: //')"
glupy umount "$T/author/mnt"
python3 -m pip uninstall -q -y --break-system-packages my-translator 2>&1 | grep -v "Location 'file:" || true

step "5. a one-peer glusterd volume: glupy attach / status / detach"
# glusterd, bricks and mounts live in their own network namespace (127.1.1.1 on its lo)
unshare --net -- bash -euo pipefail -c '
T=$1; GFS=$2; PKGDIR=$3
fail() { echo "package-smoke: FAILED: $*" >&2; exit 1; }
wait_for() { local limit=$1 what=$2 i; shift 2
    for ((i = 0; i < limit * 5; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    fail "timed out waiting for $what"; }
ip link set lo up
glusterd --xlator-option management.transport.socket.bind-address=127.1.1.1 --pid-file=$T/glusterd.pid
G="gluster --mode=script"
wait_for 30 glusterd $G pool list
mkdir -p /srv/bricks
$G volume create gv0 127.1.1.1:/srv/bricks/b1 force
$G volume start gv0
wait_for 60 "the brick" bash -c "$G volume status gv0 | grep -q \"^Brick.* Y \""
glupy attach gv0 glupy.library.audit --side client --name audit -o log-file=$T/gv0-audit.jsonl
grep -q "type features/glupy" /var/lib/glusterd/vols/gv0/gv0.tcp-fuse.vol || fail "volfile without glupy"
mkdir -p $T/gv0
mount -t glusterfs 127.1.1.1:/gv0 $T/gv0
wait_for 30 "the mount" test -d $T/gv0/.meta/graphs/active/gv0-glupy-audit
echo "written through glupy" > $T/gv0/before.txt
cat $T/gv0/before.txt
wait_for 10 "audit records" grep -q before.txt $T/gv0-audit.jsonl
echo "audit on gv0: $(grep -c . $T/gv0-audit.jsonl) records"
glupy status gv0 | tee $T/status
grep -q "mount $T/gv0 (this host): loaded" $T/status || fail "glupy status: not loaded"
glupy detach gv0 audit
! grep -q "features/glupy" /var/lib/glusterd/vols/gv0/gv0.tcp-fuse.vol || fail "still in the volfile"
wait_for 30 "the graph switch" bash -c "! test -d $T/gv0/.meta/graphs/active/gv0-glupy-audit"

# the link brick-side attach makes on every peer once glusterd inserts brick translators
# itself (user.xlator.glupy-NAME, issue 16): removing the package removes it too
XD=$(glusterfs --print-xlatordir)
mkdir -p "$XD/user" && ln -s "$XD/features/glupy.so" "$XD/user/glupy-audit.so"

echo; echo "=== 6. apt remove glupy, then purge"
apt-get remove -y -q glupy >/dev/null 2>&1
dpkg -s glupy 2>/dev/null | grep "^Status" || true
echo "before purge: $(ls -d /run/glupy 2>/dev/null || echo "no /run/glupy")"
apt-get purge -y -q glupy >/dev/null 2>&1
dpkg -s glupy >/dev/null 2>&1 && fail "glupy still known to dpkg"
test ! -e /usr/bin/glupy || fail "/usr/bin/glupy left"
test ! -e "$(glusterfs --print-xlatordir)/features/glupy.so" || fail "bridge left"
test ! -e "$(glusterfs --print-xlatordir)/../filter/glupy-filter" || fail "filter left"
python3 -c "import glupy" 2>/dev/null && fail "import glupy still works"
test ! -e "$XD/user" || fail "the user/ translator directory glupy made is left"
left=$(find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path "$T" -o -path "$PKGDIR" \) -prune -o \
       -iname "*glupy*" -print 2>/dev/null || true)
[ -z "$left" ] || { echo "$left"; fail "files left behind"; }
echo "nothing named *glupy* left outside the test directory $T"
# the volume still serves: the running mount, and after a restart of everything
echo "written after removal" > $T/gv0/after.txt
cat $T/gv0/before.txt $T/gv0/after.txt
umount $T/gv0
$G volume stop gv0
$G volume start gv0
wait_for 60 "the brick" bash -c "$G volume status gv0 | grep -q \"^Brick.* Y \""
mount -t glusterfs 127.1.1.1:/gv0 $T/gv0
wait_for 30 "the mount" test -f $T/gv0/before.txt
cat $T/gv0/before.txt $T/gv0/after.txt
echo "served again" > $T/gv0/again.txt && cat $T/gv0/again.txt
umount $T/gv0
$G volume stop gv0
kill "$(cat $T/glusterd.pid)"
' bash "$T" "$GFS" "$PKGDIR"
echo
echo "package-smoke: passed"
