"""glupy.runtime.security without GlusterFS: which paths root trusts, the import guard, secret
files, private files.  Ownership cases need root (chown); they are skipped otherwise."""

from __future__ import annotations

import importlib
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from glupy.cli.check import check
from glupy.runtime import security
from glupy.runtime.loader import LoadError, load_class
from glupy.translator import Option

NOBODY = 65534
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="ownership checks need root")

TRANSLATOR = """
from glupy import Translator

class T(Translator):
    async def lookup(self, loc, xdata):
        return await self.child.lookup(loc, xdata)
"""


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A root-owned, 0755 directory under pytest's root-only tmp dir."""
    d = tmp_path / "trusted"
    d.mkdir()
    d.chmod(0o755)
    return d


def _module(d: Path, name: str, body: str = TRANSLATOR, marker: Path | None = None) -> Path:
    text = textwrap.dedent(body)
    if marker is not None:  # proves whether the module ran
        text = f"open({str(marker)!r}, 'w').close()\n" + text
    f = d / f"{name}.py"
    f.write_text(text)
    f.chmod(0o644)
    return f


@pytest.fixture(autouse=True)
def _clean_modules():
    before = set(sys.modules)
    path = list(sys.path)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("sec_"):
            del sys.modules[name]
    sys.path[:] = path
    security.set_mode(security.REFUSE)
    security.remove_guard()


def test_a_root_owned_non_writable_path_is_trusted(base):
    f = _module(base, "sec_ok")
    assert security.path_problem(f) is None
    assert security.path_problem(base) is None
    assert security.translator_problems("sec_ok", [str(base)]) == []


@root_only
@pytest.mark.parametrize("target, change, expect", [
    ("file", 0o666, "writable by group and other (mode 0666)"),
    ("file", 0o664, "writable by group (mode 0664)"),
    ("dir", 0o757, "writable by other (mode 0757)"),
    ("dir", 0o1777, "writable by group and other (mode 1777)"),  # sticky: not for the entry itself
    ("file", "chown", f"owned by uid {NOBODY}, not root"),
    ("dir", "chown", f"owned by uid {NOBODY}, not root"),
])
def test_writable_or_foreign_module_or_entry_is_refused(base, target, change, expect):
    f = _module(base, "sec_bad")
    victim = f if target == "file" else base
    if change == "chown":
        os.chown(victim, NOBODY, -1)
    else:
        victim.chmod(change)
    problems = security.translator_problems("sec_bad", [str(base)])
    assert problems, "an untrusted path must be found"
    assert f"{victim} is {expect}" in problems[0]
    assert "chmod go-w" in problems[0] and security.UNTRUSTED_OPTION in problems[0]


@root_only
def test_a_writable_parent_anywhere_above_is_refused(base):
    deep = base / "a" / "b"
    deep.mkdir(parents=True)
    (base / "a").chmod(0o777)
    _module(deep, "sec_deep")
    (problem,) = {p.split(": ", 1)[1].split(",")[0] for p in
                  security.translator_problems("sec_deep", [str(deep)])}
    assert problem == f"{base / 'a'} is writable by group and other (mode 0777)"


@root_only
def test_a_sticky_parent_is_safe_when_the_entry_below_is_root_owned(base):
    sticky = base / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    entry = sticky / "code"
    entry.mkdir()
    entry.chmod(0o755)
    _module(entry, "sec_sticky")
    assert security.translator_problems("sec_sticky", [str(entry)]) == []
    os.chown(entry, NOBODY, -1)  # then whoever owns it can change it
    assert "owned by uid" in security.translator_problems("sec_sticky", [str(entry)])[0]


@root_only
def test_a_missing_entry_is_judged_by_the_directory_that_could_create_it(base):
    open_dir = base / "open"
    open_dir.mkdir()
    open_dir.chmod(0o1777)
    problems = security.translator_problems("sec_nothing_here", [str(open_dir / "not-yet")])
    assert problems and f"{open_dir} is writable" in problems[0]


@root_only
def test_a_symlink_is_judged_by_what_it_points_to(base):
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    _module(elsewhere, "sec_linked")
    link = base / "link"
    link.symlink_to(elsewhere)
    assert security.translator_problems("sec_linked", [str(link)]) == []
    elsewhere.chmod(0o777)
    problems = security.translator_problems("sec_linked", [str(link)])
    assert problems and f"{elsewhere} is writable" in problems[0]


@root_only
def test_packages_and_their_bytecode_are_checked(base):
    pkg = base / "sec_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    _module(pkg, "mod")
    assert security.translator_problems("sec_pkg.mod", [str(base)]) == []
    pkg.chmod(0o777)
    problems = security.translator_problems("sec_pkg.mod", [str(base)])
    assert f"package sec_pkg directory {pkg} as root: {pkg} is writable" in "\n".join(problems)
    pkg.chmod(0o755)
    cache = pkg / "__pycache__"
    cache.mkdir()
    cache.chmod(0o777)  # anyone could plant a .pyc that is loaded instead of the source
    problems = security.translator_problems("sec_pkg.mod", [str(base)])
    assert problems and f"{cache} is writable" in problems[0]
    cache.chmod(0o755)
    pyc = Path(importlib.util.cache_from_source(str(pkg / "mod.py")))
    pyc.write_bytes(b"")
    os.chown(pyc, NOBODY, -1)
    problems = security.translator_problems("sec_pkg.mod", [str(base)])
    assert problems and f"bytecode of sec_pkg.mod {pyc}" in problems[0]


@root_only
def test_the_loader_refuses_before_running_anything(base, tmp_path):
    marker = tmp_path / "ran"
    f = _module(base, "sec_refused", marker=marker)
    f.chmod(0o666)
    with pytest.raises(LoadError, match=f"refusing to load module sec_refused from {f}"):
        load_class("sec_refused", python_path=[str(base)])
    assert not marker.exists(), "refused code must not have run"
    assert "sec_refused" not in sys.modules


@root_only
def test_the_guard_refuses_what_a_translator_imports(base, tmp_path):
    marker = tmp_path / "helper-ran"
    _module(base, "sec_uses_helper", "import sec_helper\n" + TRANSLATOR)
    helper = _module(base, "sec_helper", "X = 1\n", marker=marker)
    helper.chmod(0o646)
    with pytest.raises(LoadError, match=f"module sec_helper from {helper}.*writable by other"):
        load_class("sec_uses_helper", python_path=[str(base)])
    assert not marker.exists()


@root_only
def test_warn_mode_loads_and_logs(base, caplog):
    f = _module(base, "sec_warned")
    f.chmod(0o666)
    security.set_mode(security.WARN)
    cls = load_class("sec_warned", python_path=[str(base)])
    assert cls.__name__ == "T"
    assert any("refusing to load module sec_warned" in r.getMessage() and "anyway" in r.getMessage()
               for r in caplog.records)


@root_only
def test_glupy_check_reports_untrusted_paths_without_importing(base, tmp_path):
    marker = tmp_path / "ran"
    f = _module(base, "sec_checked", marker=marker)
    f.chmod(0o666)
    report = check("sec_checked:T", [str(base)])
    assert not report.ok and "refusing to load module sec_checked" in report.problems[0]
    assert "not loadable" in report.render() and not marker.exists()
    allowed = check("sec_checked:T", [str(base)], allow_untrusted_code=True)
    assert allowed.ok and any("refusing" in w for w in allowed.warnings) and marker.exists()


def test_sys_path_problems_flag_the_current_directory(monkeypatch):
    monkeypatch.setattr(sys, "path", ["", "relative/dir", *sys.path])
    problems = security.sys_path_problems()
    assert "sys.path holds '', the current directory" in problems
    security.harden_sys_path()
    assert "" not in sys.path and "relative/dir" not in sys.path


def test_private_files_and_dirs(tmp_path):
    d = security.private_dir(tmp_path / "state" / "x")
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    f = d / "graph.vol"
    f.write_text("old")
    f.chmod(0o644)
    security.write_private(f, "new")
    assert f.read_text() == "new" and stat.S_IMODE(f.stat().st_mode) == 0o600
    fd = security.open_private(d / "audit", 0o640, os.getgid())
    os.close(fd)
    assert stat.S_IMODE((d / "audit").stat().st_mode) == 0o640


@root_only
def test_secret_files_must_be_root_only(tmp_path):
    f = tmp_path / "token"
    f.write_text("s3cr3t\n")
    f.chmod(0o600)
    assert security.read_secret_file("token", f"@{f}") == "s3cr3t"
    f.chmod(0o644)
    with pytest.raises(ValueError, match="readable by others") as e:
        security.read_secret_file("token", f"@{f}")
    assert "s3cr3t" not in str(e.value)
    with pytest.raises(ValueError, match="cannot read"):
        security.read_secret_file("token", f"@{tmp_path / 'missing'}")


def test_secret_option_values_are_never_shown():
    opt: Option[int] = Option(int, default=None, secret=True, key="pin", min=0)
    with pytest.raises(ValueError) as e:
        opt.parse("12x45")
    assert "12x45" not in str(e.value) and "secret" in str(e.value)
    with pytest.raises(ValueError) as e:
        opt.parse("-7")
    assert "-7" not in str(e.value)
    assert opt.shown(1234) == security.REDACTED
    assert Option(int, key="n").shown(5) == 5


def test_glupy_check_does_not_show_a_secret_default(base):
    _module(base, "sec_secret", """
        from glupy import Option, Translator

        class S(Translator):
            token = Option(str, default="built-in-token", secret=True, doc="API token")

            async def lookup(self, loc, xdata):
                return await self.child.lookup(loc, xdata)
    """)
    text = check("sec_secret:S", [str(base)]).render()
    assert "built-in-token" not in text and security.REDACTED in text and "@/path" in text


def test_glupy_status_redacts_what_attach_learned_is_secret():
    from glupy.deploy.config import AttachSpec
    from glupy.deploy.ops import shown_options

    spec = AttachSpec(name="s", module="m:S", options={"token": "abc123", "key-file": "/k",
                                                         "pin": "@/etc/pin"}, secret=["token", "pin"])
    again = AttachSpec.from_value("s", spec.to_value())  # what glusterd stores and gives back
    assert again.secret == ["pin", "token"]
    assert shown_options(again) == {"token": security.REDACTED, "key-file": "/k", "pin": "@/etc/pin"}
