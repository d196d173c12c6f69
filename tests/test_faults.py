"""Fault injection: SIGKILL mid-write, altered files, unwritable outputs.

- A process killed with SIGKILL while it writes (`edgeaction export`, the engine writer
  shared by `build-engine` and the engine cache, `edgeaction run --events --out-video`)
  never leaves a half-written file under a final name: afterwards the target holds its
  previous content, or a later run refuses it with one line.
- Checksums are verified at load: `checksums.json` beside exported ONNX files, the
  `engine_sha256` of an engine sidecar (before any TensorRT call) and of a cache entry.
- Unwritable `--events`, `--metrics` and `--out-video` fail with one line at start,
  before a frame is decoded.

Tests run as root here, so "unwritable" is a path under a regular file or in /proc, not
a chmod.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgeaction.errors import EdgeActionError
from edgeaction.fsutil import CHECKSUMS_FILE, sha256_file, verify_checksum, write_checksums
from tests.conftest import cli, make_onnx, one_line_error

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
GONE = "does not match the sha256"
FINITE = "test://ball?frames=8&live=0"


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def _kill_when(
    proc: subprocess.Popen, ready, timeout: float = 120.0, may_finish: bool = False
) -> bool:
    """SIGKILL `proc` as soon as `ready()` holds (polled every 2 ms); True if killed.

    Fails the test when the process ends (unless `may_finish`: then it must have
    succeeded, and False is returned) or `timeout` passes before `ready()`.
    """
    t0 = time.monotonic()
    try:
        while not ready():
            if proc.poll() is not None:
                if may_finish:
                    assert proc.returncode == 0, proc.stderr.read()[-2000:]
                    return False
                pytest.fail(
                    f"exited ({proc.returncode}) before the kill point: {proc.stderr.read()}"
                )
            if time.monotonic() - t0 > timeout:
                pytest.fail("the kill point was never reached")
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return True


def _partials(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.name.startswith(".") and ".partial" in p.name)


def _flip(path: Path, at: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if at is None else at
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))


# ---- checksums of exported models ---------------------------------------------------------------
def test_export_writes_checksums(exported):
    doc = json.loads((exported / CHECKSUMS_FILE).read_text())
    assert doc["algorithm"] == "sha256"
    assert doc["files"] == {"model.onnx": sha256_file(exported / "model.onnx")}
    rep = json.loads((exported / "export_report.json").read_text())
    assert rep["sha256"] == doc["files"]
    assert not _partials(exported)


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_altered_export_is_refused_with_one_line(exported, tmp_path, damage):
    d = tmp_path / "exp"
    shutil.copytree(exported, d)
    m = d / "model.onnx"
    if damage == "flip":
        _flip(m)
    else:
        m.write_bytes(m.read_bytes()[: m.stat().st_size // 2])
    t0 = time.monotonic()
    p = cli("run", d, "--source", "test://ball?fps=30", check=False, timeout=60)
    err = one_line_error(p, f"model.onnx {GONE} in {CHECKSUMS_FILE}", "re-export")
    assert "altered or truncated" in err and time.monotonic() - t0 < 30
    # Without the manifest (an export from before checksums) the same bytes are not checked.
    (d / CHECKSUMS_FILE).unlink()
    assert verify_checksum(m) is None


def test_model_without_checksums_still_loads(tmp_path, tiny_contract):
    from edgeaction.engine import open_runner

    m = make_onnx(tmp_path / "model.onnx", tiny_contract)  # no checksums.json: older export
    with open_runner(tmp_path) as r:
        assert r.contract.name == "tiny"
    write_checksums(tmp_path, {"other.onnx": "0" * 64})  # listed elsewhere, not this file
    with open_runner(m) as r:
        assert r.contract.name == "tiny"
    write_checksums(tmp_path, {"model.onnx": sha256_file(m)})
    with open_runner(m) as r:
        assert r.contract.name == "tiny"
    _flip(m, at=m.stat().st_size - 5)
    with pytest.raises(EdgeActionError, match=f"model.onnx {GONE} in {CHECKSUMS_FILE}"):
        open_runner(m)


def test_split_parts_are_checked(tiny_split):
    from edgeaction.engine.ort import OrtRunner

    names = ("model.onnx", "encoder.onnx", "head.onnx")
    write_checksums(tiny_split, {n: sha256_file(tiny_split / n) for n in names})
    OrtRunner(tiny_split / "head.onnx")
    _flip(tiny_split / "head.onnx", at=tiny_split.joinpath("head.onnx").stat().st_size - 3)
    with pytest.raises(EdgeActionError, match=f"head.onnx {GONE}"):
        OrtRunner(tiny_split / "head.onnx")


def test_broken_manifest_is_refused(tmp_path, tiny_onnx):
    (tmp_path / CHECKSUMS_FILE).write_text("{not json")
    with pytest.raises(EdgeActionError, match="not a checksum manifest"):
        verify_checksum(tiny_onnx)


# ---- engines: the shared writer, the runner's check, the cache ------------------------------------
def _sidecar_meta(contract) -> dict:
    return {
        "contract": contract.to_dict(),
        "tensorrt": "10.3.0",
        "device": {"name": "Orin", "compute_capability": "8.7"},
        "precision": "fp16",
        "onnx": {"file": "model.onnx", "sha256": "0" * 64},
    }


def test_engine_sha256_is_checked_before_tensorrt(tmp_path, tiny_onnx, tiny_contract):
    """ONNX bytes stand in for a plan: this is about the file, not about TensorRT."""
    import onnxruntime as ort

    from edgeaction.engine import open_runner
    from edgeaction.engine.trt import TrtRunner, read_sidecar
    from edgeaction.engine.trt_build import write_engine

    eng = write_engine(tmp_path / "m.engine", tiny_onnx.read_bytes(), _sidecar_meta(tiny_contract))
    side = read_sidecar(eng)
    assert side["engine"] == "m.engine" and side["engine_sha256"] == sha256_file(eng)
    ort.InferenceSession(str(eng), providers=["CPUExecutionProvider"])  # the bytes are whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.engine", "m.engine.json", "tiny.onnx"]
    r = TrtRunner(eng)  # the sha256 matches; TensorRT is only needed to activate
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        with pytest.raises(EdgeActionError, match="TensorRT"):
            r.activate()
    _flip(eng)
    with pytest.raises(EdgeActionError, match=f"m.engine {GONE} in m.engine.json") as e:
        open_runner(eng)
    assert "TensorRT's Python package" not in str(e.value) and "\n" not in str(e.value)
    p = cli("run", eng, "--source", "test://ball?fps=30", check=False, timeout=60)
    one_line_error(p, f"m.engine {GONE} in m.engine.json", "rebuild it")
    assert p.returncode == 1  # the refusal, not "TensorRT is missing" (exit 2)


def test_old_sidecar_without_engine_sha256_still_loads(tmp_path, tiny_onnx, tiny_contract):
    from edgeaction.engine.trt import TrtRunner
    from edgeaction.engine.trt_build import sidecar_path

    eng = tmp_path / "old.engine"
    eng.write_bytes(tiny_onnx.read_bytes())
    sidecar_path(eng).write_text(json.dumps({"engine": eng.name, **_sidecar_meta(tiny_contract)}))
    assert TrtRunner(eng).contract == tiny_contract


def test_engine_cache_rejects_a_damaged_entry(tmp_path, tiny_onnx, tiny_contract):
    from edgeaction.engine.cache import cached_engine_path, cached_engine_problem
    from edgeaction.engine.trt_build import sidecar_path, write_engine

    gpu = {"name": "Orin", "compute_capability": "8.7"}
    onnx_sha = sha256_file(tiny_onnx)
    entry = cached_engine_path(tiny_onnx, onnx_sha, "10.3.0", gpu, "fp32", (1, 4, 8), tmp_path)
    entry.parent.mkdir(parents=True, exist_ok=True)
    meta = {**_sidecar_meta(tiny_contract), "onnx": {"file": tiny_onnx.name, "sha256": onnx_sha}}
    write_engine(entry, tiny_onnx.read_bytes(), meta)
    args = (tiny_onnx, "10.3.0", gpu, tiny_contract)
    assert cached_engine_problem(entry, *args) is None
    assert "TensorRT 10.3.0" in cached_engine_problem(entry, tiny_onnx, "10.4.0", gpu)
    _flip(entry)
    assert GONE in cached_engine_problem(entry, *args)
    write_engine(entry, tiny_onnx.read_bytes(), meta)
    entry.write_bytes(entry.read_bytes()[:100])  # truncated
    assert GONE in cached_engine_problem(entry, *args)
    write_engine(entry, tiny_onnx.read_bytes(), meta)
    sidecar_path(entry).unlink()  # a build killed before its sidecar landed
    assert "no sidecar" in cached_engine_problem(entry, *args)
    write_engine(entry, tiny_onnx.read_bytes(), meta)
    sidecar_path(entry).write_text("{")
    assert "sidecar" in cached_engine_problem(entry, *args)


_WRITER = """
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from edgeaction.contract import ModelContract
from edgeaction.engine.trt_build import write_engine
c = ModelContract(name="big", labels=("a", "b", "c"), frames=4, height=32, width=32)
w = numpy_helper.from_array(np.ones((int(sys.argv[2]) // 4,), np.float32), "pad")
g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "big",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])], initializer=[w])
plan = helper.make_model(g).SerializeToString()
print(len(plan), flush=True)
write_engine(sys.argv[1], plan, {"contract": c.to_dict(), "tensorrt": "10.3.0", "device": {}})
"""
BIG = 512 << 20


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["temp-file-created", "temp-file-filling", "engine-renamed"])
def test_engine_writer_killed_mid_write(tmp_path, tiny_onnx, tiny_contract, kill_at):
    """SIGKILL the engine writer (build-engine and the cache share it) mid-write."""
    from edgeaction.engine.trt import TrtRunner
    from edgeaction.engine.trt_build import write_engine

    d = tmp_path / "engines"
    d.mkdir()
    eng = d / "m.engine"
    write_engine(eng, tiny_onnx.read_bytes(), _sidecar_meta(tiny_contract))  # the previous one
    old = sha256_file(eng)
    ready = {
        "temp-file-created": lambda: bool(_partials(d)),
        "temp-file-filling": lambda: any(p.stat().st_size > 0 for p in _partials(d)),
        "engine-renamed": lambda: eng.stat().st_size > BIG // 2,
    }[kill_at]

    def guarded():
        try:
            return ready()
        except FileNotFoundError:  # a temp file renamed between listing and stat
            return False

    proc = _spawn("-c", _WRITER, str(eng), str(BIG))
    _kill_when(proc, guarded)
    names = [p.name for p in d.iterdir() if not p.name.startswith(".")]
    assert set(names) <= {"m.engine", "m.engine.json"}
    size = eng.stat().st_size if eng.exists() else None
    assert size in (None, tiny_onnx.stat().st_size) or size > BIG  # never a part of the plan
    try:
        r = TrtRunner(eng)
    except EdgeActionError as e:
        msg = str(e)
        assert "\n" not in msg and ("sidecar" in msg or GONE in msg or "not found" in msg), msg
        assert kill_at == "engine-renamed", msg
    else:  # accepted: a whole engine whose sidecar vouches for it
        assert sha256_file(eng) == r.sidecar["engine_sha256"]
        if kill_at != "engine-renamed":
            assert sha256_file(eng) == old and r.contract == tiny_contract


# ---- a killed export ------------------------------------------------------------------------------
def _previous_export(d: Path, contract) -> str:
    """A complete export in `d` (another model) to be overwritten; its model's sha256."""
    d.mkdir()
    make_onnx(d / "model.onnx", contract, seed=7)
    contract.save(d)
    write_checksums(d, {"model.onnx": sha256_file(d / "model.onnx")})
    return sha256_file(d / "model.onnx")


@pytest.mark.slow
@pytest.mark.parametrize(
    "kill_at", ["1s", "2s", "3s", "4s", "6s", "first-partial", "checksums-written"]
)
def test_export_killed_leaves_previous_export_or_a_refusal(
    trained_run, tmp_path, tiny_contract, kill_at
):
    d = tmp_path / "exp"
    old = _previous_export(d, tiny_contract)
    manifest = (d / CHECKSUMS_FILE).read_text()
    t0 = time.monotonic()
    if kill_at.endswith("s") and kill_at[:-1].isdigit():
        delay = float(kill_at[:-1])

        def ready():
            return time.monotonic() - t0 >= delay
    elif kill_at == "first-partial":

        def ready():
            return bool(_partials(d))
    else:

        def ready():
            try:
                return (d / CHECKSUMS_FILE).read_text() != manifest
            except FileNotFoundError:
                return False

    proc = _spawn("-m", "edgeaction.cli", "export", str(trained_run), "--out", str(d))
    # A fixed delay may come after a fast export finished: then DIR holds the new export.
    killed = _kill_when(proc, ready, may_finish=kill_at.endswith("s"))
    import onnx

    for f in d.glob("*.onnx"):  # anything under a final name is a whole model
        if not f.name.startswith("."):  # pathlib's glob also lists the hidden .partial files
            onnx.checker.check_model(onnx.load(str(f)))
    p = cli("run", d, "--source", FINITE, "--events", tmp_path / "ev.jsonl", check=False)
    sums = json.loads((d / CHECKSUMS_FILE).read_text())["files"]
    now = sha256_file(d / "model.onnx")
    if now == sums["model.onnx"]:
        assert p.returncode == 0, p.stderr[-2000:]
        assert (tmp_path / "ev.jsonl").exists()
    else:
        one_line_error(p, f"model.onnx {GONE}")
        assert not (tmp_path / "ev.jsonl").exists()
    if kill_at in ("1s", "first-partial"):  # still converting, or staging: nothing moved
        assert now == old and (d / CHECKSUMS_FILE).read_text() == manifest
    if not killed:
        assert now != old and p.returncode == 0 and (d / "export_report.json").exists()
    # The converter child dies with the export (no orphaned tf2onnx).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _converters(trained_run):
        time.sleep(0.2)
    assert not _converters(trained_run)


def _converters(run: Path) -> list[int]:
    """Pids of live `edgeaction.export._convert` children (any export of this test run)."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"edgeaction.export._convert" in cmd:
            out.append(int(p.name))
    return out


# ---- a killed run ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_run_killed_leaves_whole_event_lines_and_no_final_video(tmp_path, tiny_onnx):
    out = tmp_path / "out"
    out.mkdir()
    ev, vid = out / "ev.jsonl", out / "ann.mp4"
    args = ("--events", str(ev), "--out-video", str(vid), "--emit", "every", "-q")
    proc = _spawn(
        "-m", "edgeaction.cli", "run", str(tiny_onnx), "--source", "test://ball?fps=30", *args
    )
    _kill_when(proc, lambda: ev.exists() and ev.stat().st_size > 2000, timeout=60)
    left = sorted(p.name for p in out.iterdir())
    # Events are appended live (a service's file is followed while it runs): what is there
    # is whole lines, except at most one torn last line. The video is only ever a hidden
    # .partial until it is finalised.
    assert not vid.exists(), left
    assert [n for n in left if n != "ev.jsonl"] and all(
        n.startswith(".") and ".partial" in n for n in left if n != "ev.jsonl"
    ), left
    lines = ev.read_text().split("\n")
    assert all(json.loads(x) for x in lines[:-1])
    # Simulate the worst case too: a torn last line. The next run cuts it and appends.
    with open(ev, "a") as f:
        f.write('{"stream":0,"label":"tor')
    n_before = len(lines) - 1
    cli("run", tiny_onnx, "--source", FINITE, *args)
    after = [json.loads(x) for x in ev.read_text().splitlines()]  # every line is whole JSON
    assert len(after) > n_before and vid.stat().st_size > 0


# ---- unwritable outputs fail at start -------------------------------------------------------------
def _unwritable(tmp_path: Path, kind: str, name: str) -> Path:
    if kind == "under-a-file":
        (tmp_path / "file.txt").write_text("x")
        return tmp_path / "file.txt" / name
    if kind == "proc":
        return Path("/proc") / name  # root may write anywhere else; not here
    d = tmp_path / name  # a directory where a file is wanted
    d.mkdir()
    return d


@pytest.mark.parametrize(
    ("flag", "name", "kind"),
    [
        ("--events", "ev.jsonl", "under-a-file"),
        ("--events", "ev.jsonl", "proc"),
        ("--events", "ev.jsonl", "directory"),
        ("--metrics", "m.json", "under-a-file"),
        ("--metrics", "m.json", "proc"),
        ("--metrics", "m.json", "directory"),
        ("--out-video", "a.mp4", "under-a-file"),
        ("--out-video", "a.mp4", "proc"),
    ],
)
def test_unwritable_output_fails_at_start(tmp_path, tiny_onnx, flag, name, kind):
    target = _unwritable(tmp_path, kind, name)
    t0 = time.monotonic()
    # A live source: a run that got past the check would only end at the timeout.
    p = cli(
        "run", tiny_onnx, "--source", "test://ball?fps=30", flag, target, check=False, timeout=60
    )
    took = time.monotonic() - t0
    err = one_line_error(p)
    assert str(target.parent if kind != "directory" else target) in err, err
    assert p.stdout.strip() == ""  # no events: not a frame was decoded
    assert took < 20, took


def test_crash_between_renames_is_refused_not_run_mixed(tmp_path, tiny_contract, monkeypatch):
    """Export's commit order: staged files, then `checksums.json`, then the renames.

    A crash after the first rename leaves a new model.onnx beside an old encoder.onnx;
    the manifest already describes the new files, so the old one is refused at load.
    """
    import edgeaction.fsutil as fsutil
    from edgeaction.engine.ort import OrtRunner
    from tests.conftest import make_split

    old = make_split(tmp_path / "exp", tiny_contract, seed=1)
    names = ("model.onnx", "encoder.onnx", "head.onnx")
    write_checksums(old, {n: sha256_file(old / n) for n in names})
    new = make_split(tmp_path / "new", tiny_contract, seed=2)
    real, calls = os.replace, []

    def crash_on_second(src, dst):
        if Path(dst).name in names:
            calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt  # stands in for SIGKILL between two renames
        real(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        with fsutil.atomic_paths([old / n for n in names]) as tmps:
            for n in names:
                tmps[old / n].write_bytes((new / n).read_bytes())
            write_checksums(old, {n: sha256_file(tmps[old / n]) for n in names})
    monkeypatch.setattr(fsutil.os, "replace", real)
    assert not _partials(old)
    assert sha256_file(old / "model.onnx") == sha256_file(new / "model.onnx")
    OrtRunner(old / "model.onnx")  # renamed: whole and new
    for n in ("encoder.onnx", "head.onnx"):  # not renamed: old, refused
        with pytest.raises(EdgeActionError, match=f"{n} {GONE}"):
            OrtRunner(old / n)
