"""Draw the current label, score and fps onto a display frame (OpenCV)."""

from __future__ import annotations

import numpy as np

from .._lazy import require


def annotate(
    frame: np.ndarray,
    label: str | None,
    score: float | None,
    fps: float | None = None,
    stream: str | None = None,
) -> np.ndarray:
    """Return a copy of `frame` (RGB uint8) with a caption bar: label, score bar, fps."""
    cv2 = require("cv2")
    img = np.ascontiguousarray(frame).copy()
    h, w = img.shape[:2]
    scale = max(0.4, min(1.2, w / 640 * 0.7))
    th = max(1, int(round(scale * 2)))
    bar_h = int(28 * scale / 0.7)
    cv2.rectangle(img, (0, 0), (w, bar_h), (0, 0, 0), -1)
    text = "..." if label is None else f"{label} {score:.2f}"
    cv2.putText(
        img,
        text,
        (8, int(bar_h * 0.75)),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        th,
        cv2.LINE_AA,
    )
    if score is not None:
        bw = int((w // 4) * float(np.clip(score, 0, 1)))
        x0 = w - w // 4 - 8
        cv2.rectangle(img, (x0, bar_h // 3), (x0 + w // 4, 2 * bar_h // 3), (90, 90, 90), -1)
        cv2.rectangle(img, (x0, bar_h // 3), (x0 + bw, 2 * bar_h // 3), (60, 200, 60), -1)
    foot = " | ".join(s for s in (stream, f"{fps:.0f} fps" if fps else None) if s)
    if foot:
        cv2.putText(
            img,
            foot,
            (8, h - 8),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale * 0.7,
            (255, 255, 0),
            max(1, th - 1),
            cv2.LINE_AA,
        )
    return img
