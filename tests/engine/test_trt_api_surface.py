"""The TensorRT names our engine code touches exist in the real Python bindings.

No TensorRT libraries and no GPU here, but the bindings wheels are on PyPI
(`tensorrt-cu12-bindings` 10.3 = JetPack 6, `tensorrt-cu13-bindings` 11.4). Each is
unpacked into a throwaway directory; its `tensorrt.so` links `libnvinfer`,
`libnvonnxparser` and `libnvinfer_plugin`, which are replaced by empty stub libraries
(built with gcc) whose factory functions return NULL. That is enough to import the real
module and look at its classes, enums and methods.

What this proves: every `trt.X` / `trt.X.Y` name and every method or property name our
code calls on a builder, network, parser, config, profile, runtime, engine or context
exists in those versions; every such call passes a number of positional arguments and
keyword names that fits one overload of the pybind11 signature the bindings declare;
every attribute we assign is a property with a setter. What it does not prove: that any
of it behaves (nothing is built or run; that needs the `gpu`-marked tests on a device),
nor that an argument of the right count has the right type or value.

The names are collected from `src/edgeaction/engine/*.py` by a heuristic AST scan:
attribute chains rooted at a name `trt`, plus attributes used on variables named like
TensorRT objects (`builder`, `network`, `config`, ...; see `_OBJECTS`). A name under a
version guard (inside `hasattr(...)`, or used in an `if` whose test calls `hasattr` or
compares `version`) may be missing in one version but must exist in at least one.

The wheels are taken from `$EDGEACTION_TRT_WHEELS`, `/tmp/trtwheels` or
`~/.cache/edgeaction/trtwheels`, else fetched with `pip download`; without them (no
network) the test skips with a reason. They are never stored in the repository.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, attr_chain, find_or_download

ENGINE_SRC = ROOT / "src" / "edgeaction" / "engine"
WHEELS = {
    "10.3": ("tensorrt-cu12-bindings", "10.3.0", "tensorrt_cu12_bindings-10.3.0-*.whl"),
    "11.4": ("tensorrt-cu13-bindings", "11.4.0.106", "tensorrt_cu13_bindings-11.4.0.106-*.whl"),
}
# variable name (without `self.` / leading `_`) -> TensorRT class whose attributes it uses
_OBJECTS = {
    "builder": "Builder",
    "network": "INetworkDefinition",
    "parser": "OnnxParser",
    "config": "IBuilderConfig",
    "profile": "IOptimizationProfile",
    "runtime": "Runtime",
    "engine": "ICudaEngine",
    "context": "IExecutionContext",
    "inspector": "EngineInspector",
}
# Names the scan cannot attribute to a type (return values, overridden callbacks): listed
# by hand and checked in every version.
_EXTRA = {
    "ILogger.log",
    "IProgressMonitor.phase_start",
    "IProgressMonitor.step_complete",
    "IProgressMonitor.phase_finish",
    "ITimingCache.serialize",
    "ITensor.name",
    "ITensor.shape",
    "IHostMemory",
}
_STUB_C = """
void *createInferBuilder_INTERNAL(void *a, int b) { return 0; }
void *createInferRefitter_INTERNAL(void *a, void *b, int c) { return 0; }
void *createInferRuntime_INTERNAL(void *a, int b) { return 0; }
void *createNvOnnxParserRefitter_INTERNAL(void *a, void *b, int c) { return 0; }
void *createNvOnnxParser_INTERNAL(void *a, void *b, int c) { return 0; }
int getNvOnnxParserVersion(void) { return 0; }
void *getBuilderPluginRegistry(int a) { return 0; }
void *getPluginRegistry(void) { return 0; }
int initLibNvInferPlugins(void *a, const char *b) { return 0; }
"""
# Run in the child: import the real bindings as `tensorrt`, report which names exist,
# the pybind11 signature lines of the callables asked for, and which attributes are
# properties with a setter.
_PROBE = """
import inspect, json, sys
import tensorrt_bindings as trt
sys.modules["tensorrt"] = trt
ask = json.loads(sys.argv[1])
def get(path):
    obj = trt
    for part in path.split("."):
        if not hasattr(obj, part):
            return None
        obj = getattr(obj, part)
    return obj
def doc(path):
    obj = get(path)
    if obj is None:
        return None
    if inspect.isclass(obj):
        return ["__init__", obj.__init__.__doc__ or ""]
    name = path.split(".")[-1]
    if inspect.isfunction(obj):  # plain Python (trt.nptype): its signature, pybind-style
        return [name, f"{name}{inspect.signature(obj)} -> object"]
    return [name, obj.__doc__ or ""]
def settable(path):
    cls, _, name = path.rpartition(".")
    c = get(cls)
    prop = inspect.getattr_static(c, name, None) if c is not None else None
    return isinstance(prop, property) and prop.fset is not None
print(json.dumps({
    "version": trt.__version__,
    "has": {n: get(n) is not None for n in ask["names"]},
    "docs": {n: doc(n) for n in ask["calls"]},
    "settable": {n: settable(n) for n in ask["props"]},
}))
"""


# ---- the scan -------------------------------------------------------------------------------
_chain = attr_chain


def _guarded_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes inside `hasattr(...)` or inside an `if` guarded by hasattr/version."""
    out: set[int] = set()

    def is_guard(test: ast.AST) -> bool:
        for n in ast.walk(test):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "hasattr":
                return True
            if isinstance(n, ast.Compare) and any(
                isinstance(x, ast.Name) and x.id == "version" for x in ast.walk(n)
            ):
                return True
        return False

    for n in ast.walk(tree):
        if isinstance(n, ast.If) and is_guard(n.test):
            for stmt in [n.test, *n.body]:
                out.update(id(x) for x in ast.walk(stmt))
    return out


def scan_names(files) -> tuple[set[str], set[str]]:
    """(names used, names used only under a version guard), as paths under `trt`.

    Heuristic: see the module docstring.
    """
    used: set[str] = set()
    guarded_any: set[str] = set()
    unguarded: set[str] = set()
    for f in files:
        tree = ast.parse(Path(f).read_text(), filename=str(f))
        guarded = _guarded_nodes(tree)
        hasattr_names: set[str] = set()
        for n in ast.walk(tree):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "hasattr":
                base = _chain(n.args[0]) if len(n.args) == 2 else None
                if (
                    base
                    and isinstance(n.args[1], ast.Constant)
                    and isinstance(n.args[1].value, str)
                ):
                    path = _to_trt_path(base + [n.args[1].value])
                    if path:
                        hasattr_names.add(path)
        for n in ast.walk(tree):
            if not isinstance(n, ast.Attribute):
                continue
            parts = _chain(n)
            path = _to_trt_path(parts) if parts else None
            if not path:
                continue
            used.add(path)
            if id(n) in guarded or path in hasattr_names:
                guarded_any.add(path)
            else:
                unguarded.add(path)
        used |= hasattr_names
        guarded_any |= hasattr_names
    # a name also used outside any guard must exist everywhere
    return used, guarded_any - unguarded


def scan_calls(files) -> tuple[dict[str, set], set[str]]:
    """How our code calls TensorRT, for the signature check (same heuristic as names).

    Returns:
        `(calls, props)`: `calls` maps a path (`Builder.create_network`, `Runtime` for a
        constructor) to the set of `(positional count, keyword names)` it is called with
        (calls with `*args`/`**kw` and dunder methods are left out); `props` holds the
        paths assigned to (`IBuilderConfig.DLA_core = ...`), which must be settable
        properties.
    """
    calls: dict[str, set] = {}
    props: set[str] = set()
    for f in files:
        tree = ast.parse(Path(f).read_text(), filename=str(f))
        for n in ast.walk(tree):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
                parts = _chain(n.func)
                path = _to_trt_path(parts) if parts else None
                starred = any(isinstance(a, ast.Starred) for a in n.args)
                if not path or starred or any(k.arg is None for k in n.keywords):
                    continue
                if path.split(".")[-1].startswith("__") or path == "__version__":
                    continue
                kws = tuple(sorted(k.arg for k in n.keywords))
                calls.setdefault(path, set()).add((len(n.args), kws))
            elif isinstance(n, ast.Assign):
                for t in n.targets:
                    parts = _chain(t) if isinstance(t, ast.Attribute) else None
                    path = _to_trt_path(parts) if parts else None
                    if path and "." in path and parts[0] != "trt":
                        props.add(path)
    return calls, props


def signatures(doc: str, name: str) -> list[tuple[list[str], int]]:
    """`[(parameter names, required count), ...]` per overload from a pybind11 docstring.

    pybind11 writes `name(self: T, a: int, b: X = <...>) -> R` as the first line, or one
    numbered line per overload; `self` is dropped.
    """
    out = []
    for line in doc.splitlines():
        m = re.match(rf"^\s*(?:\d+\.\s+)?{re.escape(name)}\((.*)\)\s*->", line)
        if not m or m.group(1) == "*args, **kwargs":
            continue
        params, depth, cur = [], 0, ""
        for ch in m.group(1) + ",":
            if ch == "," and depth == 0:
                params.append(cur.strip())
                cur = ""
                continue
            depth += ch in "([{<"
            depth -= ch in ")]}>"
            cur += ch
        params = [x for x in params if x and x.split(":")[0].strip() != "self"]
        names = [x.split(":")[0].split("=")[0].strip() for x in params]
        out.append((names, sum("=" not in x for x in params)))
    return out


def _to_trt_path(parts: list[str]) -> str | None:
    if parts[0] == "trt" and len(parts) > 1:
        rest = parts[1:3]  # trt.Enum.MEMBER at most; deeper is a value's attribute
        if rest[0] == "__version__":
            return "__version__"
        return ".".join(rest)
    if parts[0] in _OBJECTS and len(parts) > 1:
        return f"{_OBJECTS[parts[0]]}.{parts[1]}"
    return None


def _all_prefixes(names: set[str]) -> set[str]:
    """`BuilderFlag.FP16` also needs `BuilderFlag`; keep every prefix."""
    out = set()
    for n in names:
        bits = n.split(".")
        out.update(".".join(bits[: i + 1]) for i in range(len(bits)))
    return out


def test_scan_finds_the_builder_calls():
    used, guarded = scan_names(sorted(ENGINE_SRC.glob("*.py")))
    for name in (
        "Builder",
        "OnnxParser",
        "Builder.create_network",
        "Builder.build_serialized_network",
        "IBuilderConfig.set_memory_pool_limit",
        "MemoryPoolType.WORKSPACE",
        "NetworkDefinitionCreationFlag.STRONGLY_TYPED",
    ):
        assert name in used, sorted(used)
    assert {"BuilderFlag.FP16", "NetworkDefinitionCreationFlag.EXPLICIT_BATCH"} <= guarded
    assert "Builder.create_network" not in guarded


# ---- the real bindings ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def bindings(tmp_path_factory):
    """{version: (site dir, stub lib dir)} for each bindings wheel that can be had."""
    if sys.platform != "linux" or shutil.which("gcc") is None:
        pytest.skip("needs Linux and gcc to build stub TensorRT libraries")
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the pinned bindings wheels are cp311")
    root = tmp_path_factory.mktemp("trtbindings")
    (root / "stub.c").write_text(_STUB_C)
    found = {}
    for ver, (package, pin, pattern) in WHEELS.items():
        whl = find_or_download(
            pattern, f"{package}=={pin}", "EDGEACTION_TRT_WHEELS", "trtwheels",
            "--only-binary=:all:", "--python-version", "3.11",
        )  # fmt: skip
        if whl is None:
            continue
        site = root / ver / "site"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site)]
            + [str(whl)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        stubs = root / ver / "stubs"
        stubs.mkdir()
        major = ver.split(".")[0]
        for lib in ("nvinfer", "nvonnxparser", "nvinfer_plugin"):
            so = f"lib{lib}.so.{major}"
            subprocess.run(
                ["gcc", "-shared", "-fPIC", "-o", str(stubs / so), f"-Wl,-soname,{so}"]
                + [str(root / "stub.c")],
                check=True,
                capture_output=True,
            )
        found[ver] = (site, stubs)
    if not found:
        pytest.skip(
            "no TensorRT bindings wheel in /tmp/trtwheels or the cache, and pip download failed"
        )
    return found


def _env(site: Path, stubs: Path | None) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT / "src")])}
    env.pop("LD_LIBRARY_PATH", None)
    if stubs is not None:
        env["LD_LIBRARY_PATH"] = str(stubs)
    return env


def _probe(site: Path, stubs: Path, names: list[str], calls=(), props=()) -> dict:
    ask = {"names": names, "calls": sorted(calls), "props": sorted(props)}
    p = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(ask)],
        env=_env(site, stubs),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_every_tensorrt_name_we_use_exists(bindings):
    used, guarded = scan_names(sorted(ENGINE_SRC.glob("*.py")))
    used = used | _EXTRA
    names = sorted(_all_prefixes(used))
    results = {ver: _probe(site, stubs, names) for ver, (site, stubs) in bindings.items()}
    for ver, r in results.items():
        assert r["version"].startswith(ver), r["version"]
    required = _all_prefixes(used - guarded)  # also used outside any version guard
    problems = []
    for n in names:
        have = {ver: r["has"][n] for ver, r in results.items()}
        if n in required and not all(have.values()):
            problems.append(f"{n} missing in {[v for v, ok in have.items() if not ok]}")
        elif not any(have.values()):
            problems.append(f"{n} (version-guarded) is in none of {sorted(have)}")
    report = {ver: sorted(n for n in names if not r["has"][n]) for ver, r in results.items()}
    print(f"checked {len(names)} names; missing per version (guarded only): {report}")
    assert not problems, problems


def test_scan_finds_calls_and_properties():
    calls, props = scan_calls(sorted(ENGINE_SRC.glob("*.py")))
    assert (1, ()) in calls["Builder.create_network"]
    assert (4, ()) in calls["IOptimizationProfile.set_shape"]
    assert (2, ()) in calls["IBuilderConfig.set_timing_cache"]
    assert (1, ()) in calls["Runtime"]  # trt.Runtime(logger)
    assert {"IBuilderConfig.DLA_core", "IBuilderConfig.builder_optimization_level"} <= props
    sig = signatures(
        "create_network(self: tensorrt.tensorrt.Builder, flags: int = 0) -> "
        "tensorrt.tensorrt.INetworkDefinition\n\nCreate a network.",
        "create_network",
    )
    assert sig == [(["flags"], 0)]
    two = signatures(
        "set_shape(*args, **kwargs)\nOverloaded function.\n\n"
        "1. set_shape(self: P, input: str, min: tensorrt.tensorrt.Dims, opt: Dims, "
        "max: Dims) -> None\n\n2. set_shape(self: P, f: Callable[[int, str], int] = "
        "<built-in>) -> None",
        "set_shape",
    )
    assert two == [(["input", "min", "opt", "max"], 4), (["f"], 0)]


def test_every_tensorrt_call_fits_a_signature(bindings):
    """Each call's positional count and keywords fit one overload the bindings declare,
    and each attribute we assign is a property with a setter. Still not behaviour: a
    right-sized call can pass a wrong value."""
    calls, props = scan_calls(sorted(ENGINE_SRC.glob("*.py")))
    problems, checked = [], 0
    for ver, (site, stubs) in bindings.items():
        r = _probe(site, stubs, [], calls, props)
        for path, uses in sorted(calls.items()):
            if r["docs"][path] is None:
                continue  # a version-guarded name absent here (the names test covers it)
            name, doc = r["docs"][path]
            sigs = signatures(doc, name)
            assert sigs, f"{ver}: no signature for {path} in {doc[:200]!r}"
            for npos, kws in uses:
                checked += 1
                fits = any(
                    npos <= len(names)
                    and set(kws) <= set(names[npos:])
                    and npos + len(kws) >= required
                    for names, required in sigs
                )
                if not fits:
                    problems.append(f"{ver}: {path}({npos} args, {list(kws)}) vs {sigs}")
        for path in sorted(props):
            if not r["settable"][path] and r["docs"].get(path) is None:
                has = _probe(site, stubs, [path])["has"][path]
                if has:  # present but read-only (absent: covered by the names test)
                    problems.append(f"{ver}: {path} is assigned but not a settable property")
    print(f"checked {checked} calls and {len(props)} properties")
    assert not problems, problems


def _build_engine_child(site, stubs, onnx, *args) -> subprocess.CompletedProcess:
    """`edgeaction build-engine` in a child where `import tensorrt` reaches the bindings."""
    return _child(site, stubs, "-m", "edgeaction.cli", "build-engine", str(onnx), *args)


def _child(site, stubs, *argv) -> subprocess.CompletedProcess:
    """`python ARGV` in a child where `import tensorrt` reaches the real bindings."""
    alias = site.parent / "alias"
    (alias / "tensorrt").mkdir(parents=True, exist_ok=True)
    (alias / "tensorrt" / "__init__.py").write_text(
        "from tensorrt_bindings import *  # noqa\nfrom tensorrt_bindings import __version__\n"
    )
    env = _env(site, stubs)
    env["PYTHONPATH"] = os.pathsep.join([str(alias), env["PYTHONPATH"]])
    return subprocess.run(
        [sys.executable, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_real_bindings_without_libraries_exit_2(bindings, tiny_onnx):
    """The real bindings with no libnvinfer: the import fails and build-engine says so."""
    for ver, (site, _) in bindings.items():
        p = _build_engine_child(site, None, tiny_onnx)
        assert p.returncode == 2, (ver, p.stderr)
        err = [x for x in p.stderr.splitlines() if ": error:" in x]
        assert len(err) == 1 and "Traceback" not in p.stderr, p.stderr
        assert "TensorRT's libraries are missing" in err[0] and "libnv" in err[0], err[0]
        assert "--backend onnxruntime" in err[0]


def test_real_bindings_without_gpu_exit_2(bindings, tiny_onnx):
    """Real bindings, stub libraries whose `createInferBuilder` returns NULL — what the
    real one does when CUDA cannot initialise (error 35) — so `trt.Builder` fails."""
    for ver, (site, stubs) in bindings.items():
        p = _build_engine_child(site, stubs, tiny_onnx, "--no-fp16")
        assert p.returncode == 2, (ver, p.stderr)
        err = [x for x in p.stderr.splitlines() if ": error:" in x]
        assert len(err) == 1 and "Traceback" not in p.stderr, p.stderr
        assert "found no usable NVIDIA GPU" in err[0] and "--backend onnxruntime" in err[0]
        assert not list(tiny_onnx.parent.glob("*.engine*"))


def _one_gpu_line(p: subprocess.CompletedProcess) -> str:
    assert p.returncode == 2, p.stderr
    err = [x for x in p.stderr.splitlines() if ": error:" in x]
    assert len(err) == 1 and "Traceback" not in p.stderr, p.stderr
    assert "found no usable NVIDIA GPU" in err[0] and "--backend onnxruntime" in err[0], err[0]
    return err[0]


def test_split_parts_reach_the_builder(bindings, tiny_split, tmp_path):
    """A split part goes through build_engine (part metadata, not contract.json) up to
    `trt.Builder`; and `run --backend tensorrt` on a split export opens a TrtRunner per
    part with the run's profile (encoder twice the windows) and stops there in one line,
    leaving no events file and nothing in the engine cache."""
    for ver, (site, stubs) in bindings.items():
        _one_gpu_line(_build_engine_child(site, stubs, tiny_split / "encoder.onnx"))
        probe = (
            "from edgeaction.engine.split import SplitRunner\n"
            f"s = SplitRunner({str(tiny_split)!r}, backend='tensorrt', build={{'batch': (1, 2, 4)}})\n"
            "e, h = s.encoder, s.head_runner\n"
            "print(type(e).__name__, e.part.part, e._build_options['batch'], e._build_options['fp16'])\n"
            "print(type(h).__name__, h.part.part, h._build_options['batch'])\n"
        )
        p = _child(site, stubs, "-c", probe)
        assert p.returncode == 0, p.stderr
        assert p.stdout.split("\n")[:2] == [
            "TrtRunner encoder (1, 2, 8) True",
            "TrtRunner head (1, 2, 4)",
        ], (ver, p.stdout)
        cache, events = tmp_path / f"cache{ver}", tmp_path / f"ev{ver}.jsonl"
        p = _child(
            site, stubs, "-m", "edgeaction.cli", "run", str(tiny_split), "--backend", "tensorrt",
            "--source", "test://ball?frames=20", "--events", str(events), "--cache-dir",
            str(cache), "-q",
        )  # fmt: skip
        line = _one_gpu_line(p)
        assert "TensorRT" in line and not events.exists(), (ver, p.stderr)
        assert not list(cache.glob("*.engine*")), list(cache.iterdir())
