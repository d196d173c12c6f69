"""Shared fixtures: real clips from ../shared, small synthetic data sets, tiny models.

Anything that trains or exports runs as a child process through the real CLI, so the
test process never loads TensorFlow after GStreamer (see edgeaction/train/__init__.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_CLIPS = ROOT.parent / "shared" / "data" / "real_clips"


def cli(*args, check=True, timeout=600, env=None) -> subprocess.CompletedProcess:
    """Run `edgeaction ARGS` in a child process and return the completed process."""
    e = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    p = subprocess.run(
        [sys.executable, "-m", "edgeaction.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=e,
    )
    if check and p.returncode != 0:
        raise AssertionError(
            f"edgeaction {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr[-3000:]}"
        )
    return p


def one_line_error(p: subprocess.CompletedProcess, *needles: str, alone: bool = False) -> str:
    """Assert `p` failed with one `edgeaction: error: ...` line holding `needles`, no traceback.

    With `alone`, that line must be all of stderr (no warnings or progress bars before it).
    """
    assert p.returncode != 0, p.stdout
    assert "Traceback" not in p.stderr, p.stderr
    lines = p.stderr.strip().splitlines()
    err = [x for x in lines if x.startswith("edgeaction: error:")]
    assert len(err) == 1, p.stderr
    if alone:
        assert len(lines) == 1, p.stderr
    for n in needles:
        assert n in err[0], err[0]
    return err[0]


_NO_TF = """
import os, sys
BLOCKED = tuple(os.environ["EDGEACTION_TEST_BLOCK"].split(","))
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError("blocked: " + name, name=name)
sys.meta_path.insert(0, Block())
from edgeaction.cli import main
rc = main(sys.argv[1:])
leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
if leaked:
    print("LEAKED", leaked, file=sys.stderr)
    sys.exit(99)
sys.exit(rc)
"""


def cli_no_tf(
    *args, check=True, block=("tensorflow", "keras", "tf2onnx")
) -> subprocess.CompletedProcess:
    """`edgeaction ARGS` in a child process that cannot import TensorFlow (or `block`).

    Fails the test when a blocked module got imported anyway (exit 99).
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "EDGEACTION_TEST_BLOCK": ",".join(block)}
    p = subprocess.run(
        [sys.executable, "-c", _NO_TF, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert p.returncode != 99, p.stderr[-2000:]
    if check and p.returncode != 0:
        raise AssertionError(f"edgeaction {args} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return p


def find_or_download(
    pattern: str, spec: str, env_var: str, name: str, *pip_args: str
) -> Path | None:
    """A wheel or sdist matching `pattern` for the API-surface tests, never in the repo.

    Looked up in `$ENV_VAR`, `/tmp/NAME` and `~/.cache/edgeaction/NAME`, else fetched
    there with `pip download --no-deps PIP_ARGS SPEC`. None when that fails (no network):
    the caller skips with a reason.
    """
    cache = Path.home() / ".cache" / "edgeaction" / name
    for d in (os.environ.get(env_var), f"/tmp/{name}", cache):
        if d and Path(d).is_dir():
            hits = sorted(Path(d).glob(pattern))
            if hits:
                return hits[0]
    cache.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", *pip_args]
            + ["-d", str(cache), spec],
            capture_output=True,
            timeout=300,
            check=True,
        )
    except (subprocess.SubprocessError, OSError):
        return None
    hits = sorted(cache.glob(pattern))
    return hits[0] if hits else None


def attr_chain(node) -> list[str] | None:
    """For the API-surface scans: `trt.A.B` → ["trt", "A", "B"], `self._ctx.push` →
    ["ctx", "push"] (`self.` and leading underscores dropped); None for other nodes."""
    import ast

    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts = [node.id, *reversed(parts)]
    if parts[0] == "self" and len(parts) > 1:
        parts = parts[1:]
    parts[0] = parts[0].lstrip("_")
    return parts


def trt_importable() -> bool:
    """Whether `import tensorrt` works here (never on our CPU machines)."""
    try:
        import tensorrt  # noqa: F401
    except Exception:
        return False
    return True


def cuda_device() -> str | None:
    """Why CUDA cannot be used here (no binding, no driver, no GPU), or None when it can.

    Asked in a child process, so a failed CUDA start does not stay in the test process.
    """
    code = (
        "from edgeaction.engine.cuda_mem import device_info\n"
        "i = device_info()\n"
        "print('' if i['name'] else (i.get('note') or 'no CUDA device'))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path])}
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    if p.returncode != 0:
        return (p.stderr.strip().splitlines() or ["the CUDA probe failed"])[-1]
    return p.stdout.strip() or None


def pytest_collection_modifyitems(config, items):
    has_trt = trt_importable()
    if not has_trt:
        skip = pytest.mark.skip(reason="needs TensorRT and an NVIDIA GPU (none on this machine)")
        for it in items:
            if "gpu" in it.keywords:
                it.add_marker(skip)
    if any(it.get_closest_marker("cuda") for it in items):
        why = cuda_device()
        if why:
            skip = pytest.mark.skip(reason=f"needs an NVIDIA GPU and a CUDA binding: {why[:200]}")
            for it in items:
                if it.get_closest_marker("cuda"):
                    it.add_marker(skip)


@pytest.fixture(scope="session")
def real_clips() -> Path:
    if not REAL_CLIPS.is_dir():
        pytest.skip(f"real clips not found at {REAL_CLIPS} (../shared beside the checkout)")
    return REAL_CLIPS


@pytest.fixture(scope="session")
def synth_data(tmp_path_factory) -> Path:
    from edgeaction.synth import synthesize

    root = tmp_path_factory.mktemp("synth")
    synthesize(root, classes=3, clips_per_class=6, frames=12, size=48, seed=1)
    return root


@pytest.fixture(scope="session")
def trained_run(synth_data, tmp_path_factory) -> Path:
    from edgeaction.synth import ACTIONS, flip_options

    run = tmp_path_factory.mktemp("run") / "tiny"
    # The synthetic actions mirror by design: declare it, as the demo does (flip is off
    # by default), so this run trains as it always has.
    flip = flip_options(ACTIONS[:3])
    cli("train", synth_data, "--frames", 4, "--size", 32, "--epochs", 2, "--batch", 8, *flip,
        "--out", run)  # fmt: skip
    return run


@pytest.fixture(scope="session")
def exported(trained_run, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export")
    cli("export", trained_run, "--out", out)
    return out


def make_onnx(
    path: Path, contract, embed: bool = True, frames: int | None = None, seed: int = 0
) -> Path:
    """A small real ONNX classifier: mean over T,H,W → MatMul → Softmax.

    `frames` overrides the model's T (to build a model that disagrees with its contract).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgeaction.contract import CONTRACT_KEY

    t = frames or contract.frames
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 1, (3, contract.num_classes)).astype(np.float32)
    inp = helper.make_tensor_value_info(
        contract.input_name, TensorProto.FLOAT, ["N", t, contract.height, contract.width, 3]
    )
    out = helper.make_tensor_value_info(
        contract.output_name, TensorProto.FLOAT, ["N", contract.num_classes]
    )
    nodes = [
        helper.make_node("ReduceMean", [contract.input_name], ["m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("MatMul", ["m", "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], [contract.output_name], axis=-1),
    ]
    g = helper.make_graph(
        nodes,
        "tiny",
        [inp],
        [out],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    if embed:
        m.metadata_props.add(key=CONTRACT_KEY, value=contract.to_json())
    onnx.save(m, str(path))
    return path


@pytest.fixture
def tiny_contract():
    from edgeaction.contract import ModelContract

    return ModelContract(name="tiny", labels=("a", "b", "c"), frames=4, height=32, width=32)


@pytest.fixture
def tiny_onnx(tmp_path, tiny_contract) -> Path:
    return make_onnx(tmp_path / "tiny.onnx", tiny_contract)


@pytest.fixture(scope="session")
def synth_video(tmp_path_factory) -> Path:
    """A 48-frame video in which the figure walks, then waves."""
    from edgeaction.synth import synthesize_sequence

    p = tmp_path_factory.mktemp("video") / "seq.mp4"
    tl = synthesize_sequence(p, ["walk", "wave"], frames_each=24, size=64, seed=2)
    (p.parent / "truth.json").write_text(json.dumps(tl))
    return p


def make_split(out: Path, contract, seed: int = 0, features: int = 16) -> Path:
    """An export directory like `edgeaction export --split` writes, built without TensorFlow
    (`edgeaction.engine.probe.make_probe_export`, what `selftest` builds engines from)."""
    from edgeaction.engine.probe import make_probe_export

    return make_probe_export(out, contract, seed, features)


@pytest.fixture
def tiny_split(tmp_path, tiny_contract) -> Path:
    """An export directory of a tiny split model (T=4, 32x32, 3 classes, F=16); see `make_split`."""
    return make_split(tmp_path / "split_export", tiny_contract)
