"""One TOML site file for `edgeaction run --config` and `edgeaction jetson service --config`.

The file's keys are `edgeaction run`'s options, spelled as the long flag without its
dashes (`max-batch`, `batch-timeout-ms`), so file and flags cannot drift: the known keys
are taken from run's parser, and every value goes through the same `options` converter
(and `choices`) as the flag. Command-line flags override the file.

```toml
model = "models/a/model.onnx"          # run's MODEL; relative paths: from this file's folder
backend = "onnxruntime"
emit = "every"

[[camera]]                              # stream 0, in order: one --source each
source = "rtsp://viewer:${CAM0_PASSWORD}@10.0.0.5/stream"
roi = ["court=120,80,640,400"]          # per-stream options (metavar STREAM:...), no prefix

[[camera]]                              # stream 1
source = "/data/clip.mp4?loop=1"

[sinks]                                 # where results go
events = "/var/lib/edgeaction/events.jsonl"
metrics = "/var/lib/edgeaction/metrics.json"

[batching]
max-batch = 8
batch-timeout-ms = 20
```

- `[[camera]]`: `source` (required), plus run's per-stream options, the ones whose metavar
  starts with `STREAM:` (`--roi STREAM:NAME=X,Y,W,H` is `roi = ["NAME=X,Y,W,H"]`; the
  camera's index is prefixed). Cameras given with `--source` on the command line replace
  the file's cameras, with their per-stream options.
- `[sinks]`: the outputs (`SINKS`); `[batching]`: `BATCHING`; every other option of run
  at the top level. A key in the wrong place says where it belongs.
- Secrets never live here: keys such as `password` or `token`, and URLs holding a
  password (`rtsp://user:pw@...`) or a secret query parameter, are refused. Write
  `${NAME}` instead and set NAME in the environment file (`/etc/default/SERVICE`), which
  the service reads; `$${` is a literal `${`.

Every error is one line naming the file and the key (`site.toml: camera[1].source: ...`).
A leaf module: imports no pipelines and no commands (run's parser actions are passed in).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import options
from .errors import fail

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["BATCHING", "PLACEHOLDER", "SINKS", "SiteConfig", "is_secret_key", "load", "option_key"]

#: Options that go in `[sinks]` (those `run` has; the others are unknown keys).
SINKS = (
    "events",
    "out-video",
    "metrics",
    "mqtt",
    "webhook",
    "spool",
    "spool-max-mb",
    "drain",
    "event-clips",
    "clip-pre",
    "clip-post",
    "clips-max-mb",
    "out-rtsp",
)
#: Options that go in `[batching]`.
BATCHING = ("max-batch", "batch-timeout-ms", "queue")
#: Keys never read from the file (they make no sense there).
_NOT_IN_FILE = ("config", "help")
#: Most bytes a site file may have: a site file is a page, not a data set.
MAX_BYTES = 1 << 20

_SECRET = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[-_]?key|private[-_]?key|credentials?)$",
    re.IGNORECASE,
)
_ENV_REF = re.compile(r"\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)\})")
_ONLY_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_URI_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#@]*)@")
_QUERY_KEY = re.compile(r"[?&]([^=&#]+)=([^&#]*)")
_PATH_TYPES = ("path", "pathlib_path", "source")
#: What an unset `${NAME}` reads as when the file is checked on another machine
#: (`load(need_env=False)`); a value holding it is only known at start.
PLACEHOLDER = "edgeaction-env"


def is_secret_key(key: str) -> bool:
    """Whether `key` names a secret (`password`, `mqtt-token`, `api_key`, ...)."""
    return bool(_SECRET.search(key.replace("_", "-").split(".")[-1]))


def option_key(act: argparse.Action) -> str:
    """The site-file key of one of run's actions: its long flag without the dashes, or
    the positional's name (`model`)."""
    longs = [s for s in act.option_strings if s.startswith("--")]
    return longs[0][2:] if longs else act.dest


@dataclass
class SiteConfig:
    """A loaded, validated site file.

    Args:
        path: `Path`. The file.
        values: Dict. Run's `dest` -> converted value (lists for repeated options), for
            the options the file sets, cameras included (`source`, per-stream options).
        cameras: Integer. `[[camera]]` tables in the file.
        env_names: List of strings. Environment variables the file reads (`${NAME}`).
        camera_dests: Set of strings. The `dest`s the cameras set (replaced together when
            `--source` is given on the command line).
    """

    path: Path
    values: dict = field(default_factory=dict)
    cameras: int = 0
    env_names: list[str] = field(default_factory=list)
    camera_dests: set = field(default_factory=set)


class _Loader:
    """Check and convert one file's tables against run's actions."""

    def __init__(self, path: Path, actions: Iterable[argparse.Action], env, need_env: bool):
        self.path, self.env, self.need_env = path, env, need_env
        self.base = path.resolve().parent
        self.by_key = {
            option_key(a): a
            for a in actions
            if a.dest not in _NOT_IN_FILE and not isinstance(a, argparse._HelpAction)
        }
        self.per_stream = {
            k for k, a in self.by_key.items() if str(a.metavar or "").startswith("STREAM:")
        } | {"source"}
        self.site = SiteConfig(path)

    def error(self, where: str, message: str):
        fail(f"{self.path.name}: {where}: {options.one_line(message)}")

    def section_of(self, key: str) -> str:
        if key in self.per_stream:
            return "[[camera]]"
        if key in SINKS:
            return "[sinks]"
        if key in BATCHING:
            return "[batching]"
        return "the top level"

    # ---- tables -------------------------------------------------------------------------
    def table(self, data: dict, where: str, section: str) -> None:
        """Check and convert every key of one table (`section` as `section_of` says)."""
        for key, value in data.items():
            at = f"{where}.{key}" if where else key
            if is_secret_key(key):
                self.error(
                    at,
                    "secrets do not belong in the site file; set them in the environment file "
                    "(e.g. /etc/default/edgeaction) and write ${NAME} where a value needs one",
                )
            if isinstance(value, dict) and not where and key in ("sinks", "batching"):
                self.table(value, key, f"[{key}]")
                continue
            if not where and key == "camera":
                self.cameras(value)
                continue
            act = self.by_key.get(key)
            if act is None:
                self.unknown(at, key, section)
            if self.section_of(key) != section:
                self.error(at, f"belongs in {self.section_of(key)}, not in {section}")
            self.site.values[act.dest] = self.convert(at, act, value)

    def unknown(self, at: str, key: str, section: str):
        names = [*self.by_key, "camera", "sinks", "batching"]
        close = difflib.get_close_matches(key.replace("_", "-"), names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        self.error(
            at,
            f"unknown key{hint}; keys are `edgeaction run` options without their dashes, "
            "see `edgeaction run --help`",
        )

    def cameras(self, value) -> None:
        if not isinstance(value, list) or not all(isinstance(c, dict) for c in value):
            self.error("camera", "cameras are tables: write [[camera]] above each source = ...")
        for i, cam in enumerate(value):
            if "source" not in cam:
                self.error(f"camera[{i}]", 'every camera needs a source = "rtsp://..." (or a file)')
            for key, v in cam.items():
                at = f"camera[{i}].{key}"
                if is_secret_key(key):
                    self.table({key: v}, f"camera[{i}]", "[[camera]]")
                act = self.by_key.get(key)
                if act is None:
                    self.unknown(at, key, "[[camera]]")
                if key == "source" and not isinstance(v, str):
                    self.error(
                        at,
                        "one source per camera, a string; add a [[camera]] for each. "
                        f"Received: {_kind(v)}",
                    )
                if key not in self.per_stream:
                    self.error(
                        at, f"is not a per-camera option; it belongs in {self.section_of(key)}"
                    )
                got = self.convert(at, act, v, stream=i)
                got = got if isinstance(got, list) else [got]
                self.site.values.setdefault(act.dest, []).extend(got)
                self.site.camera_dests.add(act.dest)
        self.site.cameras = len(value)

    # ---- values -------------------------------------------------------------------------
    def convert(self, at: str, act: argparse.Action, value, stream: int | None = None):
        """`value` as the flag would give it (a list for a repeated option)."""
        if isinstance(act, argparse._StoreTrueAction | argparse._StoreFalseAction):
            if not isinstance(value, bool):
                self.error(at, f"expected true or false. Received: {_kind(value)}")
            return act.const if value else act.default
        if isinstance(act, argparse.BooleanOptionalAction):
            if not isinstance(value, bool):
                self.error(at, f"expected true or false. Received: {_kind(value)}")
            return value
        many = isinstance(act, argparse._AppendAction) or act.nargs in ("+", "*")
        if many:
            if not isinstance(value, list):
                return [self.scalar(at, act, value, stream)]
            if not value:
                self.error(at, "is an empty list; leave the key out instead")
            return [self.scalar(f"{at}[{j}]", act, v, stream) for j, v in enumerate(value)]
        return self.scalar(at, act, value, stream)

    def scalar(self, at: str, act: argparse.Action, value, stream: int | None):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error(at, f"expected a single value. Received: {_kind(value)}")
        if isinstance(value, str):
            self.check_secret_value(at, value)
            text = self.expand(at, value)
        else:
            text = repr(value) if isinstance(value, float) else str(value)
        if stream is not None and act.dest != "source":
            text = f"{stream}:{text}"
        conv = act.type
        try:
            out = conv(text) if conv is not None else text
        except (argparse.ArgumentTypeError, ValueError, TypeError) as e:
            self.error(at, self.hide(str(e) or f"invalid value {value!r}", value))
        if act.choices is not None and out not in act.choices:
            shown = ", ".join(map(str, act.choices))
            self.error(at, f"expected one of {shown}. Received: {value!r}")
        numeric = isinstance(out, int | float)
        if (numeric and isinstance(value, str)) or (
            isinstance(out, str | Path) and not isinstance(value, str)
        ):
            want = {int: "a whole number", float: "a number"}.get(type(out), "a string")
            self.error(at, f"expected {want}, not {_kind(value)}. Received: {value!r}")
        if getattr(conv, "__name__", "") in _PATH_TYPES or act.dest == "model":
            out = self.resolve(out)
        return out

    def resolve(self, value):
        """A relative path (not `-`, not a URI) made absolute against the file's folder."""
        s = str(value)
        if s == "-" or "://" in s or os.path.isabs(s):
            return value
        p = str(self.base / s)
        return Path(p) if isinstance(value, Path) else p

    def check_secret_value(self, at: str, value: str) -> None:
        m = _URI_USERINFO.match(value)
        if m and ":" in m.group(1) and not _ONLY_REF.fullmatch(m.group(1).split(":", 1)[1]):
            self.error(
                at,
                "holds a password; the site file is not secret: write "
                "scheme://user:${NAME}@host/... and set NAME in the environment file",
            )
        for k, v in _QUERY_KEY.findall(value):
            if is_secret_key(k) and not _ONLY_REF.fullmatch(v):
                self.error(
                    at,
                    f"query parameter {k!r} is a secret: write {k}=${{NAME}} and "
                    "set NAME in the environment file",
                )

    def expand(self, at: str, value: str) -> str:
        def sub(m: re.Match) -> str:
            if m.group(1) == "$":
                return "$"
            name = m.group(2)
            if name not in self.site.env_names:
                self.site.env_names.append(name)
            v = self.env.get(name)
            if not v:
                if not self.need_env:
                    return PLACEHOLDER
                self.error(
                    at,
                    f"${{{name}}} is not set (or empty) in the environment; set {name} in the "
                    "environment file (/etc/default/SERVICE) or export it",
                )
            return v

        return _ENV_REF.sub(sub, value)

    def hide(self, message: str, raw) -> str:
        """`message` with every expanded environment value written back as `${NAME}`."""
        for name in self.site.env_names:
            v = self.env.get(name)
            if v and isinstance(raw, str) and f"${{{name}}}" in raw:
                message = message.replace(v, f"${{{name}}}")
        return message


def _kind(value) -> str:
    return {
        bool: "a boolean",
        int: "a whole number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def read_toml(path: str | os.PathLike) -> dict:
    """The parsed TOML of `path`, or one line naming the problem (missing, not UTF-8,
    too large, a syntax error with its line)."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        fail(f"--config {p}: no such file; give the site file (TOML)")
    except IsADirectoryError:
        fail(f"--config {p}: is a directory; give the site file (TOML)")
    except OSError as e:
        fail(f"--config {p}: {e.strerror or e}")
    if len(raw) > MAX_BYTES:
        fail(f"--config {p}: larger than {MAX_BYTES >> 20} MiB; a site file is a page of TOML")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        fail(f"{p.name}: not UTF-8 text (byte {e.start + 1}); save the site file as UTF-8")
    except tomllib.TOMLDecodeError as e:
        fail(f"{p.name}: TOML syntax error: {options.one_line(str(e))}")


def load(
    path: str | os.PathLike,
    actions: Iterable[argparse.Action],
    env: Mapping[str, str] | None = None,
    need_env: bool = True,
) -> SiteConfig:
    """Read and validate the site file `path` against run's `actions`.

    Args:
        path: String or path. The TOML site file.
        actions: Iterable of `argparse.Action`. `edgeaction run`'s (`add_arguments`).
        env: Mapping or None. Where `${NAME}` is looked up. Defaults to `os.environ`.
        need_env: Boolean. Fail for a `${NAME}` that is not set (a run); False when the
            file is checked on another machine (`jetson service`). Defaults to `True`.

    Returns:
        A `SiteConfig`; fails with one line naming the key otherwise.
    """
    data = read_toml(path)
    ld = _Loader(Path(path), actions, os.environ if env is None else env, need_env)
    ld.table(data, "", "the top level")
    return ld.site
