"""Operating-system errors on paths as one line, and what kind of file a path is.

The leaf under `fsutil`'s output policy: `os_error_line` (ENOSPC, ENAMETOOLONG, EROFS,
EACCES ... as one line naming the path and the fix), `output_errors` (a context manager
mapping them for a writer), `show_path` (control characters and non-UTF-8 bytes escaped),
`target_kind` and `writes_in_place` (devices and FIFOs are written in place, never
replaced). `fsutil` re-exports them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator

from .errors import fail

#: Kinds of existing targets written in place (opened for writing, never renamed over).
IN_PLACE_KINDS = ("char", "fifo")
KIND_NAMES = {
    "file": "a file",
    "dir": "a directory",
    "char": "a character device",
    "fifo": "a FIFO",
    "socket": "a socket",
    "block": "a block device",
    "other": "not a regular file",
}
#: What `os_error_line` adds after the system's reason, per errno.
_ERRNO_HINTS = {
    errno.ENOSPC: "the disk is full: free space or write elsewhere",
    errno.EDQUOT: "the disk quota is used up: free space or write elsewhere",
    errno.EFBIG: "the file is too large for this file system: write elsewhere",
    errno.ENAMETOOLONG: "a name in the path is over 255 bytes: choose a shorter one",
    errno.EROFS: "the file system is read-only: write elsewhere",
    errno.EACCES: "write elsewhere or fix the permissions",
    errno.EPERM: "write elsewhere or fix the permissions",
    errno.ENOTDIR: "a part of the path is a file, not a directory: fix the path",
    errno.EISDIR: "give a file path, not a directory",
    errno.ELOOP: "the path has a symbolic link loop: fix the path",
    errno.EIO: "input/output error: check the disk",
    errno.ENOENT: "check the path",
}


def os_error_line(
    e: OSError, path: str | os.PathLike | None = None, what: str = "", verb: str = "write"
) -> str:
    """One line for an `OSError` on a file: what, which path, the system's reason, the fix.

    Args:
        e: The error.
        path: The output being written, or None. Named instead of `e.filename` when the
            error has none or names this writer's temporary `.partial` file.
        what: String. What the path is ("events file", "--json file"). Defaults to `""`.
        verb: String. What failed ("write", "create"). Defaults to `"write"`.

    Returns:
        The message, without a newline, printable control characters escaped.
    """
    name = e.filename
    if name is not None and not isinstance(name, (str, bytes, os.PathLike)):
        name = str(name)  # a file descriptor
    if path is not None and (name is None or ".partial" in os.path.basename(os.fsdecode(name))):
        name = path
    elif path is not None and os.fsdecode(name) != os.fsdecode(path):
        what = ""  # the block failed on another file (an input it read): name that one
    reason = show_path(str(e.strerror or type(e).__name__), 200)
    hint = _ERRNO_HINTS.get(e.errno)
    where = f" {what}" if what else ""
    if name is None:
        return f"cannot {verb}{where} ({reason}){'; ' + hint if hint else ''}"
    verb = verb if path is not None else "use"
    msg = f"cannot {verb}{where} {show_path(name)} ({reason})"
    return msg + (f"; {hint}" if hint else "")


def show_path(path: str | bytes | os.PathLike, limit: int = 160) -> str:
    """`path` for a one-line message: control characters escaped, a long middle cut."""
    text = os.fsdecode(path) if not isinstance(path, str) else path
    try:  # a name that is not UTF-8 (fsdecode's surrogates) shows its bytes as \xNN
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(text) > limit:
        text = f"{text[: limit // 2]}...{text[-(limit // 2 - 3) :]}"
    return text


@contextlib.contextmanager
def output_errors(
    path: str | os.PathLike, what: str = "output file", verb: str = "write"
) -> Iterator[None]:
    """Turn an `OSError` raised in the block into one line naming `path` (`os_error_line`).

    ```python
    with output_errors(events, "events file"):
        f.write(line)          # ENOSPC -> "cannot write events file e.jsonl (...); the disk is full: ..."
    ```
    """
    try:
        yield
    except OSError as e:
        fail(os_error_line(e, path, what, verb))


def target_kind(path: str | os.PathLike) -> str:
    """What `path` is, symlinks followed: `"missing"`, `"file"`, `"dir"`, `"char"`,
    `"fifo"`, `"socket"`, `"block"` or `"other"`.

    Raises the `OSError` of a path that cannot be looked at (too long, a file as a
    directory); wrap in `output_errors` to make it one line.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "missing"
    for test, kind in (
        (stat.S_ISREG, "file"),
        (stat.S_ISDIR, "dir"),
        (stat.S_ISCHR, "char"),
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISBLK, "block"),
    ):
        if test(mode):
            return kind
    return "other"


#: Paths under these are written in place whatever they resolve to (`/dev/stdout`
#: redirected to a file is `/proc/self/fd/1`): nothing is ever renamed in /dev or /proc.
_IN_PLACE_ROOTS = ("/dev/", "/proc/")


def writes_in_place(path: str | os.PathLike) -> bool:
    """Whether `path` is written in place, never renamed over: a character device, a
    FIFO, or any existing file named under /dev or /proc (`/dev/stdout`, `/dev/fd/3`)."""
    try:
        kind = target_kind(path)
    except OSError:
        return False
    if kind == "file":
        return os.path.abspath(path).startswith(_IN_PLACE_ROOTS)
    return kind in IN_PLACE_KINDS


# ---- what a command created (removed again when it fails) -----------------------------------
