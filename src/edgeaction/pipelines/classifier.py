"""The runtime's classifier stage: the model opened for the run, and what a batch of
pending work becomes: per-window probabilities, then `Result`s.

Two classifiers over the one runner interface (`engine.open_runner`):

- `WholeModel`: the runner on whole windows, frames (normalised) and/or keypoint
  features (`keypoints.compute` on the raw keypoint windows, just before the call);
- `FeatureCache`: a model exported with `--split`: the encoder once per kept frame
  (batched across streams), the head over each window of cached features.

Never imports TensorFlow.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from ..errors import fail
from ..preprocess import normalize
from .windows import Pending

#: Windows per runner call when `--max-batch` is not given (capped by the engine's).
DEFAULT_MAX_BATCH = 8


@dataclass
class Result:
    """The classification of one window of one stream.

    ```python
    for r in runtime.results():
        print(r.stream, r.window, r.label, f"{r.score:.2f}")
    ```

    Args:
        stream: Integer. Stream number (the order of the sources).
        source: String. The source as shown (credentials redacted).
        window: Tuple of 2 integers. First and last frame index of the window.
        pts: Float or None. Presentation time (s) of the window's last frame.
        label: String. The (smoothed) label.
        score: Float. Its (smoothed) probability.
        top_k: List of (label, probability). The most likely labels, best first.
        probs: Float array (classes,). The smoothed probabilities.
        model: String. The model's name.
        zone: String or None. The zone's name (`--roi`); None for a stream without
            zones (its events carry no `zone`). Defaults to `None`.
    """

    stream: int
    source: str
    window: tuple[int, int]
    pts: float | None
    label: str
    score: float
    top_k: list
    probs: np.ndarray
    model: str
    zone: str | None = None

    def event(self) -> dict:
        """The JSON-lines event of this window (what `edgeaction run` writes); `zone`
        only for a stream with zones."""
        zone = {} if self.zone is None else {"zone": self.zone}
        return {
            "stream": self.stream,
            "source": self.source,
            **zone,
            "pts": None if self.pts is None else round(self.pts, 4),
            "frame": self.window[1],
            "window": list(self.window),
            "label": self.label,
            "score": round(self.score, 4),
            "top_k": [[k, round(p, 4)] for k, p in self.top_k],
            "model": self.model,
        }


def on_ort(model, backend: str) -> bool:
    """Whether `model` runs on ONNX Runtime (a given engine runs on TensorRT)."""
    from ..engine.backends import runs_on

    return runs_on(model, backend) == "onnxruntime"


def open_model(
    model: str | os.PathLike,
    backend: str,
    cache_dir,
    build: dict | None,
    feature_cache: str,
    stride: int | None,
    threads: int | None = None,
):
    """The runner and, when the feature cache applies, the `SplitRunner` (else None).

    Args:
        model: Model path (`.onnx`, export directory or engine).
        backend: String. `"onnxruntime"` or `"tensorrt"`.
        cache_dir: Path or None. TensorRT engine cache.
        build: Dict or None. `build_engine` options for engines built on the fly.
        feature_cache: String. `"auto"`, `"on"` or `"off"`.
        stride: Integer or None. The run's stride (None: the contract's).
        threads: Integer or None. ONNX Runtime threads per operator (None: its default).
            Defaults to `None`.
    """
    from ..engine import open_runner

    # ORT's spinning worker threads would take the CPU GStreamer's decoders need.
    kw = {"spin": False, "intra_op_threads": threads} if on_ort(model, backend) else {}
    runner = open_runner(model, backend=backend, cache_dir=cache_dir, build=build, **kw)
    c = runner.contract
    from ..artefacts import is_engine

    if feature_cache == "auto" and is_engine(model):
        return runner, None  # the engine given is what runs; `on` builds the parts beside it
    if feature_cache == "off":
        return runner, None
    if not (c.uses_frames and not c.uses_keypoints):
        if feature_cache == "on":
            fail(
                f"--feature-cache on needs a frame-only model with a per-frame encoder; "
                f"{c.name} has modality {c.modality}"
            )
        return runner, None
    from ..engine.split import SplitRunner, find_split

    parts = find_split(model)
    if parts is None and feature_cache == "on":
        fail(
            f"--feature-cache on needs encoder.onnx and head.onnx beside {model}; "
            "export the model with `edgeaction export --split`"
        )
    if parts is None or not (feature_cache == "on" or (stride or c.stride) < c.frames):
        return runner, None
    split = SplitRunner(model, backend=backend, cache_dir=cache_dir, build=build, **kw)
    return runner, split


class WholeModel:
    """The runner on whole windows: `run(batch)` -> probabilities (batch, classes).

    Args:
        runner: An active runner (`engine.open_runner`).
        max_batch: Integer or None. Windows per call wanted (None: 8).
        figures: `Figures`. Takes the `infer` and `features` latencies.
    """

    feature_cache = False

    def __init__(self, runner, max_batch: int | None, figures):
        self.runner, self.contract, self.figures = runner, runner.contract, figures
        self.max_batch = min(x for x in (max_batch or DEFAULT_MAX_BATCH, runner.max_batch) if x)
        self.batch_limit = self.max_batch

    def run(self, batch: list[Pending]) -> list[list[tuple[Pending, np.ndarray]]]:
        """The windows of `batch` with their probabilities, as one runner call."""
        c = self.contract
        clips = normalize(np.stack([p.window.frames for p in batch]), c) if c.uses_frames else None
        pose = None
        if c.uses_keypoints:
            from ..keypoints import compute

            t = time.perf_counter()
            pose = compute(c.keypoint_features, np.stack([p.pose for p in batch]))
            self.figures.add("features", t)
        t = time.perf_counter()
        probs = self.runner.classify(clips, pose)
        self.figures.add("infer", t)
        return [list(zip(batch, probs, strict=True))]


class FeatureCache:
    """A split model: `run(frames)` encodes kept frames, windows the features of each
    stream (`StreamWindows.on_features`) and runs the head on every finished window.

    Args:
        split: An active `SplitRunner`.
        contract: The model's `ModelContract`.
        max_batch: Integer or None. Windows per head call wanted (None: 8); an encoder
            call takes up to twice this many frames.
        windows: List of `StreamWindows`, by stream number.
        figures: `Figures`. Takes the `encode` and `head` latencies.
    """

    feature_cache = True

    def __init__(self, split, contract, max_batch: int | None, windows: list, figures):
        self.split, self.contract, self.windows, self.figures = split, contract, windows, figures
        wanted = max_batch or DEFAULT_MAX_BATCH
        self.max_batch = min(x for x in (wanted, split.head_max_batch) if x)
        self.batch_limit = min(x for x in (wanted * 2, split.encoder_max_batch) if x)

    def run(self, batch: list[Pending]) -> list[list[tuple[Pending, np.ndarray]]]:
        """The windows the frames of `batch` finished, with probabilities, per head call."""
        t = time.perf_counter()
        feats = self.split.encode(np.stack([p.frame[2] for p in batch]))
        self.figures.add("encode", t)
        ready = []
        for p, feat in zip(batch, feats, strict=True):
            ready += self.windows[p.stream].on_features(p, feat)
        # One head call for every window the encoder batch finished (the head's cost is
        # mostly per call); split only where the engine's profile says so.
        out = []
        step = self.split.head_max_batch or max(len(ready), 1)
        for k in range(0, len(ready), step):
            chunk = ready[k : k + step]
            t = time.perf_counter()
            probs = self.split.head(np.stack([p.window.frames for p in chunk]))
            self.figures.add("head", t)
            out.append(list(zip(chunk, probs, strict=True)))
        return out
