"""--json on ps and check: machine-readable, the same facts as the text output."""

from __future__ import annotations

import json

from click.testing import CliRunner

from glupy.cli.commands import main


def test_check_json() -> None:
    out = CliRunner().invoke(main, ["check", "glupy.library.readonly", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["ok"] and report["class"] == "glupy.library.readonly:ReadOnly"
    assert report["fops"] == ["xattrop", "fxattrop"] and report["problems"] == []
    assert "writev" in report["refused_in_c"] and "EROFS" in report["refused_in_c"]["writev"]
    bad = CliRunner().invoke(main, ["check", "no_such_module_xyz", "--json"])
    assert bad.exit_code == 1 and json.loads(bad.output)["ok"] is False


def test_ps_json(glupy_mount) -> None:
    m = glupy_mount([("glupy.library.readonly", {})])
    out = CliRunner().invoke(main, ["ps", "--json", "--state-dir", str(m.state_dir)])
    assert out.exit_code == 0, out.output
    (entry,) = json.loads(out.output)
    assert entry["mountpoint"] == str(m.mountpoint) and entry["running"]
    (t,) = entry["status"]["translators"]
    assert t["module"] == "glupy.library.readonly" and "writev" in t["refused_in_c"]
    assert sorted(t["fops"]) == ["fxattrop", "xattrop"]
