"""Pretrained backbones: `--weights imagenet|none|FILE`, the frozen backbone, `--fine-tune`.

Real ImageNet weights cannot be downloaded here. Every weights file below is a backbone
built with random init and saved under the name Keras caches the ImageNet file by, in a
temporary KERAS_HOME: these tests check the plumbing (cache lookup without download,
loading, freezing, fine-tuning, the run's record), not what ImageNet weights do to
accuracy. Keras runs in child processes (see tests/conftest.py).
"""

import hashlib
import json
import os
import subprocess
import sys

import pytest

from edgeaction.contract import ModelContract
from tests.conftest import cli
from tests.conftest import one_line_error as _one_line_error

pytestmark = pytest.mark.slow

# Backbones as edge-mnv3 (32², with Keras' rescaling) and seed-a (64²) build them, random
# init, saved in Keras' legacy .h5 layout under the cache names; plus the MobileNetV3 as a
# Keras 3 .weights.h5 (a file for the wrong backbone when given to seed-a) and a random .h5.
_MAKE = """
import sys, h5py, keras, numpy as np
from pathlib import Path
from keras.src.legacy.saving import legacy_h5_format
from edgeaction.train.models import PRETRAINED
home, other = Path(sys.argv[1]), Path(sys.argv[2])
(home / "models").mkdir(parents=True)
keras.utils.set_random_seed(7)
m = keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), include_top=False,
    weights=None, pooling="avg", include_preprocessing=True)
r = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(64, 64, 3))
for arch, model in (("edge-mnv3", m), ("seed-a", r)):
    with h5py.File(home / "models" / PRETRAINED[arch].file, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
np.save(other / "mnv3_conv.npy", m.get_layer("conv").kernel.numpy())
np.save(other / "resnet_conv1.npy", r.get_layer("conv1_conv").kernel.numpy())
m.save_weights(other / "mnv3.weights.h5")
with h5py.File(other / "random.h5", "w") as f:
    f["x"] = np.zeros(3)
"""


def _run(code: str, *args, env=None) -> dict:
    e = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    p = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=e,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    lines = p.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


@pytest.fixture(scope="module")
def weights_files(tmp_path_factory):
    """`(keras_home, other)`: a Keras cache holding both files, and other weights files."""
    home = tmp_path_factory.mktemp("keras_home")
    other = tmp_path_factory.mktemp("weights")
    _run(_MAKE, home, other)
    return home, other


_CHECK = """
import json, sys, numpy as np, keras
from pathlib import Path
from keras.src.utils import file_utils
from edgeaction.contract import ModelContract
from edgeaction.errors import EdgeActionError
from edgeaction.train.models import (
    PRETRAINED, backbone_of, build_model, tunable_layers, unfreeze_top)
other = Path(sys.argv[1])
out = {}

# 1. The table names the file, URL and md5 Keras itself would fetch (get_file intercepted).
asked = []
def get_file(fname, origin, **kw):
    asked.append((fname, origin, kw.get("file_hash")))
    raise RuntimeError("no download")
file_utils.get_file = get_file
for make in (lambda: keras.applications.ResNet50(include_top=False, input_shape=(64, 64, 3)),
             lambda: keras.applications.MobileNetV3Small(input_shape=(32, 32, 3),
                                                         include_top=False)):
    try:
        make()
    except RuntimeError:
        pass
out["keras_asked"] = asked
out["table"] = [[p.file, p.url, p.md5] for p in (PRETRAINED["seed-a"], PRETRAINED["edge-mnv3"])]

# 2. imagenet from the cache: those exact weights, frozen, BatchNorm in inference mode.
c = ModelContract(name="m", labels=("a", "b", "c"), frames=2, height=32, width=32,
                  scale=1.0, mean=(0, 0, 0), std=(1, 1, 1))
model = build_model("edge-mnv3", c, weights="imagenet")
bb = backbone_of(model)
out["mnv3_same"] = bool(np.array_equal(bb.get_layer("conv").kernel.numpy(),
                                       np.load(other / "mnv3_conv.npy")))
out["mnv3_frozen"] = (bb.trainable, len(bb.trainable_weights))
ca = ModelContract(name="a", labels=("a", "b"), frames=1, height=64, width=64)
ra = backbone_of(build_model("seed-a", ca, weights="imagenet"))
out["resnet_same"] = bool(np.array_equal(ra.get_layer("conv1_conv").kernel.numpy(),
                                         np.load(other / "resnet_conv1.npy")))

# 3. One training step: the frozen backbone (and its BatchNorm statistics) unchanged.
def snapshot(m):
    return [w.numpy().copy() for w in m.weights]
def changed(before, m):
    return [not np.array_equal(a, w.numpy()) for a, w in zip(before, m.weights)]
rng = np.random.default_rng(0)
x = rng.uniform(0, 255, (4, 2, 32, 32, 3)).astype("float32")
y = np.array([0, 1, 2, 0])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
b0, r0 = snapshot(bb), snapshot(model.get_layer("rnn"))
model.train_on_batch(x, y)
out["step_backbone_changed"] = sum(changed(b0, bb))
out["step_head_changed"] = all(changed(r0, model.get_layer("rnn")))

# 4. --fine-tune 3: exactly the top 3 weighted non-BN layers train; BatchNorm stays put.
names = unfreeze_top(model, 3)
tun = [l.name for l in tunable_layers(bb)]
out["unfrozen"] = names == tun[-3:]
out["trainable_layers"] = sorted(l.name for l in bb.layers if l.trainable)
out["expected_layers"] = sorted(tun[-3:])
out["trainable_weights"] = (len(bb.trainable_weights),
                            sum(len(bb.get_layer(n).weights) for n in names))
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
b1 = snapshot(bb)
model.train_on_batch(x, y)
moved = {w.path.split("/")[-2] for a, w in zip(b1, bb.weights) if not np.array_equal(a, w.numpy())}
out["moved"] = sorted(moved)
try:
    unfreeze_top(model, 999)
except EdgeActionError as e:
    out["too_many"] = str(e)

# 5. A file that is no Keras weights file at all: one message, no traceback.
try:
    build_model("edge-mnv3", c, weights=str(other / "random.h5"))
except EdgeActionError as e:
    out["random_h5"] = str(e)
print(json.dumps(out))
"""


def test_imagenet_cache_load_freeze_and_fine_tune(weights_files):
    home, other = weights_files
    r = _run(_CHECK, other, env={"KERAS_HOME": str(home)})
    (rf, ru, rh), (mf, mu, mh) = r["keras_asked"]
    assert r["table"] == [[rf, ru, rh], [mf, mu, mh]]
    assert rf == "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert mf == "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"
    assert r["mnv3_same"] and r["resnet_same"]
    assert r["mnv3_frozen"] == [False, 0]
    assert r["step_backbone_changed"] == 0 and r["step_head_changed"]
    assert r["unfrozen"] and r["trainable_layers"] == r["expected_layers"]
    assert r["trainable_weights"][0] == r["trainable_weights"][1] > 0
    assert r["moved"] and set(r["moved"]) <= set(r["expected_layers"])
    assert "--fine-tune must be in 1.." in r["too_many"]
    assert "does not hold MobileNetV3Small weights" in r["random_h5"]
    assert "\n" not in r["random_h5"] and "--weights none" in r["random_h5"]


def _cli_train(data, run, *extra, home=None):
    env = {"KERAS_HOME": str(home)} if home else None
    args = ("train", data, "--frames", 2, "--size", 32, "--epochs", 1, "--batch", 8)
    return cli(*args, "--out", run, *extra, check=False, env=env)


def test_imagenet_missing_from_the_cache_is_one_line(synth_data, tmp_path):
    home = tmp_path / "empty_home"
    p = _cli_train(synth_data, tmp_path / "r", "--arch", "edge-mnv3", home=home)
    _one_line_error(
        p,
        "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/",
        f"into {home / 'models'}/",
        "--weights none",
    )
    assert not (home / "models").exists() or not any((home / "models").iterdir())
    assert not (tmp_path / "r").exists()  # nothing decoded, nothing written


def test_weights_options_that_do_not_apply(synth_data, tmp_path, weights_files):
    _, other = weights_files
    p = _cli_train(synth_data, tmp_path / "a", "--weights", "none")  # edge-tiny
    _one_line_error(p, "--weights is for the pretrained backbones", "edge-tiny")
    p = _cli_train(
        synth_data, tmp_path / "b", "--arch", "edge-mnv3", "--weights", "none", "--fine-tune", 2
    )
    _one_line_error(p, "with --weights none the whole backbone trains from the start")
    # A MobileNetV3 file given to seed-a (ResNet50).
    p = cli(
        "train", synth_data, "--arch", "seed-a", "--frames", 1, "--size", 64, "--epochs", 1,
        "--weights", other / "mnv3.weights.h5", "--out", tmp_path / "c", check=False,
    )  # fmt: skip
    _one_line_error(p, "does not hold ResNet50 weights", "--weights none")
    assert not (tmp_path / "c" / "checkpoints").exists()
    assert not (tmp_path / "c" / "model.keras").exists()


def test_edge_mnv3_trains_fine_tunes_records_and_exports(synth_data, tmp_path, weights_files):
    home, _ = weights_files
    run = tmp_path / "m"
    p = _cli_train(
        synth_data, run, "--arch", "edge-mnv3", "--fine-tune", 2, "--fine-tune-epochs", 1,
        home=home,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    m = json.loads((run / "report" / "metrics.json").read_text())
    cache_file = home / "models" / "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"
    w = m["weights"]
    assert w["source"] == "imagenet" and w["backbone"] == "MobileNetV3Small" and w["frozen"]
    assert w["sha256"] == hashlib.sha256(cache_file.read_bytes()).hexdigest()
    assert w["keras_md5_match"] is False  # a locally made file, not Keras' download
    ft = m["fine_tune"]
    assert ft["layers"] == 2 and ft["epochs"] == 1 and len(ft["unfrozen"]) == 2
    assert ft["lr"] == pytest.approx(m["config"]["lr"] / 10)
    assert m["epochs_run"] == 2 and m["config"]["weights"] is None
    assert 0 < m["backbone_trainable_params"] < m["trainable_params"] < m["params"]
    c = ModelContract.load(run)  # MobileNetV3 rescales inside: the contract passes 0..255 RGB
    assert (c.colour, c.scale, c.mean, c.std) == ("RGB", 1.0, (0.0,) * 3, (1.0,) * 3)
    cli("export", run, "--out", tmp_path / "onnx", "--split")
    rep = json.loads((tmp_path / "onnx" / "export_report.json").read_text())
    assert rep["max_abs_diff"] < 1e-4 and rep["top1_agreement"] == 1.0
    assert rep["split_max_abs_diff"] < 1e-4
