"""`edgeaction keypoints` (and its alias `pose-extract`): a keypoint cache of a data set."""

from __future__ import annotations

import argparse

from .. import options
from .common import outside_root_arg

KEYPOINTS_EPILOG = """\
kinds (values per frame):
  pose        MediaPipe Pose: 33 landmarks x, y (0..1 of the frame), z, visibility (132);
              all zeros in a frame without a person
  hands       MediaPipe Hands: 2 hand slots x (21 landmarks x, y, z, present, right,
              score) (132); an empty slot has present 0 (frames without a hand are
              explicit, never zeros that read as a hand in the corner)
  pose+hands  both (264)

writes into --out (one directory per kind):
  <clip key>.npz  keypoints (frames, values) float32 per clip, the kind, the source path,
                  size and mtime, the frame count, the MediaPipe version and model
  index.json      kind; clip key -> npz file, label, split, frames, frames_found

Every frame is decoded by the reader training uses (at the source size, scaled to at
most 640 px wide), so keypoints i belong to frame i of the clip. Clips whose cache entry
is up to date (same kind, file size and mtime) are skipped; --force extracts them again.
Unreadable clips are skipped with a warning; clips where nothing was found in any frame
are listed. Needs mediapipe==0.10.21, the last release that ships its models offline
(extra 'pose', then `pip install --no-deps mediapipe==0.10.21`; scripts/setup.sh does
both). Never loads TensorFlow. `pose-extract` is `keypoints --kind pose`.

examples:
  edgeaction keypoints data/ --kind hands --out hands/
  edgeaction train data/ --arch hands --keypoints hands/ --out runs/h
  edgeaction keypoints data/ --kind pose --out pose/     # = edgeaction pose-extract data/ --out pose/
"""


def run(a) -> int:
    """`edgeaction keypoints` with the parsed arguments `a`; returns the exit status."""
    from ..keypoints import extract_dataset

    s = extract_dataset(
        a.data,
        a.out,
        kind=a.kind,
        layout=a.layout,
        progress=True,
        force=a.force,
        allow_outside_root=a.allow_outside_root,
        max_hands=a.max_hands,
    )
    speed = f"{s['fps']:.0f} fps" if s["fps"] else "all cached"
    what = "a person" if a.kind == "pose" else "a hand" if a.kind == "hands" else "a find"
    print(
        f"keypoints ({a.kind}): {s['clips']} clips ({s['extracted']} extracted, {s['cached']} "
        f"cached, {len(s['bad'])} unreadable), {s['frames']} frames, "
        f"{100 * s['found_rate']:.1f} % with {what}, {s['seconds']:.1f} s ({speed}); "
        f"wrote {s['index']}"
    )
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `keypoints` on the top-level sub-parsers."""
    for verb in ("keypoints", "pose-extract"):
        alias = verb == "pose-extract"
        x = sub.add_parser(
            verb,
            help="the same as `keypoints --kind pose`"
            if alias
            else "extract MediaPipe pose / hand keypoints of every clip of a data set into a cache",
            description="Run MediaPipe Pose and/or Hands on every frame of every clip of DATA "
            "and cache the raw keypoints for keypoint models "
            "(`edgeaction train --keypoints DIR`).",
            epilog=KEYPOINTS_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        x.add_argument(
            "data",
            type=options.path,
            help="labelled data set (any layout `edgeaction train` reads)",
        )
        x.add_argument(
            "--out", type=options.pathlib_path, required=True, help="cache directory to write"
        )
        if alias:
            x.set_defaults(kind="pose", max_hands=2)
        else:
            x.add_argument(
                "--kind",
                choices=["pose", "hands", "pose+hands"],
                required=True,
                help="what to extract (see below)",
            )
            x.add_argument(
                "--max-hands",
                type=options.integer,
                choices=[1, 2],
                default=2,
                help="hands MediaPipe looks for (default 2). 1 for one-handed gestures: with "
                "2 and one hand in view the palm detector runs on every frame, about half "
                "the speed here and live; models trained on the cache extract the same way",
            )
        x.add_argument(
            "--layout",
            choices=["folders", "frames", "manifest"],
            help="data layout (default: detected)",
        )
        x.add_argument("--force", action="store_true", help="extract again even if cached")
        outside_root_arg(x)
        x.set_defaults(fn=run)
