#!/bin/bash
# (as run on 2026-12-05: VOL is a volfile in /tmp/prof: none.vol = storage/posix on /tmp/prof/src;
#  pt.vol / ho.vol = features/glupy (glupy.library.passthrough:PassThrough, hand-off off / on) above it)
# ctxsw.sh VOL N -> glusterfs task-clock and context switches per 4 KiB O_DIRECT random I/O
vol=$1; n=$2
rm -rf /tmp/prof/src; mkdir -p /tmp/prof/src /tmp/prof/mnt
glusterfs -N -f /tmp/prof/$vol -l /tmp/prof/cs.log /tmp/prof/mnt &
gpid=$!
for i in $(seq 120); do grep -q " /tmp/prof/mnt fuse" /proc/mounts && break; sleep 0.2; done
for i in $(seq 120); do stat /tmp/prof/mnt >/dev/null 2>&1 && break; sleep 0.2; done
python3 - "$n" "$gpid" <<'PY'
import os, sys, subprocess, random, mmap, signal, time
n, gpid = int(sys.argv[1]), sys.argv[2]
p = "/tmp/prof/mnt/f"
buf = mmap.mmap(-1, 4096); buf.write(b"w" * 4096)
with open(p, "wb") as f:
    for i in range(16): f.write(b"s" * (1 << 20))
rnd = random.Random(1)
offs = [rnd.randrange(4096) * 4096 for _ in range(n)]
fd = os.open(p, os.O_RDWR | os.O_DIRECT)
for o in offs[:500]: os.preadv(fd, [buf], o)
perf = subprocess.Popen(["perf", "stat", "-x,", "-e", "task-clock,context-switches,cpu-migrations", "-p", gpid],
                        stderr=subprocess.PIPE, text=True)
time.sleep(0.5)
t0 = time.perf_counter()
for i, o in enumerate(offs):
    if i % 2: os.pwritev(fd, [buf], o)
    else: os.preadv(fd, [buf], o)
wall = time.perf_counter() - t0
time.sleep(0.2)
perf.send_signal(signal.SIGINT)
err = perf.communicate()[1]
vals = {l.split(",")[2]: float(l.split(",")[0]) for l in err.splitlines() if l.count(",") >= 3 and l.split(",")[0].replace(".", "").isdigit()}
os.close(fd)
print(f"{sys.argv[0]} wall {wall / n * 1e6:.1f} us/IO  task-clock {vals.get('task-clock', 0) * 1e3 / n:.1f} us/IO  ctxsw {vals.get('context-switches', 0) / n:.2f}/IO  migrations {vals.get('cpu-migrations', 0) / n:.3f}/IO")
PY
umount /tmp/prof/mnt; wait $gpid
