"""The per-volume configuration of attached translators (``user.glupy.xl.<NAME>``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from glupy.local.volfile import RESERVED_OPTIONS, VolfileError, quote, split_module_spec

KEY_PREFIX = "user.glupy.xl."
GEN_KEY = "user.glupy.generation"
# GlusterFS 10.3 cannot `volume reset` a single user.* option ("Option ... does not exist"):
# detach overwrites the spec with this marker instead.
DETACHED = "detached"
SIDES = ("client", "brick", "both")
# put into volfiles by the deploy machinery in place of a translator (glupy.deploy.refuse)
REFUSE_MODULE = "glupy.deploy.refuse:Refuse"
INERT_MODULE = "glupy.deploy.refuse:Inert"
# default: client side right above the top cluster translator (dht/afr/...), brick side
#          right above storage/posix;
# top:     right below the top io-stats volume (client: below the mount's io-stats,
#          above the performance translators; brick: below the brick's io-stats);
# above:TYPE  right above the first (top-most) volume of that type, e.g. above:features/locks
POSITIONS = ("default", "top", "above:TYPE")
# brick side: glusterd's own custom translators (glusterd-volgen.c, check_and_add_user_xl):
# user.xlator.glupy-NAME=POSITION puts `type user/glupy-NAME` (volume VOL-glupy-NAME) above
# POSITION into every brick graph on every peer, options from user.xlator.glupy-NAME.KEY;
# <xlatordir>/user/glupy-NAME.so is a link to the bridge.  POSITION is one of these keys.
USER_XL_PREFIX = "user.xlator."
SERVER_POSITIONS = ("io-stats", "sdfs", "namespace", "cdc", "quota", "index", "barrier", "marker",
                    "selinux", "io-threads", "upcall", "leases", "read-only", "worm", "locks",
                    "access-control", "bitrot-stub", "changelog", "trash", "arbiter", "posix")
# client side: glusterd's own debug/error-gen, put into every client graph it writes
# (glusterd-volgen.c, client_graph_builder -> check_and_add_debug_xl) and set to fail 100%
# of the fops it handles (every fop a client can start with: lookup, open, create, statfs,
# ...; its errno is picked at random per fop: error-gen ignores debug.error-number unless
# random-failure is on, which fails only some fops).  glupy's filter removes it where it
# inserts the client-side translators; a peer without the filter hands out client graphs
# that serve nothing (fail closed).
SENTINEL_OPTIONS = {"debug.error-gen": "client", "debug.error-failure": "100"}
SENTINEL_TYPE = "debug/error-gen"
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,47}$")
_TYPE_RE = re.compile(r"^[a-z0-9_-]+/[a-z0-9_.-]+$")


class ConfigError(ValueError):
    """An attach spec that cannot be stored or applied."""


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise ConfigError(
            f"bad translator name {name!r}: use letters, digits, '-' and '_' "
            "(start with a letter, at most 48 characters)"
        )
    return name


def check_position(position: str) -> str:
    if position in ("default", "top"):
        return position
    if position.startswith("above:") and _TYPE_RE.match(position[6:]):
        return position
    raise ConfigError(
        f"bad position {position!r}: use default, top or above:TYPE (e.g. above:features/locks)"
    )


@dataclass
class AttachSpec:
    """One translator attached to a volume."""

    name: str
    module: str
    side: str = "both"
    position: str = "default"
    options: dict[str, str] = field(default_factory=dict)
    python_path: list[str] = field(default_factory=list)
    seq: int = 0  # attach order: earlier attaches sit above later ones at the same spot
    secret: list[str] = field(default_factory=list)  # option keys glupy status does not show

    def validate(self) -> AttachSpec:
        check_name(self.name)
        try:
            split_module_spec(self.module)
        except VolfileError as exc:
            raise ConfigError(str(exc)) from None
        if self.side not in SIDES:
            raise ConfigError(f"bad side {self.side!r}: use client, brick or both")
        check_position(self.position)
        if "brick" in self.sides:
            self.brick_position  # noqa: B018 - raises ConfigError
        for key, value in self.options.items():
            if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", key):
                raise ConfigError(f"bad option name {key!r}")
            if "brick" in self.sides and "." in key:
                # glusterd takes the option name after the last '.' of user.xlator.X.KEY
                raise ConfigError(f"option {key!r}: brick-side option names cannot contain '.'")
            if key in RESERVED_OPTIONS:
                raise ConfigError(f"option {key!r} is set by glupy (use --python-path)")
            try:
                quote(value)
            except VolfileError as exc:
                raise ConfigError(f"option {key}: {exc}") from None
        for d in self.python_path:
            if not d.startswith("/") or ":" in d:
                raise ConfigError(f"--python-path must be an absolute directory without ':': {d!r}")
        return self

    @property
    def sides(self) -> tuple[str, ...]:
        return ("client", "brick") if self.side == "both" else (self.side,)

    @property
    def key(self) -> str:
        return KEY_PREFIX + self.name

    @property
    def user_xlator(self) -> str:
        """The brick side's user translator name (``user/<this>``, ``user.xlator.<this>``)."""
        return f"glupy-{self.name}"

    @property
    def brick_position(self) -> str:
        """The server graph key the brick-side translator goes right above."""
        if self.position == "default":
            return "posix"
        if self.position == "top":
            return "io-stats"
        want = self.position[len("above:"):].rsplit("/", 1)[-1]
        if want not in SERVER_POSITIONS:
            raise ConfigError(f"position {self.position!r} cannot be used on bricks: glusterd "
                              f"inserts above one of {', '.join(SERVER_POSITIONS)} "
                              "(e.g. above:features/locks)")
        return want

    def brick_options(self) -> dict[str, str]:
        """The ``user.xlator.*`` options of the brick side; the position key last."""
        prefix = USER_XL_PREFIX + self.user_xlator
        out = {f"{prefix}.module": self.module}
        if self.python_path:
            out[f"{prefix}.python-path"] = ":".join(self.python_path)
        for key, value in self.options.items():
            out[f"{prefix}.{key}"] = value
        out[prefix] = self.brick_position
        return out

    def xlator_name(self, volume: str) -> str:
        """The volume name of the inserted translator in the volfiles (and log lines)."""
        return f"{volume}-glupy-{self.name}"

    def to_value(self) -> str:
        data = {
            "module": self.module,
            "side": self.side,
            "position": self.position,
            "options": self.options,
            "python_path": self.python_path,
            "seq": self.seq,
        }
        if self.secret:
            data["secret"] = sorted(self.secret)
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_value(cls, name: str, value: str) -> AttachSpec:
        try:
            data = json.loads(value)
        except ValueError as exc:
            raise ConfigError(f"{KEY_PREFIX}{name}: not JSON: {exc}") from None
        if not isinstance(data, dict) or "module" not in data:
            raise ConfigError(f"{KEY_PREFIX}{name}: not a glupy attach spec")
        try:
            spec = cls(
                name=name,
                module=str(data["module"]),
                side=str(data.get("side", "both")),
                position=str(data.get("position", "default")),
                options={str(k): str(v) for k, v in dict(data.get("options", {})).items()},
                python_path=[str(p) for p in data.get("python_path", [])],
                seq=int(data.get("seq", 0)),
                secret=[str(k) for k in data.get("secret", [])],
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{KEY_PREFIX}{name}: {exc}") from None
        return spec.validate()


def specs_from_options(options: dict[str, str]) -> list[AttachSpec]:
    """Attach specs from a volume's options (``user.glupy.xl.*``), in attach order."""
    specs = [
        AttachSpec.from_value(key[len(KEY_PREFIX):], value)
        for key, value in options.items()
        if key.startswith(KEY_PREFIX) and value != DETACHED
    ]
    return sorted(specs, key=lambda s: (s.seq, s.name))


def read_info(path: str | Path) -> dict[str, str]:
    """A glusterd ``vols/VOL/info`` file as a dict (``key=value`` lines)."""
    out: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            key, eq, value = line.rstrip("\n").partition("=")
            if eq:
                out[key] = value
    return out


def read_info_specs(path: str | Path) -> list[AttachSpec]:
    return specs_from_options(read_info(path))
