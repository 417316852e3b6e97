#!/bin/bash
# (as run on 2026-12-05: VOL is a volfile in /tmp/prof, as ../2026-12-05-crypt-reads-names/callgrind_phase.sh says)
# cg_rw.sh VOL N TAG: instructions per 4 KiB O_DIRECT random pread/pwrite (in turn) of a 16 MiB file
vol=$1; n=$2; tag=$3
rm -rf /tmp/prof/src; mkdir -p /tmp/prof/src /tmp/prof/mnt
PYTHONHASHSEED=0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/prof/cg.$tag.out glusterfs -N -f /tmp/prof/$vol -l /tmp/prof/cg-$tag.log /tmp/prof/mnt >/dev/null 2>/tmp/prof/cg-$tag.vg &
vpid=$!
for i in $(seq 120); do grep -q " /tmp/prof/mnt fuse" /proc/mounts && break; sleep 0.5; done
for i in $(seq 120); do stat /tmp/prof/mnt >/dev/null 2>&1 && break; sleep 0.5; done
python3 - "$n" "$vpid" <<'PY'
import os, sys, subprocess, random, mmap
n, vpid = int(sys.argv[1]), sys.argv[2]
p = "/tmp/prof/mnt/f"
fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
for i in range(16): os.write(fd, b"s" * (1 << 20))
os.close(fd)
fd = os.open(p, os.O_RDWR | os.O_DIRECT)
buf = mmap.mmap(-1, 4096); buf.write(b"r" * 4096)
rnd = random.Random(1)
offs = [rnd.randrange(4096) * 4096 for _ in range(n)]
for o in offs[:50]: os.preadv(fd, [buf], o)
subprocess.run(["callgrind_control", "-i", "on", vpid], capture_output=True)
for i, o in enumerate(offs):
    if i % 2: os.pwritev(fd, [buf], o)
    else: os.preadv(fd, [buf], o)
subprocess.run(["callgrind_control", "-i", "off", vpid], capture_output=True)
os.close(fd)
PY
umount /tmp/prof/mnt; wait $vpid
total=$(grep "Collected :" /tmp/prof/cg-$tag.vg | awk "{print \$NF}" | sort -n | tail -1)
echo "$tag: total $total per rw $((total / n))"
