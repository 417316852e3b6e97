#!/usr/bin/env bash
# Mount a demo directory through a glupy library translator, touch some files, show what
# the translator saw, unmount. Run as root after scripts/setup.sh.
#   GLUPY_DEMO_TRANSLATOR  module[:Class] to use   (default: glupy.library.audit)
#   GLUPY_DEMO_OPTIONS     "KEY=VALUE ..." options for it
set -euo pipefail
cd "$(dirname "$0")/.."
GLUPY=$(pwd)/.venv/bin/glupy
if [ "$(id -u)" -ne 0 ]; then echo "demo.sh: run as root" >&2; exit 1; fi
if [ ! -x "$GLUPY" ]; then echo "demo.sh: run scripts/setup.sh first" >&2; exit 1; fi

TRANSLATOR=${GLUPY_DEMO_TRANSLATOR:-glupy.library.audit}
DEMO=$(mktemp -d /tmp/glupy-demo.XXXXXX)
mkdir -p "$DEMO/data" "$DEMO/mnt"
STATE=$DEMO/state
cleanup() {
    if grep -qs " $DEMO/mnt fuse" /proc/mounts; then
        "$GLUPY" umount --state-dir "$STATE" "$DEMO/mnt" || umount -l "$DEMO/mnt" || true
    fi
}
trap cleanup EXIT

DEFAULT_OPTIONS=""
if [ "$TRANSLATOR" = glupy.library.audit ]; then
    DEFAULT_OPTIONS="log-file=$DEMO/audit.jsonl"
fi
args=(-t "$TRANSLATOR")
for opt in ${GLUPY_DEMO_OPTIONS:-$DEFAULT_OPTIONS}; do args+=(-o "$opt"); done

echo "\$ glupy mount ${args[*]} $DEMO/data $DEMO/mnt"
out=$("$GLUPY" mount --state-dir "$STATE" "${args[@]}" "$DEMO/data" "$DEMO/mnt")
echo "$out"
LOG=$(sed -n 's/^log: //p' <<<"$out")

echo
echo "== file operations on the mount"
set -x
mkdir "$DEMO/mnt/docs"
echo "hello from glupy" > "$DEMO/mnt/docs/hello.txt"
cat "$DEMO/mnt/docs/hello.txt"
mv "$DEMO/mnt/docs/hello.txt" "$DEMO/mnt/docs/greeting.txt"
ls -l "$DEMO/mnt/docs"
stat "$DEMO/mnt/missing" 2>&1 || true
rm "$DEMO/mnt/docs/greeting.txt"
{ set +x; } 2>/dev/null

echo
echo "== what reached the backing directory ($DEMO/data)"
find "$DEMO/data" -path "$DEMO/data/.glusterfs" -prune -o -print
echo
echo "== what the translator logged ($LOG)"
grep -E '\] [A-Z] \[[^]]*\] [0-9]+-glupy-' "$LOG" | grep -v -- '-glupy-posix' | tail -n 40 || echo "(nothing)"
sleep 0.5  # the audit writer thread is asynchronous
for f in "$DEMO"/*.jsonl "$DEMO"/data/*audit* "$STATE"/*/*audit*; do
    [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }
done

echo
echo "\$ glupy umount $DEMO/mnt"
"$GLUPY" umount --state-dir "$STATE" "$DEMO/mnt"
echo "demo files left in $DEMO"
