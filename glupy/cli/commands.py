"""The ``glupy`` command: mount Python translators, print volfiles, install the bridge."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from glupy.local import daemon, process, volfile
from glupy.runtime import security

DEFAULT_TRANSLATOR = "glupy.library.audit"
LOG_DIR = Path("/var/log/glusterfs")

STACK_HELP = """
Translators are given with -t MODULE[:Class], top-most first (the first -t sits right
under FUSE, the last one right above storage/posix). Each -o KEY=VALUE applies to the
most recent -t before it; an -o before any -t is an error. Without -t, the library
default glupy.library.audit is used (give it explicitly to pass it options).
"""


# --------------------------------------------------------------------------- -t/-o order


def _option_owners(command: click.Command, args: Sequence[str]) -> list[int]:
    """For each -o/--option in ``args`` (in order), how many -t/--translator precede it.

    Click gathers each ``multiple=True`` option into its own tuple and loses how -t and -o
    interleave, so this scans the raw arguments with the command's own option table.
    """
    takes_value: dict[str, bool] = {}
    role: dict[str, str] = {}
    for param in command.params:
        if isinstance(param, click.Option):
            for opt in [*param.opts, *param.secondary_opts]:
                takes_value[opt] = not param.is_flag and not param.count
                if param.name in ("translators", "options"):
                    role[opt] = param.name
    owners: list[int] = []
    n_translators = 0

    def seen(opt: str) -> None:
        nonlocal n_translators
        if role.get(opt) == "translators":
            n_translators += 1
        elif role.get(opt) == "options":
            owners.append(n_translators)

    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if arg.startswith("--"):
            name, has_value, _ = arg.partition("=")
            seen(name)
            if takes_value.get(name) and not has_value:
                i += 1
        elif arg.startswith("-") and len(arg) > 1:
            for j in range(1, len(arg)):
                opt = "-" + arg[j]
                seen(opt)
                if takes_value.get(opt):
                    if j == len(arg) - 1:
                        i += 1
                    break
    return owners


class _StackCommand(click.Command):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["glupy.option_owners"] = _option_owners(self, args)
        return super().parse_args(ctx, args)


def _build_stack(
    ctx: click.Context, translators: Sequence[str], options: Sequence[str]
) -> list[tuple[str, dict[str, str]]]:
    owners: list[int] = ctx.meta.get("glupy.option_owners", [])
    if len(owners) != len(options):  # cannot happen unless click changes its parsing
        raise click.UsageError("could not tell which -t each -o belongs to")
    specs = list(translators) or [DEFAULT_TRANSLATOR]
    for spec in specs:
        try:
            volfile.split_module_spec(spec)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="-t/--translator") from None
    stack: list[tuple[str, dict[str, str]]] = [(spec, {}) for spec in specs]
    for owner, item in zip(owners, options, strict=True):
        if owner == 0:
            raise click.UsageError(
                f"-o {item} comes before any -t: each -o applies to the -t before it "
                f"(e.g. -t {DEFAULT_TRANSLATOR} -o {item})"
            )
        key, eq, value = item.partition("=")
        if not key or not eq:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="-o")
        if value == "":
            raise click.BadParameter(
                f"{key}: GlusterFS volfiles cannot hold an empty value", param_hint="-o"
            )
        spec, opts = stack[owner - 1]
        if key in opts:
            raise click.BadParameter(f"{key} given twice for {spec}", param_hint="-o")
        if key in volfile.RESERVED_OPTIONS:
            raise click.BadParameter(
                f"{key} is set by glupy (use -t / --python-path)", param_hint="-o"
            )
        opts[key] = value
    return stack


def _check_stack_options(stack: list[tuple[str, dict[str, str]]], python_path: Sequence[str],
                         *, need_import: bool, allow_untrusted: bool = False) -> None:
    """Refuse option values GlusterFS would refuse, with its message, before anything
    runs.  A module that cannot be imported here is an error when it must run here
    (mount) and a warning otherwise (volfile: the graph may be for another host).
    Imports go through glupy.runtime.security's checks (lowered to warnings with
    --allow-untrusted-code, as the mount itself then does)."""
    from glupy.options import check_stack

    saved = security.mode()
    if allow_untrusted:
        security.set_mode(security.WARN)
    try:
        problems, unloadable = check_stack(stack, [os.path.abspath(p) for p in python_path])
    finally:
        security.set_mode(saved)
    if need_import:
        problems = unloadable + problems
    else:
        for why in unloadable:
            click.echo(f"warning: options not checked: {why}", err=True)
    if problems:
        raise click.UsageError("\n".join(problems))


def _graph(
    ctx: click.Context,
    source_dir: str,
    stack: list[tuple[str, dict[str, str]]],
    python_path: Sequence[str],
    name_prefix: str,
) -> volfile.Graph:
    try:
        return volfile.single_process_graph(
            source_dir, stack, name_prefix=name_prefix, python_path=python_path
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _stack_options(func: Any) -> Any:
    decorators = [
        click.option(
            "-t",
            "--translator",
            "translators",
            multiple=True,
            metavar="MODULE[:Class]",
            help="Translator to stack (repeatable, top-most first).",
        ),
        click.option(
            "-o",
            "--option",
            "options",
            multiple=True,
            metavar="KEY=VALUE",
            help="Option for the most recent -t (repeatable).",
        ),
        click.option(
            "--python-path",
            "python_path",
            multiple=True,
            type=click.Path(file_okay=False),
            metavar="DIR",
            help="Extra sys.path entry for the translators (repeatable).",
        ),
        click.option(
            "--name",
            "name_prefix",
            default="glupy",
            show_default=True,
            help="Prefix of the volume names in the graph (and in log lines).",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _allow_untrusted_option(func: Any) -> Any:
    return click.option(
        "--allow-untrusted-code",
        is_flag=True,
        help=f"Test setups only: load translator code from paths non-root users can change "
        f"(sets option {security.UNTRUSTED_OPTION}={security.WARN}; see docs/security.md).",
    )(func)


def _check_trusted(
    stack: list[tuple[str, dict[str, str]]], python_path: Sequence[str], allow: bool
) -> None:
    """What glusterfs (root) would refuse to load, found before anything starts; with
    ``allow``, every translator gets ``untrusted-code warn`` instead."""
    for spec, opts in stack:
        if allow:
            opts.setdefault(security.UNTRUSTED_OPTION, security.WARN)
        problems = security.translator_problems(spec, [os.path.abspath(p) for p in python_path])
        if not problems:
            continue
        if opts.get(security.UNTRUSTED_OPTION) == security.WARN:
            for p in problems:
                click.echo(f"warning: {p}", err=True)
        else:
            raise click.ClickException("\n".join(problems))


def _warn_secret_options(stack: list[tuple[str, dict[str, str]]], python_path: Sequence[str]) -> None:
    """A secret option's value on the command line is in the shell history and, while
    glupy runs, in the process list: say so and name the file form."""
    from glupy.runtime.loader import LoadError, load_class

    for spec, opts in stack:
        if not opts:
            continue
        try:
            cls = load_class(spec, python_path=[os.path.abspath(p) for p in python_path])
        except LoadError:
            continue  # glusterfs reports it, with the log lines
        for key, opt in cls.options().items():
            if opt.secret and key in opts and not security.is_secret_file_ref(opts[key]):
                click.echo(
                    f"warning: {key} is a secret option of {spec}: given on the command line "
                    f"it is in your shell history and, while glupy mount runs, in the process "
                    f"list; put it in a file only root can read and pass "
                    f"-o {key}=@/path/to/file instead",
                    err=True,
                )


def _require_root(what: str) -> None:
    daemon.require_root(what, click.ClickException)


def _require_glusterfs() -> None:
    try:
        process.find_glusterfs()
    except process.GlusterfsNotFoundError as exc:
        raise click.ClickException(exc.message) from None


def _nonempty(value: str, what: str) -> str:
    if not value.strip():
        raise click.BadParameter(f"{what} must not be empty", param_hint=what)
    return value


def _state_dir_option(func: Any) -> Any:
    return click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where mount state lives [default: $GLUPY_STATE_DIR or /run/glupy].",
    )(func)


# --------------------------------------------------------------------------- commands


def _bridge_mismatch() -> str | None:
    """Why the bridge refuses to load in this host's GlusterFS, or None."""
    from glupy._build import release

    info = release.read_info(volfile.bridge_so_path()) or {}
    built, running = info.get("glusterfs"), release.running_release()
    if not built or not running or built == running:
        return None
    return (f"the glupy bridge was built for GlusterFS {built} but this host runs GlusterFS "
            f"{running}: GlusterFS refuses to load it; install the glupy package built for "
            f"{running} (or rebuild: python -m glupy._build)")


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    import platform

    from glupy import __version__
    from glupy._build import release

    so = volfile.bridge_so_path()
    info = release.read_info(so) or {}
    click.echo(f"glupy {__version__}")
    if info:
        click.echo(f"built for GlusterFS {info.get('glusterfs', '?')} and Python "
                   f"{info.get('python', '?')} ({info.get('python_executable', '?')}); bridge {so}")
    else:
        click.echo(f"bridge not built ({so} missing): python -m glupy._build")
    click.echo(f"running: GlusterFS {release.running_release() or 'not installed'}, "
               f"Python {platform.python_version()} ({sys.executable})")
    problem = _bridge_mismatch()
    if problem:
        click.echo(f"MISMATCH: {problem}")
    ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="The glupy version, the GlusterFS and Python it was built for, and exit.")
def main() -> None:
    """glupy: GlusterFS translators written in Python."""


@main.command(cls=_StackCommand, epilog=STACK_HELP)
@_stack_options
@click.option("--foreground", is_flag=True, help="Run glusterfs in the foreground (-N).")
@click.option("--debug", is_flag=True, help="Log at DEBUG level (-L DEBUG).")
@click.option(
    "--timeout",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds to wait for the mount to answer.",
)
@click.option("--log-file", type=click.Path(dir_okay=False), default=None,
              help="Append the glusterfs log here [default: /var/log/glusterfs/glupy-MOUNT.log; "
                   "glusterfs.log in the state dir when --state-dir or $GLUPY_STATE_DIR is given].")
@_state_dir_option
@_allow_untrusted_option
@click.argument("source_dir", type=click.Path())
@click.argument("mountpoint", type=click.Path())
@click.pass_context
def mount(
    ctx: click.Context,
    translators: tuple[str, ...],
    options: tuple[str, ...],
    python_path: tuple[str, ...],
    name_prefix: str,
    foreground: bool,
    debug: bool,
    timeout: float,
    log_file: str | None,
    state_dir: Path | None,
    allow_untrusted_code: bool,
    source_dir: str,
    mountpoint: str,
) -> None:
    """Mount SOURCE_DIR at MOUNTPOINT through a stack of Python translators.

    Runs one glusterfs process (storage/posix over SOURCE_DIR, the translators on top)
    and waits until the mount answers; prints the log file path.
    """
    _nonempty(source_dir, "SOURCE_DIR")
    _nonempty(mountpoint, "MOUNTPOINT")
    if not os.path.isdir(source_dir):
        raise click.BadParameter(f"{source_dir}: no such directory", param_hint="SOURCE_DIR")
    if not os.path.isdir(mountpoint):
        raise click.BadParameter(f"{mountpoint}: no such directory", param_hint="MOUNTPOINT")
    if process.canonical_mountpoint(mountpoint) == os.path.realpath(source_dir):
        raise click.UsageError("SOURCE_DIR and MOUNTPOINT must differ")
    stack = _build_stack(ctx, translators, options)
    _require_glusterfs()
    _require_root("glupy mount")
    _check_trusted(stack, python_path, allow_untrusted_code)
    _check_stack_options(stack, python_path, need_import=True, allow_untrusted=allow_untrusted_code)
    _warn_secret_options(stack, python_path)
    graph = _graph(ctx, source_dir, stack, python_path, name_prefix)
    fstype = process.mount_fstype(mountpoint)
    if fstype is not None:
        raise click.ClickException(f"{mountpoint} is already mounted ({fstype})")
    so = volfile.bridge_so_path()
    if not so.exists():
        raise click.ClickException(
            f"the glupy bridge is not built ({so} missing): run `python -m glupy._build` "
            "or `glupy install`"
        )
    if foreground:  # from now on: a stop while mounting unmounts too (systemctl stop)
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        state = process.mount_graph(
            graph,
            mountpoint,
            source_dir=source_dir,
            foreground=foreground,
            debug=debug,
            state_dir=state_dir,
            timeout=timeout,
            log_file=log_file or _default_log_file(mountpoint, state_dir),
        )
    except process.MountError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        with contextlib.suppress(process.NotMountedError):
            process.unmount(mountpoint, state_dir=state_dir)
        raise click.ClickException(f"stopped while mounting {mountpoint}: unmounted") from None
    if foreground:
        _wait_foreground(state, state_dir)
    else:
        _say_mounted(state)


def _say_mounted(state: process.MountState) -> None:
    click.echo(f"mounted {state.mountpoint} (pid {state.pid})")
    click.echo(f"log: {state.log_path}")


def _default_log_file(mountpoint: str, state_dir: Path | None) -> str | None:
    """Logs of a system mount outlive reboots (/run is tmpfs): /var/log/glusterfs."""
    if state_dir is not None or os.environ.get("GLUPY_STATE_DIR"):
        return None  # a private state dir (tests, users) keeps its log with it
    return str(LOG_DIR / f"glupy-{process.state_dir_for(mountpoint).name}.log")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _wait_foreground(state: process.MountState, state_dir: Path | None) -> None:
    """Block until glusterfs exits; SIGINT/SIGTERM unmount."""
    proc = None
    try:  # from the first statement: a stop at any point after the mount unmounts
        proc = process.foreground_process(state.mountpoint)
        _say_mounted(state)
        while proc is not None and proc.poll() is None:
            time.sleep(0.2)
    except KeyboardInterrupt:
        click.echo(f"unmounting {state.mountpoint}", err=True)
    finally:
        with contextlib.suppress(process.NotMountedError):
            process.unmount(state.mountpoint, state_dir=state_dir)
    # glusterfs exits with status 15 (its SIGTERM path) when its mount is unmounted.
    if proc is not None and proc.returncode not in (0, None, 15, -signal.SIGTERM):
        raise click.ClickException(
            f"glusterfs exited with status {proc.returncode} (log: {state.log_path})"
        )


@main.command()
@_state_dir_option
@click.option(
    "--timeout",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds to wait for glusterfs to exit before killing it.",
)
@click.argument("mountpoint", type=click.Path())
def umount(mountpoint: str, state_dir: Path | None, timeout: float) -> None:
    """Unmount MOUNTPOINT and stop its glusterfs process."""
    _nonempty(mountpoint, "MOUNTPOINT")
    _require_root("glupy umount")
    try:
        process.unmount(mountpoint, state_dir=state_dir, timeout=timeout)
    except process.GlupyProcessError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"unmounted {process.canonical_mountpoint(mountpoint)}")


@main.command(name="volfile", cls=_StackCommand, epilog=STACK_HELP)
@_stack_options
@click.option(
    "--installed/--uninstalled",
    default=None,
    help="Load the bridge as features/glupy, or by path [default: detect].",
)
@click.argument("source_dir", type=click.Path())
@click.pass_context
def volfile_cmd(
    ctx: click.Context,
    translators: tuple[str, ...],
    options: tuple[str, ...],
    python_path: tuple[str, ...],
    name_prefix: str,
    installed: bool | None,
    source_dir: str,
) -> None:
    """Print the volfile `glupy mount` would run for SOURCE_DIR."""
    _nonempty(source_dir, "SOURCE_DIR")
    stack = _build_stack(ctx, translators, options)
    _check_stack_options(stack, python_path, need_import=False)
    try:
        graph = volfile.single_process_graph(
            source_dir,
            stack,
            name_prefix=name_prefix,
            python_path=python_path,
            glupy_type=volfile.bridge_type(installed),
        )
        click.echo(graph.render(), nl=False)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@main.command(cls=_StackCommand, epilog=STACK_HELP)
@_stack_options
@click.argument("source_dir", type=click.Path())
@click.argument("mountpoint", type=click.Path())
@click.pass_context
def unit(
    ctx: click.Context,
    translators: tuple[str, ...],
    options: tuple[str, ...],
    python_path: tuple[str, ...],
    name_prefix: str,
    source_dir: str,
    mountpoint: str,
) -> None:
    """Print a systemd service unit that keeps `glupy mount` of SOURCE_DIR at MOUNTPOINT
    mounted from boot (log: /var/log/glusterfs/glupy-<mountpoint>.log)."""
    import shlex

    _nonempty(source_dir, "SOURCE_DIR")
    _nonempty(mountpoint, "MOUNTPOINT")
    stack = _build_stack(ctx, translators, options)
    _graph(ctx, source_dir, stack, python_path, name_prefix)  # refuses bad input
    _check_trusted(stack, python_path, False)  # what glusterfs (root) would refuse at boot
    src, mnt = os.path.abspath(source_dir), os.path.abspath(mountpoint)
    slug = mnt.strip("/").replace("/", "-") or "root"
    owners = ctx.meta.get("glupy.option_owners", [])
    args = [sys.executable, "-m", "glupy.cli", "mount", "--foreground", "--name", name_prefix,
            "--log-file", str(LOG_DIR / f"glupy-{slug}.log")]
    given = list(translators) or [DEFAULT_TRANSLATOR]
    for i, spec in enumerate(given, 1):
        args += ["-t", spec]
        for owner, item in zip(owners, options, strict=True):
            if owner == i:
                args += ["-o", item]
    for d in python_path:
        args += ["--python-path", os.path.abspath(d)]
    args += [src, mnt]
    click.echo(f"""[Unit]
Description=glupy mount of {src} at {mnt}
After=local-fs.target network-online.target
Wants=network-online.target
RequiresMountsFor={src}

[Service]
Type=simple
ExecStart={shlex.join(args)}
Restart=on-failure
RestartSec=5
TimeoutStopSec=30

[Install]
WantedBy=multi-user.target""")


@main.command()
@click.option("--uninstall", is_flag=True, help="Remove the link instead.")
@click.option(
    "--force", is_flag=True, help="Replace (or remove) a glupy.so glupy did not put there."
)
def install(uninstall: bool, force: bool) -> None:
    """Link the bridge into GlusterFS's xlator dir as features/glupy (idempotent).

    Builds the bridge first (python -m glupy._build) if it is missing.
    """
    _require_root("glupy install")
    target = volfile.installed_so_path()
    so = volfile.bridge_so_path()
    ours = target.is_symlink() and os.path.realpath(target) == os.path.realpath(so)
    # the Debian package installs the bridge as a file there and links the package to it
    packaged = not target.is_symlink() and so.is_symlink() and target.exists() and \
        os.path.realpath(so) == os.path.realpath(target)
    if packaged:
        if uninstall:
            raise click.ClickException(f"{target} belongs to the glupy system package: "
                                       "remove it with apt remove glupy")
        click.echo(f"already installed: {target} (by the glupy system package)")
        return
    if uninstall:
        if not target.exists() and not target.is_symlink():
            click.echo(f"not installed ({target} absent)")
            return
        if not (ours or target.is_symlink() or force):
            raise click.ClickException(f"{target} is not a glupy link; use --force to remove it")
        target.unlink()
        click.echo(f"removed {target}")
        return
    if not so.exists():
        click.echo(f"building the bridge ({sys.executable} -m glupy._build)")
        res = subprocess.run([sys.executable, "-m", "glupy._build"])
        if res.returncode != 0 or not volfile.bridge_so_path().exists():
            raise click.ClickException("building the bridge failed (see the output above)")
        so = volfile.bridge_so_path()
    if ours:
        click.echo(f"already installed: {target} -> {so}")
        _install_deploy()
        return
    if target.exists() or target.is_symlink():
        if not (target.is_symlink() or force):
            raise click.ClickException(f"{target} exists and is not a link; use --force")
        target.unlink()
    if not target.parent.is_dir():
        raise click.ClickException(
            f"{target.parent} does not exist: is GlusterFS installed (glusterfs-server)?"
        )
    target.symlink_to(so.resolve())
    click.echo(f"installed {target} -> {so.resolve()}")
    _install_deploy()


def _install_deploy() -> None:
    """The volfile filter and the user/glupy-NAME.so links the volumes of this peer's
    glusterd name (brick-side translators); needed on every peer, after every upgrade."""
    from glupy.deploy import filter as gfilter
    from glupy.deploy import install as dinstall

    infos = dinstall.volume_infos()
    try:
        path, changed = gfilter.install()
        made = dinstall.link_user_xlators(infos)
    except OSError as exc:
        raise click.ClickException(f"cannot install the glusterd parts: {exc}") from None
    click.echo(f"volfile filter: {'installed' if changed else 'already installed'} {path}")
    for link in made:
        click.echo(f"linked {link} -> the bridge")


@main.command(name="uninstall")
@click.option("--force", is_flag=True,
              help="Remove even though volumes still load glupy translators (their bricks and "
                   "clients then refuse to start: fail closed).")
def uninstall_cmd(force: bool) -> None:
    """Remove glupy from GlusterFS on this peer: the volfile filter, the user/glupy-*.so
    links and the features/glupy link.  Refused while volumes still use them."""
    from glupy.deploy import install as dinstall

    _require_root("glupy uninstall")
    infos = dinstall.volume_infos()
    blockers = dinstall.uninstall_blockers(infos)
    if blockers and not force:
        raise click.ClickException("volumes still use glupy on this peer:\n  " + "\n  ".join(blockers)
                                   + "\n(see docs/operations.md, Uninstall; --force removes anyway)")
    for path in dinstall.uninstall(infos):
        click.echo(f"removed {path}")
    target = volfile.installed_so_path()
    if target.is_symlink():
        target.unlink()
        click.echo(f"removed {target}")


# --------------------------------------------------------------------------- glusterd volumes


def _glusterd_sock_option(func: Any) -> Any:
    return click.option(
        "--glusterd-sock",
        envvar="GLUPY_GLUSTERD_SOCK",
        type=click.Path(dir_okay=False),
        default=None,
        help="glusterd's socket [default: $GLUPY_GLUSTERD_SOCK or the gluster CLI's own].",
    )(func)


def _heal_timeout_option(func: Any) -> Any:
    return click.option(
        "--heal-timeout", type=click.FloatRange(min=1), default=600.0, show_default=True,
        help="Seconds to wait for self-heal between brick restarts.")(func)


def _deploy_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from glupy.deploy.gluster import GlusterError
    from glupy.deploy.ops import DeployError

    try:
        return fn(*args, **kwargs)
    except (DeployError, GlusterError) as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.argument("volume")
@click.argument("module_spec", metavar="MODULE[:Class]")
@click.option("--side", type=click.Choice(["client", "brick", "both"]), default="both",
              show_default=True, help="Client graphs (FUSE/gfapi), brick graphs, or both.")
@click.option("--name", "name", default=None,
              help="Name of this attachment (for detach) [default: the class name, lower-case].")
@click.option("--position", default="default", show_default=True,
              help="default (client: above the top cluster translator; brick: above "
                   "storage/posix), top (right below io-stats), or above:TYPE.")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Translator option (repeatable).")
@click.option("--python-path", "python_path", multiple=True, metavar="DIR",
              help="Extra sys.path entry on every peer (absolute; repeatable).")
@click.option("--restart-bricks/--no-restart-bricks", default=True, show_default=True,
              help="Restart the bricks (rolling, through glusterd) so they load the new graph.")
@click.option("--force", is_flag=True,
              help="Attach even where glupy refuses to (crypt onto unencrypted files).")
@_heal_timeout_option
@_allow_untrusted_option
@_glusterd_sock_option
def attach(volume: str, module_spec: str, side: str, name: str | None, position: str,
           options: tuple[str, ...], python_path: tuple[str, ...], restart_bricks: bool,
           force: bool, heal_timeout: float, allow_untrusted_code: bool,
           glusterd_sock: str | None) -> None:
    """Add a Python translator to the volfiles of glusterd-managed VOLUME.

    The configuration is stored as the volume option user.glupy.xl.NAME (glusterd keeps
    it on every peer); a volfile filter installed in GlusterFS's filter/ directory inserts
    the translator each time glusterd writes a volfile. Mounted clients switch to the new
    graph live; bricks cannot, so they are restarted one per replica set at a time.
    """
    from glupy.deploy import ops
    from glupy.deploy.config import AttachSpec
    from glupy.deploy.gluster import Gluster

    try:
        module, cls = volfile.split_module_spec(module_spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="MODULE[:Class]") from None
    opts: dict[str, str] = {}
    for item in options:
        key, eq, value = item.partition("=")
        if not key or not eq or value == "":
            raise click.BadParameter(f"expected KEY=VALUE with a non-empty value, got {item!r}",
                                     param_hint="-o")
        if key in opts:
            raise click.BadParameter(f"{key} given twice", param_hint="-o")
        opts[key] = value
    if allow_untrusted_code:
        opts.setdefault(security.UNTRUSTED_OPTION, security.WARN)
    default_name = (cls or module.rsplit(".", 1)[-1]).lower().replace("_", "-")
    spec = AttachSpec(name=name or default_name, module=module_spec, side=side,
                      position=position, options=opts,
                      python_path=[os.path.abspath(p) for p in python_path])
    _deploy_call(ops.attach, Gluster(glusterd_sock), volume, spec, restart=restart_bricks,
                 say=click.echo, force=force, heal_timeout=heal_timeout)


@main.command()
@click.argument("volume")
@click.argument("name")
@click.option("--restart-bricks/--no-restart-bricks", default=True, show_default=True,
              help="Restart the bricks (rolling) so they drop the translator.")
@click.option("--force", is_flag=True,
              help="Detach even where glupy refuses to (crypt from encrypted files).")
@_heal_timeout_option
@_glusterd_sock_option
def detach(volume: str, name: str, restart_bricks: bool, force: bool, heal_timeout: float,
           glusterd_sock: str | None) -> None:
    """Remove the Python translator NAME from VOLUME (every peer, every volfile)."""
    from glupy.deploy import ops
    from glupy.deploy.gluster import Gluster

    _deploy_call(ops.detach, Gluster(glusterd_sock), volume, name, restart=restart_bricks,
                 say=click.echo, force=force, heal_timeout=heal_timeout)


@main.command(name="restart-bricks")
@click.argument("volume")
@_heal_timeout_option
@_glusterd_sock_option
def restart_bricks_cmd(volume: str, heal_timeout: float, glusterd_sock: str | None) -> None:
    """Start VOLUME's bricks that are down, restart all of them (rolling, as attach does)
    and verify every brick runs the attached translators: completes a rollout that
    stopped at a peer without glupy, once that peer has it (glupy install there)."""
    from glupy.deploy import ops
    from glupy.deploy.gluster import Gluster

    _deploy_call(ops.restart, Gluster(glusterd_sock), volume, say=click.echo, heal_timeout=heal_timeout)


@main.command(name="set")
@click.argument("volume")
@click.argument("name")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@_glusterd_sock_option
def set_cmd(volume: str, name: str, assignments: tuple[str, ...], glusterd_sock: str | None) -> None:
    """Change options of the attached translator NAME live: clients and bricks
    reconfigure without a restart (the translator's reconfigure() runs).  Unknown
    options and bad values are refused before anything changes."""
    from glupy.deploy import ops
    from glupy.deploy.gluster import Gluster

    changes: dict[str, str] = {}
    for item in assignments:
        key, eq, value = item.partition("=")
        if not key or not eq or value == "":
            raise click.BadParameter(f"expected KEY=VALUE with a non-empty value, got {item!r}",
                                     param_hint="KEY=VALUE")
        if key in volfile.RESERVED_OPTIONS:
            raise click.BadParameter(f"{key} is set by attach (detach and attach again)",
                                     param_hint="KEY=VALUE")
        changes[key] = value
    _deploy_call(ops.set_options, Gluster(glusterd_sock), volume, name, changes, say=click.echo)


@main.command()
@click.argument("volume", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_glusterd_sock_option
def status(volume: str | None, as_json: bool, glusterd_sock: str | None) -> None:
    """Show the Python translators attached to VOLUME (or to every volume) and what
    really runs: every brick process (on every host) is asked over the data path, every
    peer's client volfile is fetched, and this host's FUSE mounts are looked at.  Exits
    with status 1 when something configured does not run."""
    import json

    from glupy.deploy import ops
    from glupy.deploy.gluster import Gluster

    result = _deploy_call(ops.status, Gluster(glusterd_sock), volume)
    mismatch = _bridge_mismatch()
    if mismatch:
        click.echo(f"glupy: {mismatch}", err=True)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    elif not result:
        click.echo("no glupy translators attached")
    for entry in [] if as_json else result:
        click.echo(f"volume {entry['volume']} ({entry['status']}, {entry['type']}), filter on this host: "
                   f"{entry['filter'] or 'NOT INSTALLED'}")
        for line in entry["filter_errors"]:
            click.echo(f"  ! filter: {line}")
        if any(t["side"] in ("client", "both") for t in entry["translators"]):
            click.echo("  client graphs from a peer without the filter: "
                       + ("fail every fop (fail closed)" if entry["client_fail_closed"] else
                          "RUN WITHOUT the client-side translators (no sentinel: "
                          "glupy detach, then attach again, sets it)"))
        if not entry["translators"]:
            click.echo("  no glupy translators attached")
        for t in entry["translators"]:
            opts = " ".join(f"{k}={v}" for k, v in t["options"].items()) or "-"
            click.echo(f"  {t['name']}: {t['module']} side={t['side']} position={t['position']} "
                       f"options: {opts}")
            for host, st in t["peers"].items():
                click.echo(f"    client volfile from peer {host}: {st}")
            for brick, st in t["bricks"].items():
                extra = ""
                if st["state"] == "loaded":
                    extra = (f" (pid {st.get('pid')} on {st.get('host')}, Python {st.get('python')}, "
                             f"fops in Python: {len(st.get('fops', []))}, errors {st.get('errors', 0)}, "
                             f"reloads {st.get('reloads', 0)})")
                elif st.get("error"):
                    extra = f": {st['error']}"
                click.echo(f"    brick {brick}: {st['state']}{extra}")
                opts_seen = st.get("options")
                if st["state"] == "loaded" and opts_seen:
                    click.echo("      options: " + " ".join(f"{k}={v}" for k, v in opts_seen.items()))
            for m, st in t["clients"].items():
                click.echo(f"    mount {m} (this host): {st['state']}")
    if mismatch or _status_failed(result):
        sys.exit(1)


def _status_failed(result: list[dict[str, Any]]) -> bool:
    """Something configured does not run: a brick without it, a peer handing out a
    client volfile without it, a filter error."""
    for entry in result:
        for t in entry["translators"]:
            if any(st["state"] not in ("loaded", "volume stopped") for st in t["bricks"].values()):
                return True
            if any(st != "ok" for st in t["peers"].values()):
                return True
    return False


@main.command()
@click.argument("module_spec", metavar="MODULE[:Class]")
@click.option("--python-path", "python_path", multiple=True, type=click.Path(),
              help="Directory put first on sys.path (repeatable).")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
              help="An option value to check as GlusterFS would (repeatable).")
@_allow_untrusted_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def check(module_spec: str, python_path: tuple[str, ...], options: tuple[str, ...],
          allow_untrusted_code: bool, as_json: bool) -> None:
    """Load a translator without GlusterFS and report its fops, options and problems
    (not async, wrong signatures, unknown fop names, import errors, defaults and
    -o values GlusterFS would refuse, with its message, code paths that glusterfs,
    running as root, refuses to load from)."""
    import json

    from glupy.cli.check import check as run_check

    given: dict[str, str] = {}
    for item in options:
        key, eq, value = item.partition("=")
        if not key or not eq:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="-o")
        given[key] = value
    report = run_check(module_spec, [os.path.abspath(p) for p in python_path], given,
                       allow_untrusted_code=allow_untrusted_code)
    if as_json:
        cls = report.cls
        click.echo(json.dumps({
            "spec": report.spec, "ok": report.ok,
            "class": f"{cls.__module__}:{cls.__qualname__}" if cls is not None else None,
            "fops": report.fops, "refused_in_c": report.refused_in_c, "cbks": report.cbks,
            "options": report.options,
            "problems": report.problems, "warnings": report.warnings}, indent=2, default=str))
    else:
        click.echo(report.render())
    if not report.ok:
        sys.exit(1)


@main.command()
@click.argument("name")
@click.option("--dest", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Directory to create the package in.")
def new(name: str, dest: str) -> None:
    """Create a translator package NAME (module, test using glupy.testing, README)
    that passes its own test at once."""
    from glupy.cli.scaffold import new as scaffold

    try:
        root = scaffold(name, Path(dest))
    except (ValueError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {root}")
    click.echo(f"  cd {root} && glupy check {root.name.replace('-', '_')}.translator --python-path . "
               "&& sudo python -m pytest")


def _mount_pid(target: str, state_dir: Path | None) -> int:
    """The glusterfs pid serving MOUNTPOINT (glupy mount state) or a PID."""
    if target.isdigit():
        return int(target)
    state = process.read_state(target, state_dir)
    if state is None or not state.pid:
        raise click.ClickException(f"{target}: not a glupy mount (no state found); give a PID instead")
    if not state.alive():
        raise click.ClickException(f"{target}: its glusterfs process {state.pid} is not running")
    return int(state.pid)


@main.command()
@click.argument("target", metavar="MOUNTPOINT|PID|VOLUME")
@click.argument("name", required=False)
@_state_dir_option
@_glusterd_sock_option
def reload(target: str, name: str | None, state_dir: Path | None, glusterd_sock: str | None) -> None:
    """Hot-reload the Python translator(s) of a running glusterfs process (a glupy
    mount or a PID), or of every process on this host running VOLUME's attached
    translators (bricks and FUSE mounts; NAME as given to attach).  New fops use the
    re-imported module, fops in flight finish on the old code; if the import or
    init() fails, the old code keeps running and the error is shown."""
    from glupy.runtime import control

    _require_root("reload")
    if not target.isdigit() and not os.path.isdir(target):
        from glupy.deploy import ops
        from glupy.deploy.gluster import Gluster

        results = _deploy_call(ops.reload, Gluster(glusterd_sock), target, name)
        for r in results:
            status = r.get("message") or f"FAILED, old code still running: {r.get('error')}"
            click.echo(f"{r['process']} (pid {r['pid']}): {status}")
        if not all(r.get("ok") for r in results):
            sys.exit(1)
        return
    pid = _mount_pid(target, state_dir)
    try:
        answer = control.request(pid, {"cmd": "reload", "name": name})
    except (ConnectionError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    for r in answer.get("results", []):
        click.echo(r.get("message") or f"{r['name']}: reload FAILED, old code still running: {r['error']}")
    if not answer.get("ok"):
        if "error" in answer:
            click.echo(answer["error"], err=True)
        sys.exit(1)


@main.command(name="ps")
@_state_dir_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ps_cmd(state_dir: Path | None, as_json: bool) -> None:
    """glupy mounts on this host and what their processes run (live, via the control socket)."""
    from glupy.runtime import control

    mounts = []
    for m in process.list_mounts(state_dir):
        if not m.alive() and process.mount_fstype(m.mountpoint) is None:
            # its glusterfs is gone and nothing is mounted: a leftover, forgotten once
            with contextlib.suppress(FileNotFoundError):
                m.state_file.unlink()
            click.echo(f"{m.mountpoint}: gone (pid {m.pid} exited, not mounted); forgot it, "
                       f"log kept: {m.log_path}", err=as_json)
            continue
        mounts.append(m)
    if as_json:
        import json

        out = []
        for m in mounts:
            item: dict[str, Any] = {"mountpoint": str(m.mountpoint), "pid": m.pid,
                                    "running": m.alive(), "log": str(m.log_path)}
            if item["running"] and m.pid:
                try:
                    item["status"] = control.request(int(m.pid), {"cmd": "status"}, timeout=5)
                except (ConnectionError, OSError) as exc:
                    item["status_error"] = str(exc)
            out.append(item)
        click.echo(json.dumps(out, indent=2, default=str))
        return
    if not mounts:
        click.echo("no glupy mounts")
    for m in mounts:
        alive = m.alive()
        state = "running" if alive else f"NOT RUNNING, mount left behind (glupy umount {m.mountpoint})"
        click.echo(f"{m.mountpoint}: pid {m.pid} {state}, log {m.log_path}")
        if not alive or not m.pid:
            continue
        try:
            st = control.request(int(m.pid), {"cmd": "status"}, timeout=5)
        except (ConnectionError, OSError) as exc:
            click.echo(f"  (no status: {exc})")
            continue
        for t in st.get("translators", []):
            click.echo(f"  {t['name']}: {t['module']} ({t['class']}), reloads {t['reloads']}, "
                       f"fops in Python: {', '.join(t['fops']) or 'none'}")


if __name__ == "__main__":  # pragma: no cover
    main()
