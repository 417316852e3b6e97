#!/bin/bash
# (as run on 2026-12-05: VOL is a volfile in /tmp/prof, as ../2026-12-05-crypt-reads-names/callgrind_phase.sh says)
# rnd2.sh VOL: like rnd.sh pass 1 only, plus vda reads/writes (requests) per fio I/O
mount | grep -q /tmp/prof/mnt && umount /tmp/prof/mnt
rm -rf /tmp/prof/src; mkdir /tmp/prof/src
glusterfs -f /tmp/prof/$1 -l /tmp/prof/gl-rnd.log --pid-file /tmp/prof/gl.pid /tmp/prof/mnt; sleep 1; pid=$(cat /tmp/prof/gl.pid)
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
ds() { awk '$3=="vda"{print $4, $8, $7, $6}' /proc/diskstats; }
fio --name=w --filename=/tmp/prof/mnt/f --rw=write --bs=1M --size=1G --direct=1 --ioengine=psync --output-format=terse >/dev/null
sync; c0=$(cpu); d0=$(ds); fio --name=r --filename=/tmp/prof/mnt/f --rw=randrw --rwmixread=50 --bs=4k --size=1G --direct=1 --ioengine=psync --time_based --runtime=10 --output-format=json > /tmp/prof/r1.json; c1=$(cpu); d1=$(ds)
python3 -c "
import json; j=json.load(open('/tmp/prof/r1.json'))['jobs'][0]; n=j['read']['total_ios']+j['write']['total_ios']
d0='$d0'.split(); d1='$d1'.split()
print('$1', round(j['read']['iops']), round(j['write']['iops']), 'cpu us/io', round(($c1-$c0)*1e4/n,1), 'disk reads/io %.2f writes/io %.2f read ms/io %.3f' % ((int(d1[0])-int(d0[0]))/n, (int(d1[1])-int(d0[1]))/n, (int(d1[2])-int(d0[2]))/n))"
umount /tmp/prof/mnt
