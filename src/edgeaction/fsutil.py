"""Atomic file writes: write beside the target, fsync, then rename.

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
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import fail

#: The checksum manifest `edgeaction export` writes beside the ONNX files.
CHECKSUMS_FILE = "checksums.json"
CHECKSUMS_SCHEMA = 1


def check_writable_dir(directory: str | os.PathLike, what: str = "output directory") -> Path:
    """Create `directory` if needed; fail with one line if it is a file or read-only."""
    d = Path(directory)
    if d.exists() and not d.is_dir():
        fail(f"{what} {d} is a file, not a directory; choose another path")
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        fail(f"cannot create {what} {d}: {e.strerror}")
    if not os.access(d, os.W_OK | os.X_OK):
        fail(f"{what} {d} is not writable; choose another path")
    # os.access says yes to root on a read-only mount or in /proc: create a file to know.
    try:
        fd, probe = tempfile.mkstemp(prefix=".edgeaction-probe-", suffix=".partial", dir=d)
    except OSError as e:
        fail(f"{what} {d} is not writable ({e.strerror}); choose another path")
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return d


def check_writable_file(path: str | os.PathLike, what: str = "output file") -> Path:
    """Fail early (not after an hour) if `path` cannot be written: a directory, read-only."""
    p = Path(path)
    if p.is_dir():
        fail(f"{what} {p} is a directory; give a file path")
    check_writable_dir(p.parent if str(p.parent) else Path("."), f"directory of {what}")
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` if the block succeeds.

    The temporary name keeps the extension (`suffix`, default the target's) so tools that
    look at it (tf2onnx, mp4mux) behave; it starts with a dot and holds `.partial`, so
    nothing that globs for models picks it up.
    """
    target = Path(path)
    check_writable_file(target)
    tmp_path = _temp_beside(target, suffix)
    try:
        yield tmp_path
        _commit(tmp_path, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_paths(paths: Iterable[str | os.PathLike]) -> Iterator[dict[Path, Path]]:
    """Temporary paths for several files, renamed onto their targets after the block.

    Every file is written and fsynced before the first rename, so a kill leaves at most
    a short run of renames undone (each target whole: old or new). Write a manifest
    (e.g. `write_checksums`) inside the block to make a mixture of old and new files
    detectable: it lands before any of the files it describes.

    Args:
        paths: Target paths (their directories must exist).

    Yields:
        Dict `{target: temporary path}`; the block writes every temporary path.
    """
    targets = [Path(p) for p in paths]
    for t in targets:
        check_writable_file(t)
    tmps: dict[Path, Path] = {}
    try:
        for t in targets:
            tmps[t] = _temp_beside(t)
        yield dict(tmps)
        for t, tmp in tmps.items():
            if not tmp.exists():
                fail(f"nothing was written for {t}")
            _fsync(tmp)
        for t, tmp in tmps.items():
            os.replace(tmp, t)
        for d in {t.parent for t in targets}:
            _fsync_dir(d)
    finally:
        for tmp in tmps.values():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes | memoryview) -> Path:
    """Write `data` to `path` atomically (temporary file beside it, fsync, rename)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 `text` to `path` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


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
