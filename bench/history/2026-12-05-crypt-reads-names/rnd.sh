#!/bin/bash
# (as run on 2026-12-05: VOL is a volfile in /tmp/prof, see callgrind_phase.sh)
# rnd.sh VOL: 1 GiB O_DIRECT seq write, then 2 x 10 s fio randrw direct=1; IOPS and glusterfs CPU per I/O
mount | grep -q /tmp/prof/mnt && umount /tmp/prof/mnt
rm -rf /tmp/prof/src; mkdir /tmp/prof/src
glusterfs -f /tmp/prof/$1 -l /tmp/prof/gl-rnd.log --pid-file /tmp/prof/gl.pid /tmp/prof/mnt; sleep 1; pid=$(cat /tmp/prof/gl.pid)
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
fio --name=w --filename=/tmp/prof/mnt/f --rw=write --bs=1M --size=1G --direct=1 --ioengine=psync --output-format=terse >/dev/null
for pass in 1 2; do c0=$(cpu); fio --name=r --filename=/tmp/prof/mnt/f --rw=randrw --rwmixread=50 --bs=4k --size=1G --direct=1 --ioengine=psync --time_based --runtime=10 --output-format=json > /tmp/prof/r$pass.json; c1=$(cpu); python3 -c "
import json; j=json.load(open('/tmp/prof/r$pass.json'))['jobs'][0]; n=j['read']['total_ios']+j['write']['total_ios']
print('$1 pass $pass', round(j['read']['iops']), round(j['write']['iops']), 'cpu us/io', round(($c1-$c0)*1e4/n,1))"; done
umount /tmp/prof/mnt
