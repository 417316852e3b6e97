"""`glupy attach` of a library cache tells what to set when the volume sends no upcalls
(pure unit test: a fake gluster CLI answering `volume get`)."""

from __future__ import annotations

import subprocess
from typing import Any

from glupy.deploy import ops
from glupy.deploy.config import AttachSpec


class FakeGluster:
    def __init__(self, options: dict[str, str]) -> None:
        self.options = options

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert args[:2] == ("volume", "get")
        key = args[3]
        out = "Option  Value\n------  -----\n"
        if key in self.options:
            out += f"{key}  {self.options[key]}\n"
        return subprocess.CompletedProcess(list(args), 0, out, "")


def warn(options: dict[str, str], module: str = "glupy.library.negative_lookup", side: str = "client",
         **opts: Any) -> list[str]:
    spec = AttachSpec(name="nl", module=module, side=side, options={k: str(v) for k, v in opts.items()})
    return ops.cache_warnings(FakeGluster(options), "gv0", spec)  # type: ignore[arg-type]


OFF = {"features.cache-invalidation": "off", "features.cache-invalidation-timeout": "60"}
ON = {"features.cache-invalidation": "on", "features.cache-invalidation-timeout": "600"}


def test_long_timeout_without_cache_invalidation_warns_with_what_to_set() -> None:
    (w,) = warn(OFF, timeout=600)
    assert "features.cache-invalidation is off on gv0" in w and "timeout=600s" in w
    assert "gluster volume set gv0 features.cache-invalidation on" in w
    (w,) = warn(OFF, module="glupy.library.stat_cache")  # default timeout 60
    assert "timeout=60s" in w


def test_no_warning_when_coherent_or_short_or_not_a_cache() -> None:
    assert warn(ON, timeout=600) == []
    assert warn(OFF, timeout=2) == []
    assert warn(OFF, timeout=0) == []
    assert warn(OFF, module="glupy.library.audit", timeout=600) == []
    assert warn(OFF, side="brick", timeout=600) == []


def test_invalidation_window_shorter_than_the_timeout_warns() -> None:
    (w,) = warn({**ON, "features.cache-invalidation-timeout": "60"}, timeout=600)
    assert "features.cache-invalidation-timeout is 60s" in w
    assert "features.cache-invalidation-timeout 600" in w
