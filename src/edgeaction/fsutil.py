"""Atomic file writes: write beside the target, fsync, then rename.

A crash or Ctrl-C never leaves a half-written model, report or video where a later run
would pick it up: the target either has its old content or the whole new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import fail


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
    suffix = target.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".partial{suffix}", dir=target.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if not tmp_path.exists():
            fail(f"nothing was written for {target}")
        _fsync(tmp_path)
        os.replace(tmp_path, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _fsync(p: Path) -> None:
    try:
        fd = os.open(p, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
