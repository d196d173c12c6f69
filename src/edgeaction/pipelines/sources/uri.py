"""The one source URI grammar: `parse_source` (for `run`) and `validate_source` (the same
grammar without looking at the filesystem, for `jetson service`).

```python
parse_source("clip.mp4")                        # kind "file"; the file must exist
parse_source("rtsp://u:p@10.0.0.5:554/live")    # kind "rtsp", display "rtsp://***:***@10.0.0.5:554/live"
parse_source("test://smpte?fps=15&frames=90")   # kind "test", 90 frames then EOS
validate_source("/data/cam1.mp4?realtime=1")    # same checks; the file need not exist here
```

The grammar dispatches once, on the scheme, to the `SourceKind` that registered it
(`kinds.REGISTRY`); every kind reads its own part of the URI and options. Messages are one
line and never echo credentials (`SourceSpec.display`).

Never imports TensorFlow.
"""

from __future__ import annotations

from ...errors import EdgeActionError, fail
from .kinds import REGISTRY, kind_for_scheme
from .spec import SCHEME, SourceSpec, bad, one_line, redact_source
from .spec import accepted as spec_accepted

__all__ = ["KINDS", "accepted", "parse_source", "validate_source"]

#: The kind names (`SourceSpec.kind`), in registry order.
KINDS = tuple(k.name for k in REGISTRY)


def accepted() -> str:
    """The accepted source forms, as every "accepted forms" message lists them."""
    return spec_accepted()


def parse_source(text: str, check: bool = True) -> SourceSpec:
    """Parse one `--source` into a `SourceSpec`, failing with one line when it is wrong.

    Args:
        text: String. A video file path, `file:///abs/path[?loop=1&realtime=1]`,
            `rtsp://[user:pass@]host[:port]/path`, `v4l2:///dev/videoN`, `csi://N` or
            `test://[PATTERN][?width=W&height=H&fps=F&frames=N&live=0]`.
        check: Boolean. Also check that files and cameras exist (and resolve a file's
            path). Defaults to `True`.

    Returns:
        A `SourceSpec`.
    """
    try:
        return _parse(text, check)
    except EdgeActionError as e:
        message = one_line(str(e))
        if message == str(e):
            raise
        raise EdgeActionError(message, e.exit_code) from None


def validate_source(text: str) -> SourceSpec:
    """`parse_source(text, check=False)`: the grammar only, nothing opened or looked up.

    What a service checks on a machine that may not have the files or cameras yet; a
    file's `location` is the path as given.
    """
    return parse_source(text, check=False)


def _parse(text: str, check: bool) -> SourceSpec:
    raw = str(text)
    s = raw.strip()
    display = redact_source(s)
    if not s:
        fail(f"empty source; accepted forms: {accepted()}")
    m = SCHEME.match(s)
    scheme = "" if m is None else m.group(1).lower()
    kind = kind_for_scheme(scheme)
    if kind is None:
        bad(display, f"unknown scheme {scheme + '://'!r}")
    return kind.parse(raw, s, display, check)
