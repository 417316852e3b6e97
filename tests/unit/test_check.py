"""glupy check, without GlusterFS."""

import textwrap

from glupy.cli.check import check


def _module(tmp_path, name, body):
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    return [str(tmp_path)]


def test_reports_fops_options_and_ok(tmp_path):
    path = _module(tmp_path, "chk_good", """
        import errno
        from glupy import Translator, FopError, Option

        class HideTmp(Translator):
            suffix = Option(str, default=".tmp", doc="names hidden from lookup")
            limit = Option(int, default=3, min=0, max=9)

            async def lookup(self, loc, xdata):
                if loc.name and loc.name.endswith(self.suffix):
                    raise FopError(errno.ENOENT)
                return await self.child.lookup(loc, xdata)
    """)
    r = check("chk_good", path)
    assert r.ok and r.fops == ["lookup"]
    text = r.render()
    assert "suffix (str, default '.tmp')" in text and "range [0 - 9]" in text and "OK" in text


def test_reports_problems(tmp_path):
    path = _module(tmp_path, "chk_bad", """
        from glupy import Translator

        class Bad(Translator):
            def stat(self, loc, xdata):
                pass

            async def lookups(self, loc, xdata):
                pass
    """)
    r = check("chk_bad", path)
    assert not r.ok
    assert any("stat() must be 'async def'" in p for p in r.problems)


def test_warns_on_async_methods_that_are_not_fops(tmp_path):
    path = _module(tmp_path, "chk_warn", """
        from glupy import Translator

        class W(Translator):
            async def lookups(self, loc, xdata):
                pass
    """)
    r = check("chk_warn", path)
    assert r.ok and any("lookups() is not a fop" in w and "lookup" in w for w in r.warnings)


def test_import_errors_are_problems(tmp_path):
    path = _module(tmp_path, "chk_syntax", "def broken(:\n")
    r = check("chk_syntax", path)
    assert not r.ok and "SyntaxError" in r.problems[0] and "line 1" in r.problems[0]
    assert not check("no_such_module_xyz").ok
    assert "has no class" in check("chk_warn:Nope", path).problems[0]


def test_defaults_and_given_values_are_checked_like_glusterfs(tmp_path):
    path = _module(tmp_path, "chk_values", """
        from glupy import Translator, Option, Size

        class Quota(Translator):
            limit = Option(Size, default="-5", doc="bytes")
            timeout = Option(float, default=60.0, min=0)
            level = Option(int, default=3, min=0, max=9)
            suffixes = Option(list[str], default=[".tmp", ".bak"])
            ports = Option(list[int], default=[1, 2], min=1, max=65535)

            async def writev(self, fd, vector, offset, flags, xdata):
                return await self.child.writev(fd, vector, offset, flags, xdata)
    """)
    r = check("chk_values", path)
    assert not r.ok
    assert r.problems == ["the default of option 'limit': invalid number format \"-5\" in option \"limit\""]
    text = r.render()
    assert "None" not in text and "timeout (double, default '60.0', min 0)" in text
    assert "suffixes (str, default '.tmp,.bak', a comma-separated list)" in text
    given = check("chk_values", path, {"limit": "1MB", "level": "12", "timeout": "-1",
                                       "ports": "80,0", "nosuch": "1"})
    assert given.problems == [
        "unknown option 'nosuch' for chk_values (its options: level, limit, ports, suffixes, timeout)",
        "option 'timeout': '-1.000000' in 'option timeout -1' is out of range "
        "[0.000000 - 9007199254740992.000000]",
        "option 'level': '12' in 'option level 12' is out of range [0 - 9]",
        "option 'ports': '0' in 'option ports 0' is out of range [1 - 65535]",
    ]


def test_list_options_parse():
    from glupy import Option, Size

    class T:
        suffixes = Option(list[str], default=[".tmp"])
        sizes = Option(list[Size], default="4KB,1MB")

    assert T.suffixes.parse(" .a, .b ,,") == [".a", ".b"]
    assert T.sizes.parse("4KB,1MB") == [4096, 1 << 20]
    assert T.suffixes.gf_type == "STR" and T.suffixes.default_text == ".tmp"


def test_bridge_keys_match_the_runtime():
    from glupy import options
    from glupy.runtime import driver as runtime
    from glupy.runtime import security

    assert {*options.BRIDGE_KEYS, security.UNTRUSTED_OPTION} == set(runtime.BRIDGE_OPTIONS)
