#!/bin/bash
# (as run on 2026-12-05: VOL is a volfile in /tmp/prof, bench/run.py --keep's graph.vol with
# its posix directory moved to /tmp/prof/src; see NOTES.md)
# usage: callgrind_phase.sh VOL N TAG create|unlink
#   -> instructions per file of that phase of the small-file workload (callgrind counts
#      only while the phase runs: --instr-atstart=no, callgrind_control -i on/off)
vol=$1; n=$2; tag=$3; phase=$4
rm -rf /tmp/prof/src; mkdir -p /tmp/prof/src /tmp/prof/mnt
PYTHONHASHSEED=0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/prof/cg.$tag.out glusterfs -N -f /tmp/prof/$vol -l /tmp/prof/cg-$tag.log /tmp/prof/mnt >/dev/null 2>/tmp/prof/cg-$tag.vg &
vpid=$!
for i in $(seq 120); do grep -q " /tmp/prof/mnt fuse" /proc/mounts && break; sleep 0.5; done
for i in $(seq 120); do stat /tmp/prof/mnt >/dev/null 2>&1 && break; sleep 0.5; done
python3 - "$n" "$vpid" "$phase" <<'PY'
import os, sys, subprocess
n, vpid, phase = int(sys.argv[1]), sys.argv[2], sys.argv[3]
mp = "/tmp/prof/mnt"
d = os.path.join(mp, "meta"); os.mkdir(d)
names = [os.path.join(d, f"f{i:06d}") for i in range(n)]
def count(on):
    subprocess.run(["callgrind_control", "-i", "on" if on else "off", vpid], capture_output=True)
count(phase == "create")
for p in names:
    fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644); os.write(fd, b"g" * 4096); os.close(fd)
count(False)
if phase == "unlink":
    open("/proc/sys/vm/drop_caches", "w").write("2")
    for p in names: os.stat(p)
    count(True)
    for p in names: os.unlink(p)
    count(False)
PY
umount /tmp/prof/mnt; wait $vpid
total=$(grep "Collected :" /tmp/prof/cg-$tag.vg | awk "{print \$NF}" | sort -n | tail -1)
echo "$tag: total $total per $phase $((total / n))"
