"""Throughput of `edgeaction run` on the real clips in ../shared/data/real_clips.

    python benchmarks/run_fps.py [MODEL.onnx] [--json OUT.json]

MODEL defaults to the demo's model (run `edgeaction demo` first). For each clip it
reports frames, windows and fps with events only, and with the annotated video too.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from edgeaction.pipelines import run_file

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("model", nargs="?", default=str(ROOT / "demo-out" / "model" / "model.onnx"))
    p.add_argument("--clips", default=str(ROOT.parent / "shared" / "data" / "real_clips"))
    p.add_argument("--json", help="write the figures here")
    a = p.parse_args()
    if not Path(a.model).exists():
        print(
            f"no model at {a.model}: run `edgeaction demo` first or give an .onnx path",
            file=sys.stderr,
        )
        return 1
    rows = []
    with tempfile.TemporaryDirectory() as td:
        for clip in sorted(Path(a.clips).glob("*.*")):
            if clip.suffix not in (".mp4", ".avi"):
                continue
            ev = run_file(a.model, clip, events=Path(td) / "e.jsonl")
            vid = run_file(a.model, clip, events=Path(td) / "e.jsonl", out_video=Path(td) / "a.mp4")
            rows.append(
                {
                    "clip": clip.name,
                    "frames": ev.frames,
                    "windows": ev.windows,
                    "fps_events": round(ev.fps, 1),
                    "fps_with_video": round(vid.fps, 1),
                    "decode_ms_per_frame": round(ev.decode_ms_per_frame, 2),
                    "infer_ms_per_window": round(ev.infer_ms_per_window, 2),
                }
            )
            r = rows[-1]
            print(
                f"{r['clip']:<34} {r['frames']:>4} frames {r['windows']:>3} windows "
                f"{r['fps_events']:>7.1f} fps  {r['fps_with_video']:>6.1f} fps +video  "
                f"decode {r['decode_ms_per_frame']:.2f} ms/frame  infer {r['infer_ms_per_window']:.2f} ms/window"
            )
    if a.json:
        Path(a.json).write_text(json.dumps({"model": a.model, "clips": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
