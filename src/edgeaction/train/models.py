"""Model architectures, built from the model contract.

Per-frame backbones are applied by folding time into the batch axis —
`(B, T, H, W, C) -> (B*T, H, W, C)` → CNN → `(B, T, F)` — rather than with a literal
`TimeDistributed`: the same maths and weights, but it exports to ONNX at any size (a
literal TimeDistributed is unrolled per frame by Keras 3 and tf2onnx; FACTS) and it is
exactly the encoder/head split that streaming needs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .._lazy import require
from ..contract import ModelContract
from ..errors import fail, first_line
from ..keypoints.features import INPUT_NAMES, kind_of

keras = require("keras")
log = logging.getLogger("edgeaction.train")


@dataclass(frozen=True)
class Pretrained:
    """Where Keras keeps a backbone's ImageNet weights (`keras/src/applications/`).

    Args:
        backbone: String. The `keras.applications` function.
        file: String. The file name Keras caches the weights (without top) under.
        url: String. Where `keras.applications` downloads that file from.
        md5: String. Keras' published md5 of the file.
    """

    backbone: str
    file: str
    url: str
    md5: str


_KERAS_APPS = "https://storage.googleapis.com/tensorflow/keras-applications/"
_RESNET50 = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
# MobileNetV3: f"weights_mobilenet_v3_{small|large}[_minimalistic]_224_{alpha}_float_no_top_v2.h5"
_MNV3_SMALL = "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"

#: Architectures with a pretrained backbone: `--weights imagenet|none|FILE`.
#: tests/train/test_weights.py checks these against the installed Keras sources.
PRETRAINED: dict[str, Pretrained] = {
    "seed-a": Pretrained(
        "ResNet50",
        _RESNET50,
        f"{_KERAS_APPS}resnet/{_RESNET50}",
        "4d473c1dd8becc155b73f8504c6f6626",
    ),
    "edge-mnv3": Pretrained(
        "MobileNetV3Small",
        _MNV3_SMALL,
        f"{_KERAS_APPS}mobilenet_v3/{_MNV3_SMALL}",
        "d3e8ec802a04aa4fc771ee12a9a9b836",
    ),
}


def keras_cache_dir() -> Path:
    """The directory `keras.utils.get_file` caches application weights in.

    `$KERAS_HOME/models`, else `~/.keras/models`; `/tmp/.keras/models` when that home is
    not writable (Keras' own rule, `keras/src/utils/file_utils.py`).
    """
    try:
        from keras.src.backend.config import keras_home

        home = keras_home()
    except ImportError:  # a Keras without that private helper: its documented rule
        home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    home = os.path.expanduser(home)
    if not os.access(home, os.W_OK):
        home = os.path.join("/tmp", ".keras")
    return Path(home) / "models"


def _weights_file(arch: str, weights: str) -> Path:
    """The file `weights` ("imagenet" or a path) names; fails with the fix when it is missing.

    Never downloads: without network `keras.applications` would hang or leave a partial
    file, so a missing ImageNet file is one line saying where to put it.
    """
    p = PRETRAINED[arch]
    if weights != "imagenet":
        f = Path(weights)
        if not f.is_file():
            fail(
                f"--weights file not found: {weights}; give imagenet, none or a Keras weights file"
            )
        return f
    f = keras_cache_dir() / p.file
    if not f.is_file():
        fail(
            f"{arch}: ImageNet weights for {p.backbone} are not in the Keras cache and are not "
            f"downloaded here: put {p.file} (from {p.url}) into {f.parent}/, or train from "
            "random weights with --weights none"
        )
    return f


def _hashes(path: Path) -> tuple[str, str]:
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
            md5.update(block)
    return sha.hexdigest(), md5.hexdigest()


def resolve_weights(arch: str, weights: str | None) -> dict | None:
    """Check where `arch`'s backbone weights come from, before anything is built or written.

    Args:
        arch: String. An architecture; only those in `PRETRAINED` take weights.
        weights: String or None. `"imagenet"` (the file in the Keras cache), `"none"`
            (random init) or a weights file. None means `"imagenet"`.

    Returns:
        None for an architecture without a pretrained backbone, else a record for the
        run's metrics: `source` (imagenet, none, file), `backbone`, `frozen` (pretrained
        backbones start frozen), `path`, `sha256`, and for imagenet `keras_md5_match`
        (False: not the file Keras publishes).
    """
    if arch not in PRETRAINED:
        if weights is not None:
            fail(
                f"--weights is for the pretrained backbones ({', '.join(PRETRAINED)}); {arch} "
                "has none: leave out --weights"
            )
        return None
    p = PRETRAINED[arch]
    weights = "imagenet" if weights is None else str(weights)
    if weights == "none":
        return {
            "source": "none",
            "backbone": p.backbone,
            "frozen": False,
            "path": None,
            "sha256": None,
        }
    f = _weights_file(arch, weights)
    sha, md5 = _hashes(f)
    rec = {
        "source": "imagenet" if weights == "imagenet" else "file",
        "backbone": p.backbone,
        "frozen": True,
        "path": str(f.resolve()),
        "sha256": sha,
    }
    if weights == "imagenet":
        rec["keras_md5_match"] = md5 == p.md5
        if md5 != p.md5:
            log.warning(
                "%s: md5 %s is not Keras' published %s (not the file Keras downloads, or an "
                "incomplete one); loading it anyway",
                f,
                md5,
                p.md5,
            )
    return rec


def _backbone(arch: str, make: Callable[[], keras.Model], weights: str | None):
    """`make()` (a keras.applications model, random init), then load `weights` and freeze it.

    Returns `(model, pretrained)`. With weights (imagenet or a file) the backbone is frozen
    (`trainable=False`); with `"none"` or None it trains from the start.
    """
    model = make()
    if weights is None or weights == "none":
        return model, False
    f = _weights_file(arch, str(weights))
    p = PRETRAINED[arch]
    try:
        with warnings.catch_warnings():  # Keras warns once per skipped layer on a wrong file
            warnings.simplefilter("ignore")
            model.load_weights(str(f))
    except Exception as e:  # h5py, Keras' loaders: whatever the file is, one line
        why = first_line(e, 160).split(" Example error message")[0]
        fail(
            f"{arch}: {f} does not hold {p.backbone} weights without the top ({why}); "
            f"give {p.file} or a file saved from "
            f"keras.applications.{p.backbone}(include_top=False), or --weights none"
        )
    model.trainable = False
    return model, True


@keras.saving.register_keras_serializable(package="edgeaction")
class FoldTime(keras.layers.Layer):
    """Fold the time axis into the batch axis: `(B, T, H, W, C) -> (B*T, H, W, C)`."""

    def call(self, x):
        s = tuple(x.shape[2:])
        return keras.ops.reshape(x, (-1, *s))

    def compute_output_shape(self, input_shape):
        b, t = input_shape[0], input_shape[1]
        return (None if b is None or t is None else b * t, *input_shape[2:])


@keras.saving.register_keras_serializable(package="edgeaction")
class UnfoldTime(keras.layers.Layer):
    """Unfold `(B*T, ...)` back to `(B, T, ...)`.

    Args:
        frames: Integer. T, the number of frames per clip.
    """

    def __init__(self, frames: int, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(frames, int) or frames < 1:
            raise ValueError(f"UnfoldTime needs frames >= 1. Received: frames={frames}")
        self.frames = frames

    def call(self, x):
        return keras.ops.reshape(x, (-1, self.frames, *tuple(x.shape[1:])))

    def compute_output_shape(self, input_shape):
        return (None, self.frames, *input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "frames": self.frames}


def _tiny_encoder(h: int, w: int, widths=(16, 32, 48, 64)) -> keras.Model:
    """Conv-BN-ReLU-pool blocks, then a 1x1 squeeze and flatten, per frame.

    Flattening (rather than global pooling) keeps where limbs are in the frame, which a
    small model needs to tell mirrored motions apart.
    """
    L = keras.layers
    inp = keras.Input((h, w, 3), name="frame")
    x = inp
    for i, f in enumerate(widths):
        x = L.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = L.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = L.ReLU(name=f"relu{i}")(x)
        x = L.MaxPool2D(name=f"pool{i}")(x)
    x = L.Conv2D(16, 1, activation="relu", name="squeeze")(x)
    x = L.Flatten(name="flatten")(x)
    return keras.Model(inp, x, name="encoder")


def _call(backbone: keras.Model, pretrained: bool, x):
    # A pretrained backbone runs in inference mode for good: its BatchNorm statistics stay
    # the ImageNet ones, also while --fine-tune trains its top layers (the Keras recipe).
    return backbone(x, training=False) if pretrained else backbone(x)


def _mnv3_encoder(h: int, w: int, weights: str | None = None) -> keras.Model:
    """MobileNetV3-Small, global average pooled, per frame.

    Keras' built-in rescaling is on: the model takes 0..255 RGB (the contract says scale 1,
    mean 0, std 1), which is what its ImageNet weights expect.
    """
    if min(h, w) < 32:
        fail(f"edge-mnv3 needs frames of at least 32x32. Received: {w}x{h}")
    inp = keras.Input((h, w, 3), name="frame")
    backbone, pretrained = _backbone(
        "edge-mnv3",
        lambda: keras.applications.MobileNetV3Small(
            input_shape=(h, w, 3),
            include_top=False,
            weights=None,
            pooling="avg",
            include_preprocessing=True,
        ),
        weights,
    )
    return keras.Model(inp, _call(backbone, pretrained, inp), name="encoder")


def _resnet50_encoder(h: int, w: int, weights: str | None) -> keras.Model:
    """Seed A's per-frame part: ResNet50 (no top) → Conv2D 64 filters 2x2 → flatten."""
    if min(h, w) < 64:
        fail(f"seed-a (ResNet50) needs frames of at least 64x64. Received: {w}x{h}")
    L = keras.layers
    backbone, pretrained = _backbone(
        "seed-a",
        lambda: keras.applications.ResNet50(include_top=False, weights=None, input_shape=(h, w, 3)),
        weights,
    )
    inp = keras.Input((h, w, 3), name="frame")
    x = _call(backbone, pretrained, inp)
    x = L.Conv2D(64, (2, 2), activation="relu", name="conv_64_2x2")(x)
    x = L.Flatten(name="flatten")(x)
    return keras.Model(inp, x, name="encoder")


def _rnn(kind: str, units: int, name: str, return_sequences: bool = False):
    L = keras.layers
    kinds = {"gru": L.GRU, "lstm": L.LSTM, "simplernn": L.SimpleRNN}
    if kind not in kinds:
        fail(f"RNN head must be one of {sorted(kinds)}. Received: {kind!r}")
    return kinds[kind](units, return_sequences=return_sequences, name=name)


def _folded(contract: ModelContract, encoder: keras.Model):
    """Input → fold time → per-frame `encoder` → unfold: `(B, T, F)` features."""
    inp = keras.Input(contract.input_shape()[1:], name=contract.input_name)
    x = FoldTime(name="fold_time")(inp)
    x = encoder(x)
    x = UnfoldTime(contract.frames, name="unfold_time")(x)
    return inp, x


def _softmax(contract: ModelContract, x):
    return keras.layers.Dense(
        contract.num_classes, activation="softmax", name=contract.output_name
    )(x)


def _edge(contract: ModelContract, encoder: keras.Model, head: str, units: int, name: str):
    """An edge arch: `encoder` per frame (folded), an RNN head, dropout, softmax."""
    inp, x = _folded(contract, encoder)
    x = _rnn(head, units, "rnn")(x)
    x = keras.layers.Dropout(0.2, name="dropout")(x)
    return keras.Model(inp, _softmax(contract, x), name=name)


def build_edge_tiny(contract: ModelContract, head: str = "gru", units: int = 64, **_):
    """`edge-tiny`: a small per-frame CNN folded over time, an RNN head, softmax."""
    enc = _tiny_encoder(contract.height, contract.width)
    return _edge(contract, enc, head, units, "edge_tiny")


def build_edge_mnv3(
    contract: ModelContract,
    head: str = "gru",
    units: int = 64,
    weights: str | None = None,
    **_,
):
    """`edge-mnv3`: MobileNetV3-Small per frame (folded), an RNN head, softmax.

    Args:
        contract: The model contract (shapes, labels, names).
        head: String. RNN kind: gru, lstm or simplernn. Defaults to `"gru"`.
        units: Integer. RNN units. Defaults to 64.
        weights: String or None. `"imagenet"` (from the Keras cache, never downloaded), a
            weights file, or `"none"`/None for random init. Pretrained weights freeze the
            backbone. Defaults to None (`edgeaction train` defaults to imagenet).
    """
    enc = _mnv3_encoder(contract.height, contract.width, weights)
    return _edge(contract, enc, head, units, "edge_mnv3")


def build_seed_a(
    contract: ModelContract, weights: str | None = None, units: int = 64, **_
) -> keras.Model:
    """`seed-a`, the published gesture recogniser, folded over time.

    ResNet50 (include_top=False) per frame → Conv2D 64 filters 2x2 → flatten per frame →
    SimpleRNN → SimpleRNN → Dense softmax. Published as `TimeDistributed` layers; folding
    time into the batch axis is the same maths with the same weights (module docstring).

    Args:
        contract: The model contract (shapes, labels, names).
        weights: String or None. `"imagenet"` (from the Keras cache, never downloaded), a
            Keras weights file for ResNet50 without top, or `"none"`/None for random init.
            Pretrained weights freeze the backbone. Defaults to None (`edgeaction train`
            defaults to imagenet).
        units: Integer. Units of each SimpleRNN. Defaults to 64.
    """
    inp, x = _folded(contract, _resnet50_encoder(contract.height, contract.width, weights))
    x = keras.layers.SimpleRNN(units, return_sequences=True, name="simple_rnn_1")(x)
    x = keras.layers.SimpleRNN(units, name="simple_rnn_2")(x)
    return keras.Model(inp, _softmax(contract, x), name="seed_a")


def _pose_lstm_branch(pose_in, units=(64, 128, 64)):
    x = pose_in
    for i, u in enumerate(units):
        x = keras.layers.LSTM(u, return_sequences=i < len(units) - 1, name=f"pose_lstm_{i + 1}")(x)
    return x


def build_seed_b(contract: ModelContract, **_) -> keras.Model:
    """`seed-b`, the fused ASL/UCF design: ConvLSTM2D over frames + LSTM over pose.

    Frames: four ConvLSTM2D blocks (4, 8, 14, 16 filters, 3x3, tanh) each followed by a
    spatial max-pool and dropout, flattened. Pose: MediaPipe keypoints per frame
    (33 x (x, y, z, visibility)) through LSTM 64 → 128 → 64. Both concatenated →
    Dense 64 → Dense 32 → Dense softmax.
    """
    L = keras.layers
    if min(contract.height, contract.width) < 32:
        fail(f"seed-b needs frames of at least 32x32. Received: {contract.width}x{contract.height}")
    frames = keras.Input(contract.input_shape()[1:], name=contract.input_name)
    pose = keras.Input(contract.keypoint_shape()[1:], name=contract.pose_name)
    x = frames
    for i, f in enumerate((4, 8, 14, 16)):
        last = i == 3
        x = L.ConvLSTM2D(
            f, (3, 3), activation="tanh", return_sequences=not last, name=f"conv_lstm_{i + 1}"
        )(x)
        if last:
            x = L.MaxPool2D((2, 2), padding="same", name=f"pool_{i + 1}")(x)
        else:
            x = L.MaxPool3D((1, 2, 2), padding="same", name=f"pool_{i + 1}")(x)
            x = L.Dropout(0.2, name=f"dropout_{i + 1}")(x)
    x = L.Flatten(name="flatten")(x)
    p = _pose_lstm_branch(pose)
    x = L.Concatenate(name="fuse")([x, p])
    x = L.Dense(64, activation="relu", name="dense_64")(x)
    x = L.Dense(32, activation="relu", name="dense_32")(x)
    return keras.Model([frames, pose], _softmax(contract, x), name="seed_b")


def build_pose_lstm(contract: ModelContract, **_) -> keras.Model:
    """`pose-lstm`: pose keypoints only, LSTM 64 → 128 → 64 → Dense 64 → 32 → softmax."""
    L = keras.layers
    pose = keras.Input(contract.keypoint_shape()[1:], name=contract.pose_name)
    x = _pose_lstm_branch(pose)
    x = L.Dense(64, activation="relu", name="dense_64")(x)
    x = L.Dense(32, activation="relu", name="dense_32")(x)
    return keras.Model(pose, _softmax(contract, x), name="pose_lstm")


def _hands_branch(kp, widths=(64, 64), units: int = 64, prefix: str = "kp"):
    """Conv1D-BN-ReLU blocks (local stroke shape) → bidirectional LSTM (the whole path).

    LSTM rather than GRU: tf2onnx maps it to ONNX's native `LSTM` op (TensorRT runs it
    as one layer), where a GRU becomes a `Loop`.
    """
    L = keras.layers
    x = kp
    for i, w in enumerate(widths):
        x = L.Conv1D(w, 3, padding="same", use_bias=False, name=f"{prefix}_conv{i}")(x)
        x = L.BatchNormalization(momentum=0.9, name=f"{prefix}_bn{i}")(x)
        x = L.ReLU(name=f"{prefix}_relu{i}")(x)
    return L.Bidirectional(L.LSTM(units), name=f"{prefix}_bilstm")(x)


def build_hands(contract: ModelContract, units: int = 64, **_) -> keras.Model:
    """`hands`: hand-keypoint features (`keypoint_features`, e.g. `hands-v1`) per frame →
    Conv1D 64 → Conv1D 64 → BiLSTM 64 → dropout → softmax."""
    kp = keras.Input(contract.keypoint_shape()[1:], name=contract.pose_name)
    x = _hands_branch(kp, units=units)
    x = keras.layers.Dropout(0.3, name="dropout")(x)
    return keras.Model(kp, _softmax(contract, x), name="hands")


def build_rgb_hands(contract: ModelContract, units: int = 64, **_) -> keras.Model:
    """`rgb-hands`, seed B's fusion with a hands branch: edge-tiny's per-frame CNN (folded)
    → LSTM over frames ‖ the `hands` branch over hand features → Dense 64 → softmax."""
    L = keras.layers
    frames, f = _folded(contract, _tiny_encoder(contract.height, contract.width))
    kp = keras.Input(contract.keypoint_shape()[1:], name=contract.pose_name)
    f = L.LSTM(units, name="frames_lstm")(f)
    f = L.Dropout(0.3, name="frames_dropout")(f)
    h = _hands_branch(kp, units=units, prefix="kp")
    x = L.Concatenate(name="fuse")([f, h])
    x = L.Dense(64, activation="relu", name="dense_64")(x)
    x = L.Dropout(0.3, name="dropout")(x)
    return keras.Model([frames, kp], _softmax(contract, x), name="rgb_hands")


@dataclass(frozen=True)
class ArchSpec:
    """One architecture and its published / sensible training defaults."""

    build: Callable[..., keras.Model]
    summary: str
    modality: str = "rgb"
    frames: int = 8
    size: int = 64
    optimizer: str = "adam"
    lr: float = 2e-3
    loss: str = "sparse_categorical_crossentropy"
    epochs: int = 20
    batch: int = 16
    heads: tuple[str, ...] = ()
    # Normalisation the backbone expects: (colour, scale, mean, std); None = contract default.
    norm: tuple | None = None
    # Which epoch becomes model.keras: "best" validation accuracy, or the "last" one.
    keep: str = "best"

    @property
    def keypoint_input(self) -> str:
        """Name of the keypoint input of a new model (the contract's `pose_name`)."""
        return INPUT_NAMES.get(kind_of(self.modality), "pose")


# ResNet50's ImageNet weights expect Caffe-style input: BGR, 0..255, mean subtracted.
_CAFFE = ("BGR", 1.0, (103.939, 116.779, 123.68), (1.0, 1.0, 1.0))
# MobileNetV3 rescales inside the model (include_preprocessing=True): RGB 0..255 as is.
_RAW_RGB = ("RGB", 1.0, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))

ARCHS: dict[str, ArchSpec] = {
    "edge-tiny": ArchSpec(
        build_edge_tiny,
        "4 conv blocks per frame (folded over time) → RNN head; fastest on CPU and Jetson",
        heads=("gru", "lstm", "simplernn"),
    ),
    "edge-mnv3": ArchSpec(
        build_edge_mnv3,
        "MobileNetV3-Small per frame (folded over time) → RNN head",
        size=96,
        lr=1e-3,
        heads=("gru", "lstm", "simplernn"),
        norm=_RAW_RGB,
    ),
    "seed-a": ArchSpec(
        build_seed_a,
        "published gesture recogniser: ResNet50 → Conv2D 64 2x2 per frame → 2x SimpleRNN",
        frames=16,
        size=112,
        optimizer="sgd",
        lr=0.01,
        loss="categorical_crossentropy",
        epochs=20,
        batch=10,
        norm=_CAFFE,
    ),
    "seed-b": ArchSpec(
        build_seed_b,
        "fused ASL/UCF design: ConvLSTM2D over frames + LSTM over MediaPipe pose",
        modality="rgb+pose",
        frames=20,
        size=64,
        lr=1e-3,
        loss="categorical_crossentropy",
        batch=8,
    ),
    "pose-lstm": ArchSpec(
        build_pose_lstm,
        "MediaPipe pose keypoints only: LSTM 64 → 128 → 64 → Dense",
        modality="pose",
        frames=30,
        lr=1e-3,
        loss="categorical_crossentropy",
        epochs=50,
    ),
    "hands": ArchSpec(
        build_hands,
        "MediaPipe hand keypoint features: Conv1D 64 → Conv1D 64 → BiLSTM 64 → softmax",
        modality="hands",
        frames=32,
        lr=2e-3,
        epochs=80,
        # 5-fold CV on real gestures: the last epoch 88.4 %, the best of a ~20-clip
        # validation split 84.1 % (a lucky early epoch)
        keep="last",
    ),
    "rgb-hands": ArchSpec(
        build_rgb_hands,
        "edge-tiny CNN per frame → LSTM ‖ the hands branch → Dense 64 → softmax",
        modality="rgb+hands",
        frames=16,
        size=64,
        lr=1e-3,
        epochs=40,
        batch=8,
    ),
}


def arch_spec(arch: str) -> ArchSpec:
    if arch not in ARCHS:
        fail(f"unknown architecture {arch!r}; choose from {', '.join(ARCHS)}")
    return ARCHS[arch]


def build_model(arch: str, contract: ModelContract, **kwargs) -> keras.Model:
    """Build architecture `arch` for `contract` (input shapes, classes, names).

    Args:
        arch: String. A key of `ARCHS`.
        contract: The model contract; its modality must be the architecture's.
        **kwargs: Passed to the builder: `head` (RNN kind, edge archs), `units`,
            `weights` (seed-a and edge-mnv3: "imagenet", "none" or a weights file).
    """
    spec = arch_spec(arch)
    if contract.layout != "NTHWC":
        fail(f"Keras architectures take NTHWC input. Received: layout={contract.layout}")
    if contract.modality != spec.modality:
        fail(f"{arch} reads {spec.modality}; the contract says modality={contract.modality}")
    if kwargs.get("head") is None:
        kwargs.pop("head", None)
    elif not spec.heads:
        fail(f"{arch} has a fixed head ({spec.summary}); leave out --head")
    elif kwargs["head"] not in spec.heads:
        fail(f"{arch} heads are {', '.join(spec.heads)}. Received: --head {kwargs['head']}")
    if kwargs.get("weights") is not None and arch not in PRETRAINED:
        resolve_weights(arch, kwargs["weights"])  # fails: no backbone to load weights into
    return spec.build(contract, **kwargs)


def backbone_of(model: keras.Model) -> keras.Model | None:
    """The keras.applications backbone inside `model`'s per-frame `encoder`, or None."""
    try:
        enc = model.get_layer("encoder")
    except ValueError:
        return None
    return next((x for x in enc.layers if isinstance(x, keras.Model)), None)


def tunable_layers(backbone: keras.Model) -> list:
    """The backbone's layers with weights, BatchNormalization left out, input to output."""
    bn = keras.layers.BatchNormalization
    return [x for x in backbone.layers if x.weights and not isinstance(x, bn)]


def unfreeze_top(model: keras.Model, n: int) -> list[str]:
    """Make the top `n` weighted layers of `model`'s backbone trainable, the rest frozen.

    BatchNormalization layers stay frozen (and, called with `training=False`, in inference
    mode). Recompile the model afterwards.

    Args:
        model: A seed-a or edge-mnv3 model.
        n: Integer. How many layers, counted from the backbone's output.

    Returns:
        The names of the unfrozen layers, input to output.
    """
    backbone = backbone_of(model)
    if backbone is None:
        fail(f"--fine-tune needs a pretrained backbone ({', '.join(PRETRAINED)})")
    layers = tunable_layers(backbone)
    if not 1 <= n <= len(layers):
        fail(
            f"--fine-tune must be in 1..{len(layers)} ({backbone.name} has {len(layers)} layers "
            f"with weights besides BatchNorm). Received: {n}"
        )
    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = False
    for layer in layers[-n:]:
        layer.trainable = True
    return [x.name for x in layers[-n:]]
