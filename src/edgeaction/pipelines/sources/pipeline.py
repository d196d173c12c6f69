"""The decode pipeline of a source: its kind's head, then scaling to the model's size
(and a display branch), into appsinks; and the one-line wording of GStreamer errors.

```
pipeline_description(spec, 112, 112)   # -> "rtspsrc ... ! decodebin ! videoscale ... ! appsink name=model"
```

Never imports TensorFlow.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from ...errors import fail, first_line
from ...video.reader import (
    DISPLAY_QUEUE,
    _caps_fmt,
    _explain,
    appsink,
    check_size,
    cpu_pipeline,
)
from .kinds import kind_of
from .spec import SourceSpec, redact

PLATFORMS = ("cpu", "jetson")
_NO_ELEMENT = re.compile(r'no element "([^"]+)"')


def pipeline_description(
    spec: SourceSpec,
    width: int,
    height: int,
    colour: str = "RGB",
    display_width: int | None = None,
    platform: str = "cpu",
    timeout_s: float = 10.0,
) -> str:
    """The `Gst.parse_launch` text that decodes `spec` into model-size frames.

    On `"cpu"`: the source, `decodebin` (files, RTSP, V4L2) or `videotestsrc`, then the
    project's shared `scale_convert()` chain (scale before convert) into
    `appsink name=model`. On `"jetson"`: hardware decoding with `nvv4l2decoder`, scaling
    with `nvvidconv` into NVMM memory, a second `nvvidconv` to RGBA/BGRx in system memory
    and `videoconvert` to packed RGB/BGR. With `display_width` a tee adds
    `appsink name=display` (RGB, `display_width` wide, aspect kept).

    Args:
        spec: SourceSpec. From `parse_source()`.
        width: Integer. Model frame width in pixels.
        height: Integer. Model frame height in pixels.
        colour: String. `"RGB"` or `"BGR"`. Defaults to `"RGB"`.
        display_width: Integer or None. Width of the display branch. Defaults to `None`.
        platform: String. `"cpu"` or `"jetson"`. Defaults to `"cpu"`.
        timeout_s: Float. RTSP connection (TCP) timeout. Defaults to `10`.

    Returns:
        The pipeline description, ending in `appsink name=model` (or the display appsink).
    """
    if platform not in PLATFORMS:
        fail(f"platform must be one of {', '.join(PLATFORMS)}. Received: {platform!r}")
    width, height = check_size(width, height)
    if width is None:
        fail("the model frame size is needed to build a source pipeline")
    colour = _caps_fmt(colour)
    dw = int(display_width) if display_width else None
    if dw is not None and dw < 16:
        fail(f"display width must be at least 16. Received: {display_width}")
    kind = kind_of(spec)
    head = kind.head(spec, platform, timeout_s)
    paced = kind.paced(spec)
    if platform == "cpu":
        return cpu_pipeline(head, width, height, colour, dw, spec.live, paced)
    model_sink = appsink("model", spec.live, paced)
    # Jetson: scale in hardware (VIC) in NVMM memory, copy out as 4-byte pixels.
    packed = "RGBA" if colour == "RGB" else "BGRx"
    model = (
        f"nvvidconv ! video/x-raw(memory:NVMM),width={width},height={height},format=RGBA "
        f"! nvvidconv ! video/x-raw,format={packed} ! videoconvert ! video/x-raw,format={colour}"
    )
    if dw is None:
        return f"{head} ! {model} ! {model_sink}"
    display = (
        f"nvvidconv ! video/x-raw(memory:NVMM),width={dw},pixel-aspect-ratio=1/1,format=RGBA "
        "! nvvidconv ! video/x-raw,format=RGBA ! videoconvert ! video/x-raw,format=RGB"
    )
    return (
        f"{head} ! tee name=t "
        f"t. ! queue max-size-buffers=8 ! {model} ! {model_sink} "
        f"t. ! queue name={DISPLAY_QUEUE} max-size-buffers=8 ! {display} "
        f"! {appsink('display', spec.live, paced)}"
    )


# ---- error messages ---------------------------------------------------------------------
def scrub(text: str, spec: SourceSpec) -> str:
    """A GStreamer message with the source's credentials taken out, on one line."""
    out = text.replace(spec.text.strip(), spec.display) if spec.text.strip() else text
    if "://" in spec.location:
        try:
            u = urlsplit(spec.location)
        except ValueError:
            return " ".join(redact(out).split())
        if u.password:
            out = out.replace(u.password, "***")
        if u.username:
            out = out.replace(f"{u.username}:", "***:")
    return " ".join(redact(out).split())


def explain_stream(
    spec: SourceSpec, name: str, short: str, element: str, err, dbg: str | None
) -> str:
    """One line saying what went wrong with this stream and what to do about it."""
    text = err.message if hasattr(err, "message") else str(err)
    low = f"{text} {dbg or ''}".lower()
    own = kind_of(spec).explain(spec, name, element, low, scrub(text, spec))
    if own is not None:
        return own
    return scrub(_explain(short, Path(spec.display), element, err, dbg), spec)


def launch_error(spec: SourceSpec, name: str, e: Exception) -> str:
    text = scrub(first_line(e), spec)
    m = _NO_ELEMENT.search(text)
    if m:
        el = m.group(1)
        own = kind_of(spec).missing_element(name, el)
        if own is not None:
            return own
        if el.startswith("nv"):
            return (
                f"{name}: --platform jetson needs NVIDIA's {el} (JetPack's GStreamer plugins), "
                "not installed here; run with --platform cpu"
            )
        return f"{name}: the GStreamer element {el} is not installed; install gstreamer1.0-plugins-good/-bad"
    return f"{name}: cannot build the decode pipeline for {spec.display} ({text})"
