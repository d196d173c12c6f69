"""Procedural action clips of a stick figure, written as real H.264 MP4 files.

Seven actions, each a parametric motion of a 2-D skeleton: `walk`, `run`, `jump`,
`wave`, `squat`, `swipe_left`, `swipe_right`. Every clip randomises the background
(colour, gradient, clutter), the figure (size, position, colour, line width), the motion
(speed, phase, direction of travel), sensor noise and camera jitter. `swipe_right` is
the exact mirror image of `swipe_left`: a horizontal flip turns one into the other, so
any flip augmentation must swap those two labels (see `FLIP_PAIRS`). The other actions
face either way at random, so a mirror keeps their label (`FLIP_SAFE`); `flip_options`
gives the matching `edgeaction train --flip-pairs/--flip-safe`.

```python
from edgeaction.synth import synthesize
synthesize("data/", classes=7, clips_per_class=20, frames=16, size=96, seed=0)
# data/walk/walk_0000.mp4 ... data/manifest.csv (path,label,split)
```

Deterministic: the same seed gives the same pixels (the same MP4 bytes with the same
x264).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._lazy import require
from .errors import fail
from .fsutil import atomic_write_text, check_writable_dir, make_dir, show_path

ACTIONS = ("walk", "run", "jump", "wave", "squat", "swipe_left", "swipe_right")
#: Label pairs that a horizontal flip exchanges.
FLIP_PAIRS = {"swipe_left": "swipe_right", "swipe_right": "swipe_left"}
#: Actions rendered facing either way at random: a horizontal flip keeps their label.
FLIP_SAFE = ("walk", "run", "jump", "wave", "squat")
#: Actions whose direction of travel is random (a flip keeps their label).
_TRAVELS = {"walk": 0.3, "run": 0.5}


def mirror_map(labels) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """`(flip_pairs, flip_safe)` of the synthetic actions among `labels` (for `TrainConfig`).

    A pair is given only when both of its labels are present; a lone `swipe_left` is in
    neither, so training never flips it.
    """
    pairs = tuple((a, b) for a, b in FLIP_PAIRS.items() if a < b and a in labels and b in labels)
    return pairs, tuple(x for x in FLIP_SAFE if x in labels)


def flip_options(labels) -> list[str]:
    """`edgeaction train` options declaring the mirror map of the actions among `labels`."""
    pairs, safe = mirror_map(labels)
    out = ["--flip-pairs", ",".join(f"{a}:{b}" for a, b in pairs)] if pairs else []
    return out + (["--flip-safe", ",".join(safe)] if safe else [])


@dataclass
class Pose:
    """Angles in radians from the downward vertical, positive towards +x."""

    hip: tuple[float, float] = (0.0, 0.0)  # body offset (x, y) in figure heights, y down
    lean: float = 0.0
    shoulder: tuple[float, float] = (0.15, -0.15)  # (near, far) arm
    elbow: tuple[float, float] = (0.0, 0.0)  # extra bend of the forearm
    thigh: tuple[float, float] = (0.05, -0.05)
    knee: tuple[float, float] = (0.0, 0.0)  # bend of the shin (backwards)
    hands: tuple | None = None  # explicit hand targets (x, y) relative to the neck


def _pose(action: str, phase: float) -> Pose:
    s, c = math.sin(phase), math.cos(phase)
    if action == "walk":
        return Pose(
            hip=(0.0, -0.015 * abs(c)),
            shoulder=(-0.35 * s, 0.35 * s),
            elbow=(0.2, 0.2),
            thigh=(0.45 * s, -0.45 * s),
            knee=(0.35 * max(0.0, -s), 0.35 * max(0.0, s)),
        )
    if action == "run":
        return Pose(
            hip=(0.0, -0.05 * abs(c)),
            lean=0.22,
            shoulder=(-0.8 * s, 0.8 * s),
            elbow=(1.5, 1.5),
            thigh=(0.85 * s + 0.2, -0.85 * s + 0.2),
            knee=(1.1 * max(0.1, -s), 1.1 * max(0.1, s)),
        )
    if action == "jump":
        up = max(0.0, s)
        crouch = max(0.0, -s)
        return Pose(
            hip=(0.0, -0.32 * up + 0.12 * crouch),
            lean=0.15 * crouch,
            shoulder=(0.3 + 2.4 * up, -(0.3 + 2.4 * up)),
            elbow=(0.1, -0.1),
            thigh=(0.9 * crouch + 0.05, 0.9 * crouch - 0.05),
            knee=(1.7 * crouch, 1.7 * crouch),
        )
    if action == "wave":
        return Pose(
            shoulder=(2.3, -0.15),
            elbow=(0.55 * s, 0.0),
            thigh=(0.1, -0.1),
        )
    if action == "squat":
        d = (1 - c) / 2
        return Pose(
            hip=(0.0, 0.27 * d),
            lean=0.35 * d,
            shoulder=(1.55 * d + 0.1, 1.55 * d - 0.1),
            thigh=(1.35 * d + 0.05, 1.35 * d - 0.05),
            knee=(2.3 * d, 2.3 * d),
        )
    if action in ("swipe_left", "swipe_right"):
        # 70 % of a cycle the raised hand sweeps across at chest height, 30 % it returns low.
        u = (phase / (2 * math.pi)) % 1.0
        if u < 0.7:
            k = u / 0.7
            hand = (0.38 - 0.76 * k, 0.08 - 0.05 * math.sin(math.pi * k))
        else:
            k = (u - 0.7) / 0.3
            hand = (-0.38 + 0.76 * k, 0.08 + 0.3 * math.sin(math.pi * k))
        if action == "swipe_right":
            hand = (-hand[0], hand[1])
        return Pose(hands=(hand, None), thigh=(0.1, -0.1))
    fail(f"unknown action {action!r}; choose from {', '.join(ACTIONS)}")


@dataclass
class Look:
    """Everything random about one clip's appearance and motion."""

    bg: np.ndarray
    colour: tuple[int, int, int]
    thickness: float
    height: float  # figure height in pixels
    x0: float
    y0: float  # hip position in pixels
    facing: float  # +1 or -1 (walk/run direction; mirror of the pose)
    cycles_per_frame: float
    phase0: float
    noise: float
    jitter: float


def _random_look(rng: np.random.Generator, size: int, action: str, frames: int) -> Look:
    base = rng.integers(0, 256, 3)
    gx, gy = rng.uniform(-60, 60, 2)
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1) - 0.5
    bg = base[None, None, :] + (gx * xx + gy * yy)[..., None]
    for _ in range(int(rng.integers(0, 5))):  # static clutter
        col = rng.integers(0, 256, 3)
        x1, y1 = rng.integers(0, size, 2)
        w, h = rng.integers(size // 16 + 1, size // 3 + 2, 2)
        a = rng.uniform(0.2, 0.6)
        bg[y1 : y1 + h, x1 : x1 + w] = (1 - a) * bg[y1 : y1 + h, x1 : x1 + w] + a * col
    bg = np.clip(bg, 0, 255).astype(np.float32)
    lum = float(bg.mean())
    # contrasting figure colour
    while True:
        col = rng.integers(0, 256, 3)
        if abs(float(col.mean()) - lum) > 70:
            break
    height = rng.uniform(0.5, 0.72) * size
    travel = _TRAVELS.get(action, 0.0)
    facing = (
        float(rng.choice([-1.0, 1.0]))
        if action in _TRAVELS or action in ("wave", "jump", "squat")
        else 1.0
    )
    cycles = rng.uniform(0.7, 1.4) / 16.0 * (1.6 if action == "run" else 1.0)
    span = travel * height * cycles * frames * facing
    x_lo, x_hi = 0.25 * size - min(0, span), 0.75 * size - max(0, span)
    x0 = rng.uniform(min(x_lo, x_hi), max(x_lo, x_hi))
    y0 = rng.uniform(0.52, 0.62) * size
    return Look(
        bg=bg,
        colour=tuple(int(v) for v in col),
        thickness=max(1.0, rng.uniform(0.05, 0.08) * height),
        height=height,
        x0=x0,
        y0=y0,
        facing=facing,
        cycles_per_frame=cycles,
        phase0=rng.uniform(0, 2 * math.pi),
        noise=rng.uniform(0, 7),
        jitter=rng.uniform(0, 0.015 * size),
    )


def _joints(p: Pose, look: Look) -> dict[str, tuple[float, float]]:
    h = look.height
    f = look.facing
    hip = np.array([look.x0 + (p.hip[0] * h) * f, look.y0 + p.hip[1] * h])
    torso = 0.42 * h
    neck = hip + np.array([math.sin(p.lean) * f, -math.cos(p.lean)]) * torso
    head = neck + np.array([math.sin(p.lean) * f, -math.cos(p.lean)]) * 0.12 * h

    def limb(root, a1, bend, l1, l2, backwards=False):
        a1 = a1 * f
        j1 = root + np.array([math.sin(a1), math.cos(a1)]) * l1
        a2 = a1 + (-bend if backwards else bend) * f
        j2 = j1 + np.array([math.sin(a2), math.cos(a2)]) * l2
        return j1, j2

    out = {"hip": hip, "neck": neck, "head": head}
    shoulder = neck + np.array([0, 0.02 * h])
    for i, side in enumerate(("n", "f")):
        if p.hands is not None and p.hands[i] is not None:
            hx, hy = p.hands[i]
            hand = neck + np.array([hx * h, hy * h])
            mid = (shoulder + hand) / 2 + np.array([0, 0.08 * h])
            out[f"elbow_{side}"], out[f"hand_{side}"] = mid, hand
        else:
            out[f"elbow_{side}"], out[f"hand_{side}"] = limb(
                shoulder, p.shoulder[i], p.elbow[i], 0.2 * h, 0.18 * h
            )
        out[f"knee_{side}"], out[f"foot_{side}"] = limb(
            hip, p.thigh[i], p.knee[i], 0.25 * h, 0.25 * h, True
        )
    return out


def render_clip(
    action: str,
    frames: int,
    size: int,
    rng: np.random.Generator,
    look: Look | None = None,
    start: int = 0,
) -> np.ndarray:
    """Render `frames` RGB frames (frames, size, size, 3) uint8 of one action."""
    cv2 = require("cv2")
    look = look or _random_look(rng, size, action, frames)
    out = np.empty((frames, size, size, 3), np.uint8)
    speed = _TRAVELS.get(action, 0.0) * look.height * look.cycles_per_frame * look.facing
    aa = cv2.LINE_AA
    for i in range(frames):
        t = start + i
        phase = look.phase0 + 2 * math.pi * look.cycles_per_frame * t
        pose = _pose(action, phase)
        j = _joints(pose, look)
        shift = np.array([speed * t, 0.0]) + rng.normal(0, look.jitter + 1e-6, 2)
        img = look.bg.copy()
        img += rng.normal(0, look.noise + 1e-6, img.shape).astype(np.float32)
        img = np.clip(img, 0, 255).astype(np.uint8)
        th = max(1, int(round(look.thickness)))
        P = {k: tuple(int(round(v)) for v in (np.asarray(p) + shift) * 16) for k, p in j.items()}
        bones = [
            ("hip", "neck"),
            ("neck", "elbow_n"),
            ("elbow_n", "hand_n"),
            ("neck", "elbow_f"),
            ("elbow_f", "hand_f"),
            ("hip", "knee_n"),
            ("knee_n", "foot_n"),
            ("hip", "knee_f"),
            ("knee_f", "foot_f"),
        ]
        for a, b in bones:
            cv2.line(img, P[a], P[b], look.colour, th, aa, shift=4)
        r = int(round(0.075 * look.height * 16))
        cv2.circle(img, P["head"], r, look.colour, -1, aa, shift=4)
        out[i] = img
    return out


def _split_names(n: int, rng: np.random.Generator, fractions=(0.7, 0.15, 0.15)) -> list[str]:
    """Stratified split of one class's `n` clips: at least one val and one test clip."""
    n_val = max(1, int(round(n * fractions[1]))) if n >= 3 else 0
    n_test = max(1, int(round(n * fractions[2]))) if n >= 3 else 0
    names = ["val"] * n_val + ["test"] * n_test + ["train"] * (n - n_val - n_test)
    rng.shuffle(names)
    return names


def _check_synth_args(out, classes: int, clips_per_class: int, frames: int, size: int) -> Path:
    """`synthesize`'s argument checks; returns the checked output directory."""
    if not 2 <= classes <= len(ACTIONS):
        fail(f"--classes must be in 2..{len(ACTIONS)}. Received: classes={classes}")
    if clips_per_class < 1:
        fail(f"--clips-per-class must be >= 1. Received: {clips_per_class}")
    if frames < 1:
        fail(f"--frames must be >= 1. Received: {frames}")
    if not 16 <= size <= 1024:
        fail(f"--size must be in 16..1024. Received: size={size}")
    mine = [os.path.exists(os.path.join(out, n)) for n in ("manifest.csv", "synth.json")]
    if mine[0] and not mine[1]:  # a data set of the user's: never overwrite its manifest
        fail(f"{show_path(out)} holds a manifest.csv synth did not write; give an empty directory")
    return check_writable_dir(out, "synth output directory")


def synthesize(
    out: str | os.PathLike,
    classes: int = 7,
    clips_per_class: int = 20,
    frames: int = 16,
    size: int = 96,
    seed: int = 0,
    fps: float = 15.0,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write a class-folder data set of synthetic action clips and its split manifest.

    Args:
        out: Output directory; `out/<label>/<label>_<k>.mp4` and `out/manifest.csv`.
        classes: Integer. Number of actions, the first `classes` of `ACTIONS`
            (2..7). Defaults to `7`.
        clips_per_class: Integer. Clips per action (>= 1). Defaults to `20`.
        frames: Integer. Frames per clip (>= 1). Defaults to `16`.
        size: Integer. Frame width and height in pixels (16..1024). Defaults to `96`.
        seed: Integer. Random seed; the same seed gives the same clips. Defaults to `0`.
        fps: Float. Frame rate written into the files. Defaults to `15`.
        progress: Callable(done, total) or None, called after each clip.

    Returns:
        The path of `manifest.csv`.
    """
    from .video import VideoWriter

    root = _check_synth_args(out, classes, clips_per_class, frames, size)
    labels = ACTIONS[:classes]
    rows = []
    total, done = classes * clips_per_class, 0
    for ci, label in enumerate(labels):
        make_dir(root / label, "synth output directory")
        split_rng = np.random.default_rng([seed, ci, 1])
        splits = _split_names(clips_per_class, split_rng)
        for k in range(clips_per_class):
            rng = np.random.default_rng([seed, ci, k, 0])
            clip = render_clip(label, frames, size, rng)
            rel = f"{label}/{label}_{k:04d}.mp4"
            with VideoWriter(root / rel, size, size, fps=fps) as w:
                for fr in clip:
                    w.write(fr)
            rows.append((rel, label, splits[k]))
            done += 1
            if progress:
                progress(done, total)
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["path", "label", "split"])
    wr.writerows(rows)
    manifest = atomic_write_text(root / "manifest.csv", buf.getvalue())
    atomic_write_text(
        root / "synth.json",
        json.dumps(
            {
                "classes": list(labels),
                "clips_per_class": clips_per_class,
                "frames": frames,
                "size": size,
                "seed": seed,
                "fps": fps,
                "flip_pairs": FLIP_PAIRS,
                "flip_safe": [x for x in FLIP_SAFE if x in labels],
                "train_flip_options": flip_options(labels),
            },
            indent=2,
        )
        + "\n",
    )
    return manifest


def synthesize_sequence(
    path: str | os.PathLike,
    actions: list[str],
    frames_each: int = 30,
    size: int = 160,
    seed: int = 0,
    fps: float = 15.0,
) -> list[dict]:
    """Write one MP4 in which the same figure performs `actions` one after another.

    Returns the ground-truth timeline: `[{"label", "start", "end"}]` in frame indices
    (end exclusive). Used by `edgeaction demo` to show label changes on a live-like file.
    """
    from .video import VideoWriter

    rng = np.random.default_rng([seed, 99])
    timeline = []
    with VideoWriter(path, size, size, fps=fps) as w:
        first = None
        for i, a in enumerate(actions):
            look = _random_look(rng, size, a, frames_each)
            if first is None:
                first = look
            else:  # keep background, figure and place; change only the motion
                look.bg, look.colour, look.thickness = first.bg, first.colour, first.thickness
                look.height, look.x0, look.y0 = first.height, first.x0, first.y0
                look.noise, look.jitter = first.noise, first.jitter
                if a in _TRAVELS:  # travel towards the centre
                    look.facing = 1.0 if look.x0 < size / 2 else -1.0
            for fr in render_clip(a, frames_each, size, rng, look=look):
                w.write(fr)
            timeline.append({"label": a, "start": i * frames_each, "end": (i + 1) * frames_each})
    return timeline
