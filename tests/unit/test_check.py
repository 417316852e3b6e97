"""glupy check, without GlusterFS."""

import textwrap

from glupy.check import check


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
    assert "suffix (str, default '.tmp')" in text and "range [0, 9]" in text and "OK" in text


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
