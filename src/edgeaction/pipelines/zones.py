"""Zones (regions of interest): named rectangles of a stream, each classified on its own.

```python
by_stream = zones_by_stream([roi("0:court=120,80,640,400"), roi("0:bench=0,0,200,200")], 2)
crop = ZoneCrops(by_stream[0], 112, 112, "RGB")
crop.fit(src_w=1280, src_h=720, frame_w=640, frame_h=360, name="stream 0")
crop(display_frame)          # (2, 112, 112, 3): one model-size image per zone
```

A zone is given in pixels of the decoded source frame. On the CPU each zone is cropped
in the stream's GStreamer pipeline (`sources.stream.zone_description`: a tee and a
`videocrop ! videoscale` branch per zone): `benchmarks/zones.py --decode` measured it
cheaper than cropping one RGB frame 640 wide in numpy, and it keeps the source's
resolution. Elsewhere (Jetson: NVMM frames, no `videocrop`) `ZoneCrops` crops the
display frame (`ZONE_WIDTH` wide, or the annotated video's width; aspect kept) and
scales each zone to the model's size with OpenCV, in the stream's own thread.

Never imports TensorFlow.
"""

from __future__ import annotations

import numpy as np

from .._lazy import require
from ..errors import EdgeActionError, fail

#: Width of the frame zones are cropped from (the display branch; aspect kept).
ZONE_WIDTH = 640


def zones_by_stream(rois: list | None, streams: int) -> list[list]:
    """The zones of each stream (`options.Roi`s, in the order given); fails with one line
    for an unknown stream index or a name used twice in one stream."""
    out: list[list] = [[] for _ in range(streams)]
    for r in rois or []:
        if not 0 <= r.stream < streams:
            fail(
                f"--roi {r.stream}:{r.name}: there is no stream {r.stream}; STREAM is the "
                f"0-based --source index (0 to {streams - 1} here)"
            )
        if any(z.name == r.name for z in out[r.stream]):
            fail(
                f"--roi {r.stream}:{r.name}: zone name {r.name!r} is given twice for stream "
                f"{r.stream}; give each zone of a stream its own name"
            )
        out[r.stream].append(r)
    return out


def check_inside(zones: list, width: int, height: int, stream: str) -> None:
    """Fail with one line naming `stream` and the zone for a zone outside the frame."""
    for z in zones:
        if z.x + z.w > width or z.y + z.h > height:
            fail(
                f"{stream}: zone {z.name!r} ({z.x},{z.y} {z.w}x{z.h}) reaches outside the "
                f"{width}x{height} frame; give --roi {z.stream}:{z.name}=X,Y,W,H inside it"
            )


class ZoneCrops:
    """Crop a stream's zones out of a decoded RGB frame and scale each to the model's size,
    aspect kept with black borders, as `videoscale` scales a whole frame.

    Args:
        zones: List of `options.Roi`. The stream's zones, in source-frame pixels.
        width: Integer. Model frame width.
        height: Integer. Model frame height.
        colour: String. `"RGB"` or `"BGR"`: the model's channel order. Defaults to `"RGB"`.
    """

    def __init__(self, zones: list, width: int, height: int, colour: str = "RGB"):
        if not zones:
            fail("ZoneCrops needs at least one zone")
        self.zones, self.size, self.bgr = list(zones), (int(width), int(height)), colour == "BGR"
        self.boxes: list[tuple[int, int, int, int]] | None = None
        self._fitted: tuple | None = None

    def fit(self, src_w: int, src_h: int, frame_w: int, frame_h: int, name: str) -> None:
        """Map the zones onto a `frame_w` x `frame_h` frame of a `src_w` x `src_h` source;
        fails (one line naming `name` and the zone) for a zone outside the source frame."""
        key = (src_w, src_h, frame_w, frame_h)
        if key == self._fitted:
            return
        check_inside(self.zones, src_w, src_h, name)
        sx, sy = frame_w / src_w, frame_h / src_h
        self.boxes = []
        for z in self.zones:
            x0, y0 = int(z.x * sx), int(z.y * sy)
            x1 = max(x0 + 1, min(frame_w, round((z.x + z.w) * sx)))
            y1 = max(y0 + 1, min(frame_h, round((z.y + z.h) * sy)))
            self.boxes.append((x0, y0, x1, y1))
        self._fitted = key

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """(zones, height, width, 3) uint8: every zone of `frame`, at the model's size."""
        if self.boxes is None:
            raise EdgeActionError("ZoneCrops.fit() must be called before cropping")
        cv2 = require("cv2")
        w, h = self.size
        out = np.zeros((len(self.boxes), h, w, 3), np.uint8)
        for k, (x0, y0, x1, y1) in enumerate(self.boxes):
            # aspect kept, black borders: what videoscale (`scale_convert`) does to a frame
            f = min(w / (x1 - x0), h / (y1 - y0))
            sw, sh = max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f))
            ox, oy = (w - sw) // 2, (h - sh) // 2
            out[k, oy : oy + sh, ox : ox + sw] = cv2.resize(
                frame[y0:y1, x0:x1], (sw, sh), interpolation=cv2.INTER_LINEAR
            )
        return out[..., ::-1].copy() if self.bgr else out


def draw_zones(img: np.ndarray, zones: list, src_size: tuple | None, labels: list) -> np.ndarray:
    """Draw each zone's rectangle and `name: label score` on an RGB display frame (in place).

    Args:
        img: uint8 array (h, w, 3). The display frame.
        zones: List of `options.Roi`.
        src_size: Tuple (width, height) of the source frame, or None (nothing drawn).
        labels: List of (label or None, score or None), one per zone.
    """
    if src_size is None:
        return img
    cv2 = require("cv2")
    h, w = img.shape[:2]
    sx, sy = w / src_size[0], h / src_size[1]
    scale = max(0.35, min(1.0, w / 640 * 0.5))
    for z, (label, score) in zip(zones, labels, strict=True):
        p0 = (int(z.x * sx), int(z.y * sy))
        p1 = (int((z.x + z.w) * sx) - 1, int((z.y + z.h) * sy) - 1)
        cv2.rectangle(img, p0, p1, (255, 200, 0), 2)
        text = z.name + ("" if label is None else f": {label} {score:.2f}")
        org = (p0[0] + 4, max(p0[1] + 12, p1[1] - 6))  # inside, at the bottom: clear of the caption
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 200, 0), 1, cv2.LINE_AA)
    return img
