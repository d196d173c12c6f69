"""An actionnet-style app on edgeaction's runtime: classify a video source window by
window and print the label and score of each window.

```
python examples/action_app.py model.onnx clip.mp4
python examples/action_app.py model.onnx rtsp://cam/live --out-video annotated.mp4 --duration 30
```

The source is anything `edgeaction run --source` takes (a file, `rtsp://`,
`v4l2:///dev/video0`, `csi://0`, `test://ball`). Never imports TensorFlow.
"""

import argparse
import sys

from edgeaction.errors import EdgeActionError
from edgeaction.pipelines import RunOptions, Runtime


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="model.onnx, export directory or engine")
    p.add_argument("source", help="video file, rtsp://, v4l2://, csi://, test://")
    p.add_argument("--out-video", help="also draw the labels into this .mp4")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--stride", type=int, help="frames between windows (default: the model's)")
    a = p.parse_args(argv)
    try:
        net = Runtime(a.model, [a.source], events=None, out_video=a.out_video,
                      options=RunOptions(duration_s=a.duration, stride=a.stride))  # fmt: skip
        for r in net.results():
            print(f"frames {r.window[0]}-{r.window[1]}: {r.label} ({r.score:.2f})", flush=True)
    except EdgeActionError as e:
        print(f"action_app: {e}", file=sys.stderr)
        return e.exit_code
    m = net.report
    print(f"{m['frames']} frames, {m['windows']} windows, {m['fps']:.0f} fps", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
