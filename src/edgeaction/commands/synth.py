"""`edgeaction synth`: render synthetic stick-figure action clips and a manifest."""

from __future__ import annotations

import argparse
import time

from .. import options
from .common import progress


def run(a) -> int:
    """`edgeaction synth` with the parsed arguments `a`; returns the exit status."""
    from ..synth import ACTIONS, flip_options, synthesize

    t = time.monotonic()
    m = synthesize(
        a.out,
        a.classes,
        a.clips_per_class,
        a.frames,
        a.size,
        a.seed,
        a.fps,
        progress=progress("synth", a.classes * a.clips_per_class),
    )
    print(f"wrote {a.classes * a.clips_per_class} clips and {m} in {time.monotonic() - t:.1f} s")
    flip = flip_options(ACTIONS[: a.classes])
    print(f"these actions mirror; to flip-augment, train with: {' '.join(flip)}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `synth` on the top-level sub-parsers."""
    s = sub.add_parser(
        "synth", help="render synthetic stick-figure action clips (MP4) + split manifest"
    )
    s.add_argument(
        "out", type=options.path, help="output directory (OUT/<label>/<clip>.mp4, OUT/manifest.csv)"
    )
    s.add_argument(
        "--classes",
        type=options.positive_int,
        default=7,
        help="number of actions, 2..7 (default 7)",
    )
    s.add_argument(
        "--clips-per-class",
        type=options.positive_int,
        default=40,
        help="clips per action (default 40)",
    )
    s.add_argument("--frames", type=options.frames, default=16, help="frames per clip (default 16)")
    s.add_argument(
        "--size", type=options.pixels, default=96, help="frame width and height (default 96)"
    )
    s.add_argument(
        "--seed",
        type=options.seed,
        default=0,
        help="random seed; same seed, same clips (default 0)",
    )
    s.add_argument(
        "--fps", type=options.fps, default=15.0, help="frame rate written to the files (default 15)"
    )
    s.set_defaults(fn=run)
