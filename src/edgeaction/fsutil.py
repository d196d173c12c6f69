"""The output-path policy every writer follows, atomic writes and checksums.

Output policy (one place, used by every command):

- An output is never written over an input or over another output of the same command:
  `claim_outputs` compares resolved paths (symlinks followed) and, for existing files,
  (st_dev, st_ino) (hard links), before anything is written.
- Regular files (and paths that do not exist yet) are written atomically: beside the
  target, fsync, rename (a symlink is written through: its target is replaced). A
  character device (`/dev/null`, `/dev/stdout` on a terminal), a FIFO (`/dev/stdout`
  in a pipe) or any file named under /dev or /proc (`/dev/stdout` redirected to a file)
  is written in place: opened for writing, never renamed over, never fsynced.
  Directories, sockets and block devices are refused with one line: nothing is ever
  replaced that is not a regular file.
- An `OSError` on an output (`ENOSPC`, `ENAMETOOLONG`, `EROFS`, `EACCES`, ...) becomes
  one line naming the path (`output_errors`); the CLI maps any other `OSError` that
  carries a file name the same way (`os_error_line`).
- Inside `command_outputs()` (the CLI wraps every command in it) every directory and
  file a command creates is recorded; when the command fails they are removed again,
  directories included, never anything that existed before it started (`keep` marks
  what must survive a failure: the events a run wrote before the disk filled). Ctrl-C
  removes nothing: a stopped training keeps its checkpoints for `--resume`.

Atomic file writes: write beside the target, fsync, then rename.

A crash, Ctrl-C or SIGKILL never leaves a half-written model, report or video where a
later run would pick it up: the target either has its old content or the whole new one.
Temporary files start with a dot and hold `.partial`, so nothing that globs for models,
engines or videos picks them up (a SIGKILL can leave one behind; it is never read).

Checksums: `edgeaction export` writes `checksums.json` beside the ONNX files it writes
(`{"schema": 1, "algorithm": "sha256", "files": {"model.onnx": HEX, ...}}`, covering
`model.onnx`, `model_fp16.onnx`, `encoder.onnx` and `head.onnx`), and every runner
checks an ONNX file against it with `verify_checksum` before loading it. A file that is
not listed, or a directory without `checksums.json` (older exports, hand-made models),
loads unchecked. Engines carry their own sha256 in their `ENGINE.json` sidecar.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from .errors import fail

#: The checksum manifest `edgeaction export` writes beside the ONNX files.
CHECKSUMS_FILE = "checksums.json"
CHECKSUMS_SCHEMA = 1


from .oserrors import (  # noqa: E402,F401 (re-exported: fsutil is where writers look)
    IN_PLACE_KINDS,
    KIND_NAMES,
    os_error_line,
    output_errors,
    show_path,
    target_kind,
    writes_in_place,
)


class CreatedOutputs:
    """The directories and files one command created, removed by `rollback()`.

    Only what did not exist before is recorded: `check_writable_dir` and `make_dir`
    record the directories they create, the atomic writers the files they create (a
    replaced file is not recorded: it existed). Everything under a recorded directory
    is this command's, so `rollback()` removes such a directory whole, unless it holds
    a path given to `keep`.
    """

    def __init__(self):
        self.dirs: list[str] = []
        self.files: list[str] = []
        self.kept: list[str] = []

    def rollback(self) -> None:
        """Remove the recorded files, then the recorded directories, newest first."""

        def holds_kept(p: str) -> bool:  # p is, holds or lies in a kept path
            return any(
                k == p or k.startswith(p.rstrip(os.sep) + os.sep) or p.startswith(k + os.sep)
                for k in self.kept
            )

        for f in reversed(self.files):
            if not holds_kept(f):
                with contextlib.suppress(OSError):
                    os.unlink(f)
        for d in reversed(self.dirs):
            if not holds_kept(d):
                shutil.rmtree(d, ignore_errors=True)
        self.dirs.clear()
        self.files.clear()


_SCOPES: list[CreatedOutputs] = []


@contextlib.contextmanager
def command_outputs() -> Iterator[CreatedOutputs]:
    """Record what the block creates; remove it if the block raises (not on Ctrl-C).

    The CLI runs every command inside one. Outside any (library use) nothing is recorded.
    A `KeyboardInterrupt` removes nothing: a stopped training keeps its checkpoints.
    """
    scope = CreatedOutputs()
    _SCOPES.append(scope)
    try:
        yield scope
    except Exception:
        scope.rollback()
        raise
    finally:
        _SCOPES.remove(scope)


def _record(kind: str, paths: Iterable[str | os.PathLike]) -> None:
    for scope in _SCOPES:
        getattr(scope, kind).extend(os.path.abspath(p) for p in paths)


def keep(path: str | os.PathLike) -> None:
    """Never remove `path`, what it holds, nor a directory holding it, when the command fails.

    For what must survive a failure: the events written before a disk filled up, a
    cache (engines, keypoints) whose entries stay valid.
    """
    _record("kept", [path])


def make_dir(directory: str | os.PathLike, what: str = "directory") -> Path:
    """`mkdir -p directory`, recording what it created; an `OSError` is one line."""
    d = Path(directory)
    with output_errors(d, what, "create"):
        for p in _missing_ancestors(d):  # one at a time: a failure leaves a record of the rest
            try:
                os.mkdir(p)
            except FileExistsError:
                if not p.is_dir():
                    raise
                continue
            _record("dirs", [p])
    return d


def _missing_ancestors(d: Path) -> list[Path]:
    """`d` and its parents that do not exist yet, outermost first."""
    out: list[Path] = []
    p = Path(os.path.abspath(d))
    while not os.path.lexists(p):
        out.append(p)
        if p.parent == p:
            break
        p = p.parent
    return out[::-1]


# ---- checks before anything is written ------------------------------------------------------
def claim_outputs(
    outputs: Mapping[str, object], inputs: Mapping[str, object] | None = None
) -> None:
    """Refuse, with one line, an output that is an input or another output of the command.

    Paths are compared resolved (symlinks followed) and, when both exist, by (st_dev,
    st_ino), which catches hard links. Two outputs may share a character device or a
    FIFO (both `/dev/null`, both `/dev/stdout` in a pipe); an input never. An input directory (a model export, a run) stands for
    the model files directly in it (`.onnx`, `.keras`, `.engine`, `.plan`, `.json`
    files a model reads).

    ```python
    claim_outputs({"--out-video": a.out_video, "--events": a.events}, {"--source": a.source})
    ```

    Args:
        outputs: Dict of option name → path, list of paths or None (None and `"-"`,
            stdout, are skipped).
        inputs: Dict likewise for what the command reads. Defaults to `None`.
    """
    ins = [(name, q, _identity(q)) for name, p in _named_paths(inputs) for q in _read_files(p)]
    seen: list[tuple[str, Path, tuple]] = []
    for name, p in _named_paths(outputs):
        with output_errors(p, name):
            ident = _identity(p, strict=True)
        for iname, q, iident in ins:
            if _same(ident, iident):
                fail(
                    f"{name} {show_path(p)} is the {iname} {show_path(q)}: writing it would "
                    "destroy the input; choose another output path"
                )
        for oname, q, oident in seen:
            if _same(ident, oident) and not (ident[2] == oident[2] == "in place"):
                fail(
                    f"{name} {show_path(p)} and {oname} {show_path(q)} are the same file: "
                    "one would overwrite the other; give each output its own path"
                )
        seen.append((name, p, ident))


def _named_paths(m: Mapping[str, object] | None) -> Iterator[tuple[str, Path]]:
    for name, v in (m or {}).items():
        for p in v if isinstance(v, (list, tuple)) else [v]:
            if p is not None and str(p) != "-":
                yield name, Path(p)


#: What a model directory given as an input holds that a model is read from.
_MODEL_SUFFIXES = (".onnx", ".keras", ".engine", ".plan")
_MODEL_JSON = ("contract.json", CHECKSUMS_FILE, "export_report.json")


def _read_files(p: Path) -> list[Path]:
    """`p`, and for a directory the model files directly in it."""
    try:
        if not p.is_dir():
            return [p]
        kids = [
            k
            for k in p.iterdir()
            if k.suffix in _MODEL_SUFFIXES
            or k.name in _MODEL_JSON
            or k.name.endswith(".engine.json")
        ]
    except OSError:
        return [p]
    return [p, *kids[:1000]]


def _identity(p: Path, strict: bool = False) -> tuple:
    """(resolved path, (st_dev, st_ino) or None, kind) of `p`."""
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return os.path.realpath(p), None, "missing"
    except OSError:
        if strict:
            raise
        return os.path.realpath(p), None, "missing"
    kind = "in place" if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode) else "other"
    return os.path.realpath(p), (st.st_dev, st.st_ino), kind


def _same(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] or (a[1] is not None and a[1] == b[1])


def check_writable_dir(directory: str | os.PathLike, what: str = "output directory") -> Path:
    """Create `directory` if needed; fail with one line if it is a file or read-only.

    Directories it creates are recorded (`command_outputs`): removed if the command fails.
    """
    d = Path(directory)
    with output_errors(d, what):
        kind = target_kind(d)
    if kind not in ("dir", "missing"):
        fail(f"{what} {show_path(d)} is {KIND_NAMES[kind]}, not a directory; choose another path")
    if kind == "missing":
        make_dir(d, what)
    if not os.access(d, os.W_OK | os.X_OK):
        fail(f"{what} {show_path(d)} is not writable; choose another path")
    # os.access says yes to root on a read-only mount or in /proc: create a file to know.
    try:
        fd, probe = tempfile.mkstemp(prefix=".edgeaction-probe-", suffix=".partial", dir=d)
    except OSError as e:
        fail(f"{what} {show_path(d)} is not writable ({e.strerror}); choose another path")
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return d


def check_writable_file(path: str | os.PathLike, what: str = "output file") -> Path:
    """Fail early (not after an hour) if `path` cannot be written, with one line.

    A directory, socket or block device is refused; a character device or FIFO must be
    writable (it is written in place); for a regular or new file the directory (that of
    the symlink's target for a symlink) is created if needed and must be writable.
    """
    p = Path(path)
    with output_errors(p, what):
        kind = target_kind(p)
    if kind == "dir":
        fail(f"{what} {show_path(p)} is a directory; give a file path")
    if kind in IN_PLACE_KINDS or writes_in_place(p):
        if not os.access(p, os.W_OK):
            fail(f"{what} {show_path(p)} is {KIND_NAMES[kind]} that is not writable")
        if kind == "fifo":
            _hold_fifo(p, what)
        return p
    if kind not in ("file", "missing"):
        fail(
            f"{what} {show_path(p)} is {KIND_NAMES[kind]}; give a regular file path "
            "(or a character device or FIFO, written in place)"
        )
    parent = Path(os.path.realpath(p)).parent if os.path.islink(p) else p.parent
    check_writable_dir(parent if str(parent) else Path("."), f"directory of {what}")
    return p


#: Write ends of output FIFOs, by real path: held from the check to the end of the write
#: (atomic_path) or of the process, so the reader sees one end of file, after the data.
_HELD_FIFOS: dict[str, int] = {}
_FIFO_WAIT_S = 10.0


def _hold_fifo(p: Path, what: str) -> None:
    """Wait up to `_FIFO_WAIT_S` for a reader of FIFO `p` (opening it for writing with
    none would block forever), then hold a write end; fail with one line after."""
    key = os.path.realpath(p)
    deadline = time.monotonic() + _FIFO_WAIT_S
    while key not in _HELD_FIFOS:
        try:
            _HELD_FIFOS[key] = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO:
                fail(os_error_line(e, p, what))
            if time.monotonic() > deadline:
                fail(
                    f"{what} {show_path(p)} is a FIFO no program reads (waited "
                    f"{_FIFO_WAIT_S:.0f} s); start the reader first, or give a file"
                )
            time.sleep(0.05)


def _release_fifo(p: str | os.PathLike) -> None:
    fd = _HELD_FIFOS.pop(os.path.realpath(p), None)
    if fd is not None:
        os.close(fd)


# ---- writing --------------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike, suffix: str | None = None, what: str = "output file"
) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` if the block succeeds.

    The temporary name keeps the extension (`suffix`, default the target's) so tools that
    look at it (tf2onnx, mp4mux) behave; it starts with a dot and holds `.partial`, so
    nothing that globs for models picks it up. A symlink is written through (its target
    is replaced, the link stays). A character device or FIFO is yielded itself: the block
    writes it in place (see the module's output policy). An `OSError` in the block is one
    line naming `path`.

    Args:
        path: The target.
        suffix: String or None. The temporary file's extension. Defaults to the target's.
        what: String. What the target is, for messages. Defaults to `"output file"`.
    """
    target = check_writable_file(path, what)
    if writes_in_place(target):
        try:
            with output_errors(target, what):
                yield target
        finally:
            _release_fifo(target)
        return
    real = Path(os.path.realpath(target))
    existed = os.path.lexists(real)
    with output_errors(real, what):
        tmp_path = _temp_beside(real, suffix)
    try:
        with output_errors(real, what):
            yield tmp_path
            _commit(tmp_path, real)
        if not existed:
            _record("files", [real])
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_paths(paths: Iterable[str | os.PathLike]) -> Iterator[dict[Path, Path]]:
    """Temporary paths for several files, renamed onto their targets after the block.

    Every file is written and fsynced before the first rename, so a kill leaves at most
    a short run of renames undone (each target whole: old or new). Write a manifest
    (e.g. `write_checksums`) inside the block to make a mixture of old and new files
    detectable: it lands before any of the files it describes. The targets must be
    regular files (or not exist): a set of files renamed together cannot be devices.

    Args:
        paths: Target paths (their directories must exist).

    Yields:
        Dict `{target: temporary path}`; the block writes every temporary path.
    """
    targets = [Path(p) for p in paths]
    for t in targets:
        check_writable_file(t)
        if writes_in_place(t):
            fail(
                f"{show_path(t)} is {KIND_NAMES[target_kind(t)]}; these files are written "
                "together as regular files: remove it or choose another directory"
            )
    new = [t for t in targets if not os.path.lexists(t)]
    tmps: dict[Path, Path] = {}
    try:
        with output_errors(targets[0].parent if targets else Path("."), "output directory"):
            for t in targets:
                tmps[t] = _temp_beside(t)
            yield dict(tmps)
            for t, tmp in tmps.items():
                if not tmp.exists():
                    fail(f"nothing was written for {t}")
                _fsync(tmp)
            for t, tmp in tmps.items():
                os.replace(tmp, t)
            _record("files", new)
            for d in {t.parent for t in targets}:
                _fsync_dir(d)
    finally:
        for tmp in tmps.values():
            with contextlib.suppress(OSError):
                tmp.unlink()


def atomic_write_bytes(
    path: str | os.PathLike, data: bytes | memoryview, what: str = "output file"
) -> Path:
    """Write `data` to `path` atomically (temporary file beside it, fsync, rename).

    A character device or FIFO is written in place (see the module's output policy).
    """
    with atomic_path(path, what=what) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, what: str = "output file") -> Path:
    """Write UTF-8 `text` to `path` atomically (a device or FIFO in place)."""
    return atomic_write_bytes(path, text.encode("utf-8"), what)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in `chunk`-byte blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def write_checksums(directory: str | os.PathLike, sums: dict[str, str]) -> Path:
    """Write `DIR/checksums.json` atomically: `{file name: hex sha256}`.

    Args:
        directory: The directory holding the files.
        sums: Dict of file name (no directory part) → hex sha256.
    """
    doc = {"schema": CHECKSUMS_SCHEMA, "algorithm": "sha256", "files": dict(sorted(sums.items()))}
    return atomic_write_text(Path(directory) / CHECKSUMS_FILE, json.dumps(doc, indent=2) + "\n")


def read_checksums(directory: str | os.PathLike) -> dict[str, str] | None:
    """`{file name: hex sha256}` from `DIR/checksums.json`; None when there is none.

    A manifest that exists but cannot be read is refused with one line: it is written
    atomically, so a broken one was altered after the export.
    """
    p = Path(directory) / CHECKSUMS_FILE
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        fail(f"cannot read {p} ({getattr(e, 'strerror', None) or e}); re-export the model")
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    files = doc.get("files") if isinstance(doc, dict) else None
    if (
        not isinstance(files, dict)
        or doc.get("algorithm") != "sha256"
        or not all(isinstance(v, str) for v in files.values())
    ):
        fail(f"{p} is not a checksum manifest from `edgeaction export`; re-export the model")
    return files


def verify_checksum(path: str | os.PathLike) -> str | None:
    """Refuse (one line) an ONNX file that differs from its sha256 in `checksums.json`.

    Args:
        path: The model file. Its directory's `checksums.json` is consulted; without
            one, or when the file is not listed, nothing is checked (older exports).

    Returns:
        The verified hex sha256, or None when there was nothing to check against.
    """
    p = Path(path)
    sums = read_checksums(p.parent)
    if not sums or p.name not in sums:
        return None
    try:
        got = sha256_file(p)
    except OSError as e:
        fail(f"cannot read {p} ({e.strerror}); re-export it")
    if got != sums[p.name].lower():
        fail(
            f"{p.name} does not match the sha256 in {CHECKSUMS_FILE} (altered or truncated "
            f"since export); re-export it with `edgeaction export`"
        )
    return got


def _temp_beside(target: Path, suffix: str | None = None) -> Path:
    """An empty `.STEM.XXXX.partialSUFFIX` file in the target's directory."""
    suffix = target.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".partial{suffix}", dir=target.parent
    )
    try:  # mkstemp makes 0600 files; the target gets the mode a plain open() would give
        os.fchmod(fd, 0o666 & ~_umask())
    except OSError:
        pass
    finally:
        os.close(fd)
    return Path(tmp)


def _umask() -> int:
    """The process umask, read without changing it (Linux), else the usual 022."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def commit(tmp: str | os.PathLike, target: str | os.PathLike, what: str = "output file") -> Path:
    """Move a finished temporary file onto `target` (fsync, rename, fsync the directory).

    For writers that name their own temporary file (a GStreamer filesink). The target
    is recorded as created when it did not exist (`command_outputs`); an `OSError` is
    one line naming it.
    """
    tmp, target = Path(tmp), Path(target)
    existed = os.path.lexists(target)
    with output_errors(target, what):
        _commit(tmp, target)
    if not existed:
        _record("files", [target])
    return target


def _commit(tmp: Path, target: Path) -> None:
    """fsync `tmp`, rename it onto `target`, fsync the directory."""
    if not tmp.exists():
        fail(f"nothing was written for {target}")
    _fsync(tmp)
    os.replace(tmp, target)
    _fsync_dir(target.parent)


def _fsync_dir(d: Path) -> None:
    """Make a rename in `d` durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync(p: Path) -> None:
    try:
        fd = os.open(p, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
