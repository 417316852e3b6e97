"""``glupy check``: load a translator without GlusterFS and report what it does."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from glupy.fops import FOP_NAMES, PY_CBKS
from glupy.options import check_values
from glupy.runtime import security
from glupy.runtime.loader import LoadError, load_class
from glupy.translator import Translator


@dataclass
class Report:
    spec: str
    cls: type[Translator] | None = None
    fops: list[str] = field(default_factory=list)
    refused_in_c: dict[str, str] = field(default_factory=dict)  # fop -> its glupy.Refuse
    cbks: list[str] = field(default_factory=list)
    options: list[dict[str, object]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        lines = [f"{self.spec}: " + (self.cls.__qualname__ if self.cls else "not loadable")]
        if self.cls is not None:
            lines.append(f"  fops in Python ({len(self.fops)}): {', '.join(self.fops) or 'none'}")
            for fop, rule in self.refused_in_c.items():
                lines.append(f"  {fop}: decided in C by {rule}")
            lines.append("  every other fop passes through in C")
            if self.cbks:
                lines.append(f"  cbks: {', '.join(self.cbks)}")
            if self.options:
                lines.append("  options:")
                for o in self.options:
                    extra = ""
                    if o.get("choices"):
                        extra = f", one of {o['choices']}"
                    elif o.get("min") is not None and o.get("max") is not None:
                        extra = f", range [{o['min']} - {o['max']}]"
                    elif o.get("min") is not None:
                        extra = f", min {o['min']}"
                    elif o.get("max") is not None:
                        extra = f", max {o['max']}"
                    if o.get("list"):
                        extra += ", a comma-separated list"
                    if o.get("secret"):
                        extra += ", secret: give @/path/to/file"
                    lines.append(f"    {o['key']} ({o['type']}, default {o['default']!r}{extra})"
                                 + (f": {o['doc']}" if o["doc"] else ""))
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        for p in self.problems:
            lines.append(f"  problem: {p}")
        lines.append("  OK" if self.ok else "  NOT OK")
        return "\n".join(lines)


def check(spec: str, python_path: list[str] | None = None,
          given: dict[str, str] | None = None, *, allow_untrusted_code: bool = False) -> Report:
    """Load ``spec`` (``package.module[:Class]``) without GlusterFS and report its fops,
    cbks and options, and every problem: import errors, non-async fops, wrong
    signatures, defaults and ``given`` option values (volfile key -> text) that
    GlusterFS would refuse (with its message), unknown option keys.  Paths root would
    refuse to load code from (glupy.runtime.security) are problems when running as root (and
    nothing is imported: that would run the code in question), warnings otherwise or
    when allowed."""
    report = Report(spec)
    path = [d for d in python_path or [] if d]
    trust = security.translator_problems(spec, path)
    if trust and security.enforced() and not allow_untrusted_code:
        report.problems.extend(trust)
        return report
    for problem in trust:
        report.warnings.append(problem if security.enforced() else
                               f"glusterfs (root) would refuse this: {problem}")
    saved = security.mode()
    if allow_untrusted_code:
        security.set_mode(security.WARN)
    try:
        cls = load_class(spec, python_path=path)
    except LoadError as e:
        report.problems.append(str(e))
        return report
    finally:
        security.set_mode(saved)
    report.cls = cls
    report.fops = cls.defined_fops()
    report.refused_in_c = {fop: repr(rule) for fop, rule in cls.refusals().items()}
    report.cbks = cls.defined_cbks()
    for key, opt in cls.options().items():
        report.options.append({"key": key, "type": opt.gf_type.lower(),
                               "default": opt.shown(opt.default_text), "secret": opt.secret,
                               "doc": opt.doc, "choices": opt.choices, "min": opt.min, "max": opt.max,
                               "list": opt.item_type is not None})
    report.problems += [p.removeprefix(f"{spec}: ") for p in check_values(cls, given or {}, spec)]
    for name, value in vars(cls).items():
        if name.startswith("_") or not inspect.iscoroutinefunction(value):
            continue
        if name not in FOP_NAMES and not hasattr(value, "__glupy_policy__"):
            close = [f for f in FOP_NAMES if f.startswith(name[:4])]
            hint = f" (did you mean {', '.join(sorted(close))}?)" if close else ""
            report.warnings.append(f"async method {name}() is not a fop: GlusterFS never calls it{hint}")
    for name in PY_CBKS:
        if name in vars(cls) and inspect.iscoroutinefunction(vars(cls)[name]):
            report.problems.append(f"cbk {name}() must be a plain def")
    if not report.fops and not report.cbks and not report.refused_in_c:
        # what init() sets up (a Journal, a MissCache) is only seen once GlusterFS runs it
        report.warnings.append("defines no fop and refuses none in C: unless init() sets up a "
                               "Journal or a MissCache, the translator passes everything through")
    return report
