#!/bin/bash
# (as run on 2026-12-05: VOL is a volfile in /tmp/prof: none.vol = storage/posix on /tmp/prof/src;
#  cpt.vol = bench/c_passthrough above it; pt.vol / ho.vol = features/glupy (PassThrough, hand-off off / on))
# cost.sh VOL N MODE(rw|stat) -> glusterfs task-clock, context switches, page faults per op
# GFOPTS=--direct-io-mode=enable BUFFERED=1: the loop opens without O_DIRECT (the brick then reads and writes its page cache)
# STRACE=1: strace -c of glusterfs instead of perf stat; COUNT=1: print PassThrough counters
vol=$1; n=$2; mode=$3
rm -rf /tmp/prof/src; mkdir -p /tmp/prof/src /tmp/prof/mnt
glusterfs -N $GFOPTS -f /tmp/prof/$vol -l /tmp/prof/cs.log /tmp/prof/mnt &
gpid=$!
for i in $(seq 120); do grep -q " /tmp/prof/mnt fuse" /proc/mounts && break; sleep 0.2; done
for i in $(seq 120); do stat /tmp/prof/mnt >/dev/null 2>&1 && break; sleep 0.2; done
python3 - "$n" "$gpid" "$mode" "$vol" <<'PY'
import os, sys, subprocess, random, mmap, signal, time
n, gpid, mode, vol = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
p = "/tmp/prof/mnt/f"
buf = mmap.mmap(-1, 4096); buf.write(b"w" * 4096)
with open(p, "wb") as f:
    for i in range(16): f.write(b"s" * (1 << 20))
rnd = random.Random(1)
offs = [rnd.randrange(4096) * 4096 for _ in range(n)]
fd = os.open(p, os.O_RDWR | (0 if os.environ.get("BUFFERED") else os.O_DIRECT))
for o in offs[:500]: os.preadv(fd, [buf], o)
ev = "task-clock,context-switches,page-faults,cpu-migrations"
if os.environ.get("STRACE"): perf = subprocess.Popen(["strace","-c","-f","-o","/tmp/prof/strace."+vol+"."+mode,"-p",gpid], stderr=subprocess.PIPE, text=True)
else: perf = subprocess.Popen(["perf", "stat", "-x,", "-e", ev, "-p", gpid], stderr=subprocess.PIPE, text=True)
time.sleep(0.5)
t0 = time.perf_counter()
if mode == "rw":
    for i, o in enumerate(offs):
        if i % 2: os.pwritev(fd, [buf], o)
        else: os.preadv(fd, [buf], o)
else:
    for i in range(n):
        try: os.stat(f"/tmp/prof/mnt/missing{i}")
        except FileNotFoundError: pass
wall = time.perf_counter() - t0
time.sleep(0.2)
perf.send_signal(signal.SIGINT)
err = perf.communicate()[1]
vals = {l.split(",")[2]: float(l.split(",")[0]) for l in err.splitlines() if l.count(",") >= 3 and l.split(",")[0].replace(".", "").isdigit()}
os.close(fd)
if os.environ.get("COUNT"):
    print(os.getxattr("/tmp/prof/mnt", "glupy.counters"))
print(f"{vol:9s} {mode}: wall {wall / n * 1e6:6.1f} us/op  cpu {vals.get('task-clock', 0) * 1e3 / n:6.1f} us/op  ctxsw {vals.get('context-switches', 0) / n:.2f}  faults {vals.get('page-faults', 0) / n:.3f}  migr {vals.get('cpu-migrations', 0) / n:.3f}")
PY
umount /tmp/prof/mnt; wait $gpid
