"""The model contract: everything downstream needs to feed a model, and nothing else.

Written once at export (`contract.json` beside the ONNX file and embedded in its
`metadata_props` under `edgeaction.contract`), copied beside every engine, and read by
the runners, the pipelines and the benchmarks. Nothing downstream guesses a shape or a
label.

```python
c = ModelContract(name="demo", labels=("walk", "run"), frames=8, height=64, width=64)
c.input_shape(batch=2)          # (2, 8, 64, 64, 3) for layout NTHWC
ModelContract.from_json(c.to_json()) == c
```
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from . import artefacts
from .errors import EdgeActionError, fail, first_line
from .keypoints.features import DEFAULT_FEATURES, FEATURE_SETS, kind_of
from .sampling import SHORT_CLIPS

CONTRACT_KEY = "edgeaction.contract"
#: `metadata_props` key of the parts written by `edgeaction export --split` (`SplitPart`).
SPLIT_KEY = "edgeaction.split"
SPLIT_PARTS = ("encoder", "head")
CONTRACT_FILE = artefacts.CONTRACT_JSON  # the file name is the artefacts module's
SCHEMA_VERSION = 1
LAYOUTS = ("NTHWC", "NCTHW", "NTCHW")
COLOUR_ORDERS = ("RGB", "BGR")
DTYPES = ("float32", "float16", "uint8")
MODALITIES = ("rgb", "pose", "rgb+pose", "hands", "rgb+hands", "pose+hands")
POSE_CHANNELS = 4  # x, y, z, visibility per landmark (MediaPipe Pose)


@dataclass(frozen=True)
class ModelContract:
    """What a clip classifier expects and produces.

    Args:
        name: String. Model name, used in events and engine file names.
        labels: Tuple of strings. Class names in output order.
        frames: Integer. Frames per clip (T).
        height: Integer. Frame height in pixels after scaling.
        width: Integer. Frame width in pixels after scaling.
        input_name: String. Name of the clip input tensor. Defaults to `"frames"`.
        output_name: String. Name of the probability output. Defaults to `"probs"`.
        layout: String. Axis order of the input, one of `NTHWC`, `NCTHW`, `NTCHW`.
            Defaults to `"NTHWC"`.
        dtype: String. Input element type. Defaults to `"float32"`.
        colour: String. Channel order, `"RGB"` or `"BGR"`. Defaults to `"RGB"`.
        scale: Float. Pixels (0..255) are multiplied by this first. Defaults to `1/255`.
        mean: Tuple of 3 floats. Subtracted per channel after scaling. Defaults to 0.5s.
        std: Tuple of 3 floats. Divides per channel after the mean. Defaults to 0.5s.
        stride: Integer. Default step between consecutive windows, in kept frames.
            Defaults to `frames // 2`.
        subsample: Integer. Keep every n-th frame of a stream to build a window, so the
            window spans the same time as the clips the model was trained on (uniform
            sampling of T frames from longer clips). Defaults to `1`.
        outputs_probabilities: Boolean. Whether the output is already softmaxed.
            Defaults to `True`.
        modality: String. What the model reads: `"rgb"` (frames only); keypoints only:
            `"pose"` (MediaPipe Pose), `"hands"` (MediaPipe Hands) or `"pose+hands"`; or
            frames and keypoints, two inputs: `"rgb+pose"`, `"rgb+hands"`. Defaults to
            `"rgb"`.
        pose_name: String. Name of the keypoint input tensor (the name is historic: it
            serves every keypoint kind), `(N, T, D)` float32: per frame the values of
            the feature set `keypoint_features` (`edgeaction.keypoints.features`).
            Defaults to `"pose"`.
        keypoints: Integer. Pose landmarks per frame, for the `pose-xyzv` feature set
            (D = keypoints * 4). Defaults to `33` (MediaPipe Pose).
        keypoint_features: String. The named feature set turning a window of raw
            keypoints into the keypoint input, the same in training and serving; empty
            for `"rgb"`. Defaults to the kind's current set (`pose-xyzv`, `hands-v1`,
            `pose+hands-v1`).
        max_hands: Integer, 1 or 2. Hands MediaPipe looks for when extracting the
            keypoints (hand kinds), as the training cache was extracted. Defaults to `2`.
        short_clips: String. How a clip shorter than T frames was turned into T frames
            in training, and so in `evaluate` and export's parity check
            (`sampling.sample_indices`): `"stretch"` (spread over T, frames repeated:
            slow motion, the order kept), `"loop"` or `"pad"`. Defaults to `"stretch"`; a
            contract written before this key existed reads `"loop"`, what it was trained
            with.
        producer: Dict of strings. Versions of the tools that made the model
            (edgeaction, tensorflow, keras, tf2onnx, opset, ...).
    """

    name: str
    labels: tuple[str, ...]
    frames: int
    height: int
    width: int
    input_name: str = "frames"
    output_name: str = "probs"
    layout: str = "NTHWC"
    dtype: str = "float32"
    colour: str = "RGB"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    stride: int = 0
    subsample: int = 1
    outputs_probabilities: bool = True
    modality: str = "rgb"
    pose_name: str = "pose"
    keypoints: int = 33
    keypoint_features: str = ""
    max_hands: int = 2
    short_clips: str = "stretch"
    producer: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        bad = self._problem()
        if bad:
            fail(f"invalid model contract: {bad}")
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "mean", tuple(float(m) for m in self.mean))
        object.__setattr__(self, "std", tuple(float(s) for s in self.std))
        object.__setattr__(self, "producer", {str(k): str(v) for k, v in self.producer.items()})
        if not self.stride:
            object.__setattr__(self, "stride", max(1, self.frames // 2))
        if self.uses_keypoints and not self.keypoint_features:
            object.__setattr__(self, "keypoint_features", DEFAULT_FEATURES[self.keypoint_kind])

    def _problem(self) -> str | None:
        """The first thing wrong with this contract, as one line, or None."""
        return self._names_problem() or self._input_problem() or self._keypoints_problem()

    def _names_problem(self) -> str | None:
        """Name and labels."""
        if not isinstance(self.name, str) or not self.name:
            return f"name must be a non-empty string. Received: name={_show(self.name)}"
        if isinstance(self.labels, str) or not isinstance(self.labels, list | tuple):
            return f"labels must be a list of strings. Received: labels={_show(self.labels)}"
        if len(self.labels) < 2:
            return f"labels needs at least 2 classes. Received: {len(self.labels)}"
        if not all(isinstance(x, str) and x for x in self.labels):
            return "labels must be non-empty strings"
        if len(set(self.labels)) != len(self.labels):
            return f"labels must be unique. Received: labels={_show(list(self.labels))}"
        return None

    def _input_problem(self) -> str | None:
        """The input tensor: sizes, names, layout, dtype, colour, normalisation, sampling."""
        for k in ("frames", "height", "width"):
            v = getattr(self, k)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 4096:
                return f"{k} must be an integer in 1..4096. Received: {k}={_show(v)}"
        for k in ("input_name", "output_name"):
            if not isinstance(getattr(self, k), str) or not getattr(self, k):
                return f"{k} must be a non-empty string"
        if self.layout not in LAYOUTS:
            return f"layout must be one of {LAYOUTS}. Received: layout={_show(self.layout)}"
        if self.dtype not in DTYPES:
            return f"dtype must be one of {DTYPES}. Received: dtype={_show(self.dtype)}"
        if self.colour not in COLOUR_ORDERS:
            return f"colour must be one of {COLOUR_ORDERS}. Received: colour={_show(self.colour)}"
        if not _finite(self.scale) or self.scale <= 0:
            return f"scale must be a positive number. Received: scale={_show(self.scale)}"
        for k in ("mean", "std"):
            v = getattr(self, k)
            if not isinstance(v, list | tuple) or len(v) != 3 or not all(_finite(x) for x in v):
                return f"{k} must be 3 numbers. Received: {k}={_show(v)}"
        if any(s <= 0 for s in self.std):
            return f"std must be positive. Received: std={_show(self.std)}"
        if (
            not isinstance(self.stride, int)
            or isinstance(self.stride, bool)
            or not 0 <= self.stride <= 65536
        ):
            return f"stride must be a non-negative integer up to 65536. Received: stride={_show(self.stride)}"
        if (
            not isinstance(self.subsample, int)
            or isinstance(self.subsample, bool)
            or not 1 <= self.subsample <= 64
        ):
            return f"subsample must be an integer in 1..64. Received: subsample={_show(self.subsample)}"
        if not isinstance(self.outputs_probabilities, bool):
            return (
                "outputs_probabilities must be true or false. "
                f"Received: outputs_probabilities={_show(self.outputs_probabilities)}"
            )
        return None

    def _keypoints_problem(self) -> str | None:
        """Modality, the pose input, keypoint sizes and features, producer."""
        if self.modality not in MODALITIES:
            return (
                f"modality must be one of {MODALITIES}. Received: modality={_show(self.modality)}"
            )
        if not isinstance(self.pose_name, str) or not self.pose_name:
            return "pose_name must be a non-empty string"
        if self.uses_frames and self.uses_keypoints and self.pose_name == self.input_name:
            return f"pose_name and input_name must differ. Received: both {_show(self.pose_name)}"
        if (
            not isinstance(self.keypoints, int)
            or isinstance(self.keypoints, bool)
            or not 1 <= self.keypoints <= 1024
        ):
            return f"keypoints must be an integer in 1..1024. Received: keypoints={_show(self.keypoints)}"
        if self.max_hands not in (1, 2) or isinstance(self.max_hands, bool):
            return f"max_hands must be 1 or 2. Received: max_hands={_show(self.max_hands)}"
        if self.short_clips not in SHORT_CLIPS:
            return (
                f"short_clips must be one of {', '.join(SHORT_CLIPS)}. "
                f"Received: short_clips={_show(self.short_clips)}"
            )
        if not isinstance(self.keypoint_features, str):
            return f"keypoint_features must be a string. Received: {_show(self.keypoint_features)}"
        kind = kind_of(self.modality)
        if self.keypoint_features and kind is None:
            return f"modality {self.modality} reads no keypoints; leave keypoint_features empty"
        if self.keypoint_features:
            fs = FEATURE_SETS.get(self.keypoint_features)
            if fs is None:
                return (
                    f"keypoint_features {_show(self.keypoint_features)} is not a feature set "
                    f"this edgeaction knows ({', '.join(FEATURE_SETS)}); upgrade edgeaction"
                )
            if fs.kind != kind:
                return (
                    f"keypoint_features {self.keypoint_features} reads {fs.kind} keypoints, "
                    f"modality {self.modality} reads {kind}"
                )
        if not isinstance(self.producer, dict) or not all(
            isinstance(v, str) or v is None or _finite(v) or isinstance(v, bool)
            for v in self.producer.values()
        ):
            return "producer must map tool names to version strings"
        return None

    # ---- shapes ------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def input_shape(self, batch: int | None = None) -> tuple:
        """The input shape in the contract's layout, with `batch` first (None: dynamic)."""
        t, h, w, c = self.frames, self.height, self.width, 3
        per = {"NTHWC": (t, h, w, c), "NCTHW": (c, t, h, w), "NTCHW": (t, c, h, w)}
        return (batch, *per[self.layout])

    @property
    def uses_frames(self) -> bool:
        """Whether the model reads video frames (input `input_name`)."""
        return self.modality == "rgb" or self.modality.startswith("rgb+")

    @property
    def keypoint_kind(self) -> str | None:
        """The raw keypoints the model reads (`pose`, `hands`, `pose+hands`), or None."""
        return kind_of(self.modality)

    @property
    def uses_keypoints(self) -> bool:
        """Whether the model reads keypoints (input `pose_name`)."""
        return self.keypoint_kind is not None

    @property
    def keypoint_dims(self) -> int:
        """Values per frame of the keypoint input (D); 0 for a model that reads none."""
        if not self.keypoint_features:
            return 0
        if self.keypoint_features == "pose-xyzv":
            return self.keypoints * POSE_CHANNELS
        return FEATURE_SETS[self.keypoint_features].dims

    @property
    def input_names(self) -> tuple[str, ...]:
        """Names of every model input, frames first."""
        return tuple(
            n
            for n, used in (
                (self.input_name, self.uses_frames),
                (self.pose_name, self.uses_keypoints),
            )
            if used
        )

    def keypoint_shape(self, batch: int | None = None) -> tuple:
        """Shape of the keypoint input: `(batch, T, D)`."""
        return (batch, self.frames, self.keypoint_dims)

    def check_keypoint_input(self, shape, what: str = "model") -> None:
        """Fail with one line when a model's keypoint input shape disagrees with this contract."""
        want, shape = self.keypoint_shape(), tuple(shape)
        if len(shape) != 3 or any(
            isinstance(g, int) and g > 0 and g != w
            for w, g in zip(want[1:], shape[1:], strict=True)
        ):
            fail(
                f"contract wants keypoint input {list(want)}, {what} keypoint input has "
                f"{list(shape)}; "
                "re-export the model with `edgeaction export`"
            )

    def check_input(self, name: str, shape, dtype: str | None = None, what: str = "model") -> None:
        """Fail with one line when a model's input disagrees with this contract.

        Args:
            name: String. The model's input tensor name.
            shape: Sequence. The model's input shape; str/None/negative entries are dynamic.
            dtype: String or None. The model's input element type, when known.
            what: String. How to call the model in messages. Defaults to `"model"`.
        """
        if name != self.input_name:
            fail(
                f"contract wants input '{self.input_name}', {what} input is '{name}'; "
                "re-export the model with `edgeaction export`"
            )
        want = self.input_shape()
        shape = tuple(shape)
        if len(shape) != len(want):
            fail(
                f"contract wants a {len(want)}-D input {self.layout}, {what} input has "
                f"{len(shape)} dims {list(shape)}; re-export the model with `edgeaction export`"
            )
        axis_names = {"T": "frames", "H": "height", "W": "width", "C": "channels"}
        for axis, (w, got) in zip(
            self.layout[1:], zip(want[1:], shape[1:], strict=True), strict=True
        ):
            if isinstance(got, int) and got > 0 and got != w:
                fail(
                    f"contract wants {w} {axis_names[axis]}, {what} input has {got} "
                    f"({self.layout} {list(shape)}); the contract and the model come from "
                    "different exports: re-export with `edgeaction export`"
                )
        if dtype is not None and _canon_dtype(dtype) != self.dtype:
            fail(f"contract wants {self.dtype} input, {what} input is {dtype}")

    def check_output(self, size, what: str = "model") -> None:
        """Fail when the number of model outputs is not the number of labels."""
        if isinstance(size, int) and size > 0 and size != self.num_classes:
            fail(
                f"contract has {self.num_classes} labels, {what} output has {size} classes; "
                "the labels do not belong to this model"
            )

    # ---- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["labels"] = list(self.labels)
        d["mean"] = list(self.mean)
        d["std"] = list(self.std)
        return {"schema": SCHEMA_VERSION, **d}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, d: Any, source: str = "contract") -> ModelContract:
        if not isinstance(d, dict):
            fail(f"{source} is not a JSON object; re-export the model with `edgeaction export`")
        schema = d.get("schema", SCHEMA_VERSION)
        if schema != SCHEMA_VERSION:
            fail(
                f"{source} has schema {_show(schema)}, this edgeaction reads schema "
                f"{SCHEMA_VERSION}; "
                "re-export the model with this version"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted((k for k in d if k not in known and k != "schema"), key=repr)
        if unknown:
            shown = ", ".join(_show(k, 40) for k in unknown[:5])
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            fail(
                f"{source} has unknown keys [{shown}]{more}; re-export the model with this version"
            )
        missing = [k for k in ("name", "labels", "frames", "height", "width") if k not in d]
        if missing:
            fail(f"{source} lacks {missing}; re-export the model with `edgeaction export`")
        kw = {k: v for k, v in d.items() if k != "schema"}
        kw.setdefault("short_clips", "loop")  # written before the key: trained looping
        try:
            return cls(**kw)
        except EdgeActionError as e:
            fail(f"{source}: {e}")
        except (TypeError, ValueError, OverflowError, RecursionError) as e:
            fail(
                f"{source} is malformed ({first_line(e)}); "
                "re-export the model with `edgeaction export`"
            )

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "contract") -> ModelContract:
        try:
            d = json.loads(text)
        except (ValueError, UnicodeDecodeError, RecursionError, TypeError) as e:
            fail(
                f"{source} is not valid JSON ({first_line(e)}); "
                "re-export the model with `edgeaction export`"
            )
        return cls.from_dict(d, source)

    def save(self, path: str | os.PathLike) -> Path:
        """Write `contract.json` atomically; `path` may be a directory or a file path."""
        from .fsutil import atomic_write_text

        p = Path(path)
        if p.is_dir():
            p = p / CONTRACT_FILE
        atomic_write_text(p, self.to_json() + "\n")
        return p

    @classmethod
    def load(cls, path: str | os.PathLike) -> ModelContract:
        """Read a contract from `contract.json`, a directory holding it, or an ONNX model."""
        p = Path(path)
        if p.is_dir():
            p = p / CONTRACT_FILE
        if not p.exists():
            fail(f"no model contract at {p}; export the model with `edgeaction export`")
        if p.suffix == ".onnx":
            return contract_from_onnx(p)
        try:
            text = p.read_bytes()
        except OSError as e:
            fail(f"cannot read {p}: {e.strerror}")
        return cls.from_json(text, source=str(p))

    def with_producer(self, **versions: str) -> ModelContract:
        return replace(self, producer={**self.producer, **{k: str(v) for k, v in versions.items()}})


@dataclass(frozen=True)
class SplitPart:
    """One part of a model exported with `edgeaction export --split`.

    `encoder.onnx` maps one normalised frame `(N, H, W, 3)` to features `(N, F)`;
    `head.onnx` maps `(N, T, F)` features to the whole model's output. Each embeds this
    in its `metadata_props` under `edgeaction.split`.

    Args:
        part: String. `"encoder"` or `"head"`.
        input: String. Name of the part's one input tensor.
        output: String. Name of the part's output tensor.
        features: Integer. Features per frame (F).
        frames: Integer. Frames per window (T), the contract's.
        contract: ModelContract. The whole model's contract.
    """

    part: str
    input: str
    output: str
    features: int
    frames: int
    contract: ModelContract

    def __post_init__(self):
        if self.part not in SPLIT_PARTS:
            fail(f"split part must be one of {SPLIT_PARTS}. Received: part={_show(self.part)}")
        for k in ("input", "output"):
            if not isinstance(getattr(self, k), str) or not getattr(self, k):
                fail(f"split {self.part}: {k} must be a non-empty string")
        f = self.features
        if not isinstance(f, int) or isinstance(f, bool) or f < 1:
            fail(f"split {self.part}: features must be a positive integer. Received: {_show(f)}")
        if self.frames != self.contract.frames:
            fail(
                f"split {self.part}: frames {_show(self.frames)} differs from its contract's "
                f"{self.contract.frames}; re-export the model with `edgeaction export --split`"
            )

    def input_shape(self, batch: int | None = None) -> tuple:
        """`(batch, H, W, 3)` for the encoder, `(batch, T, F)` for the head."""
        c = self.contract
        if self.part == "encoder":
            return (batch, c.height, c.width, 3)
        return (batch, self.frames, self.features)

    @property
    def output_size(self) -> int:
        """Last axis of the output: F for the encoder, the number of classes for the head."""
        return self.features if self.part == "encoder" else self.contract.num_classes

    def check_io(self, inputs: dict, outputs: dict, what: str = "model") -> None:
        """Fail with one line when a graph's inputs/outputs disagree with this part.

        Args:
            inputs: Dict. Input name → shape (str/None/negative entries are dynamic).
            outputs: Dict. Output name → shape.
            what: String. How to call the graph in messages.
        """
        fix = "re-export the model with `edgeaction export --split`"
        if list(inputs) != [self.input]:
            fail(
                f"{what}: split {self.part} wants input '{self.input}', graph has {sorted(inputs)}; {fix}"
            )
        want, got = self.input_shape(), tuple(inputs[self.input])
        if len(got) != len(want) or any(
            isinstance(g, int) and g > 0 and g != w for w, g in zip(want[1:], got[1:], strict=True)
        ):
            fail(
                f"{what}: split {self.part} wants input {list(want)}, graph input has "
                f"{list(got)}; {fix}"
            )
        if self.output not in outputs:
            fail(
                f"{what}: split {self.part} wants output '{self.output}', graph outputs are "
                f"{sorted(outputs)}; {fix}"
            )
        size = tuple(outputs[self.output])[-1:] or (None,)
        if isinstance(size[0], int) and size[0] > 0 and size[0] != self.output_size:
            fail(
                f"{what}: split {self.part} wants {self.output_size} outputs per item, graph "
                f"output '{self.output}' has {size[0]}; {fix}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "input": self.input,
            "output": self.output,
            "features": self.features,
            "frames": self.frames,
            "contract": self.contract.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "split metadata") -> SplitPart:
        fix = "re-export the model with `edgeaction export --split`"
        try:
            d = json.loads(text)
        except (ValueError, UnicodeDecodeError, RecursionError, TypeError) as e:
            fail(f"{source} is not valid JSON ({first_line(e)}); {fix}")
        keys = ("part", "input", "output", "features", "frames", "contract")
        if not isinstance(d, dict) or any(k not in d for k in keys):
            fail(f"{source} lacks one of {list(keys)}; {fix}")
        contract = ModelContract.from_dict(d["contract"], source=f"{source} contract")
        try:
            return cls(**{k: d[k] for k in keys[:-1]}, contract=contract)
        except EdgeActionError as e:
            fail(f"{source}: {e}")
        except (TypeError, ValueError, OverflowError, RecursionError) as e:
            fail(f"{source} is malformed ({first_line(e)}); {fix}")


def split_part_from_onnx(
    path: str | os.PathLike, metadata: dict[str, str] | None = None
) -> SplitPart | None:
    """The `SplitPart` embedded in an ONNX model, or None when it carries none.

    Args:
        path: Path of the `.onnx` file.
        metadata: Dict or None. The model's `metadata_props` when the caller has them.
    """
    p = Path(path)
    if metadata is None:
        metadata = _onnx_metadata(p)
    if SPLIT_KEY not in metadata:
        return None
    return SplitPart.from_json(metadata[SPLIT_KEY], source=f"split metadata of {p.name}")


def contract_from_onnx(
    path: str | os.PathLike, metadata: dict[str, str] | None = None
) -> ModelContract:
    """The contract embedded in an ONNX model, else the `contract.json` beside it.

    Args:
        path: Path of the `.onnx` file.
        metadata: Dict or None. The model's `metadata_props` when the caller already has
            them (e.g. from an ONNX Runtime session), so the file is not parsed twice.
    """
    p = Path(path)
    if metadata is None:
        metadata = _onnx_metadata(p)
    if CONTRACT_KEY in metadata:
        return ModelContract.from_json(
            metadata[CONTRACT_KEY], source=f"contract embedded in {p.name}"
        )
    beside = p.with_name(CONTRACT_FILE)
    if beside.exists():
        return ModelContract.load(beside)
    fail(
        f"{p} carries no edgeaction contract (no '{CONTRACT_KEY}' metadata, no {CONTRACT_FILE} "
        "beside it); export it with `edgeaction export` or put its contract.json beside it"
    )


def _onnx_metadata(p: Path) -> dict[str, str]:
    from ._lazy import require

    ort = require("onnxruntime")
    try:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        fail(f"{p} is not a loadable ONNX model ({first_line(e)})")
    return dict(sess.get_modelmeta().custom_metadata_map)


def _finite(x) -> bool:
    """Whether `x` is a real int or float that is finite as a float (huge ints are not)."""
    if not isinstance(x, int | float) or isinstance(x, bool):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:  # an int too large for a float
        return False


def _show(v: Any, limit: int = 80) -> str:
    """`repr(v)` for a one-line message: cut to `limit`, safe for huge ints and deep nesting."""
    try:
        r = repr(v)
    except (ValueError, RecursionError):  # an int past the digit limit, nesting past the stack
        r = f"<{type(v).__name__}>"
    return r if len(r) <= limit else r[: limit - 3] + "..."


def _canon_dtype(d: str) -> str:
    d = str(d).lower()
    return {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(uint8)": "uint8"}.get(
        d, d
    )
