"""`edgeaction jetson deepstream`: DeepStream 7.1 configs, labels, pyds app (no DeepStream here).

Every `.txt` config is read back with GLib's own key-file parser (what nvinfer and
nvdspreprocess use), and each key is checked against the contract. The preprocessing
math of `libnvds_custom_sequence_preprocess.so` (`(x - offset[c]) * factor[c]`, NCTHW) is
replayed in numpy on the written factors and offsets and compared with
`edgeaction.preprocess.normalize`, and through the NCTHW wrapper model with ONNX Runtime.
"""

from __future__ import annotations

import ast
import ctypes
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from edgeaction.contract import ModelContract, contract_from_onnx
from edgeaction.errors import EdgeActionError
from edgeaction.jetson import deepstream as ds
from edgeaction.preprocess import normalize
from tests.commands import usage_error
from tests.conftest import cli, cli_no_tf, make_onnx, one_line_error

CONFIGS = ("config_infer.txt", "config_preprocess.txt")


@pytest.fixture(scope="module")
def GLib():
    from edgeaction._lazy import gst

    try:
        gst()  # GStreamer first, the project's way (unwinder order)
    except EdgeActionError as e:
        pytest.skip(f"PyGObject/GStreamer not available: {e}")
    from gi.repository import GLib

    return GLib


def keyfile(GLib, path: Path):
    kf = GLib.KeyFile.new()
    kf.load_from_data(path.read_text(), len(path.read_bytes()), GLib.KeyFileFlags.NONE)
    return kf


def make_ncthw_onnx(path: Path, contract: ModelContract, seed: int = 0) -> Path:
    """A tiny NCTHW classifier: mean over T,H,W → MatMul → Softmax, contract embedded."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgeaction.contract import CONTRACT_KEY

    assert contract.layout == "NCTHW"
    w = np.random.default_rng(seed).normal(0, 1, (3, contract.num_classes)).astype(np.float32)
    c = contract
    g = helper.make_graph(
        [
            helper.make_node("ReduceMean", [c.input_name], ["m"], axes=[2, 3, 4], keepdims=0),
            helper.make_node("MatMul", ["m", "w"], ["logits"]),
            helper.make_node("Softmax", ["logits"], [c.output_name], axis=-1),
        ],
        "tiny_ncthw",
        [
            helper.make_tensor_value_info(
                c.input_name, TensorProto.FLOAT, ["N", 3, c.frames, c.height, c.width]
            )
        ],
        [helper.make_tensor_value_info(c.output_name, TensorProto.FLOAT, ["N", c.num_classes])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    m.metadata_props.add(key=CONTRACT_KEY, value=c.to_json())
    onnx.save(m, str(path))
    return path


def run_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})[0]


def sequence_lib_tensor(kf, clip: np.ndarray) -> np.ndarray:
    """What the sequence library writes for one uint8 clip (T,H,W,3): (1,C,T,H,W) float32."""
    f = np.array(kf.get_double_list("user-configs", "channel-scale-factors"), np.float32)
    o = np.array(kf.get_double_list("user-configs", "channel-mean-offsets"), np.float32)
    x = clip.astype(np.float32)
    y = x * f + (-f * o)  # the kernel: mult = factor, plus = -factor * offset
    return y.transpose(3, 0, 1, 2)[None]


@pytest.fixture
def ncthw_contract():
    return ModelContract(
        name="ncthw",
        labels=("walk", "run", "wave", "sit"),
        frames=6,
        height=24,
        width=40,
        input_name="clip",
        layout="NCTHW",
        colour="BGR",
        scale=1 / 255,
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        stride=3,
        subsample=2,
    )


# ---- the tiny NTHWC model (what our export writes) -----------------------------------------
def test_tiny_onnx_every_key(GLib, tmp_path, tiny_onnx, tiny_contract):
    c = tiny_contract
    out = tmp_path / "ds"
    r = ds.generate(tiny_onnx, out, streams=2, sources=["file:///a.mp4", "rtsp://cam/1"])
    assert r["wrapped"] and r["batch"] == 2 and r["precision"] == "fp16"
    assert sorted(p.name for p in out.iterdir()) == sorted(r["files"])
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left

    inf = keyfile(GLib, out / "config_infer.txt")
    assert inf.get_groups()[0] == ["property"]
    g = "property"
    assert inf.get_string(g, "onnx-file") == ds.WRAPPED_ONNX
    assert inf.get_string(g, "model-engine-file") == "model_ncthw.onnx_b2_gpu0_fp16.engine"
    assert inf.get_integer(g, "network-mode") == 2
    assert inf.get_integer(g, "batch-size") == 2
    assert inf.get_integer(g, "network-type") == 100
    assert inf.get_integer(g, "output-tensor-meta") == 1
    assert inf.get_integer(g, "input-tensor-from-meta") == 1
    assert inf.get_integer(g, "process-mode") == 1
    assert inf.get_integer(g, "model-color-format") == 0
    assert inf.get_integer(g, "cluster-mode") == 4
    assert inf.get_integer(g, "gpu-id") == 0
    assert inf.get_string(g, "labelfile-path") == "labels.txt"
    # nvinfer parses infer-dims as exactly c;h;w: a clip's 4 dims go in a comment only
    assert "infer-dims" not in inf.get_keys(g)[0]
    assert "(NCTHW): 3;4;32;32" in (out / "config_infer.txt").read_text()
    for k in ("net-scale-factor", "offsets"):
        assert k not in inf.get_keys(g)[0]

    pre = keyfile(GLib, out / "config_preprocess.txt")
    assert pre.get_groups()[0] == ["property", "user-configs", "group-0"]
    assert pre.get_integer(g, "enable") == 1
    assert pre.get_integer_list(g, "target-unique-ids") == [inf.get_integer(g, "gie-unique-id")]
    assert pre.get_integer_list(g, "network-input-shape") == [2, 3, c.frames, c.height, c.width]
    assert pre.get_integer(g, "network-input-order") == 2
    assert pre.get_integer(g, "network-color-format") == 0
    assert pre.get_integer(g, "tensor-data-type") == 0
    assert pre.get_string(g, "tensor-name") == c.input_name
    assert pre.get_integer(g, "processing-width") == c.width
    assert pre.get_integer(g, "processing-height") == c.height
    assert pre.get_integer(g, "process-on-frame") == 1
    assert pre.get_integer(g, "scaling-buf-pool-size") > 0
    assert pre.get_integer(g, "tensor-buf-pool-size") > 0
    assert pre.get_string(g, "custom-lib-path") == (
        "/opt/nvidia/deepstream/deepstream/lib/libnvds_custom_sequence_preprocess.so"
    )
    assert pre.get_string(g, "custom-tensor-preparation-function") == (
        "CustomSequenceTensorPreparation"
    )
    assert pre.get_integer("user-configs", "stride") == c.stride == 2
    assert pre.get_integer("user-configs", "subsample") == c.subsample - 1 == 0
    assert pre.get_integer_list("group-0", "src-ids") == [0, 1]
    assert pre.get_integer("group-0", "process-on-roi") == 0

    labels = (out / "labels.txt").read_text()
    assert labels.endswith("\n") and labels.splitlines() == list(c.labels)

    # The NCTHW wrapper: same model, NCTHW input of the same name, contract says NCTHW.
    wc = contract_from_onnx(out / ds.WRAPPED_ONNX)
    assert wc.layout == "NCTHW" and wc.input_name == c.input_name
    assert ModelContract.from_dict({**wc.to_dict(), "layout": "NTHWC"}) == c
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 256, (2, c.frames, c.height, c.width, 3), dtype=np.uint8)
    want = run_onnx(tiny_onnx, normalize(clips, c))
    np.testing.assert_allclose(run_onnx(out / ds.WRAPPED_ONNX, normalize(clips, wc)), want, 1e-6)
    # ... and fed what the sequence library makes from the written factors and offsets
    lib = np.concatenate([sequence_lib_tensor(pre, clip) for clip in clips])
    np.testing.assert_allclose(lib, normalize(clips, wc), atol=1e-5)
    np.testing.assert_allclose(run_onnx(out / ds.WRAPPED_ONNX, lib), want, atol=1e-5)

    run = (out / "run.sh").read_text()
    assert run.rstrip().endswith("deepstream_app.py file:///a.mp4 rtsp://cam/1")
    assert (out / "run.sh").stat().st_mode & 0o111
    readme = (out / "README.txt").read_text()
    assert "DeepStream 7.1" in readme and "./run.sh" in readme
    for name in (*CONFIGS, "labels.txt", "deepstream_app.py", "run.sh", ds.WRAPPED_ONNX):
        assert name in readme


def test_ncthw_model_fp32_and_its_math(GLib, tmp_path, ncthw_contract):
    c = ncthw_contract
    model = make_ncthw_onnx(tmp_path / "model.onnx", c)
    out = tmp_path / "ds"
    r = ds.generate(tmp_path, out, batch=4, streams=3, precision="fp32")  # export directory
    assert not r["wrapped"] and not (out / ds.WRAPPED_ONNX).exists()

    inf = keyfile(GLib, out / "config_infer.txt")
    g = "property"
    assert inf.get_string(g, "onnx-file") == str(model.resolve())
    assert inf.get_string(g, "model-engine-file") == f"{model.resolve()}_b4_gpu0_fp32.engine"
    assert inf.get_integer(g, "network-mode") == 0
    assert inf.get_integer(g, "batch-size") == 4
    assert inf.get_integer(g, "model-color-format") == 1  # BGR

    pre = keyfile(GLib, out / "config_preprocess.txt")
    assert pre.get_integer_list(g, "network-input-shape") == [4, 3, 6, 24, 40]
    assert pre.get_string(g, "tensor-name") == "clip"
    assert pre.get_integer(g, "network-color-format") == 1
    assert (pre.get_integer(g, "processing-width"), pre.get_integer(g, "processing-height")) == (
        40,
        24,
    )
    assert pre.get_integer("user-configs", "stride") == 3
    assert pre.get_integer("user-configs", "subsample") == 1  # every 2nd frame: skip 1
    assert pre.get_integer_list("group-0", "src-ids") == [0, 1, 2]

    # per-channel factors/offsets: one pixel value per channel, then whole clips
    f = pre.get_double_list("user-configs", "channel-scale-factors")
    o = pre.get_double_list("user-configs", "channel-mean-offsets")
    for ch in range(3):
        for x in (0.0, 1.0, 117.0, 255.0):
            ours = (x * c.scale - c.mean[ch]) / c.std[ch]
            assert (x - o[ch]) * f[ch] == pytest.approx(ours, abs=1e-6)
    clips = np.random.default_rng(1).integers(0, 256, (3, 6, 24, 40, 3), dtype=np.uint8)
    lib = np.concatenate([sequence_lib_tensor(pre, clip) for clip in clips])
    np.testing.assert_allclose(lib, normalize(clips, c), atol=1e-5)
    np.testing.assert_allclose(run_onnx(model, lib), run_onnx(model, normalize(clips, c)), 1e-5)
    assert (out / "run.sh").read_text().count(ds.PLACEHOLDER_SOURCE) == 3


def _engine(tmp_path: Path, contract: ModelContract, onnx: bool = True, **side) -> Path:
    d = tmp_path / "eng"
    d.mkdir(exist_ok=True)
    if onnx:
        (make_ncthw_onnx if contract.layout == "NCTHW" else make_onnx)(d / "model.onnx", contract)
    e = d / "model_b8_fp16_sm87.engine"
    e.write_bytes(b"plan")
    shape = list(contract.input_shape()[1:])
    meta = {
        "engine": e.name,
        "contract": contract.to_dict(),
        "tensorrt": "10.3.0",
        "device": {"name": "Orin", "compute_capability": "8.7"},
        "precision": "fp16",
        "profiles": {contract.input_name: [[1, *shape], [4, *shape], [8, *shape]]},
        "onnx": {"file": "model.onnx", "sha256": "0"},
        **side,
    }
    (d / (e.name + ".json")).write_text(json.dumps(meta))
    return e


def test_engine_model_uses_its_sidecar(GLib, tmp_path, ncthw_contract):
    e = _engine(tmp_path, ncthw_contract)
    out = tmp_path / "ds"
    r = ds.generate(e, out, batch=4, streams=4)
    assert r["precision"] == "fp16"
    inf = keyfile(GLib, out / "config_infer.txt")
    assert inf.get_string("property", "model-engine-file") == str(e.resolve())
    assert inf.get_string("property", "onnx-file") == str((e.parent / "model.onnx").resolve())
    assert inf.get_integer("property", "network-mode") == 2
    with pytest.raises(EdgeActionError, match="built fp16"):
        ds.generate(e, tmp_path / "x", precision="fp32")
    with pytest.raises(EdgeActionError, match="takes batch 1..8"):
        ds.generate(e, tmp_path / "x", batch=16, streams=16)
    # --engine beside an ONNX model: checked against the model's contract
    r = ds.generate(e.parent / "model.onnx", tmp_path / "y", engine=e, batch=2, streams=2)
    assert r["engine"] == str(e.resolve())
    other = ModelContract.from_dict({**ncthw_contract.to_dict(), "name": "other"})
    o = make_ncthw_onnx(tmp_path / "other.onnx", other)
    with pytest.raises(EdgeActionError, match="serves model 'ncthw'"):
        ds.generate(o, tmp_path / "z", engine=e)


def test_nthwc_engine_without_its_onnx_is_refused(tmp_path, tiny_contract):
    e = _engine(tmp_path, tiny_contract, onnx=False)
    with pytest.raises(EdgeActionError, match="NCTHW only") as ei:
        ds.generate(e, tmp_path / "ds")
    assert "\n" not in str(ei.value)
    # with its ONNX model beside it, the NCTHW wrapper is written instead
    # (nvinfer builds a new engine from it: the NTHWC engine's profile no longer matters)
    make_onnx(e.parent / "model.onnx", tiny_contract)
    r = ds.generate(e, tmp_path / "ds", batch=16, streams=16)
    assert r["wrapped"] and r["onnx"] == ds.WRAPPED_ONNX
    assert r["engine"] == "model_ncthw.onnx_b16_gpu0_fp16.engine"
    with pytest.raises(EdgeActionError, match="drop --engine"):
        ds.generate(e.parent / "model.onnx", tmp_path / "ds2", engine=e)


# ---- the app -------------------------------------------------------------------------------
def test_app_is_python310_without_edgeaction(tmp_path, tiny_onnx):
    ds.generate(tiny_onnx, tmp_path)
    src = (tmp_path / "deepstream_app.py").read_text()
    tree = ast.parse(src, feature_version=(3, 10))
    compile(src, "deepstream_app.py", "exec")
    imported = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    imported |= {
        n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    assert "edgeaction" not in imported and {"pyds", "gi"} <= imported
    for element in ("uridecodebin", "nvstreammux", "nvdspreprocess", "nvinfer", "fakesink"):
        assert f'"{element}"' in src
    assert "NVDSINFER_TENSOR_OUTPUT_META" in src and "roi_user_meta_list" in src


def test_app_is_the_packaged_module_with_its_settings_rewritten(tmp_path, tiny_onnx):
    """The app is package data (a real module ruff and this test read), shipped by pyproject;
    the written copy differs from it only in the settings block's `NAME = value` lines."""
    from importlib import resources

    packaged = resources.files("edgeaction.jetson").joinpath(ds.APP_RESOURCE).read_text()
    assert "{" not in packaged.split("# ---- settings")[1].split("# ---- end")[0]
    ds.generate(tiny_onnx, tmp_path)
    written = (tmp_path / "deepstream_app.py").read_text()
    changed = [
        (a, b) for a, b in zip(packaged.splitlines(), written.splitlines(), strict=True) if a != b
    ]
    assert [b for _, b in changed] == ["MODEL = 'tiny'", "OUTPUT = 'probs'"]
    root = Path(__file__).resolve().parents[2]
    (line,) = [
        s
        for s in (root / "pyproject.toml").read_text().splitlines()
        if s.startswith("edgeaction = [")
    ]  # [tool.setuptools.package-data]
    shipped = [g.strip(' "') for g in line.split("[", 1)[1].rstrip("]").split(",")]
    app = root / "src" / "edgeaction" / "jetson" / ds.APP_RESOURCE
    assert any(app.match(f"*/edgeaction/{glob}") for glob in shipped), shipped


def _fake_pyds(scores: list[float]):
    """Just enough of pyds for the probe: one preprocess ROI holding one output tensor."""
    buf = (ctypes.c_float * len(scores))(*scores)
    m = types.ModuleType("pyds")
    m.NvDsMetaType = types.SimpleNamespace(
        NVDS_PREPROCESS_BATCH_META="pre", NVDSINFER_TENSOR_OUTPUT_META="out"
    )

    def node(data, nxt=None):
        return types.SimpleNamespace(data=data, next=nxt)

    def user(kind, data):
        return types.SimpleNamespace(base_meta=types.SimpleNamespace(meta_type=kind), data=data)

    frame = types.SimpleNamespace(source_id=1, buf_pts=2_500_000_000, frame_num=75)
    tensor = types.SimpleNamespace(num_output_layers=1)
    roi = types.SimpleNamespace(frame_meta=frame, roi_user_meta_list=node(user("out", tensor)))
    batch = types.SimpleNamespace(
        batch_user_meta_list=node(user("pre", types.SimpleNamespace(roi_vector=[roi])))
    )
    m.gst_buffer_get_nvds_batch_meta = lambda _h: batch
    m.NvDsUserMeta = types.SimpleNamespace(
        cast=lambda u: types.SimpleNamespace(
            base_meta=u.base_meta, user_meta_data=u.data, data=u.data
        )
    )
    m.GstNvDsPreProcessBatchMeta = types.SimpleNamespace(cast=lambda d: d)
    m.NvDsInferTensorMeta = types.SimpleNamespace(cast=lambda d: d)
    m.get_nvds_LayerInfo = lambda _t, _i: types.SimpleNamespace(layerName="probs", buffer=buf)
    m.get_ptr = lambda b: ctypes.addressof(b)
    return m


def test_app_probe_prints_our_events(GLib, tmp_path, tiny_onnx, monkeypatch, capsys):
    ds.generate(tiny_onnx, tmp_path, streams=2, sources=["file:///a.mp4", "file:///b.mp4"])
    monkeypatch.setitem(sys.modules, "pyds", _fake_pyds([0.1, 0.7, 0.2]))
    ns = {"__name__": "ds_app", "__file__": str(tmp_path / "deepstream_app.py")}
    exec(compile((tmp_path / "deepstream_app.py").read_text(), "deepstream_app.py", "exec"), ns)
    buf = object()  # a GstBuffer: pyds takes hash(buffer)
    info = types.SimpleNamespace(get_buffer=lambda: buf)
    assert ns["on_infer_src"](None, info, ["file:///a.mp4", "file:///b.mp4"]) == (
        ns["Gst"].PadProbeReturn.OK
    )
    ev = json.loads(capsys.readouterr().out)
    assert ev == {
        "stream": 1,
        "source": "file:///b.mp4",
        "pts": 2.5,
        "frame": 75,
        "label": "b",
        "score": 0.7,
        "top_k": [["b", 0.7], ["c", 0.2], ["a", 0.1]],
        "model": "tiny",
    }


# ---- command line ---------------------------------------------------------------------------
def test_cli_needs_no_tensorflow(tmp_path, tiny_onnx):
    p = cli_no_tf("jetson", "deepstream", tiny_onnx, "--out", tmp_path / "ds", "--batch", 2)
    assert "wrote config_infer.txt" in p.stdout and "DeepStream 7.1" in p.stdout
    assert (tmp_path / "ds" / "config_infer.txt").is_file()


def test_cli_errors_are_one_line(tmp_path, tiny_contract):
    plain = make_onnx(tmp_path / "plain.onnx", tiny_contract, embed=False)
    one_line_error(
        cli("jetson", "deepstream", plain, "--out", tmp_path / "a", check=False),
        "carries no edgeaction contract",
    )
    for modality in ("pose", "rgb+pose"):
        c = ModelContract.from_dict({**tiny_contract.to_dict(), "modality": modality})
        m = make_onnx(tmp_path / f"{modality.replace('+', '_')}.onnx", c)
        one_line_error(
            cli("jetson", "deepstream", m, "--out", tmp_path / "b", check=False),
            "DeepStream configs support frame-only models",
        )
    good = make_onnx(tmp_path / "good.onnx", tiny_contract)
    for flag, value in (("--batch", 0), ("--streams", -1)):  # refused by options.positive_int
        usage_error(
            cli("jetson", "deepstream", good, "--out", tmp_path / "c", flag, value, check=False),
            f"argument {flag}: expected a number >= 1",
        )
    for bad in ("not a uri", "rtsp://cam/a\nb", "file://relative/a.mp4"):  # were exit 0
        p = cli("jetson", "deepstream", good, "--out", tmp_path / "g", "--sources", bad,
                "rtsp://cam/2", check=False)  # fmt: skip
        if bad.startswith("file:"):  # a URI, but not one uridecodebin can open here
            one_line_error(p, "--sources", "absolute path")
        else:
            usage_error(p, "--sources")
        assert not (tmp_path / "g").exists()
    afile = tmp_path / "afile"
    afile.write_text("x")
    one_line_error(cli("jetson", "deepstream", good, "--out", afile, check=False), "is a file")
    one_line_error(
        cli("jetson", "deepstream", tmp_path / "nothing.bin", "--out", tmp_path / "d", check=False),
        "model not found",
    )
    c16 = ModelContract.from_dict({**tiny_contract.to_dict(), "dtype": "float16"})
    one_line_error(
        cli(
            "jetson",
            "deepstream",
            make_onnx(tmp_path / "f16.onnx", c16),
            "--out",
            tmp_path / "e",
            check=False,
        ),
        "writes float32",
    )
    one_line_error(
        cli(
            "jetson",
            "deepstream",
            good,
            "--out",
            tmp_path / "f",
            "--streams",
            2,
            "--sources",
            "file:///a.mp4",
            check=False,
        ),
        "one URI per stream",
    )


# ---- values written into the key files, run.sh and the app ---------------------------------
def test_odd_paths_read_back_exactly_through_glib(GLib, tmp_path, ncthw_contract):
    """Backslashes, '#', ';' and spaces in a path: GLib's key-file parser (nvinfer's)
    reads back exactly the path that was meant (a backslash was an invalid escape)."""
    odd = tmp_path / "we ird\\dir #1;x"
    odd.mkdir()
    m = make_ncthw_onnx(odd / "model.onnx", ncthw_contract)
    engine = odd / "b\\n.engine"
    r = ds.generate(m, tmp_path / "ds", engine=engine)
    kf = keyfile(GLib, tmp_path / "ds" / "config_infer.txt")
    assert kf.get_string("property", "onnx-file") == str(m) == r["onnx"]
    assert kf.get_string("property", "model-engine-file") == str(engine)


@pytest.mark.parametrize(
    "name", ["a\nb", "a\u2028b", 'x\'"""\nimport os', 'x\'"""; import os; \'', "ok'\"name"]
)
def test_contract_names_never_break_configs_or_the_app(GLib, tmp_path, ncthw_contract, name):
    """A hostile name in the model's contract: refused with one line, or written so that
    GLib and Python read back exactly that name (never a broken config or app)."""
    c = ModelContract.from_dict({**ncthw_contract.to_dict(), "name": name})
    m = make_ncthw_onnx(tmp_path / "m.onnx", c)
    try:
        ds.generate(m, tmp_path / "ds")
    except EdgeActionError as e:
        assert len(str(e).splitlines()) == 1
        return
    keyfile(GLib, tmp_path / "ds" / "config_infer.txt")  # parses: no line was added
    tree = ast.parse((tmp_path / "ds" / "deepstream_app.py").read_text())
    consts = {
        n.targets[0].id: n.value.value
        for n in tree.body
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
    }
    assert consts["MODEL"] == name


def test_sources_must_be_uris(tmp_path, tiny_onnx):
    for bad in (["not a uri", "rtsp://cam/1"], ["rtsp://cam/a\nb"], ["file://rel/a.mp4"]):
        with pytest.raises(EdgeActionError, match="--sources") as e:
            ds.generate(tiny_onnx, tmp_path / "o", streams=len(bad), sources=bad)
        assert len(str(e.value).splitlines()) == 1
    assert not (tmp_path / "o").exists()
