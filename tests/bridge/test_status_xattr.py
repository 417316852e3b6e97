"""getxattr glupy.status: every glupy translator answers it for its process, whatever
fops its class defines; other names still reach the translator or its child."""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import pytest

from glupy.runtime.procstatus import STATUS_XATTR
from glupy.runtime.security import REDACTED

FAILING = '''
from glupy import Translator, Option

class Failing(Translator):
    secret_word = Option(str, default="hush", secret=True)

    async def statfs(self, loc, xdata):
        raise RuntimeError("boom in statfs")
'''


def test_every_translator_answers_for_its_process(glupy_mount, tmp_path: Path) -> None:
    (tmp_path / "failing_xl.py").write_text(FAILING)
    before = time.time()
    m = glupy_mount([("glupy.library.readonly", {}), ("failing_xl:Failing", {})],
                    python_path=[tmp_path])
    os.setxattr(m.backend_dir, "user.kept", b"yes")

    status = json.loads(os.getxattr(m.mountpoint, STATUS_XATTR))
    assert status["pid"] > 0 and status["python"] and status["glupy"]
    by_module = {t["module"]: t for t in status["translators"]}
    assert set(by_module) == {"glupy.library.readonly", "failing_xl:Failing"}
    ro = by_module["glupy.library.readonly"]
    assert ro["class"] == "ReadOnly" and sorted(ro["fops"]) == ["fxattrop", "xattrop"]
    assert "writev" in ro["refused_in_c"] and "getxattr" not in ro["refused_in_c"]
    assert ro["loaded_at"] >= before - 1 and ro["errors"] == 0

    # other names pass through (readonly does not define getxattr: its child answers)
    assert os.getxattr(m.mountpoint, "user.kept") == b"yes"

    # a translator that raises: the fop fails with EIO, the process status counts it
    with pytest.raises(OSError) as failed:
        os.statvfs(m.mountpoint)
    assert failed.value.errno == errno.EIO
    failing = next(t for t in json.loads(os.getxattr(m.mountpoint, STATUS_XATTR))["translators"]
                   if t["module"] == "failing_xl:Failing")
    assert failing["errors"] >= 1 and "boom in statfs" in failing["last_error"], failing
    assert failing["options"]["secret-word"] == repr(REDACTED)  # never shown
    assert "hush" not in json.dumps(status)
