"""Architectures: `--describe` layer lists, parameter and FLOP counts, argument checks.

Every check runs in a child process (TensorFlow must not share a process with GStreamer,
see edgeaction/train/__init__.py).
"""

import json
import subprocess
import sys

import pytest

from tests.conftest import cli
from tests.conftest import one_line_error as _one_line_error

pytestmark = pytest.mark.slow


_CASES = {
    "edge-tiny": {},
    "edge-tiny-lstm": {"arch": "edge-tiny", "head": "lstm"},
    "edge-mnv3": {},
    "pose-lstm": {},
    "seed-b": {"classes": 7},
    "seed-a-224": {"arch": "seed-a", "size": 224, "frames": 1},
}
_SCRIPT = """
import json, sys
from edgeaction.contract import ModelContract
from edgeaction.train.describe import describe
from edgeaction.train.models import arch_spec
from edgeaction.cli import ARCH_NAMES
from edgeaction.train.models import ARCHS
out = {"names_match": list(ARCHS) == list(ARCH_NAMES)}
for key, o in json.loads(sys.argv[1]).items():
    arch = o.get("arch", key)
    s = arch_spec(arch)
    size = o.get("size", s.size)
    c = ModelContract(name=arch, labels=tuple(f"c{i}" for i in range(o.get("classes", 5))),
                      frames=o.get("frames", s.frames), height=size, width=size, modality=s.modality)
    out[key] = describe(arch, c, head=o.get("head"))
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def described() -> dict:
    """Every case described in ONE child process (TensorFlow starts once)."""
    p = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(_CASES)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def _describe(*args) -> dict:
    return json.loads(cli("train", "--describe", *args).stdout)


def _leaf(layers):
    return [(x["class"], x["name"]) for x in layers]


def test_seed_a_layers_are_the_published_ones():
    d = _describe("--arch", "seed-a")
    assert d["inputs"] == {"frames": [None, 16, 112, 112, 3]}
    top = d["layers"]
    assert _leaf(top) == [
        ("FoldTime", "fold_time"),
        ("Functional", "encoder"),
        ("UnfoldTime", "unfold_time"),
        ("SimpleRNN", "simple_rnn_1"),
        ("SimpleRNN", "simple_rnn_2"),
        ("Dense", "probs"),
    ]
    enc = top[1]
    assert enc["runs"].startswith("per frame")
    backbone, conv, flat = enc["layers"]
    assert backbone["name"] == "resnet50" and backbone["params"] == 23_587_712
    assert conv["class"] == "Conv2D"
    assert conv["config"]["filters"] == 64 and conv["config"]["kernel_size"] == [2, 2]
    assert flat["class"] == "Flatten"
    assert top[3]["config"]["return_sequences"] is True
    assert top[5]["config"]["activation"] == "softmax" and top[5]["output_shape"] == [None, 5]
    assert d["params"] == sum(x["params"] for x in top)
    assert d["defaults"]["optimizer"] == "sgd" and d["defaults"]["batch"] == 10
    assert d["defaults"]["epochs"] == 20 and d["defaults"]["loss"] == "categorical_crossentropy"
    # FLOPs: the encoder runs once per frame; ResNet50 at 112² is ~2.0 GFLOPs.
    assert d["flops_per_clip"] == sum(
        x["flops"] * (16 if x["name"] == "encoder" else 1) for x in top
    )


def test_flop_counter_matches_resnet50_published_cost(described):
    # ResNet50 at 224² is 4.1 G multiply-adds (He et al. 2016; 3.8 G without the fc and
    # shortcut projections counted differently): 7.6..8.3 GFLOPs in our 2-per-MAC count.
    d = described["seed-a-224"]
    resnet = d["layers"][1]["layers"][0]
    assert 7.6e9 < resnet["flops"] < 8.3e9


def test_seed_b_fuses_convlstm_frames_and_lstm_pose(described):
    d = described["seed-b"]
    assert d["modality"] == "rgb+pose"
    assert d["inputs"] == {"frames": [None, 20, 64, 64, 3], "pose": [None, 20, 132]}
    classes = [x["class"] for x in d["layers"]]
    assert classes.count("ConvLSTM2D") == 4 and classes.count("LSTM") == 3
    assert "Concatenate" in classes and d["layers"][-1]["output_shape"] == [None, 7]
    convs = [x["config"]["filters"] for x in d["layers"] if x["class"] == "ConvLSTM2D"]
    assert convs == [4, 8, 14, 16]


@pytest.mark.parametrize("arch", ["edge-tiny", "edge-mnv3", "pose-lstm"])
def test_edge_and_pose_archs_describe(arch, described):
    d = described[arch]
    assert d["params"] > 10_000 and d["flops_per_clip"] > 0
    if arch == "pose-lstm":
        assert list(d["inputs"]) == ["pose"]
    else:
        assert d["layers"][1]["name"] == "encoder"
    if arch == "edge-mnv3":
        assert d["layers"][1]["layers"][0]["name"].lower().startswith("mobilenetv3small")


def test_head_choice_and_fixed_heads(described):
    d = described["edge-tiny-lstm"]
    assert [x["class"] for x in d["layers"]][3] == "LSTM"
    p = cli("train", "--describe", "--arch", "seed-a", "--head", "gru", check=False)
    _one_line_error(p, "fixed head")


def test_cli_arch_names_match_the_registry(described):
    assert described["names_match"]
