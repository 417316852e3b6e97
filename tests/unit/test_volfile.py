"""glupy.local.volfile: rendering, parsing and quoting of GlusterFS volfiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glupy.local import volfile
from glupy.local.volfile import Graph, VolfileError, Volume, parse, quote, single_process_graph

SAMPLE = """\
# a comment
volume posix
    type storage/posix
    option directory /srv/data   # trailing comment
end-volume

volume ro
    type features/read-only
    option read-only "on"
    subvolumes posix
    option after-subvolumes yes
end-volume
"""


def test_parse_sample() -> None:
    graph = parse(SAMPLE)
    assert graph.names() == ["posix", "ro"]
    assert graph["posix"].options == {"directory": "/srv/data"}
    assert graph["ro"].options == {"read-only": "on", "after-subvolumes": "yes"}
    assert graph["ro"].subvolumes == ["posix"]
    assert graph.top.name == "ro"


def test_render_format() -> None:
    graph = Graph()
    graph.add(Volume("p", "storage/posix", {"directory": "/d"}))
    graph.add(Volume("t", "features/x", {"a": "1"}, ["p"]))
    assert graph.render() == (
        "volume p\n"
        "    type storage/posix\n"
        "    option directory /d\n"
        "end-volume\n"
        "\n"
        "volume t\n"
        "    type features/x\n"
        "    option a 1\n"
        "    subvolumes p\n"
        "end-volume\n"
    )


def test_round_trip() -> None:
    graph = parse(SAMPLE)
    assert parse(graph.render()) == graph
    assert Graph.parse(graph.render()).render() == graph.render()


@pytest.mark.parametrize(
    ("word", "rendered"),
    [
        ("plain", "plain"),
        ("/a/b:c,d=e", "/a/b:c,d=e"),
        ("a#b", "a#b"),  # '#' only starts a comment at the start of a word
        ("#x", '"#x"'),
        ("two words", '"two words"'),
        ("tab\there", '"tab\there"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("run `id`", '"run \\`id\\`"'),  # an unescaped back-quote is a shell command
        ("volume", '"volume"'),
        ("end-volume", '"end-volume"'),
        ("subvolumes", '"subvolumes"'),
        ("type", '"type"'),
        ("option", '"option"'),
        ("Volume", '"Volume"'),  # quoted conservatively
        ("volumes", "volumes"),
    ],
)
def test_quote(word: str, rendered: str) -> None:
    assert quote(word) == rendered


@pytest.mark.parametrize("bad", ["", "line\nbreak", "nul\0"])
def test_quote_rejects_unrepresentable(bad: str) -> None:
    with pytest.raises(VolfileError):
        quote(bad)


def test_quoted_values_round_trip() -> None:
    values = ['x y"z', "a`echo hi`b", "#x", "back\\slash", "type", "\\`", "\\\\`"]
    graph = Graph([Volume("p", "storage/posix", {f"k{i}": v for i, v in enumerate(values)})])
    text = graph.render()
    assert parse(text) == graph


# Words GlusterFS can hold: no newline or NUL, not empty.
words = st.text(
    alphabet=st.characters(blacklist_characters="\n\0", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=20,
)


@given(st.dictionaries(words, words, max_size=6), words)
def test_round_trip_any_options(options: dict[str, str], name: str) -> None:
    graph = Graph([Volume(name, "storage/posix", options)])
    assert parse(graph.render()) == graph


def test_parse_errors() -> None:
    with pytest.raises(VolfileError, match="not defined before"):
        parse("volume a\n type x\n subvolumes b\nend-volume\n")
    with pytest.raises(VolfileError, match="duplicate option"):
        parse("volume a\n type x\n option k 1\n option k 2\nend-volume\n")
    with pytest.raises(VolfileError, match="back-quoted"):
        parse("volume a\n type x\n option k `date`\nend-volume\n")
    with pytest.raises(VolfileError, match="unterminated"):
        parse('volume a\n type x\n option k "oops\nend-volume\n')
    with pytest.raises(VolfileError, match="expected type"):
        parse("volume a\n option k v\nend-volume\n")
    with pytest.raises(VolfileError):
        parse("volume a\n type x\n")
    with pytest.raises(VolfileError, match="defined twice"):
        parse("volume a\n type x\nend-volume\nvolume a\n type y\nend-volume\n")


def test_validate_self_subvolume() -> None:
    with pytest.raises(VolfileError, match="itself"):
        Graph([Volume("a", "x", {}, ["a"])]).render()


def test_single_process_graph_stacking(tmp_path: Path) -> None:
    graph = single_process_graph(
        tmp_path,
        [("pkg.top:Top", {"level": "1"}), ("pkg.middle", {}), ("pkg.bottom:Bottom", {})],
        name_prefix="t",
        python_path=["/opt/a", "/opt/b"],
        glupy_type="features/glupy",
    )
    assert [v.type for v in graph] == ["storage/posix"] + ["features/glupy"] * 3
    posix, bottom, middle, top = graph.volumes
    assert posix.options == {"directory": str(tmp_path)}
    assert bottom.options["module"] == "pkg.bottom:Bottom"
    assert middle.options["module"] == "pkg.middle"
    assert top.options == {"module": "pkg.top:Top", "python-path": "/opt/a:/opt/b", "level": "1"}
    assert bottom.subvolumes == [posix.name]
    assert middle.subvolumes == [bottom.name]
    assert top.subvolumes == [middle.name]
    assert graph.top is top
    assert top.name == "t-top" and middle.name == "t-middle" and bottom.name == "t-bottom"
    assert parse(graph.render()) == graph


def test_single_process_graph_names_unique(tmp_path: Path) -> None:
    graph = single_process_graph(
        tmp_path, [("a.audit", {}), ("b.audit", {})], glupy_type="features/glupy"
    )
    assert graph.names() == ["glupy-posix", "glupy-audit", "glupy-audit-2"]


def test_single_process_graph_errors(tmp_path: Path) -> None:
    with pytest.raises(VolfileError):
        single_process_graph(tmp_path, [], glupy_type="x")
    with pytest.raises(VolfileError, match="set by glupy"):
        single_process_graph(tmp_path, [("m", {"module": "x"})], glupy_type="x")
    with pytest.raises(VolfileError, match="module spec"):
        single_process_graph(tmp_path, [("not a module", {})], glupy_type="x")
    with pytest.raises(VolfileError, match="module spec"):
        single_process_graph(tmp_path, [("a.b:C:D", {})], glupy_type="x")


def test_single_process_graph_relative_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    graph = single_process_graph("data", [("m", {})], glupy_type="x")
    assert graph.volumes[0].options["directory"] == str(tmp_path / "data")


def test_split_module_spec() -> None:
    assert volfile.split_module_spec("a.b") == ("a.b", None)
    assert volfile.split_module_spec("a.b:C") == ("a.b", "C")


def test_bridge_type_uninstalled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xdir = tmp_path / "usr" / "lib" / "xlator"
    (xdir / "features").mkdir(parents=True)
    so = tmp_path / "work" / "glupy" / "_bridge" / "glupy.so"
    so.parent.mkdir(parents=True)
    so.write_bytes(b"")
    monkeypatch.setattr(volfile, "xlatordir", lambda: xdir)
    monkeypatch.setattr(volfile, "bridge_so_path", lambda: so)
    assert volfile.bridge_type() == "../../../work/glupy/_bridge/glupy"
    assert os.path.normpath(xdir / (volfile.bridge_type() + ".so")) == str(so)
    assert volfile.bridge_type(installed=True) == "features/glupy"
    # installed: the xlator dir's glupy.so is this very build
    (xdir / "features" / "glupy.so").symlink_to(so)
    assert volfile.bridge_type() == "features/glupy"
    assert volfile.bridge_type(installed=False).endswith("work/glupy/_bridge/glupy")


def test_bridge_type_other_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xdir = tmp_path / "xlator"
    (xdir / "features").mkdir(parents=True)
    (xdir / "features" / "glupy.so").write_bytes(b"another build")
    so = tmp_path / "glupy.so"
    so.write_bytes(b"")
    monkeypatch.setattr(volfile, "xlatordir", lambda: xdir)
    monkeypatch.setattr(volfile, "bridge_so_path", lambda: so)
    assert volfile.bridge_type() == "../glupy"
