"""kill -USR1 on a glusterfs process that runs glupy translators: its statedump has a
section per translator (module, fops in Python, calls per fop, errors, tasks in flight,
reloads, Python version), from the same description ``glupy status`` reads; a
translator that holds the GIL does not stop the dump."""

from __future__ import annotations

import errno
import json
import os
import platform
import signal
import threading
import time
from pathlib import Path

import pytest

from glupy.runtime.procstatus import STATUS_XATTR
from glupy.runtime.security import REDACTED

# statedump.c reads its options (path=... first) from this per-process file
OPTIONS_DIR = Path("/var/run/gluster")

COUNTING = '''
import ctypes
from glupy import Translator, Lock, Option

class Counting(Translator):
    secret_word = Option(str, default="hush", secret=True)

    def init(self):
        self.gate = Lock()

    async def statfs(self, loc, xdata):
        async with self.gate:  # parked while the test holds the gate
            return await self.child.statfs(loc, xdata)

    async def setxattr(self, loc, xattr, flags, xdata):
        if "user.gate" in xattr:
            if xattr["user.gate"] == b"close":
                await self.gate.acquire()
            else:
                self.gate.release()
            return await self.child.setxattr(loc, xattr, flags, xdata)
        if "user.boom" in xattr:
            raise RuntimeError("boom in setxattr\\nsecond line")
        if "user.hog" in xattr:
            seconds, _, marker = xattr["user.hog"].decode().partition(":")
            open(marker, "w").close()
            # a C call that blocks without releasing the GIL (PyDLL keeps it): never do this
            ctypes.PyDLL("libc.so.6").sleep(int(seconds))
        return await self.child.setxattr(loc, xattr, flags, xdata)
'''


def statedump(pid: int, into: Path, timeout: float = 30.0) -> dict[str, dict[str, str]]:
    """SIGUSR1 to ``pid``, its dump written into a new directory under ``into`` (dumps
    are named by the second); the sections as {key: value}."""
    into.mkdir(parents=True, exist_ok=True)
    into = into / str(len(list(into.iterdir())))
    into.mkdir()
    OPTIONS_DIR.mkdir(parents=True, exist_ok=True)
    options = OPTIONS_DIR / f"glusterdump.{pid}.options"
    options.write_text(f"path={into}\nall=yes\n")
    try:
        os.kill(pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for dump in into.glob(f"*.{pid}.dump.*"):
                text = dump.read_text(errors="replace")
                if "DUMP-END-TIME" in text:
                    return parse(text)
            time.sleep(0.1)
    finally:
        options.unlink(missing_ok=True)
    raise AssertionError(f"no statedump of {pid} in {into} after {timeout} s")


def parse(text: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif "=" in line:
            key, _, value = line.partition("=")
            current[key] = value
    return sections


def glupy_sections(dump: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    return {name: body for name, body in dump.items()
            if name.startswith("xlator.features.glupy.") and name.endswith(".priv")}


def test_statedump_has_a_section_per_glupy_translator(glupy_mount, tmp_path: Path) -> None:
    (tmp_path / "counting_xl.py").write_text(COUNTING)
    m = glupy_mount([("glupy.library.passthrough", {}), ("counting_xl:Counting", {})],
                    python_path=[tmp_path])
    assert m.pid
    dumps = tmp_path / "dumps"

    first = glupy_sections(statedump(m.pid, dumps))
    assert len(first) == 2, sorted(first)
    by_module = {body["module"]: body for body in first.values()}
    counting, top = by_module["counting_xl:Counting"], by_module["glupy.library.passthrough"]
    assert counting["class"] == "Counting"
    assert set(counting["fops"].split(",")) == {"statfs", "setxattr"}
    assert counting["python"] == platform.python_version() and counting["glupy"]
    assert counting["reloads"] == "0" and counting["tasks_in_flight"] == "0"
    assert counting["options.secret-word"] == repr(REDACTED)
    assert not any("hush" in v for body in first.values() for v in body.values())
    assert "writev" in top["fops"].split(",") and top["errors"] == "0"
    statfs_before = int(counting.get("python_calls.statfs", 0))
    setxattr_before = int(counting.get("python_calls.setxattr", 0))

    for _ in range(3):
        os.statvfs(m.mountpoint)
    with pytest.raises(OSError) as failed:
        os.setxattr(m.mountpoint, "user.boom", b"1")
    assert failed.value.errno == errno.EIO

    # a statfs parked on the translator's lock: one task in flight
    os.setxattr(m.mountpoint, "user.gate", b"close")
    parked = threading.Thread(target=os.statvfs, args=(m.mountpoint,))
    parked.start()
    try:
        deadline = time.monotonic() + 10
        while True:
            status = json.loads(os.getxattr(m.mountpoint, STATUS_XATTR))
            mine = next(t for t in status["translators"] if t["module"] == "counting_xl:Counting")
            if mine["tasks_in_flight"] == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        second = {body["module"]: body for body in glupy_sections(statedump(m.pid, dumps)).values()}
    finally:
        os.setxattr(m.mountpoint, "user.gate", b"open")
        parked.join(10)
    assert not parked.is_alive()

    counting = second["counting_xl:Counting"]
    assert int(counting["python_calls.statfs"]) == statfs_before + 4  # 3, and the parked one
    assert int(counting["python_calls.setxattr"]) == setxattr_before + 2  # boom, gate close
    assert counting["tasks_in_flight"] == "1"
    assert counting["errors"] == "1"
    assert "boom in setxattr second line" in counting["last_error"]  # one line
    # the same numbers as glupy status's (one description of the process)
    assert mine["python_calls"]["statfs"] == int(counting["python_calls.statfs"])
    assert mine["errors"] == 1


def test_a_translator_holding_the_gil_does_not_stop_the_dump(glupy_mount, tmp_path: Path) -> None:
    (tmp_path / "counting_xl.py").write_text(COUNTING)
    m = glupy_mount([("counting_xl:Counting", {})], python_path=[tmp_path])
    assert m.pid
    marker = tmp_path / "hogging"
    hog = threading.Thread(target=os.setxattr,
                           args=(m.mountpoint, "user.hog", f"12:{marker}".encode()))
    hog.start()
    try:
        deadline = time.monotonic() + 10
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), m.log_tail()
        dump = statedump(m.pid, tmp_path / "dumps")
    finally:
        hog.join(30)
    (section,) = glupy_sections(dump).values()
    if json.loads(os.getxattr(m.mountpoint, STATUS_XATTR))["gil_enabled"]:
        # written while the hog still held the GIL: what the dump says instead of the lines
        assert section["state"].startswith("Python busy"), section
    else:
        # a free-threaded CPython without the GIL: nothing held the dump back
        assert section["module"] == "counting_xl:Counting" and "state" not in section, section
    # the translator still works afterwards, and a later dump is complete
    os.statvfs(m.mountpoint)
    (section,) = glupy_sections(statedump(m.pid, tmp_path / "dumps")).values()
    assert section["module"] == "counting_xl:Counting" and "state" not in section
