"""The upcall view without GlusterFS running: the cffi declarations of upcall-utils.h
agree with the compiler, every event kind is copied field by field (the C memory can
go away), and data glupy cannot read is reported once at debug level, never raised
into the translator.  (tests/upcall/test_upcall_hook.py has the real upcalls.)"""

from __future__ import annotations

import importlib
import logging
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from glupy import types as _t
from glupy import upcall as up
from glupy._build import build
from glupy.runtime import driver as runtime

STRUCTS = {
    "struct gf_upcall": ["client_uid", "gfid", "event_type", "data"],
    "struct gf_upcall_cache_invalidation": ["flags", "expire_time_attr", "stat", "p_stat",
                                            "oldp_stat", "dict"],
    "struct gf_upcall_recall_lease": ["lease_type", "tid", "dict"],
    "struct gf_upcall_inodelk_contention": ["flock", "pid", "domain", "xdata"],
    "struct gf_upcall_entrylk_contention": ["type", "pid", "name", "domain", "xdata"],
}
G1, G2, G3 = b"\x11" * 16, b"\x22" * 16, b"\x33" * 16


@pytest.fixture(scope="module")
def mod(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("upcall")
    ffi = build.make_ffi(embedding=False, module_name="_glupy_upcall_check")
    ffi.compile(tmpdir=str(tmp))
    sys.path.insert(0, str(tmp))
    saved = (_t._ffi, _t._lib)
    try:
        m = importlib.import_module("_glupy_upcall_check")
        _t._bind(m.ffi, m.lib)
        yield m
    finally:
        _t._ffi, _t._lib = saved
        sys.path.remove(str(tmp))


def test_layout_matches_the_compiler(mod: Any, tmp_path: Path) -> None:
    lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <glusterfs/xlator.h>",
             "#include <glusterfs/upcall-utils.h>", "int main(void) {"]
    for s, fields in STRUCTS.items():
        lines.append(f'printf("{s}=%zu\\n", sizeof({s}));')
        lines += [f'printf("{s}.{f}=%zu\\n", offsetof({s}, {f}));' for f in fields]
    lines.append("return 0; }")
    (tmp_path / "l.c").write_text("\n".join(lines))
    flags = [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in build.DEFINES]
    subprocess.run(["cc", *flags, str(tmp_path / "l.c"), "-o", str(tmp_path / "l")], check=True)
    out = subprocess.run([str(tmp_path / "l")], check=True, capture_output=True, text=True).stdout
    c = {k: int(v) for k, v in (line.split("=") for line in out.splitlines())}
    for s, fields in STRUCTS.items():
        assert mod.ffi.sizeof(s) == c[s], s
        for f in fields:
            assert mod.ffi.offsetof(s, f) == c[f"{s}.{f}"], f"{s}.{f}"
    assert mod.lib.UP_PARENT_TIMES == up.UpFlag.PARENT_TIMES
    assert mod.lib.UP_INVAL_ATTR == up.UpFlag.INVAL_ATTR
    assert mod.lib.GF_UPCALL_ENTRYLK_CONTENTION == up.UpcallKind.ENTRYLK_CONTENTION


def _upcall(ffi: Any, kind: int, payload: Any) -> Any:
    u = ffi.new("struct gf_upcall *")
    ffi.memmove(u.gfid, G1, 16)
    u.event_type = kind
    u.data = payload if payload is not None else ffi.NULL
    return u


def test_cache_invalidation_is_copied(mod: Any) -> None:
    ffi = mod.ffi
    ci = ffi.new("struct gf_upcall_cache_invalidation *")
    ci.flags = mod.lib.UP_RENAME | mod.lib.UP_PARENT_TIMES
    ci.expire_time_attr = 7
    ffi.memmove(ci.stat.ia_gfid, G1, 16)
    ci.stat.ia_size = 42
    ffi.memmove(ci.p_stat.ia_gfid, G2, 16)
    ffi.memmove(ci.oldp_stat.ia_gfid, G3, 16)
    u = _upcall(ffi, mod.lib.GF_UPCALL_CACHE_INVALIDATION, ci)
    ev = up.from_c(ffi, u)
    # the C memory goes away (overwritten here): the view does not change
    ffi.memmove(ci, b"\xff" * ffi.sizeof(ci[0]), ffi.sizeof(ci[0]))
    assert isinstance(ev, up.CacheInvalidation) and ev.kind is up.UpcallKind.CACHE_INVALIDATION
    assert ev.gfid == G1 and ev.client_uid is None
    assert ev.flags == up.UpFlag.RENAME | up.UpFlag.PARENT_TIMES and ev.expire_time_attr == 7
    assert ev.stat is not None and ev.stat.size == 42 and ev.stat.gfid == G1
    assert ev.parent_gfid == G2 and ev.old_parent_gfid == G3
    assert ev.directories() == [G1, G2, G3]
    assert ev.xattrs == {}  # (dict_new needs a glusterfs process: xattr payloads are not tested here)


def test_missing_parents_are_none(mod: Any) -> None:
    ffi = mod.ffi
    ci = ffi.new("struct gf_upcall_cache_invalidation *")
    ci.flags = mod.lib.UP_SIZE | mod.lib.UP_TIMES
    ffi.memmove(ci.stat.ia_gfid, G1, 16)
    ev = up.from_c(ffi, _upcall(ffi, 1, ci))
    assert isinstance(ev, up.CacheInvalidation)
    assert ev.parent is None and ev.old_parent is None and ev.directories() == [G1]


def test_lease_and_lock_upcalls(mod: Any) -> None:
    ffi = mod.ffi
    rl = ffi.new("struct gf_upcall_recall_lease *")
    rl.lease_type = 1
    ffi.memmove(rl.tid, G2, 16)
    ev = up.from_c(ffi, _upcall(ffi, 2, rl))
    assert isinstance(ev, up.LeaseRecall) and ev.lease_type == 1 and ev.tid == G2

    il = ffi.new("struct gf_upcall_inodelk_contention *")
    il.flock.l_start, il.flock.l_len, il.pid = 10, 20, 99
    dom = ffi.new("char[]", b"dom")
    il.domain = dom
    ev = up.from_c(ffi, _upcall(ffi, 3, il))
    il.flock.l_start = 0
    assert isinstance(ev, up.InodelkContention)
    assert (ev.flock.start, ev.flock.len, ev.pid, ev.domain) == (10, 20, 99, "dom")

    el = ffi.new("struct gf_upcall_entrylk_contention *")
    name = ffi.new("char[]", b"entry")
    el.type, el.pid, el.name = 1, 5, name
    ev = up.from_c(ffi, _upcall(ffi, 4, el))
    assert isinstance(ev, up.EntrylkContention)
    assert (ev.type, ev.pid, ev.name, ev.domain) == (1, 5, "entry", None)


@pytest.mark.parametrize("kind, with_payload", [(0, True), (9, True), (77, False), (1, False)])
def test_unreadable_upcalls_raise_unknown(mod: Any, kind: int, with_payload: bool) -> None:
    ffi = mod.ffi
    payload = ffi.new("struct gf_upcall_cache_invalidation *") if with_payload else None
    with pytest.raises(up.UnknownUpcall):
        up.from_c(ffi, _upcall(ffi, kind, payload))
    with pytest.raises(up.UnknownUpcall):
        up.from_c(ffi, ffi.NULL)


def test_unknown_upcall_is_logged_once_at_debug_and_not_given_to_the_hook(
        mod: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(runtime, "ffi", mod.ffi)
    seen: list[Any] = []
    obj = types.SimpleNamespace(upcall=seen.append)
    inst = types.SimpleNamespace(name="x", spec="m:C", upcall_unknown_logged=False,
                                 log=logging.getLogger("glupy.x"))
    bad = _upcall(mod.ffi, 42, mod.ffi.new("int *"))
    with caplog.at_level(logging.DEBUG, logger="glupy.x"):
        runtime._deliver_upcall(inst, obj, bad)  # type: ignore[arg-type]
        runtime._deliver_upcall(inst, obj, mod.ffi.NULL)  # type: ignore[arg-type]
    assert seen == []
    recs = [r for r in caplog.records if r.name == "glupy.x"]
    assert len(recs) == 1 and recs[0].levelno == logging.DEBUG
    assert "unknown upcall event type 42" in recs[0].getMessage()
    # a readable one reaches the hook
    ci = mod.ffi.new("struct gf_upcall_cache_invalidation *")
    runtime._deliver_upcall(inst, obj, _upcall(mod.ffi, 1, ci))  # type: ignore[arg-type]
    assert len(seen) == 1 and isinstance(seen[0], up.CacheInvalidation)


def test_async_upcall_is_a_load_problem() -> None:
    from glupy import Translator

    class Bad(Translator):
        async def upcall(self, event: Any) -> None:  # type: ignore[override]
            pass

    assert any("upcall() must be a plain def" in p for p in Bad.problems())
