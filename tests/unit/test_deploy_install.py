"""What `glupy install`/`uninstall` read from glusterd's volume info (pure Python)."""

from glupy.deploy import install
from glupy.deploy.config import INERT_MODULE


def test_user_xlators_and_uninstall_blockers() -> None:
    infos = {
        "a": {"user.xlator.glupy-audit": "posix", "user.xlator.glupy-audit.module": "glupy.library.audit",
              "user.glupy.xl.audit": '{"module":"glupy.library.audit"}'},
        "b": {"user.xlator.glupy-old": "posix", "user.xlator.glupy-old.module": INERT_MODULE,
              "user.glupy.xl.old": "detached", "user.xlator.other": "posix"},
        "c": {"performance.nl-cache": "on"},
    }
    assert install.user_xlators(infos) == {"glupy-audit": ["a"], "glupy-old": ["b"]}
    blockers = install.uninstall_blockers(infos)
    assert any("a: audit is attached (glupy detach a audit)" in b for b in blockers), blockers
    assert any("user/glupy-old" in b and "volume reset VOL all" in b for b in blockers), blockers
    assert install.uninstall_blockers({"c": infos["c"]}) == []

