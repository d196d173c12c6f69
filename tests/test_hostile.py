"""Hostile input: property-based fuzzing of the parsers, data-set rows escaping their root,
and `.keras` files with Lambda layers.

The parsers (model contract, source URIs, data-set CSVs) must answer any input with a
value or an `EdgeActionError` whose message is one line, never another exception. The
Keras tests build their model in a child process (TensorFlow never loads in the pytest
process, which holds GStreamer).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from edgeaction.contract import ModelContract, SplitPart
from edgeaction.datasets import discover, outside_root_allowed
from edgeaction.errors import EdgeActionError
from edgeaction.pipelines.sources import SourceSpec, parse_source
from tests.conftest import cli, one_line_error

FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _user_error(fn, *args, **kw):
    """`fn(*args, **kw)`, or the `EdgeActionError` it raised (one line, not empty)."""
    try:
        return fn(*args, **kw)
    except EdgeActionError as e:
        msg = str(e)
        assert msg and len(msg.splitlines()) == 1, repr(msg)
        return e


# ---- model contract -------------------------------------------------------------------
HUGE = st.sampled_from([63, 64, 400, 5000]).map(
    lambda e: (-1) ** e * 2**e + (10**e if e > 64 else 0)
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | HUGE
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
FIELDS = st.sampled_from(
    [
        "schema",
        "name",
        "labels",
        "frames",
        "height",
        "width",
        "input_name",
        "output_name",
        "layout",
        "dtype",
        "colour",
        "scale",
        "mean",
        "std",
        "stride",
        "subsample",
        "outputs_probabilities",
        "modality",
        "pose_name",
        "keypoints",
        "producer",
    ]
)
BASE = {"name": "m", "labels": ["a", "b"], "frames": 8, "height": 16, "width": 16}


def _json_text(v) -> str:
    try:
        return json.dumps(v)  # NaN/Infinity allowed, as Python writes them
    except ValueError:  # an int past the digit limit
        return "{}"


@FUZZ
@given(st.dictionaries(FIELDS | st.text(max_size=8), JSONISH, max_size=12), st.booleans())
@example({"mean": [10**400, 0, 0]}, True)
@example({"producer": {"tf": 10**5000}}, True)
@example({"frames": 10**5000}, True)
@example({"stride": 2**70}, True)
@example({"outputs_probabilities": [10**5000]}, True)  # was kept, then not writable
def test_contract_from_dict_any_values(d, over_valid):
    d = {**BASE, **d} if over_valid else d
    r = _user_error(ModelContract.from_dict, d)
    if isinstance(r, ModelContract):  # what parses survives a round trip
        assert ModelContract.from_json(r.to_json()) == r
    r = _user_error(ModelContract.from_json, _json_text(d))
    assert isinstance(r, ModelContract | EdgeActionError)


@FUZZ
@given(JSONISH | st.dictionaries(st.integers() | st.tuples(st.integers()), SCALARS, max_size=3))
def test_contract_from_dict_not_an_object_or_odd_keys(v):
    assert isinstance(_user_error(ModelContract.from_dict, v), EdgeActionError)


@FUZZ
@given(st.text(max_size=300) | st.binary(max_size=300))
@example('{"name": "m", "labels": ["a", "b"], "frames": 1' + "0" * 5000 + "}")
@example("[" * 5000)
@example(b"\xff\xfe{\x00}\x00")
def test_contract_from_json_any_text(raw):
    r = _user_error(ModelContract.from_json, raw)
    assert isinstance(r, ModelContract | EdgeActionError)
    assert isinstance(_user_error(SplitPart.from_json, raw), SplitPart | EdgeActionError)


@FUZZ
@given(st.dictionaries(st.sampled_from(["part", "input", "output", "features", "frames"]), JSONISH))
def test_split_part_any_values(d):
    meta = {"part": "head", "input": "x", "output": "y", "features": 4, "frames": 8, **d}
    meta["contract"] = BASE
    r = _user_error(SplitPart.from_json, _json_text(meta))
    assert isinstance(r, SplitPart | EdgeActionError)


NAMES = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
VALID_CONTRACTS = st.builds(
    ModelContract,
    name=NAMES,
    labels=st.lists(NAMES, min_size=2, max_size=6, unique=True),
    frames=st.integers(1, 4096),
    height=st.integers(1, 4096),
    width=st.integers(1, 4096),
    layout=st.sampled_from(["NTHWC", "NCTHW", "NTCHW"]),
    dtype=st.sampled_from(["float32", "float16", "uint8"]),
    colour=st.sampled_from(["RGB", "BGR"]),
    scale=st.floats(1e-6, 1e6),
    mean=st.tuples(*[st.floats(-1e3, 1e3)] * 3),
    std=st.tuples(*[st.floats(1e-6, 1e3)] * 3),
    stride=st.integers(0, 4096),
    subsample=st.integers(1, 64),
    modality=st.sampled_from(["rgb", "pose"]),
    keypoints=st.integers(1, 1024),
    producer=st.dictionaries(NAMES, NAMES, max_size=3),
)


@FUZZ
@given(VALID_CONTRACTS)
def test_valid_contracts_parse(c):
    assert ModelContract.from_json(c.to_json()) == c
    assert ModelContract.from_dict(json.loads(c.to_json())) == c


# ---- source URIs ----------------------------------------------------------------------
MARK = "Zq9"  # starts every generated password: it must never be echoed
SCHEMES = st.sampled_from(
    ["rtsp", "rtsps", "RTSP", "rtspt", "file", "v4l2", "csi", "test", "http", "x-y"]
)
USERINFO_CHARS = st.characters(
    whitelist_categories=("L", "N"), whitelist_characters="-._~!$&'()*+,;=: %"
)
PASSWORDS = st.text(USERINFO_CHARS, min_size=1, max_size=10).map(lambda p: MARK + p)
HOSTS = st.one_of(
    st.sampled_from(["cam", "10.0.0.5", "[::1]", "[fe80::1", "localhost", "", "h\u00e9te", "a b"]),
    st.text(max_size=12),
)
PORTS = st.one_of(st.integers(-5, 70000).map(str), st.text(max_size=6))
SEGMENTS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
QUERY = st.lists(
    st.tuples(
        st.sampled_from(["fps", "width", "height", "frames", "live", "loop", "x", ""]),
        st.one_of(
            st.integers(-3, 10**6).map(str),
            st.sampled_from(["1/0", "30000/1001", "1e99999999", "nan", "inf", "²", "٣", "0.5"]),
            st.text(max_size=6),
        ),
    ),
    max_size=4,
).map(lambda kv: "&".join(f"{k}={v}" for k, v in kv))


@st.composite
def urls(draw) -> tuple[str, str | None]:
    scheme = draw(SCHEMES)
    password = draw(st.none() | PASSWORDS)
    user = draw(st.text(USERINFO_CHARS, max_size=6)) if password else ""
    auth = f"{user}:{password}@" if password else ""
    host = draw(HOSTS)
    port = f":{draw(PORTS)}" if draw(st.booleans()) else ""
    path = "/".join(draw(st.lists(SEGMENTS, max_size=3)))
    query = draw(QUERY)
    text = f"{scheme}://{auth}{host}{port}/{path}" + (f"?{query}" if query else "")
    if draw(st.booleans()):
        text += "#" + draw(st.text(max_size=4))
    return text, password


@FUZZ
@given(st.text(max_size=80))
@example("csi://²")
@example("test://٣")
@example("test://ball?fps=1e99999999")
@example("x" * 5000)
@example("/nope\x00.mp4")
@example("rtsp://a\nb")
@example("clip\u2028.mp4")
@example("file:///" + "a" * 300 + "/" + "b" * 300)
def test_parse_source_any_text(text):
    r = _user_error(parse_source, text)
    assert isinstance(r, SourceSpec | EdgeActionError)


@FUZZ
@given(urls())
@example(("rtsp://user:Zq9pa ss@cam/live", "Zq9pa ss"))
@example(("test://u:Zq9pw@ball", "Zq9pw"))
@example(("csi://u:Zq9pw@0", "Zq9pw"))
def test_parse_source_urls_never_echo_passwords(url):
    text, password = url
    r = _user_error(parse_source, text)
    shown = r.display if isinstance(r, SourceSpec) else str(r)
    if password:
        assert password not in shown, shown
    if isinstance(r, SourceSpec):
        assert r.kind in ("file", "rtsp", "v4l2", "csi", "test")


@FUZZ
@given(
    st.sampled_from(["ball", "smpte", "snow", "0", "18"]),
    st.integers(1, 16384),
    st.integers(1, 16384),
    st.integers(1, 1000),
    st.none() | st.integers(1, 2**31 - 1),
    st.booleans(),
)
def test_valid_test_sources_parse(pattern, w, h, fps, frames, live):
    q = f"width={w}&height={h}&fps={fps}&live={int(live)}" + (f"&frames={frames}" if frames else "")
    spec = parse_source(f"test://{pattern}?{q}")
    assert spec.kind == "test" and spec.location == pattern and spec.live == live
    o = spec.options
    assert (o["width"], o["height"], o["fps"], o["frames"]) == (w, h, fps, frames)


@FUZZ
@given(
    st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=8),
    PASSWORDS.filter(lambda p: " " not in p and "%" not in p),
    st.sampled_from(["cam", "10.0.0.5", "[::1]", "cam.local"]),
    st.none() | st.integers(1, 65535),
)
def test_valid_rtsp_urls_parse_and_hide_the_password(user, password, host, port):
    text = f"rtsp://{user}:{password}@{host}{f':{port}' if port else ''}/stream?channel=1"
    spec = parse_source(text)
    assert spec.kind == "rtsp" and spec.location == text and spec.live
    assert password not in spec.display and spec.display.startswith("rtsp://***:***@")


# ---- data-set CSV readers -------------------------------------------------------------
@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """A root with clip files a0..b2.mp4, frame folders c0..c3 and an outside neighbour."""
    top = tmp_path_factory.mktemp("hostile")
    root = top / "root"
    root.mkdir()
    for name in ("a0", "a1", "a2", "b0", "b1", "b2"):
        (root / f"{name}.mp4").write_bytes(b"\x00" * 16)
    for k in range(4):
        (root / f"c{k}").mkdir()
    (top / "outside.mp4").write_bytes(b"\x00" * 16)
    (top / "outside_dir").mkdir()
    return root


PATHS = st.one_of(
    st.sampled_from(
        [
            "a0.mp4",
            "b1.mp4",
            "c0",
            "c3",
            "../outside.mp4",
            "../outside_dir",
            "/etc/passwd",
            "../../etc/passwd",
            "./a1.mp4",
            "c0/../a2.mp4",
            "",
            " ",
            "x\x00y",
            "a" * 300,
            "nope.mp4",
        ]
    ),  # fmt: skip
    st.text(max_size=12),
)
CELLS = st.one_of(
    PATHS,
    st.sampled_from(["a", "b", "walk", "train", "val", "test", "spilt", "path", "label"]),
    st.integers(-5, 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e999", "-0.0", "1_0", "0x10", "١٢", "", '"', '""', "'a'", "\n"]),
)
DELIMS = st.sampled_from([";", ",", "\t", "|", ";;", ", "])


@st.composite
def csv_texts(draw, header: bool) -> str:
    delim = draw(DELIMS)
    quote = draw(st.booleans())
    lines = []
    if header:
        cols = draw(
            st.lists(
                st.sampled_from(["path", "label", "start", "end", "split", "PATH", "x", ""]),
                max_size=6,
            )
        )
        lines.append(delim.join(cols))
    for _ in range(draw(st.integers(0, 6))):
        cells = draw(st.lists(CELLS, max_size=5))
        lines.append(delim.join(f'"{c}"' if quote else c for c in cells))
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return eol.join(lines) + draw(st.sampled_from(["", eol]))


def _discover_text(root: Path, name: str, content: str | bytes, **kw):
    """Write `content` to `root/name` and discover it (the CSV's directory is the root)."""
    p = root / name
    try:
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8", errors="surrogatepass")
        return _user_error(discover, p, **kw)
    finally:
        p.unlink(missing_ok=True)


@FUZZ
@given(csv_texts(header=False), st.sampled_from([None, "frames", "manifest"]), st.booleans())
@example("c0;a;0\nc1;b;1\n../outside_dir;a;0\n", "frames", False)
@example("c0;a;0\nc1;b;1\n/etc;a;0\n", None, False)
@example("c0;a;0\nc1;b;9" + "9" * 5000 + "\n", "frames", False)
@example("x\x00y;a;0\nc1;b;1\n", "frames", False)
def test_frames_csv_any_text(data_root, text, layout, allow):
    r = _discover_text(data_root, "list.csv", text, layout=layout, allow_outside_root=allow)
    assert not isinstance(r, Exception) or isinstance(r, EdgeActionError)


@FUZZ
@given(csv_texts(header=True), st.sampled_from([None, "manifest"]), st.booleans())
@example("path,label,start,end\na0.mp4,a,nan,\nb0.mp4,b,,1e999\n", "manifest", False)
@example("path,label\n" + "a" * 300 + "/x.mp4,a\nb0.mp4,b\n", "manifest", False)
@example("path,label\na0.mp4,a\nb0.mp4,b\n\x00\n", "manifest", False)
@example('path,label\n"a0.mp4\n",a\nb0.mp4,b\n', "manifest", False)
@example("path,label\n../outside.mp4,a\nb0.mp4,b\n", "manifest", False)
def test_manifest_csv_any_text(data_root, text, layout, allow):
    r = _discover_text(data_root, "m.csv", text, layout=layout, allow_outside_root=allow)
    assert not isinstance(r, Exception) or isinstance(r, EdgeActionError)


@FUZZ
@given(st.binary(max_size=200), st.sampled_from([None, "frames", "manifest"]))
@example(b"path,label\n\xff\xfe,a\n", "manifest")
def test_csv_any_bytes(data_root, raw, layout):
    r = _discover_text(data_root, "raw.csv", raw, layout=layout)
    assert not isinstance(r, Exception) or isinstance(r, EdgeActionError)


LABELS = st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=6)


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a0", "a1", "a2", "b0", "b1", "b2"]),
            st.sampled_from(["a", "b", "c"]),
            st.none() | st.sampled_from(["train", "val", "test"]),
            st.none() | st.floats(0, 100),
        ),
        min_size=2,
        max_size=12,
        unique_by=lambda r: (r[0], r[3]),  # a clip (segment) listed twice is refused
    ).filter(lambda rows: len({r[1] for r in rows}) >= 2)
)
def test_valid_manifests_parse(data_root, rows):
    lines = ["path,label,start,end,split"]
    for name, label, split, start in rows:
        s = "" if start is None else repr(start)
        e = "" if start is None else repr(start + 1.5)
        lines.append(f"{name}.mp4,{label},{s},{e},{split or ''}")
    ds = _discover_text(data_root, "ok.csv", "\n".join(lines) + "\n")
    assert not isinstance(ds, Exception), ds
    assert [(it.path.name, it.label) for it in ds.items] == [
        (f"{n}.mp4", lab) for n, lab, *_ in rows
    ]
    assert ds.labels == tuple(sorted({r[1] for r in rows}))
    assert all(it.split in ("train", "val", "test") for it in ds.items)


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from(["c0", "c1", "c2", "c3"]), LABELS), min_size=2, max_size=8
    ).filter(lambda rows: len({r[1] for r in rows}) >= 2),
    st.booleans(),
)
def test_valid_frames_csv_parse(data_root, rows, with_index):
    index = {lab: i for i, lab in enumerate(dict.fromkeys(r[1] for r in rows))}
    lines = [f"{f};{lab}" + (f";{index[lab]}" if with_index else "") for f, lab in rows]
    ds = _discover_text(data_root, "f.csv", "\n".join(lines) + "\n", layout="frames")
    assert not isinstance(ds, Exception), ds
    assert [(it.path.name, it.label, it.kind) for it in ds.items] == [
        (f, lab, "frames") for f, lab in rows
    ]
    want = sorted(index, key=index.get) if with_index else sorted(index)
    assert ds.labels == tuple(want)


# ---- rows outside the data set root ---------------------------------------------------
def test_rows_outside_the_root_are_refused_naming_row_and_flag(data_root):
    top = data_root.parent
    m = data_root / "manifest.csv"
    try:
        for row, line in (
            ("../../etc/passwd", 2),
            ("/etc/passwd", 2),
            (str(top / "outside.mp4"), 2),
            ("c0/../../outside.mp4", 2),
        ):
            m.write_text(f"path,label\n{row},b\na0.mp4,a\n")
            with pytest.raises(EdgeActionError) as e:
                discover(data_root)
            msg = str(e.value)
            assert f"manifest.csv line {line}: {row} points outside the data set root" in msg
            assert "--allow-outside-root" in msg and "\n" not in msg
            ds = discover(data_root, allow_outside_root=True)  # the knowing opt-in
            assert len(ds.items) == 2
            with outside_root_allowed():  # the default the CLI sets for export --data
                assert len(discover(data_root).items) == 2
    finally:
        m.unlink()


def test_symlinks_escaping_the_root_are_refused(tmp_path):
    top = tmp_path
    (top / "elsewhere").mkdir()
    (top / "elsewhere" / "secret.mp4").write_bytes(b"\x00" * 16)
    root = top / "data"
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        (root / label / "ok.mp4").write_bytes(b"\x00" * 16)
    (root / "b" / "link.mp4").symlink_to(top / "elsewhere" / "secret.mp4")
    with pytest.raises(
        EdgeActionError,
        match=r"b/link\.mp4 points outside .* through a symbolic link.*--allow-outside-root",
    ):
        discover(root)
    assert len(discover(root, allow_outside_root=True).items) == 3
    (root / "b" / "link.mp4").unlink()
    (root / "c").symlink_to(top / "elsewhere", target_is_directory=True)  # a linked label folder
    with pytest.raises(EdgeActionError, match=r"c/secret\.mp4 points outside"):
        discover(root)
    (root / "c").unlink()
    inside = root / "a" / "inside.mp4"  # a link that stays inside is fine
    inside.symlink_to(root / "b" / "ok.mp4")
    assert len(discover(root).items) == 3
    # frames layout: a folder row leaving the CSV's directory
    (root / "f.csv").write_text("a;x;0\n../elsewhere;y;1\n")
    with pytest.raises(EdgeActionError, match=r"f\.csv line 2: \.\./elsewhere points outside"):
        discover(root / "f.csv")
    assert len(discover(root / "f.csv", allow_outside_root=True).items) == 2


@pytest.fixture(scope="module")
def outside_clips(tmp_path_factory) -> Path:
    """lists/m.csv naming six real clips in ../clips (labels a, b of a 3-label model)."""
    from edgeaction.video import VideoWriter

    top = tmp_path_factory.mktemp("outside")
    lines = ["path,label,split"]
    for label, grey in (("a", 40), ("b", 200)):
        for k in range(3):
            p = top / "clips" / f"{label}{k}.mp4"
            p.parent.mkdir(exist_ok=True)
            with VideoWriter(p, 32, 32, fps=10.0) as vw:
                for _ in range(4):
                    vw.write(np.full((32, 32, 3), grey, np.uint8))
            lines.append(f"../clips/{p.name},{label},test")
    (top / "lists").mkdir()
    (top / "lists" / "m.csv").write_text("\n".join(lines) + "\n")
    return top / "lists" / "m.csv"


def test_evaluate_cli_refuses_rows_outside_the_root(tmp_path, tiny_onnx, outside_clips):
    p = cli("evaluate", tiny_onnx, outside_clips, "--out", tmp_path / "r", check=False)
    one_line_error(p, "m.csv line 2: ../clips/a0.mp4 points outside", "--allow-outside-root")
    p = cli("evaluate", tiny_onnx, outside_clips, "--out", tmp_path / "r", "--allow-outside-root")
    assert "6 scored" in p.stdout, p.stdout


# ---- .keras files with Lambda layers --------------------------------------------------
_LAMBDA_MODEL = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
from edgeaction.contract import ModelContract
run = sys.argv[1]
os.makedirs(run, exist_ok=True)
x = keras.Input((4, 32, 32, 3), name="frames")
h = keras.layers.Lambda(lambda t: t * 0.5 + 0.1)(x)  # no globals: runs once loaded
m = keras.layers.GlobalAveragePooling3D()(h)
y = keras.layers.Dense(3, activation="softmax", name="probs")(m)
keras.Model(x, y).save(os.path.join(run, "model.keras"))
ModelContract(name="lam", labels=("a", "b", "c"), frames=4, height=32, width=32).save(run)
"""


@pytest.fixture(scope="module")
def lambda_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("lambda") / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    p = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_LAMBDA_MODEL), str(run)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return run


@pytest.mark.slow
def test_evaluate_refuses_a_lambda_keras_model_unless_opted_in(lambda_run, tmp_path):
    data = tmp_path / "no-data"
    p = cli("evaluate", lambda_run, data, "--out", tmp_path / "r", check=False)
    one_line_error(p, "Lambda layer", "arbitrary Python", "--unsafe-keras")
    p = cli("evaluate", lambda_run, data, "--out", tmp_path / "r", "--unsafe-keras", check=False)
    err = one_line_error(p, "data set not found")  # got past loading, stopped at the data
    assert "Lambda" not in err and "--unsafe-keras" not in err


@pytest.mark.slow
def test_export_refuses_a_lambda_keras_model_unless_opted_in(lambda_run, tmp_path):
    p = cli("export", lambda_run, "--out", tmp_path / "e", check=False)
    one_line_error(p, "Lambda layer", "arbitrary Python", "--unsafe-keras")
    p = cli("export", lambda_run, "--out", tmp_path / "e2", "--unsafe-keras", check=False)
    assert "--unsafe-keras" not in p.stderr and "refused" not in p.stderr, p.stderr[-2000:]
    assert "not a loadable Keras model" not in p.stderr, p.stderr[-2000:]


def test_help_documents_the_opt_ins():
    for cmd in ("evaluate", "compare", "export"):
        out = cli(cmd, "--help").stdout
        assert "--unsafe-keras" in out and "arbitrary" in out and "--allow-outside-root" in out
    for cmd in ("train", "pose-extract"):
        assert "--allow-outside-root" in cli(cmd, "--help").stdout


# ---- redaction: linear in the input length --------------------------------------------
def _best_time(fn, arg, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - t)
    return best


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "a" * n,  # a scheme-like run with no '://': each start used to rescan it
        lambda n: "rtsp://" + "a" * n,
        lambda n: "rtsp://u:p@h/" + "a1+" * (n // 3),
        lambda n: ("ab://" + "c" * 95) * (n // 100),
    ],
)
def test_redaction_is_linear_in_the_source_length(make):
    from edgeaction.pipelines.sources.spec import redact

    def parse(s):  # a spec (a long RTSP host is valid), or one short line
        r = _user_error(parse_source, s)
        assert isinstance(r, SourceSpec) or len(str(r)) < 2000

    for fn in (redact, parse):
        small, big = _best_time(fn, make(100_000)), _best_time(fn, make(1_000_000))
        # linear: ~10x for 10x the input (quadratic was 100x: 10 s for 100 KB)
        assert big < max(30 * small, 0.05), (fn, small, big)
    assert redact("x rtsp://user:pass@cam/live " * 20_000).count("user:pass") == 0
    assert redact("rtsp://user:pass@cam/live") == "rtsp://***:***@cam/live"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab1+.-:/@ \"'<>\t\u2028", max_size=40))
def test_redaction_matches_the_old_regex(text):
    import re

    from edgeaction.pipelines.sources.spec import redact

    old = re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s/\"'<>]*@", r"\1***:***@", text)
    assert redact(text) == old


# ---- special files as sources: named for what they are, never blocking ----------------
@pytest.fixture
def special_files(tmp_path):
    import socket

    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)  # no writer: opening it would block forever
    sock_path = tmp_path / "s.mp4"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    yield {"a FIFO": fifo, "a character device": Path("/dev/zero"), "a socket": sock_path,
           "a directory": tmp_path}  # fmt: skip
    sock.close()


def test_special_files_as_sources_say_what_they_are(special_files, tiny_onnx):
    for what, path in special_files.items():
        p = cli("run", tiny_onnx, "--source", path, check=False, timeout=60)
        err = one_line_error(p, what, "not a video file", "give ")
        assert "empty" not in err
    p = cli("run", tiny_onnx, "--source", "file:///dev/zero", check=False, timeout=60)
    one_line_error(p, "a character device")


def test_special_files_as_clips_are_reported_by_kind(special_files, tmp_path):
    from edgeaction.clips import load_clips
    from edgeaction.datasets import ClipItem

    items = [ClipItem(p, "a") for p in special_files.values()]
    x, _, bad, _ = load_clips(items, ("a", "b"), 4, 16, 16, progress=False)
    assert len(x) == 0 and len(bad) == len(items)
    for (_, reason), what in zip(bad, special_files, strict=True):
        assert what in reason and "empty" not in reason, reason


def test_an_output_fifo_without_a_reader_fails_instead_of_blocking(
    tmp_path, tiny_onnx, synth_video
):
    fifo = tmp_path / "ev.jsonl"
    os.mkfifo(fifo)
    t = time.monotonic()
    p = cli("run", tiny_onnx, "--source", synth_video, "--events", fifo, check=False, timeout=60)
    one_line_error(p, "a FIFO no program reads", "start the reader first")
    assert time.monotonic() - t < 40 and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_fifo_as_a_data_set_is_named_not_opened(tmp_path, tiny_onnx):
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    for args in (
        ("evaluate", tiny_onnx, fifo),
        ("train", fifo, "--epochs", "1", "--out", tmp_path / "r"),
    ):
        p = cli(*args, check=False, timeout=60)
        one_line_error(p, "is a FIFO (named pipe), not a directory or CSV file")
