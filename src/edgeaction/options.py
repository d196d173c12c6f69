"""Typed argparse converters: the one validation layer for option values.

Every option that takes a value, of every command (`edgeaction ...`, `build-engine`,
`edgeaction jetson ...`), converts it with one of these (`type=options.positive_int`),
and a test walks every parser to keep it so. A bad value ends in argparse's usual
`PROG: error: argument --fps: ...` line and exit status 2, before any work starts.

```python
p.add_argument("--fps", type=options.fps, default=15.0)
p.add_argument("--out", type=options.path, required=True)
p.add_argument("--lr", type=options.positive_float)
```

What every converter refuses, whatever the option:

- control characters (newlines, tabs, escape, DEL, C1) and the Unicode line and paragraph
  separators: a value must never break a one-line error, or a line of a file it is
  written into;
- more than `MAX_TEXT` characters.

Numbers are finite (no `nan`, `inf`) and within the option's range. Paths are not empty,
hold no NUL, and no component is longer than the file system allows (`NAME_MAX`, 255
bytes here), so the OS never answers `ENAMETOOLONG` with a traceback later. File names
that are not valid UTF-8 (surrogate-escaped by Python) are valid paths and pass.

Messages echo the value with control characters escaped and any `user:password@` hidden.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, TypeVar

__all__ = [
    "MAX_TEXT",
    "MAX_URI",
    "check_text",
    "check_file_value",
    "check_path",
    "check_uri",
    "finite_float",
    "float_range",
    "fps",
    "fraction",
    "frames",
    "int_range",
    "integer",
    "keyfile_value",
    "listen_address",
    "megabytes",
    "milliseconds",
    "mqtt_url",
    "non_negative_float",
    "non_negative_int",
    "one_line",
    "path",
    "pathlib_path",
    "pixels",
    "positive_float",
    "positive_int",
    "roi",
    "seconds",
    "seed",
    "source",
    "text",
    "uri",
    "webhook_url",
]

#: Longest value any option takes (characters).
MAX_TEXT = 4096
#: Longest URI or `--source` (characters); a longer one is a mistake, not a camera.
MAX_URI = 2048
#: Longest path (bytes), as Linux' PATH_MAX.
MAX_PATH = 4096
_NAME_MAX = 255
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_INT = re.compile(r"[+-]?[0-9]{1,30}")
_BAD_CATEGORIES = ("Cc", "Zl", "Zp")  # controls, line and paragraph separators

T = TypeVar("T")


def _error(message: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(message)


def one_line(message: str) -> str:
    """`message` with its control characters and line separators escaped (`\\n`), so it
    prints as one line."""
    if message.isprintable():
        return message
    return "".join(
        c if unicodedata.category(c) not in _BAD_CATEGORIES else repr(c)[1:-1] for c in message
    )


def _show(value: str, limit: int = 80) -> str:
    """`value` for a message: quoted, control characters escaped, credentials hidden,
    cut to `limit` characters."""
    shown = one_line(_hide_credentials(value[: limit + 1]))
    shown = shown.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates
    if len(value) > limit:
        shown = shown[:limit] + "..."
    return "'" + shown + "'"


def _hide_credentials(s: str) -> str:
    m = _SCHEME.match(s)
    if m is None:
        return s
    rest = s[m.end() :]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" not in authority:
        return s
    return m.group(0) + "***:***@" + rest[authority.rindex("@") + 1 :]


def check_text(value: str, what: str = "value", limit: int = MAX_TEXT) -> str:
    """Return `value` if it holds no control character and at most `limit` characters.

    Args:
        value: String. An option value (or a value bound for a generated file).
        what: String. What the value is, for the message. Defaults to `"value"`.
        limit: Integer. Most characters allowed. Defaults to `MAX_TEXT`.

    Returns:
        `value`, unchanged.

    Raises:
        argparse.ArgumentTypeError: one line naming the character and its position.
    """
    if len(value) > limit:
        raise _error(f"{what} is {len(value)} characters long, at most {limit} are accepted")
    for i, c in enumerate(value):
        if unicodedata.category(c) in _BAD_CATEGORIES:
            raise _error(
                f"{what} holds the control character {repr(c)[1:-1]} at position {i + 1} "
                f"(no newlines, tabs or other control characters). Received: {_show(value)}"
            )
    return value


def _named(fn: Callable[[str], T], name: str) -> Callable[[str], T]:
    """`fn` under `name`: argparse says `invalid NAME value` when it raises ValueError."""
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = __name__
    return fn


# ---- numbers ------------------------------------------------------------------------------
def _float(s: str) -> float:
    check_text(s, limit=100)
    try:
        v = float(s.strip())
    except ValueError:
        raise _error(f"expected a number. Received: {_show(s)}") from None
    if not math.isfinite(v):
        raise _error(f"expected a finite number, not nan or infinity. Received: {_show(s)}")
    return v


def float_range(
    lo: float | None = None, hi: float | None = None, *, lo_open: bool = False, name: str = ""
) -> Callable[[str], float]:
    """A converter to a finite float in `[lo, hi]` (`(lo, hi]` with `lo_open`).

    Args:
        lo: Float or None. Lowest value; None: no bound. Defaults to `None`.
        hi: Float or None. Highest value; None: no bound. Defaults to `None`.
        lo_open: Boolean. Whether `lo` itself is refused. Defaults to `False`.
        name: String. The converter's name. Defaults to `"float_range"`.

    Returns:
        A function `str -> float` raising `argparse.ArgumentTypeError`.
    """
    if lo is None:
        want = f"at most {hi:g}" if hi is not None else "a finite number"
    elif hi is None:
        want = f"above {lo:g}" if lo_open else f"{lo:g} or more"
    else:
        want = f"above {lo:g} and at most {hi:g}" if lo_open else f"from {lo:g} to {hi:g}"

    def convert(s: str) -> float:
        v = _float(s)
        low = lo is not None and (v <= lo if lo_open else v < lo)
        if low or (hi is not None and v > hi):
            raise _error(f"expected a number {want}. Received: {_show(s)}")
        return v

    return _named(convert, name or "float_range")


def int_range(lo: int | None = None, hi: int | None = None, name: str = "") -> Callable[[str], int]:
    """A converter to a whole number in `[lo, hi]` (None: no bound on that side).

    Args:
        lo: Integer or None. Lowest value. Defaults to `None`.
        hi: Integer or None. Highest value. Defaults to `None`.
        name: String. The converter's name. Defaults to `"int_range"`.

    Returns:
        A function `str -> int` raising `argparse.ArgumentTypeError`.
    """

    def convert(s: str) -> int:
        check_text(s)
        t = s.strip()
        if not _INT.fullmatch(t):
            raise _error(f"expected a whole number. Received: {_show(s)}")
        v = int(t)
        if lo is not None and v < lo:
            raise _error(f"expected a number >= {lo}. Received: {v}")
        if hi is not None and v > hi:
            raise _error(f"expected a number <= {hi}. Received: {v}")
        return v

    return _named(convert, name or "int_range")


finite_float = float_range(name="finite_float")
positive_float = float_range(0.0, lo_open=True, name="positive_float")
non_negative_float = float_range(0.0, name="non_negative_float")
#: A share, 0 to 1 (`train --max-bad`).
fraction = float_range(0.0, 1.0, name="fraction")
#: Frames per second, above 0 and at most 1000 (as `test://...?fps=`).
fps = float_range(0.0, 1000.0, lo_open=True, name="fps")
#: A duration in seconds, above 0 and at most a year.
seconds = float_range(0.0, 365 * 86400.0, lo_open=True, name="seconds")
#: A wait in milliseconds, 0 to one hour.
milliseconds = float_range(0.0, 3600 * 1000.0, name="milliseconds")
_INT32 = 2**31 - 1  # larger counts only end in MemoryError or OverflowError later
integer = int_range(-_INT32 - 1, _INT32, name="integer")
positive_int = int_range(1, _INT32, name="positive_int")
non_negative_int = int_range(0, _INT32, name="non_negative_int")
#: A size in megabytes (`run --spool-max-mb`): above 0, at most 1 TB.
megabytes = float_range(0.0, 1024.0 * 1024.0, lo_open=True, name="megabytes")
#: Frames per clip and frame sizes in pixels: 1 to 4096, as a model contract allows.
frames = int_range(1, 4096, name="frames")
pixels = int_range(1, 4096, name="pixels")
#: Random seeds: numpy takes 0 .. 2**32 - 1.
seed = int_range(0, 2**32 - 1, name="seed")


# ---- text, paths, URIs ----------------------------------------------------------------------
def check_file_value(value: str, what: str, limit: int = MAX_TEXT) -> str:
    """Return `value` if it can be written into a generated text file (a systemd unit, an
    environment file, a GLib key file, a script) without adding a line: no control
    characters or line separators, valid UTF-8, at most `limit` characters. Fails with one
    line (`EdgeActionError`) otherwise.

    Args:
        value: String. The value (a path, a URI, an argument).
        what: String. What it is, for the message (e.g. `"--run-arg"`).
        limit: Integer. Most characters allowed. Defaults to `MAX_TEXT`.

    Returns:
        `value`, unchanged.
    """
    from .errors import fail

    try:
        check_text(value, what, limit)
    except argparse.ArgumentTypeError as e:
        fail(str(e))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        fail(
            f"{what} is not valid UTF-8 (a file name in another encoding?); generated files "
            f"are UTF-8: rename it. Received: {_show(value)}"
        )
    return value


def text(s: str) -> str:
    """Free text (a name, a list like `1,4,8`): no control characters, bounded length."""
    return check_text(s)


def _name_max(p: str) -> int:
    d = os.path.dirname(os.path.abspath(p)) if p else "."
    while True:  # the nearest existing ancestor decides (a mount may allow other lengths)
        try:
            return int(os.pathconf(d, "PC_NAME_MAX"))
        except (OSError, ValueError, AttributeError):
            parent = os.path.dirname(d)
            if parent == d:
                return _NAME_MAX
            d = parent


def check_path(s: str, what: str = "path") -> str:
    """Return `s` if it can name a file here: not empty, no NUL or control characters, no
    component longer than `NAME_MAX` bytes, at most `MAX_PATH` bytes in all.

    Args:
        s: String. The path as given (`-` is a valid name: stdout where an option says so).
        what: String. What the path is, for the message. Defaults to `"path"`.

    Returns:
        `s`, unchanged.

    Raises:
        argparse.ArgumentTypeError: one line naming the problem.
    """
    if not s.strip():
        raise _error(f"{what} is empty; give a file or directory name")
    check_text(s, what, limit=MAX_PATH)
    raw = os.fsencode(s)
    if len(raw) > MAX_PATH:
        raise _error(f"{what} is {len(raw)} bytes long, at most {MAX_PATH}: {_show(s)}")
    longest = max(raw.split(b"/"), key=len)
    if len(longest) > _NAME_MAX:  # only then ask the file system (most paths are short)
        limit = _name_max(s)
        if len(longest) > limit:
            part = os.fsdecode(longest)
            raise _error(
                f"{what} has a name of {len(longest)} bytes, the file system allows {limit} "
                f"per name: {_show(part, 40)}; use a shorter name"
            )
    return s


def path(s: str) -> str:
    """A file or directory path (returned as given, a string)."""
    return check_path(s)


def pathlib_path(s: str) -> Path:
    """A file or directory path, returned as a `pathlib.Path`."""
    return Path(check_path(s))


def uri(s: str) -> str:
    """A URI `scheme://...` (DeepStream sources, ...): no control characters or spaces,
    at most `MAX_URI` characters."""
    check_text(s, "URI", limit=MAX_URI)
    m = _SCHEME.match(s)
    if m is None or len(s) == m.end():
        raise _error(
            f"expected a URI such as file:///abs/clip.mp4 or rtsp://host/path. Received: {_show(s)}"
        )
    if any(c.isspace() for c in s):
        raise _error(f"a URI cannot hold spaces (percent-encode them as %20). Received: {_show(s)}")
    return s


def source(s: str) -> str:
    """A `--source` as `edgeaction run` takes it: a URI or a file path (its full grammar is
    checked by `pipelines.sources.parse_source` when the run starts)."""
    check_text(s, "source", limit=MAX_URI)
    if _SCHEME.match(s.strip()) is None:
        check_path(s, "source")
    return s


class Roi(NamedTuple):
    """A named zone of one stream, in pixels of the decoded source frame (`options.roi`)."""

    stream: int
    name: str
    x: int
    y: int
    w: int
    h: int


_ROI = re.compile(r"([0-9]{1,6}):([A-Za-z0-9_.-]{1,64})=([^,]*),([^,]*),([^,]*),([^,]*)")


def roi(s: str) -> Roi:
    """A zone `STREAM:NAME=X,Y,W,H` (`run --roi`, `jetson deepstream --roi`): STREAM the
    0-based `--source` index, NAME letters, digits, `_.-` (at most 64), X,Y the top-left
    corner and W,H the size in pixels of the decoded frame (W, H >= 1)."""
    check_text(s, "--roi", limit=200)
    m = _ROI.fullmatch(s.strip())
    if m is None:
        raise _error(
            "expected STREAM:NAME=X,Y,W,H (e.g. 0:court=120,80,640,400; NAME of letters, "
            f"digits, _ . -). Received: {_show(s)}"
        )
    nums = []
    for what, t in zip(("X", "Y", "W", "H"), m.groups()[2:], strict=True):
        if not re.fullmatch(r"[+-]?[0-9]{1,6}", t.strip()):
            raise _error(f"--roi {what} must be a whole number of pixels. Received: {_show(s)}")
        nums.append(int(t))
    x, y, w, h = nums
    if x < 0 or y < 0:
        raise _error(f"--roi X,Y must be >= 0 (the zone's top-left corner). Received: {_show(s)}")
    if w < 1 or h < 1:
        raise _error(f"--roi W,H must be >= 1 pixel (the zone's size). Received: {_show(s)}")
    return Roi(int(m.group(1)), m.group(2), x, y, w, h)


def check_uri(value: str, what: str) -> str:
    """A URI bound for a generated file or script (`jetson deepstream --sources`): what
    `uri` accepts, and a `file:` URI with an absolute path. Fails with one line
    (`EdgeActionError`); returns `value`."""
    from .errors import fail

    check_file_value(value, what, MAX_URI)
    try:
        uri(value)
    except argparse.ArgumentTypeError as e:
        fail(f"{what}: {e}")
    if value.lower().startswith("file:") and not value.lower().startswith("file:///"):
        fail(
            f"{what}: file URIs take an absolute path (file:///abs/clip.mp4). Received: {_show(value)}"
        )
    return value


def keyfile_value(value: str, what: str) -> str:
    """`value` escaped for a GLib key file line `key=value` (DeepStream configs), as
    `g_key_file_get_string` reads it back: backslashes doubled, a leading space written
    `\\s`. Fails with one line for control characters (a newline would add a key)."""
    check_file_value(value, what)
    v = value.replace("\\", "\\\\")
    return "\\s" + v[1:] if v[:1] == " " else v


def listen_address(s: str) -> tuple[str, int]:
    """Where a server listens: `PORT` (every interface) or `HOST:PORT` (`[::1]:PORT`),
    returned as `(host, port)`; host `""` means every interface, port 1 to 65535."""
    check_text(s, "address", limit=300)
    t = s.strip()
    host, sep, port = t.rpartition(":")
    if not sep:
        host, port = "", t
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if any(c.isspace() or c in "/@?#" for c in host) or (":" in host and "." in host):
        raise _error(
            f"expected PORT or HOST:PORT (e.g. 9108, 127.0.0.1:9108). Received: {_show(s)}"
        )
    if not re.fullmatch(r"[0-9]{1,5}", port) or not 1 <= int(port) <= 65535:
        raise _error(f"expected a port from 1 to 65535 (PORT or HOST:PORT). Received: {_show(s)}")
    return host, int(port)


# ---- event sinks (`run --mqtt`, `--webhook`) --------------------------------------------------
_TOPIC_FIELDS = ("stream", "zone")


def mqtt_url(s: str) -> str:
    """`mqtt[s]://HOST[:PORT]/TOPIC`: an MQTT broker and a topic template (`{stream}`,
    `{zone}`), without credentials (they come from the environment) or wildcards."""
    from urllib.parse import unquote, urlsplit

    uri(s)
    u = urlsplit(s)
    example = "mqtt://broker:1883/site/{stream}"
    if u.scheme.lower() not in ("mqtt", "mqtts"):
        raise _error(
            f"expected mqtt://HOST:PORT/TOPIC or mqtts://... such as {example}. Received: {_show(s)}"
        )
    if "@" in u.netloc:
        raise _error(
            "put the broker's username and password in EDGEACTION_MQTT_USERNAME and "
            f"EDGEACTION_MQTT_PASSWORD, not in the URL. Received: {_show(s)}"
        )
    try:
        port = u.port
    except ValueError:
        raise _error(f"the broker's port must be 1 to 65535. Received: {_show(s)}") from None
    if not u.hostname or port == 0:
        raise _error(f"give the broker's host and port, as in {example}. Received: {_show(s)}")
    topic = unquote(u.path[1:])
    if not topic or u.query or u.fragment:
        raise _error(
            f"give a topic after the host and nothing after it, as in {example}. Received: {_show(s)}"
        )
    if "+" in topic or "#" in s:
        raise _error(
            f"a topic to publish to cannot hold the wildcards + or #. Received: {_show(s)}"
        )
    import string

    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(topic) if f is not None]
    except ValueError:
        fields = ["{"]
    if any(f not in _TOPIC_FIELDS for f in fields):
        raise _error(
            f"a topic may hold only {{stream}} and {{zone}} (write a brace as {{{{ or }}}}). Received: {_show(s)}"
        )
    return s


def webhook_url(s: str) -> str:
    """`http[s]://HOST[:PORT]/PATH`: where `run --webhook` POSTs each event."""
    from urllib.parse import urlsplit

    uri(s)
    u = urlsplit(s)
    if u.scheme.lower() not in ("http", "https") or not u.hostname:
        raise _error(f"expected http://HOST[:PORT]/PATH or https://... Received: {_show(s)}")
    try:
        _ = u.port
    except ValueError:
        raise _error(f"the port must be 1 to 65535. Received: {_show(s)}") from None
    return s
