#!/bin/bash
# (as run on 2026-12-05: VOL is a volfile in /tmp/prof, as ../2026-12-05-crypt-reads-names/callgrind_phase.sh says)
# cg_io.sh VOL N TAG rw|seq -> instructions per I/O, counted only around the loop:
#   rw:  4 KiB O_DIRECT random preadv/pwritev, in turn, on a 16 MiB file
#   seq: 1 MiB O_DIRECT sequential pwritev (FUSE sends 8 x 128 KiB)
vol=$1; n=$2; tag=$3; mode=$4
rm -rf /tmp/prof/src; mkdir -p /tmp/prof/src /tmp/prof/mnt
PYTHONHASHSEED=0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/prof/cg.$tag.out glusterfs -N -f /tmp/prof/$vol -l /tmp/prof/cg-$tag.log /tmp/prof/mnt >/dev/null 2>/tmp/prof/cg-$tag.vg &
vpid=$!
for i in $(seq 120); do grep -q " /tmp/prof/mnt fuse" /proc/mounts && break; sleep 0.5; done
for i in $(seq 120); do stat /tmp/prof/mnt >/dev/null 2>&1 && break; sleep 0.5; done
python3 - "$n" "$vpid" "$mode" <<'PY'
import os, sys, subprocess, random, mmap
n, vpid, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
p = "/tmp/prof/mnt/f"
size = 4096 if mode == "rw" else 1 << 20
buf = mmap.mmap(-1, size); buf.write(b"w" * size)
if mode == "rw":
    with open(p, "wb") as f:
        for i in range(16): f.write(b"s" * (1 << 20))
    rnd = random.Random(1)
    offs = [rnd.randrange(4096) * 4096 for _ in range(n)]
else:
    offs = [i * size for i in range(n)]
fd = os.open(p, os.O_CREAT | os.O_RDWR | os.O_DIRECT, 0o644)
if mode == "rw":
    for o in offs[:50]: os.preadv(fd, [buf], o)
subprocess.run(["callgrind_control", "-i", "on", vpid], capture_output=True)
for i, o in enumerate(offs):
    if mode == "seq" or i % 2: os.pwritev(fd, [buf], o)
    else: os.preadv(fd, [buf], o)
subprocess.run(["callgrind_control", "-i", "off", vpid], capture_output=True)
os.close(fd)
PY
umount /tmp/prof/mnt; wait $vpid
total=$(grep "Collected :" /tmp/prof/cg-$tag.vg | awk "{print \$NF}" | sort -n | tail -1)
echo "$tag: total $total per $mode I/O $((total / n))"
