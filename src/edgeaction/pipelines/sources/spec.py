"""What every source kind shares: the parsed `SourceSpec`, the `SourceKind` contract,
redaction and the readers of `?key=value` options.

A kind (`kinds.py`) is one small class: the schemes it answers to, how it reads its URI,
the GStreamer head it decodes with, its reconnect policy and its error wording. The URI
grammar (`uri.py`) dispatches once on the scheme to the kind that registered it.

Never imports TensorFlow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from urllib.parse import parse_qsl, urlsplit

from ...errors import fail, first_line
from ...fsutil import show_path

SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_DIGITS = re.compile(r"[0-9]{1,12}")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_SCHEME_CHARS = _LETTERS | frozenset("0123456789+.-")
_USERINFO = re.compile(r"[^\s/\"'<>]*")  # one start position: linear
_NUMBER = re.compile(r"\s*[0-9]{1,12}(\.[0-9]{0,12})?(/[0-9]{1,12})?\s*")


@dataclass(frozen=True)
class SourceSpec:
    """One parsed `--source`.

    Args:
        text: String. The source as the user gave it (may hold credentials: never print it).
        kind: String. The `SourceKind.name` that parsed it (`"file"`, `"rtsp"`, `"v4l2"`,
            `"csi"`, `"test"`).
        location: String. File path, full RTSP URL, device path, sensor id or test pattern.
        display: String. `text` with any `user:password@` replaced by `***:***@`; use this
            in logs, events and metrics.
        live: Boolean. Whether frames come at the source's pace (rtsp, v4l2, csi, test
            unless `live=0`); files are not live.
        options: Dict. Parsed query options (`loop` for files; `width`, `height`, `fps`,
            `frames`, `live` for test sources; `width`, `height`, `fps` for csi).
    """

    text: str
    kind: str
    location: str
    display: str
    live: bool
    options: dict = field(default_factory=dict)


class SourceKind:
    """One input kind: a subclass sets the class attributes and overrides what differs.

    Args (class attributes):
        name: String. `SourceSpec.kind` of the sources it parses.
        schemes: Tuple of strings. URI schemes it answers to (`""`: a bare file path).
        form: String. Its accepted forms, listed in every "accepted forms" message.
        reconnects: Boolean. A lost session is rebuilt with back-off (`Stream`).
    """

    name = ""
    schemes: tuple[str, ...] = ()
    form = ""
    reconnects = False

    def parse(self, raw: str, s: str, display: str, check: bool) -> SourceSpec:
        """The `SourceSpec` of `s` (stripped `raw`); `check`: also look at the filesystem."""
        raise NotImplementedError

    def head(self, spec: SourceSpec, platform: str, timeout_s: float) -> str:
        """Source and decode elements up to raw frames (system memory, or NVMM on Jetson)."""
        raise NotImplementedError

    def loops(self, spec: SourceSpec) -> bool:
        """Whether the stream starts again at its end (`Stream` seeks back to 0)."""
        return False

    def paced(self, spec: SourceSpec) -> bool:
        """Whether the appsinks sync to the clock (a file played at its own rate)."""
        return False

    def empty_is_error(self, spec: SourceSpec) -> bool:
        """Whether ending before any frame is a failure (a file with no video)."""
        return False

    def explain(
        self, spec: SourceSpec, name: str, element: str, low: str, detail: str
    ) -> str | None:
        """One line for a GStreamer error of this kind, or None for the generic wording.

        `low`: the error and its debug text, lower case; `detail`: the error, redacted.
        """
        return None

    def missing_element(self, name: str, element: str) -> str | None:
        """One line when `element` is not installed, or None for the generic wording."""
        return None

    def timeout_message(self, spec: SourceSpec, name: str, seconds: str) -> str:
        """One line for a session that delivered no frame for `seconds`."""
        return f"{name}: no frame for {seconds} s; check the source"


# ---- redaction --------------------------------------------------------------------------
def redact(text: str) -> str:
    """`text` with the `user:password@` part of any URL in it replaced by `***:***@`.

    A URL here is a scheme (`[A-Za-z][A-Za-z0-9+.-]*`), `://`, then the user information:
    everything up to the last '@' before a '/', whitespace, a quote, '<' or '>'. Linear in
    the length of `text` (a scan with `str.find`, no backtracking regex): a 1 MB source
    is redacted as fast as it is read.

    Args:
        text: String. A source or a message that may hold URLs.
    """
    out, pos = [], 0
    i = text.find("://")
    while i != -1:
        j = i  # the scheme: the run of scheme characters before '://', after `pos`
        while j > pos and text[j - 1] in _SCHEME_CHARS:
            j -= 1
        while j < i and text[j] not in _LETTERS:  # it starts with a letter
            j += 1
        end = _USERINFO.match(text, i + 3).end()  # to the first stop character
        at = text.rfind("@", i + 3, end)
        if j < i and at != -1:
            out.append(text[pos:i] + "://***:***@")
            pos = at + 1
        # each scan stops at the '/' of the next '://': the scans do not overlap
        i = text.find("://", i + 3)
    out.append(text[pos:])
    return "".join(out)


def redact_source(s: str) -> str:
    """`redact(s)` (bytes of a name that is not UTF-8 as `\\xNN`), and for a source starting with a URL scheme, everything up to the
    last '@' of its authority hidden too, even where spaces or quotes would stop
    `redact` (a password typed with a space must not be echoed)."""
    m = SCHEME.match(s)
    if m is not None:
        rest = s[m.end() :]
        authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
        if "@" in authority:
            s = m.group(0) + "***:***@" + rest[authority.rindex("@") + 1 :]
    return _utf8(redact(s))


def _utf8(text: str) -> str:
    """`text` with the bytes of a name that is not UTF-8 (Python's surrogate escapes) as
    `\\xNN`, so a display goes into UTF-8 events, logs and messages as it is."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that no file name gave
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def one_line(text: str) -> str:
    """`text` with every character that breaks or hides a line (newlines, U+2028, other
    control characters) written as its escape, so a message stays on one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


# ---- option readers ---------------------------------------------------------------------
#: The accepted source forms in registry order (`kinds.REGISTRY` lists them when it is
#: built: the kinds import this module, so it cannot import them).
ACCEPTED_FORMS: list[str] = []


def accepted() -> str:
    """The accepted source forms, as every "accepted forms" message lists them."""
    return ", ".join(ACCEPTED_FORMS)


def bad(display: str, why: str) -> None:
    """Fail with one line: what is wrong with the source (cut to 200 characters when
    longer), then the accepted forms."""
    fail(f"source {show_path(display, 200)}: {why}; accepted forms: {accepted()}")


def digits(text: str) -> bool:
    """Whether `text` is 1 to 12 ASCII digits (`str.isdigit` also takes '²' and '٣')."""
    return _DIGITS.fullmatch(text) is not None


def flag(display: str, key: str, value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    bad(display, f"option {key} must be 0 or 1. Received: {key}={value!r}")


def positive_int(display: str, key: str, value: str, top: int) -> int:
    n = int(value.strip()) if digits(value.strip()) else -1
    if not 1 <= n <= top:
        bad(display, f"option {key} must be an integer from 1 to {top}. Received: {key}={value!r}")
    return n


def rate(display: str, value: str) -> Fraction:
    """An `fps=` option: a decimal or a ratio above 0 and at most 1000."""
    try:  # plain decimals and ratios only: Fraction("1e99999999") would take forever
        f = Fraction(value).limit_denominator(1001) if _NUMBER.fullmatch(value) else Fraction(-1)
    except (ValueError, ZeroDivisionError):
        f = Fraction(-1)
    if not 0 < f <= 1000:
        bad(
            display,
            f"option fps must be a number above 0 and at most 1000. Received: fps={value!r}",
        )
    return f


def query_options(display: str, query: str, allowed: tuple[str, ...]) -> dict[str, str]:
    """The `key=value` pairs of `query`, failing on a key not in `allowed`."""
    opts: dict[str, str] = {}
    if not query:
        return opts
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        bad(display, f"cannot read the options {query!r} (use ?key=value&key=value)")
    for k, v in pairs:
        if k not in allowed:
            ok = ", ".join(allowed) if allowed else "none"
            bad(display, f"unknown option {k!r} (options here: {ok})")
        opts[k] = v
    return opts


def video_options(display: str, opts: dict[str, str], w: int, h: int, fps: int) -> dict:
    """`width`, `height` and `fps` options, with these defaults."""
    return {
        "width": positive_int(display, "width", opts["width"], 16384) if "width" in opts else w,
        "height": positive_int(display, "height", opts["height"], 16384) if "height" in opts else h,
        "fps": rate(display, opts["fps"]) if "fps" in opts else Fraction(fps),
    }


def split_url(s: str, display: str, scheme: str):
    """`urlsplit(s)` for a plain URL kind: no fragment, no `user:password@` part."""
    try:
        u = urlsplit(s)
    except ValueError as e:
        bad(display, f"malformed URL ({first_line(e)})")
    if u.fragment:
        bad(display, "unexpected '#' in the source")
    if "@" in u.netloc:  # would echo user:password in messages
        bad(display, f"{scheme}:// takes no user:password@ part")
    return u


def quote(text: str) -> str:
    """`text` as a quoted `Gst.parse_launch` property value."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def frac(f: Fraction) -> str:
    return f"{f.numerator}/{f.denominator}"
