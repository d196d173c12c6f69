"""`edgeaction jetson service`: a systemd unit, its EnvironmentFile, Dockerfiles and install.sh.

```
edgeaction jetson service models/a/model.onnx --source rtsp://user:pw@cam/stream --out deploy/
sudo bash deploy/install.sh && journalctl -u edgeaction -f
```

writes into `--out`:

- `NAME.service`: the systemd unit. `ExecStart` runs `VENV/bin/edgeaction run MODEL
  $EDGEACTION_SOURCES --events ... --metrics ... --quiet`; systemd splits the unbraced
  `$EDGEACTION_SOURCES` at whitespace into separate arguments (`${VAR}` would be one).
- `NAME.env` (mode 0600): `EDGEACTION_SOURCES=--source URL --source URL`. The real URLs,
  credentials included, live only here; install.sh copies it to `/etc/default/NAME`
  (root, 0600), which the unit reads through `EnvironmentFile=`. Nothing printed, and no
  other file written, holds a credential.
- `Dockerfile.jetson` (NVIDIA's L4T TensorRT 10.3 image, JetPack 6) and `Dockerfile.x86`
  (NVIDIA's TensorRT 10.3 image): system TensorRT and PyGObject reached from a
  `--system-site-packages` venv holding `edgeaction[runtime,cuda,metrics]` only (no TensorFlow).
- `install.sh`: installs the unit and the environment file, enables and (re)starts the
  service.

With `--config site.toml` (see `edgeaction.site`) the unit runs `edgeaction run --config
/abs/site.toml`: the file is read when the service starts, and checked here now (one line
naming the key). MODEL and `--source` are then optional (the file's cameras are used
unless `--source` is given), `--events`/`--metrics` are passed only when given here, and
NAME.env lists the `${NAME}` variables the file reads (its secrets) to be filled in.

The files are generated on one machine and may run on another, so sources and the model
are checked for their form only: nothing has to exist here (a missing model or file is a
warning).

Never imports TensorFlow.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import shlex
import sys
from pathlib import Path, PurePosixPath

from .. import options
from ..artefacts import ENGINE_SUFFIXES, MODEL_ONNX, TRAINING_SUFFIXES
from ..errors import fail
from ..fsutil import atomic_path, check_writable_dir
from ..options import check_file_value
from ..site import PLACEHOLDER
from .containers import ENV_VAR, render_dockerfile

__all__ = ["ServiceConfig", "add_parser", "generate", "check_source", "systemd_quote"]

MODEL_SUFFIXES = (".onnx", *ENGINE_SUFFIXES)
# Options of `edgeaction run` that the unit sets itself.
_OWN_RUN_OPTIONS = ("--source", "--events", "--metrics", "-q", "--quiet", "--config")
_UNIT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,199}$")
_USER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")
# Characters a source cannot hold in the EnvironmentFile (systemd and `docker --env-file`
# read the value differently once quotes or backslashes appear; whitespace splits it).
_UNSAFE = re.compile(r"[\s\"'`\\\x00-\x1f\x7f]")
# ProtectSystem=full and ProtectHome=read-only (the unit's sandbox)
_READ_ONLY_UNDER = ("/usr", "/boot", "/efi", "/etc", "/home", "/root", "/run/user")


class ServiceConfig:
    """What `generate` writes: one service running `edgeaction run` on a target machine.

    Args:
        model: String. Model path on the target: `.onnx`, `.engine` / `.plan`, or an export
            directory. Relative paths are made absolute against the current directory.
        sources: List of strings. `--source` values (URLs may hold credentials).
        name: String. Unit name without `.service`. Defaults to `"edgeaction"`.
        user: String or None. User the service runs as. Defaults to the current user.
        workdir: String or None. Working directory. Defaults to `/var/lib/NAME` (the
            unit's `StateDirectory=`, created by systemd and owned by `user`).
        events: String. `--events` of the run. Defaults to `"-"`: stdout, i.e. the journal.
        metrics: String or None. `--metrics`. Defaults to `/var/lib/NAME/metrics.json`.
        venv: String or None. Virtual environment holding edgeaction on the target.
            Defaults to this interpreter's prefix (the venv this command runs from).
        run_args: List of strings. More `edgeaction run` options (e.g. `--backend tensorrt`).
        config: String or None. Site file (TOML) the service reads at start; checked now.
            With it, `model` and `sources` may come from the file, and `events` /
            `metrics` of None are left to the file. Defaults to `None`.
    """

    def __init__(
        self,
        model: str | None,
        sources: list[str],
        name: str = "edgeaction",
        user: str | None = None,
        workdir: str | None = None,
        events: str = "-",
        metrics: str | None = None,
        venv: str | None = None,
        run_args: list[str] | None = None,
        config: str | None = None,
    ):
        self.name = check_name(name)
        self.config, site = _site_file(config)
        self.env_names = site.env_names if site else []
        self.user = check_user(user if user is not None else getpass.getuser())
        self.workdir = _abs_target(workdir, "--workdir") if workdir else f"/var/lib/{self.name}"
        self.venv = _abs_target(venv if venv else sys.prefix, "--venv")
        self.model = check_model(model) if model else None
        if self.model is None and (site is None or "model" not in site.values):
            fail("give the model: edgeaction jetson service MODEL --source ... --out DIR")
        if not sources and (site is None or not site.cameras):
            fail(
                "give at least one --source (a file, rtsp://, v4l2:///dev/videoN, csi://N, "
                "test://)" + (" or a [[camera]] in the site file" if site else "")
            )
        self.sources = [check_source(s) for s in sources]
        self.site_model: str | None = None
        if site is not None:
            self.site_model = check_model(str(site.values.get("model") or self.model))
            for s in site.values.get("source", []) if not sources else []:
                if PLACEHOLDER not in s:  # else completed from the environment at start
                    check_source(s)
        if events is None and site is None:
            events = "-"
        if metrics is None and site is None:
            metrics = f"/var/lib/{self.name}/metrics.json"
        self.events = _output_path(events, "--events") if events is not None else None
        self.metrics = _output_path(metrics, "--metrics") if metrics is not None else None
        self.run_args = check_run_args(run_args or [])

    @property
    def target_model(self) -> str:
        """The model the service runs (MODEL, else the site file's)."""
        return self.model or self.site_model

    @property
    def exe(self) -> str:
        """`edgeaction` of the target's venv."""
        return str(PurePosixPath(self.venv) / "bin" / "edgeaction")


# ---- checks (form only: the paths refer to the target machine) --------------------------
def check_name(name: str) -> str:
    """A unit name without `.service` (letters, digits, `_ . : -`), failing with one line."""
    n = str(name).strip()
    n = n.removesuffix(".service")
    if not _UNIT_NAME.fullmatch(n) or n in (".", ".."):
        fail(
            "--name must be a systemd unit name: letters, digits, '_', '.', ':', '-' "
            f"(no '@', '/', spaces), at most 200 characters. Received: {name!r}"
        )
    return n


def check_user(user: str) -> str:
    """A plausible user name (the user must exist on the target; install.sh checks)."""
    if not _USER_NAME.fullmatch(user):
        fail(f"--user must be a user name (letters, digits, '_', '.', '-'). Received: {user!r}")
    return user


def _abs_target(path: str, what: str) -> str:
    check_file_value(str(path), what)
    p = os.path.expanduser(str(path))
    if not p.strip():
        fail(f"{what} is empty; give a path")
    if _UNSAFE.search(p) or "%" in p or "$" in p:
        fail(f"{what} cannot hold whitespace, quotes, '%', '$' or backslashes. Received: {path!r}")
    return os.path.normpath(os.path.abspath(p))


def check_model(model: str) -> str:
    """The model's absolute path: `.onnx`, `.engine`/`.plan` or an export directory.

    Fails for other suffixes (a Keras model must be exported first); a path that does not
    exist here is accepted (it refers to the target machine).
    """
    p = Path(_abs_target(model, "model path"))
    if p.suffix.lower() in TRAINING_SUFFIXES:
        fail(
            f"model {p.name} is a training format; the Jetson runs ONNX or TensorRT: "
            "`edgeaction export RUN --out DIR` then pass DIR/model.onnx (or the engine)"
        )
    if p.exists():
        if p.is_dir():
            if not (p / MODEL_ONNX).exists():
                fail(
                    f"model directory {p} holds no model.onnx; give an `edgeaction export` directory"
                )
        elif p.suffix.lower() not in MODEL_SUFFIXES:
            fail(f"model must be .onnx, .engine/.plan or an export directory. Received: {p}")
    elif p.suffix and p.suffix.lower() not in MODEL_SUFFIXES:
        fail(f"model must be .onnx, .engine/.plan or an export directory. Received: {p}")
    return str(p)


def check_source(text: str) -> str:
    """Check the form of one `--source` and return it as the service will pass it.

    Like `pipelines.sources.parse_source`, without touching the filesystem: files and
    cameras need not exist here. Relative file paths become absolute (against the current
    directory). Fails with one line (credentials redacted) when the form is wrong or the
    source holds whitespace, quotes or backslashes (percent-encode them in a
    `file:///abs/path` URL).
    """
    from ..pipelines.sources import redact, validate_source
    from ..pipelines.sources.spec import SCHEME

    s = str(text).strip()
    check_file_value(s, "source")  # before redact: its message hides credentials itself
    if _UNSAFE.search(s):
        fail(
            f"source {redact(s)}: cannot hold whitespace, quotes or backslashes in a service "
            "(percent-encode them, e.g. file:///data/my%20clip.mp4)"
        )
    validate_source(s)  # run's own grammar (?loop=1, ?realtime=1, ...); nothing is opened
    if SCHEME.match(s) is None:  # a file path, maybe with ?loop=1: made absolute
        path, query = (s.rsplit("?", 1) + [""])[:2] if "?" in s else (s, "")
        path = _abs_target(path, f"source {redact(s)}")
        return f"{path}?{query}" if query else path
    return s


def _site_file(config: str | None):
    """The site file's absolute path and its `SiteConfig` (checked against run's options;
    `${NAME}` need not be set here), or `(None, None)`."""
    if config is None:
        return None, None
    from ..commands.run import add_arguments
    from ..site import load

    path = _abs_target(config, "--config")
    acts = add_arguments(argparse.ArgumentParser(add_help=False))
    return path, load(path, acts, need_env=False)


def check_run_args(args: list[str]) -> list[str]:
    """Split `--run-arg` values (shell words) and check them against `edgeaction run`."""
    out: list[str] = []
    for a in args:
        check_file_value(a, "--run-arg")  # a newline would add a line to the unit
        try:
            out += shlex.split(a)
        except ValueError as e:
            fail(f"--run-arg {a!r}: {e}")
    from ..commands.run import option_strings

    known = option_strings()
    for w in out:
        if not w.startswith("-") or w == "-":
            continue
        opt = w.split("=", 1)[0]
        if opt in _OWN_RUN_OPTIONS:
            fail(f"--run-arg {w!r}: the service sets {opt} itself; use this command's option")
        if opt not in known:
            fail(
                f"--run-arg {w!r}: `edgeaction run` has no option {opt} (see `edgeaction run --help`)"
            )
    return out


def _output_path(path: str, what: str) -> str:
    check_file_value(str(path), what)
    if path == "-":
        return path
    p = _abs_target(path, what) if os.path.isabs(os.path.expanduser(path)) else path
    if _UNSAFE.search(p) or "%" in p or "$" in p:
        fail(f"{what} cannot hold whitespace, quotes, '%', '$' or backslashes. Received: {path!r}")
    for ro in _READ_ONLY_UNDER:
        if p == ro or p.startswith(ro + "/"):
            fail(
                f"{what} {p} is read-only for the service (ProtectSystem=full, "
                "ProtectHome=read-only); use /var/lib/..."
            )
    return p


# ---- rendering ----------------------------------------------------------------------------
def systemd_quote(arg: str) -> str:
    """One `ExecStart=` word: `%` and `$` escaped (`%%`, `$$`), double-quoted when needed."""
    s = arg.replace("%", "%%").replace("$", "$$")
    if re.fullmatch(r"[A-Za-z0-9_@+=:,./%$-]+", s) and s != ";":
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_unit(c: ServiceConfig) -> str:
    """The `NAME.service` text."""
    words = [c.exe, "run", *([c.model] if c.model else [])]
    words += ["--config", c.config] if c.config else []
    tail = ["--events", c.events] if c.events else []
    if c.metrics:
        tail += ["--metrics", c.metrics]
    tail += ["--quiet", *c.run_args]
    exec_start = " ".join(
        [*(systemd_quote(w) for w in words), f"${ENV_VAR}", *(systemd_quote(w) for w in tail)]
    )
    return f"""\
# {c.name}.service - generated by `edgeaction jetson service`; install with install.sh.
# The sources (RTSP URLs with credentials) are NOT in this file: they are in
# /etc/default/{c.name} (root, 0600), read through EnvironmentFile=.
[Unit]
Description=edgeaction video action recognition ({c.name})
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User={c.user}
# video: /dev/video* cameras and, on a Jetson, the GPU (/dev/nvhost-*, /dev/nvmap).
SupplementaryGroups=video
StateDirectory={c.name}
WorkingDirectory={systemd_quote(c.workdir)}
Environment=GST_DEBUG=1 PYTHONUNBUFFERED=1 EDGEACTION_CACHE_DIR=%S/{c.name}/engines
# Required: EDGEACTION_SOURCES="--source URL --source URL"; it may also override GST_DEBUG.
EnvironmentFile=/etc/default/{c.name}
# $EDGEACTION_SOURCES (no braces) is split at whitespace into separate arguments.
ExecStart={exec_start}
Restart=on-failure
RestartSec=5
# SIGTERM ends the run cleanly (events flushed, videos finalised); give it time.
KillSignal=SIGTERM
TimeoutStopSec=30
SyslogIdentifier={c.name}
# Sandbox (`systemd-analyze security`): everything a camera + GPU service can do without.
# Not set, on purpose: PrivateDevices/DevicePolicy/ProtectClock (they close the device
# nodes the GPU and cameras need), PrivateUsers (it drops the video group),
# MemoryDenyWriteExecute (GStreamer's ORC and CUDA's JIT write code), PrivateNetwork
# (RTSP cameras), ProcSubset=pid (ONNX Runtime reads /proc/cpuinfo).
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=full
ProtectHome=read-only
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
UMask=0027

[Install]
WantedBy=multi-user.target
"""


def render_env(c: ServiceConfig) -> str:
    """The `NAME.env` text (holds the real source URLs: keep it 0600)."""
    from ..pipelines.sources import redact

    shown = "\n".join(f"#   --source {redact(s)}" for s in c.sources)
    value = " ".join(f"--source {s}" for s in c.sources)
    return f"""\
# /etc/default/{c.name} - EnvironmentFile of {c.name}.service (generated by
# `edgeaction jetson service`). It holds the camera URLs WITH their credentials:
# keep it owned by root, mode 0600 (install.sh does). Sources, redacted:
{shown}
# One line, each source after --source, no spaces or quotes inside a source
# (percent-encode them). Edit, then: sudo systemctl restart {c.name}
# Also usable as `docker run --env-file` for the images of Dockerfile.jetson/.x86.
{ENV_VAR}={value}
# GST_DEBUG=2
{_env_names(c)}"""


def _env_names(c: ServiceConfig) -> str:
    """Lines for the `${NAME}` variables the site file reads (its secrets), to fill in."""
    if not c.env_names:
        return ""
    lines = "\n".join(f"{n}=" for n in c.env_names)
    return f"# The site file {c.config} reads these (its secrets): fill them in.\n{lines}\n"


def render_install(c: ServiceConfig) -> str:
    """The `install.sh` text (run as root on the target)."""
    q = shlex.quote
    return f"""\
#!/usr/bin/env bash
# Install {c.name}.service (generated by `edgeaction jetson service`): run on the target as
#   sudo bash install.sh
set -euo pipefail
HERE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
NAME={q(c.name)}
RUN_USER={q(c.user)}
EXE={q(c.exe)}
MODEL={q(c.target_model)}
CONFIG={q(c.config or "")}

die() {{ echo "install.sh: $*" >&2; exit 1; }}
[[ $(id -u) -eq 0 ]] || die "run as root: sudo bash $0"
command -v systemctl >/dev/null || die "systemctl not found: this needs a systemd machine"
id -u "$RUN_USER" >/dev/null 2>&1 || die "user $RUN_USER does not exist here; regenerate with --user"
[[ -x "$EXE" ]] || die "$EXE not found; install edgeaction there (pip install '.[runtime,cuda]' in a --system-site-packages venv) or regenerate with --venv"
[[ -e "$MODEL" ]] || die "model $MODEL not found; copy it there or regenerate with the right path"
[[ -z "$CONFIG" || -r "$CONFIG" ]] || die "site file $CONFIG not found; copy it there (read at service start)"
getent group video >/dev/null || die "group video does not exist (SupplementaryGroups=video)"

install -D -m 0644 -o root -g root "$HERE/$NAME.service" "/etc/systemd/system/$NAME.service"
# The sources hold camera credentials: root only.
install -D -m 0600 -o root -g root "$HERE/$NAME.env" "/etc/default/$NAME"
systemctl daemon-reload
systemctl enable "$NAME.service"
systemctl restart "$NAME.service"
systemctl --no-pager --lines=0 status "$NAME.service" || true
echo "installed $NAME.service; follow its log (events, errors) with:"
echo "  journalctl -u $NAME -f"
echo "change the sources: sudo nano /etc/default/$NAME && sudo systemctl restart $NAME"
"""


# ---- writing -------------------------------------------------------------------------------
def _write(path: Path, text: str, mode: int) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, mode)  # before the rename: the env file is never readable by others
    return path


def generate(c: ServiceConfig, out: str | os.PathLike) -> list[Path]:
    """Write the unit, env file, Dockerfiles and install.sh into `out`; return their paths."""
    d = check_writable_dir(out, "--out directory")
    return [
        _write(d / f"{c.name}.service", render_unit(c), 0o644),
        _write(d / f"{c.name}.env", render_env(c), 0o600),
        _write(d / "Dockerfile.jetson", render_dockerfile(c, "jetson"), 0o644),
        _write(d / "Dockerfile.x86", render_dockerfile(c, "x86"), 0o644),
        _write(d / "install.sh", render_install(c), 0o755),
    ]


def _local_warnings(c: ServiceConfig) -> list[str]:
    w = []
    if c.user == "root":
        w.append("the service would run as root; pass --user (a user in the 'video' group)")
    if not Path(c.target_model).exists():
        w.append(f"model {c.target_model} does not exist here (fine if it does on the target)")
    if not Path(c.exe).exists():
        w.append(f"{c.exe} does not exist here (fine if it does on the target; see --venv)")
    for s in c.sources:
        if "://" not in s:
            f = s.rsplit("?", 1)[0] if "?" in s and not Path(s).exists() else s
            if not Path(f).exists():
                w.append(f"video file {f} does not exist here (fine if it does on the target)")
    return w


def cmd_service(a) -> int:
    from ..pipelines.sources import redact

    c = ServiceConfig(
        model=a.model,
        sources=a.source or [],
        name=a.name,
        user=a.user,
        workdir=a.workdir,
        events=a.events,
        metrics=a.metrics,
        venv=a.venv,
        run_args=a.run_arg,
        config=a.config,
    )
    paths = generate(c, a.out)
    for w in _local_warnings(c):
        print(f"edgeaction jetson service: warning: {w}", file=sys.stderr)
    d = paths[0].parent
    print(f"wrote {', '.join(str(p) for p in paths)}")
    print(
        f"  {c.name}.env (mode 0600) holds the sources: {', '.join(redact(s) for s in c.sources)}"
    )
    site = f", site file {c.config} (read at start)" if c.config else ""
    print(f"  unit: User={c.user}, model {c.target_model}, {c.exe}{site}")
    print(f"install on the target: sudo bash {d}/install.sh && journalctl -u {c.name} -f")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `edgeaction jetson service`."""
    s = sub.add_parser(
        "service",
        help="write a systemd unit (+ env file, Dockerfiles, install.sh) that runs `edgeaction run`",
        description="Write NAME.service, NAME.env (the sources, mode 0600), Dockerfile.jetson, "
        "Dockerfile.x86 and install.sh into --out. Paths refer to the machine that will run "
        "the service: only their form is checked here. Source URLs (credentials included) "
        "go only into NAME.env, installed as /etc/default/NAME (root, 0600).",
        epilog="example:\n  edgeaction jetson service ~/models/a/model.onnx \\\n"
        "      --source rtsp://user:pass@10.0.0.5/stream --source /data/clip.mp4 --out deploy/\n"
        "  sudo bash deploy/install.sh && journalctl -u edgeaction -f",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument(
        "model",
        type=options.path,
        nargs="?",
        help="model on the target: .onnx, .engine/.plan, or an `edgeaction export` directory",
    )
    s.add_argument(
        "--model",
        type=options.path,
        dest="model_opt",
        metavar="MODEL",
        help="same as the positional MODEL",
    )
    s.add_argument(
        "--source",
        type=options.source,
        action="append",
        help="a source as `edgeaction run` takes it; repeat",
    )
    s.add_argument(
        "--out",
        type=options.path,
        required=True,
        help="directory to write the files into (created)",
    )
    s.add_argument(
        "--name", type=options.text, default="edgeaction", help="unit name (default edgeaction)"
    )
    s.add_argument(
        "--user", type=options.text, help="user the service runs as (default: the current user)"
    )
    s.add_argument("--workdir", type=options.path, help="working directory (default /var/lib/NAME)")
    s.add_argument(
        "--events",
        type=options.path,
        help="events file (default '-': stdout, i.e. the journal; with --config: the file's)",
    )
    s.add_argument(
        "--metrics",
        type=options.path,
        help="metrics JSON (default /var/lib/NAME/metrics.json; with --config: the file's)",
    )
    s.add_argument(
        "--config",
        type=options.path,
        metavar="SITE.toml",
        help="site file (TOML: model, cameras, zones, sinks) the service reads at start; "
        "checked now; secrets go in NAME.env as ${NAME}",
    )
    s.add_argument(
        "--venv",
        type=options.path,
        help=f"venv holding edgeaction on the target (default: this one, {sys.prefix})",
    )
    s.add_argument(
        "--run-arg",
        type=options.text,
        action="append",
        default=[],
        metavar="ARG",
        help="more `edgeaction run` options, e.g. --run-arg='--backend tensorrt'; repeat",
    )
    s.set_defaults(fn=_dispatch_service)


def _dispatch_service(a) -> int:
    if a.model and a.model_opt and a.model != a.model_opt:
        fail(f"give the model once (MODEL or --model). Received: {a.model!r} and {a.model_opt!r}")
    a.model = a.model or a.model_opt
    if not a.model and not a.config:
        fail("give the model: edgeaction jetson service MODEL --source ... --out DIR")
    return cmd_service(a)
