"""Print glupy(1), the man page of the `glupy` command, generated from its click CLI.

    python scripts/manpage.py > glupy.1

Every subcommand gets a section with its usage, help text and options, so the page
says what `glupy COMMAND --help` says.
"""

from __future__ import annotations

import datetime
import os
import sys

import click

from glupy import __version__
from glupy.cli.commands import main as cli


def roff(text: str) -> str:
    """Text safe for roff: backslashes and leading dots/quotes escaped."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line[:1] in (".", "'") else line for line in text.splitlines())


def paragraphs(text: str) -> str:
    out = []
    for para in click.unstyle(text or "").strip().split("\n\n"):
        out.append(roff(" ".join(line.strip() for line in para.splitlines())))
    return "\n.PP\n".join(out)


def options(ctx: click.Context, command: click.Command) -> list[str]:
    lines = []
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option):
            continue  # arguments are named in the usage line
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        lines += [".TP", f"\\fB{roff(names)}\\fR", roff(help_text or "")]
    return lines


def page() -> str:
    # SOURCE_DATE_EPOCH (set by dpkg-buildpackage from the changelog) keeps builds reproducible
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    stamp = (datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC) if epoch
             else datetime.datetime.now(tz=datetime.UTC))
    root = click.Context(cli, info_name="glupy")
    lines = [
        f'.TH GLUPY 1 "{stamp:%Y-%m-%d}" "glupy {__version__}" "User Commands"',
        ".SH NAME",
        "glupy \\- GlusterFS translators written in Python",
        ".SH SYNOPSIS",
        "\\fBglupy\\fR [\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...",
        ".SH DESCRIPTION",
        paragraphs(cli.help or ""),
        ".PP",
        "Each command is described below; \\fBglupy \\fICOMMAND\\fB \\-\\-help\\fR prints the same.",
        ".SH OPTIONS",
        *options(root, cli),
        ".SH COMMANDS",
    ]
    assert isinstance(cli, click.Group)
    for name in cli.list_commands(root):
        command = cli.get_command(root, name)
        if command is None or command.hidden:
            continue
        ctx = click.Context(command, info_name=name, parent=root)
        usage = " ".join(command.collect_usage_pieces(ctx))
        lines += [".SS " + roff(f"glupy {name} {usage}"), paragraphs(command.help or "")]
        if command.epilog:
            lines += [".PP", paragraphs(command.epilog)]
        lines += options(ctx, command)
    lines += [
        ".SH FILES",
        ".TP",
        "\\fILIBDIR/glusterfs/RELEASE/xlator/features/glupy.so\\fR",
        "the bridge translator (\\fBglusterfs \\-\\-print\\-xlatordir\\fR names the directory)",
        ".TP",
        "\\fILIBDIR/glusterfs/RELEASE/filter/glupy\\-filter\\fR",
        "the volfile filter glusterd runs; it inserts the translators attached with \\fBglupy attach\\fR",
        ".TP",
        "\\fI/run/glupy\\fR",
        "state of the mounts made with \\fBglupy mount\\fR",
        ".SH SEE ALSO",
        "\\fBglusterfs\\fR(8), \\fBgluster\\fR(8), /usr/share/doc/glupy/",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(page())
