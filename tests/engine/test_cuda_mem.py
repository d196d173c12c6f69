"""cuda_mem: the binding is chosen as documented, and the names it calls exist.

No GPU and no CUDA driver here, so nothing is allocated or copied for real. What is
tested, and against what:

- The choice of binding (`EDGEACTION_CUDA`, auto order, one-line failures) with the
  bindings made absent in `sys.modules`.
- Real cuda-python wheels (`cuda-bindings` 12.9 and 13.x with `cuda-pathfinder`, and
  `cuda-python` 12.2, the old `from cuda import cudart` layout), each installed into a
  throwaway directory and imported in a child process: every runtime attribute
  `cuda_mem.py` uses exists in the module it loads (names collected by an AST scan of
  `cuda_mem.py`, not a hand-kept list), and without a driver each allocation fails with
  one line, exit code 2. What this does not prove: that a copy or a stream works on a
  GPU (the `gpu`-marked TrtRunner tests do that).
- pycuda, which is source-only on PyPI and cannot be imported without `libcuda.so.1`:
  every `pycuda.driver` name and object method `cuda_mem.py` uses is defined in the
  sdist's sources (the boost.python wrapper `src/wrapper/*.cpp` and `pycuda/driver.py`).
  That proves the names exist in pycuda's source, not that they behave; a fake
  `pycuda.driver` (numpy memory, a per-thread context stack) checks our own
  bookkeeping: context push/pop, thread checks, byte views of exactly `nbytes`.

Wheels and the sdist are taken from `$EDGEACTION_CUDA_WHEELS`, `/tmp/cudawheels` or
`~/.cache/edgeaction/cudawheels`, else fetched there once with `pip download`; without
them (no network) those tests skip with a reason. They are never stored in the
repository.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import types
from pathlib import Path

import numpy as np
import pytest

from edgeaction.engine import cuda_mem
from edgeaction.errors import EdgeActionError
from tests.conftest import ROOT, attr_chain, find_or_download

CUDA_MEM = ROOT / "src" / "edgeaction" / "engine" / "cuda_mem.py"
PATHFINDER = ("cuda-pathfinder", "1.9.1", "cuda_pathfinder-1.9.1-*.whl")
# version -> (wheels: (package, pin, file pattern)..., runtime module cuda_mem must load)
CUDA_PYTHON = {
    "12.2": ([("cuda-python", "12.2.1", "cuda_python-12.2.1-cp311-*.whl")], "cuda.cudart"),
    "12.9": (
        [("cuda-bindings", "12.9.10", "cuda_bindings-12.9.10-cp311-*.whl"), PATHFINDER],
        "cuda.bindings.runtime",
    ),
    "13.5": (
        [("cuda-bindings", "13.5.0", "cuda_bindings-13.5.0-cp311-*.whl"), PATHFINDER],
        "cuda.bindings.runtime",
    ),
}
PYCUDA = ("pycuda", "2026.1", "pycuda-2026.1.tar.gz")
# variable names in `_PyCuda` (without `self.` / leading `_`) -> the pycuda class they hold
PYCUDA_OBJECTS = {
    "device": "Device",
    "ctx": "Context",
    "stream": "Stream",
    "event": "Event",
    "start": "Event",
    "end": "Event",
    "mem": "DeviceAllocation",
    "pinned": "PagelockedHostAllocation",
}


# ---- the scan -------------------------------------------------------------------------------
_chain = attr_chain


def scan_names(path: Path = CUDA_MEM) -> dict[str, set[str]]:
    """The binding names `cuda_mem.py` uses, found by an AST scan (a heuristic).

    Returns:
        Dict: `cudart`, paths under the runtime module (attribute chains rooted at a name
        `rt`, at most two deep: `cudaMemcpyKind.cudaMemcpyHostToDevice`); `pycuda`, paths
        under `pycuda.driver` (chains rooted at `cuda`, e.g. `Context.pop`) and
        `Class.method` for attributes used in class `_PyCuda` on variables named as in
        `PYCUDA_OBJECTS`.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    out: dict[str, set[str]] = {"cudart": set(), "pycuda": set()}
    in_pycuda = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.ClassDef) and n.name == "_PyCuda":
            in_pycuda = {id(x) for x in ast.walk(n)}
    for n in ast.walk(tree):
        parts = _chain(n) if isinstance(n, ast.Attribute) else None
        if not parts or len(parts) < 2:
            continue
        if parts[0] == "rt":
            out["cudart"].add(".".join(parts[1:3]))
        elif parts[0] == "cuda":
            out["pycuda"].add(".".join(parts[1:3]))
        elif parts[0] in PYCUDA_OBJECTS and id(n) in in_pycuda:
            out["pycuda"].add(f"{PYCUDA_OBJECTS[parts[0]]}.{parts[1]}")
    return out


def scan_cudart_calls(path: Path = CUDA_MEM) -> dict[str, set[int]]:
    """Runtime function → the argument counts `cuda_mem.py` calls it with.

    Direct calls (`rt.cudaGetErrorName(err)`) and calls through the error check
    (`self._call(self.rt.cudaMalloc, nbytes, what=...)`: the arguments after the function;
    `what` is the check's own keyword).
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    out: dict[str, set[int]] = {}
    for n in ast.walk(tree):
        if not isinstance(n, ast.Call) or any(isinstance(a, ast.Starred) for a in n.args):
            continue
        fn = _chain(n.func) if isinstance(n.func, ast.Attribute) else None
        if fn and fn[0] == "rt" and len(fn) == 2:
            out.setdefault(fn[1], set()).add(len(n.args))
        elif fn and fn[-1] == "call" and n.args:
            target = _chain(n.args[0]) if isinstance(n.args[0], ast.Attribute) else None
            if target and target[0] == "rt" and len(target) == 2:
                out.setdefault(target[1], set()).add(len(n.args) - 1)
    return out


def test_scan_finds_the_runtime_calls():
    calls = scan_cudart_calls()
    assert calls["cudaMemcpyAsync"] == {5} and calls["cudaMalloc"] == {1}
    assert calls["cudaStreamCreate"] == {0} and calls["cudaGetErrorName"] == {1}
    assert calls["cudaEventElapsedTime"] == {2}


def _with_prefixes(names: set[str]) -> set[str]:
    return names | {n.split(".")[0] for n in names}


def test_scan_finds_the_calls():
    names = scan_names()
    for n in (
        "cudaStreamCreate",
        "cudaMallocHost",
        "cudaMemcpyAsync",
        "cudaMemcpyKind.cudaMemcpyHostToDevice",
        "cudaError_t.cudaSuccess",
        "cudaGetErrorName",
    ):
        assert n in names["cudart"], sorted(names["cudart"])
    for n in (
        "init",
        "Device",
        "Device.retain_primary_context",
        "Context.push",
        "Context.pop",
        "Error",
        "mem_alloc",
        "DeviceAllocation.free",
        "pagelocked_empty",
        "PagelockedHostAllocation.free",
        "memcpy_htod_async",
        "memcpy_dtoh_async",
        "Stream.handle",
        "Event.record",
        "Event.time_since",
    ):
        assert n in names["pycuda"], sorted(names["pycuda"])


# ---- choosing the binding -------------------------------------------------------------------
class _NotInstalled:
    """A meta path finder for which `cuda` and `pycuda` are not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("cuda", "pycuda"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


@pytest.fixture
def no_bindings(monkeypatch):
    """Neither cuda-python nor pycuda importable; `cuda_mem` chooses afresh."""
    for m in list(sys.modules):
        if m.split(".")[0] in ("cuda", "pycuda"):
            monkeypatch.delitem(sys.modules, m)
    monkeypatch.setattr(sys, "meta_path", [_NotInstalled(), *sys.meta_path])
    monkeypatch.setattr(cuda_mem, "_api", None)
    monkeypatch.delenv(cuda_mem.ENV, raising=False)
    return monkeypatch


def _one_line_error(fn) -> EdgeActionError:
    with pytest.raises(EdgeActionError) as info:
        fn()
    assert len(str(info.value).splitlines()) == 1, str(info.value)
    return info.value


def test_without_a_binding_the_fix_names_both(no_bindings):
    e = _one_line_error(cuda_mem.Stream)
    assert e.exit_code == 2
    assert 'pip install "edgeaction[cuda]"' in str(e) and "pycuda" in str(e), e
    assert "major version" in str(e) and "CUDA toolkit" in str(e), e


@pytest.mark.parametrize("choice", ["pycuda", "cuda-python"])
def test_a_chosen_binding_that_is_missing_is_named(no_bindings, choice):
    no_bindings.setenv(cuda_mem.ENV, choice)
    e = _one_line_error(cuda_mem.backend_name)
    assert e.exit_code == 2
    assert f"{cuda_mem.ENV}={choice} but {choice} is not installed" in str(e), e
    other = "cuda-python" if choice == "pycuda" else "pycuda"
    assert other not in str(e).split("; or unset")[0], e


def test_a_bad_choice_is_echoed(no_bindings):
    no_bindings.setenv(cuda_mem.ENV, "cupy")
    e = _one_line_error(lambda: cuda_mem.DeviceBuffer(8))
    assert e.exit_code == 1 and "EDGEACTION_CUDA='cupy'" in str(e), e
    assert "cuda-python or pycuda" in str(e)


def test_pycuda_without_a_driver_is_exit_2(no_bindings):
    """pycuda built elsewhere, on a machine without `libcuda.so.1`: its import fails."""

    class NoDriver:
        def find_spec(self, name, path=None, target=None):
            if name == "pycuda.driver":
                raise ImportError("libcuda.so.1: cannot open shared object file")

    no_bindings.setitem(sys.modules, "pycuda", types.ModuleType("pycuda"))
    no_bindings.setattr(sys, "meta_path", [NoDriver(), *sys.meta_path])
    sys.modules["pycuda"].__path__ = []  # a package, whose `driver` cannot load
    e = _one_line_error(cuda_mem.Stream)
    assert e.exit_code == 2 and "pycuda cannot load the CUDA driver (libcuda.so.1" in str(e)
    assert "--backend onnxruntime" in str(e)


# ---- a fake pycuda.driver: our bookkeeping, not pycuda --------------------------------------
class _FakeDriver(types.ModuleType):
    """What cuda_mem relies on in `pycuda.driver`: numpy memory, a per-thread stack."""

    class Error(Exception):
        pass

    def __init__(self, init_error: str | None = None):
        super().__init__("pycuda.driver")
        self.init_error = init_error
        self.memory: dict[int, np.ndarray] = {}
        self.stacks: dict[int, list] = {}
        self.streams = 0
        self.clock = 0.0  # ms; each record() moves it on
        drv = self

        class Context:
            def push(self):
                drv.stacks.setdefault(threading.get_ident(), []).append(self)

            @staticmethod
            def pop():
                stack = drv.stacks.get(threading.get_ident())
                if not stack:
                    raise drv.Error("cuCtxPopCurrent failed: invalid device context")
                stack.pop()

        class Device:
            def __init__(self, ordinal):
                self.ordinal = ordinal

            def retain_primary_context(self):
                return drv.primary

        class Stream:
            def __init__(self):
                drv.need_context()
                drv.streams += 1
                self.handle = 1000 + drv.streams

            def synchronize(self):
                pass

        class Event:
            def record(self, stream):
                assert isinstance(stream, Stream)
                drv.clock += 1.5
                self.t = drv.clock

            def time_since(self, start):
                return self.t - start.t

        class DeviceAllocation:
            def __init__(self, n):
                self.ptr = 0x10000 * (len(drv.memory) + 1)
                drv.memory[self.ptr] = np.zeros(n, np.uint8)

            def __int__(self):
                return self.ptr

            def free(self):
                del drv.memory[self.ptr]

        class PagelockedHostAllocation:
            def __init__(self, shape, dtype):
                self.buf = np.zeros(shape, dtype)
                self.__array_interface__ = self.buf.__array_interface__
                self.freed = False

            def free(self):
                self.freed = True

        self.Context, self.Device, self.Stream, self.Event = Context, Device, Stream, Event
        self.DeviceAllocation = DeviceAllocation
        self.PagelockedHostAllocation = PagelockedHostAllocation
        self.primary = Context()

    def need_context(self):
        if not self.stacks.get(threading.get_ident()):
            raise self.Error("no currently active context")

    def init(self):
        if self.init_error:
            raise self.Error(self.init_error)

    def mem_alloc(self, n):
        self.need_context()
        return self.DeviceAllocation(n)

    def pagelocked_empty(self, shape, dtype):
        self.need_context()
        return np.asarray(self.PagelockedHostAllocation(shape, dtype))  # .base: the allocation

    def memcpy_htod_async(self, dest, src, stream):
        assert isinstance(dest, int) and isinstance(stream, self.Stream)
        self.memory[dest][: src.nbytes] = src  # pycuda copies the whole source buffer

    def memcpy_dtoh_async(self, dest, src, stream):
        assert isinstance(src, int) and isinstance(stream, self.Stream)
        dest[:] = self.memory[src][: dest.nbytes]


@pytest.fixture
def fake_pycuda(no_bindings):
    def use(init_error=None):
        drv = _FakeDriver(init_error)
        pkg = types.ModuleType("pycuda")
        pkg.driver = drv
        no_bindings.setitem(sys.modules, "pycuda", pkg)
        no_bindings.setitem(sys.modules, "pycuda.driver", drv)
        no_bindings.setattr(cuda_mem, "_version", lambda *d: "2026.1 (fake)")
        return drv

    return use


def test_fake_pycuda_round_trip_pushes_and_pops_the_context(fake_pycuda):
    drv = fake_pycuda()
    me = threading.get_ident()
    assert cuda_mem.backend_name() == "pycuda 2026.1 (fake)"
    s = cuda_mem.Stream()
    assert s.handle == 1001 and drv.stacks[me] == [drv.primary]
    e0, e1 = cuda_mem.Event(), cuda_mem.Event()
    host = cuda_mem.PinnedBuffer((2, 3), np.float32)
    dev = cuda_mem.DeviceBuffer(host.nbytes)
    assert dev.ptr in drv.memory and host.nbytes == 24
    x = host.view((1, 3))
    x[:] = [[1, 2, 3]]
    e0.record(s)
    cuda_mem.copy_htod(dev, host, x.nbytes, s)  # 12 of the 24 bytes
    e1.record(s)
    assert drv.memory[dev.ptr][12:].tolist() == [0] * 12
    host.view((2, 3))[:] = 0
    cuda_mem.copy_dtoh(host, dev, 24, s)
    s.synchronize()
    assert host.view((2, 3)).tolist() == [[1, 2, 3], [0, 0, 0]]
    assert e1.ms_since(e0) == 1.5  # end.time_since(start), not the other way round
    with pytest.raises(EdgeActionError, match="does not fit the device buffer"):
        cuda_mem.copy_htod(dev, host, 25, s)
    pinned = host._mem
    for obj in (host, dev, e0, e1):
        obj.free()
        assert drv.stacks[me] == [drv.primary]  # the stream still holds the context
    assert pinned.freed and not drv.memory
    s.free()
    s.free()  # twice is fine
    assert drv.stacks[me] == []  # popped with the last user


def test_fake_pycuda_other_thread_and_release(fake_pycuda):
    drv = fake_pycuda()
    s = cuda_mem.Stream()
    dev = cuda_mem.DeviceBuffer(8)
    errors = []

    def other():
        try:
            cuda_mem.Event()
        except EdgeActionError as e:
            errors.append(str(e))

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert len(errors) == 1 and "on one thread" in errors[0], errors
    del s  # never freed: release() at exit frees what is alive and pops the context
    cuda_mem.release()
    assert dev.ptr == 0 and not drv.memory and drv.stacks[threading.get_ident()] == []
    cuda_mem.Stream().free()  # a new user pushes it again
    assert drv.stacks[threading.get_ident()] == []


def test_fake_pycuda_without_a_device_is_one_line_exit_2(fake_pycuda):
    drv = fake_pycuda("cuInit failed: no CUDA-capable device is detected")
    e = _one_line_error(lambda: cuda_mem.PinnedBuffer((4,), np.uint8))
    assert e.exit_code == 2, e
    assert "cuInit failed: no CUDA-capable device is detected" in str(e)
    assert "--backend onnxruntime" in str(e) and not any(drv.stacks.values())


# ---- wheels and the sdist -------------------------------------------------------------------
def _find(pattern: str, spec: str, *pip_args: str) -> Path | None:
    """A file matching `pattern` (see `find_or_download`): `$EDGEACTION_CUDA_WHEELS`,
    `/tmp/cudawheels`, `~/.cache/edgeaction/cudawheels`, else `pip download`ed."""
    return find_or_download(pattern, spec, "EDGEACTION_CUDA_WHEELS", "cudawheels", *pip_args)


@pytest.fixture(scope="module")
def cuda_python_sites(tmp_path_factory):
    """{version: site dir} for each cuda-python release whose wheels can be had."""
    if sys.platform != "linux" or sys.version_info[:2] != (3, 11):
        pytest.skip("the pinned cuda-python wheels are cp311 Linux")
    root = tmp_path_factory.mktemp("cudapy")
    sites = {}
    for ver, (wheels, _) in CUDA_PYTHON.items():
        files = [
            _find(pattern, f"{pkg}=={pin}", "--only-binary=:all:", "--python-version", "3.11")
            for pkg, pin, pattern in wheels
        ]
        if None in files:
            continue
        site = root / ver
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site)]
            + [str(f) for f in files],
            check=True,
            capture_output=True,
            timeout=120,
        )
        sites[ver] = site
    if not sites:
        pytest.skip("no cuda-python wheels in the wheel directories, and pip download failed")
    return sites


# Run in the child: what cuda_mem loads, which names it has, what each allocation says.
_PROBE = """
import json, sys
from edgeaction.engine import cuda_mem
from edgeaction.errors import EdgeActionError
out = {"backend": cuda_mem.backend_name()}
rt = cuda_mem._backend().rt
out["module"] = rt.__name__
def has(path):
    obj = rt
    for part in path.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True
out["has"] = {n: has(n) for n in json.loads(sys.argv[1])}
import inspect
def params(name):
    try:
        ps = inspect.signature(getattr(rt, name)).parameters.values()
    except (AttributeError, TypeError, ValueError):
        return None
    return [len(ps), sum(p.default is inspect.Parameter.empty for p in ps)]
out["params"] = {n: params(n) for n in json.loads(sys.argv[2])}
out["device_info"] = cuda_mem.device_info()
makers = {
    "Stream": cuda_mem.Stream,
    "Event": cuda_mem.Event,
    "DeviceBuffer": lambda: cuda_mem.DeviceBuffer(64),
    "PinnedBuffer": lambda: cuda_mem.PinnedBuffer((2, 3), "float32"),
}
for what, make in makers.items():
    try:
        make()
        out[what] = None
    except EdgeActionError as e:
        out[what] = [e.exit_code, str(e)]
print(json.dumps(out))
"""


def _child(site: Path, code: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT / "src")])}
    env.pop(cuda_mem.ENV, None)
    return subprocess.run(
        [sys.executable, "-W", "ignore::FutureWarning", "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_real_cuda_python_names_and_no_driver(cuda_python_sites):
    """Every runtime name exists; without a driver each allocation is one line, exit 2."""
    names = sorted(_with_prefixes(scan_names()["cudart"]))
    report = {}
    for ver, site in cuda_python_sites.items():
        calls = scan_cudart_calls()
        p = _child(site, _PROBE, json.dumps(names), json.dumps(sorted(calls)))
        assert p.returncode == 0 and "Traceback" not in p.stderr, (ver, p.stderr[-2000:])
        r = json.loads(p.stdout.strip().splitlines()[-1])
        assert r["backend"] == f"cuda-python {ver}" or r["backend"].startswith(
            f"cuda-python {ver}."
        ), r["backend"]
        assert r["module"] == CUDA_PYTHON[ver][1], r["module"]
        missing = [n for n, ok in r["has"].items() if not ok]
        assert not missing, (ver, missing)
        for fn, counts in calls.items():  # each call's argument count fits the signature
            total, required = r["params"][fn] or (None, None)
            assert total is not None, (ver, fn, "no signature")
            assert all(required <= c <= total for c in counts), (ver, fn, counts, total)
        for what, call in (
            ("Stream", "cudaStreamCreate"),
            ("Event", "cudaEventCreate"),
            ("DeviceBuffer", "cudaMalloc"),
            ("PinnedBuffer", "cudaMallocHost"),
        ):
            code, line = r[what]
            assert code == 2 and "\n" not in line, (ver, what, line)
            assert line.startswith(f"CUDA {call} failed: "), (ver, line)
            assert line.endswith("run the ONNX model with --backend onnxruntime"), line
            if ver != "12.2":  # 12.2 raises RuntimeError: Failed to dlopen libcuda.so.1
                assert "cudaErrorInsufficientDriver (35)" in line, (ver, line)
        info = r["device_info"]  # what the engine sidecar records: never a failure
        assert info["name"] is None and info["compute_capability"] is None, info
        assert info["note"].startswith("CUDA cudaGetDevice failed: "), info
        report[ver] = r["Stream"][1]
    print(f"checked {len(names)} runtime names; cudaStreamCreate without a driver: {report}")


def test_broken_cuda_python_is_one_line(cuda_python_sites, tmp_path):
    """cuda-bindings installed without its dependency cuda-pathfinder (`--no-deps`)."""
    ver = next((v for v in ("13.5", "12.9") if v in cuda_python_sites), None)
    if ver is None:
        pytest.skip("needs the cuda-bindings wheels")
    site = tmp_path / "site"
    shutil.copytree(
        cuda_python_sites[ver],
        site,
        ignore=shutil.ignore_patterns("pathfinder", "cuda_pathfinder*"),
    )
    code = (
        "from edgeaction.engine import cuda_mem\n"
        "from edgeaction.errors import EdgeActionError\n"
        "try:\n"
        "    cuda_mem.Stream()\n"
        "except EdgeActionError as e:\n"
        "    print(e.exit_code, e)\n"
    )
    p = _child(site, code)
    out = p.stdout.strip().splitlines()
    assert p.returncode == 0 and len(out) == 1, p.stderr
    assert out[0].startswith("2 cuda-python is installed but cannot be imported (No module")
    assert "cuda.pathfinder" in out[0] and 'pip install "edgeaction[cuda]"' in out[0]


# ---- pycuda's sources -----------------------------------------------------------------------
_CLASS = re.compile(r'class_<(?:[^<>]|<[^<>]*>)*>\s*(?:\w+\s*)?\(\s*"(\w+)"')
_MODULE_DEF = re.compile(
    r'py::def\(\s*"(\w+)"|DEF_SIMPLE_FUNCTION(?:_WITH_ARGS)?\(\s*(\w+)'
    r'|DECLARE_EXC\(\s*(\w+)|py::scope\(\)\.attr\(\s*"(\w+)"'
)
_MEMBER_DEF = re.compile(
    r'\.def\(\s*"(\w+)"|DEF_SIMPLE_METHOD(?:_WITH_ARGS)?\(\s*(\w+)'
    r'|\.(?:add_property|staticmethod|def_readonly|def_readwrite)\(\s*"(\w+)"'
)
# where a class's chain of `.def(...)` ends
_CLASS_END = re.compile(r"class_<|py::def\(|DEF_SIMPLE_FUNCTION|// \}\}\}")


def pycuda_definitions(cpp: list[str], driver_py: str) -> dict[str, set[str]]:
    """{name: members} defined by pycuda's wrapper sources and `pycuda/driver.py`.

    Module-level names: boost.python `py::def("x"`, `DEF_SIMPLE_FUNCTION(x)`,
    `DECLARE_EXC(X`, `class_<...>("X"`; a class's members: `.def("x"`,
    `DEF_SIMPLE_METHOD(x)`, `.add_property("x"`, ... up to where its definition ends.
    From `driver.py`: top-level defs, classes and assignments, and `Class.x = ...`.
    """
    defs: dict[str, set[str]] = {}
    for text in cpp:
        for m in _MODULE_DEF.finditer(text):
            defs.setdefault(next(g for g in m.groups() if g), set())
        for m in _CLASS.finditer(text):
            end = _CLASS_END.search(text, m.end())
            body = text[m.end() : end.start() if end else len(text)]
            members = defs.setdefault(m.group(1), set())
            members.update(next(g for g in d.groups() if g) for d in _MEMBER_DEF.finditer(body))
    for node in ast.walk(ast.parse(driver_py)):
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.col_offset == 0:
            defs.setdefault(node.name, set())
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name) and node.col_offset == 0:
                    defs.setdefault(t.id, set())
                elif isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name):
                    defs.setdefault(t.value.id, set()).add(t.attr)
    return defs


@pytest.fixture(scope="module")
def pycuda_sources():
    """(wrapper .cpp texts, driver.py text) from the pycuda sdist."""
    name, pin, pattern = PYCUDA
    # pip reads an sdist's metadata even to download it: pycuda's setup.py, with the
    # setuptools here, else in an isolated build environment (it fetches setuptools, numpy)
    sdist = _find(pattern, f"{name}=={pin}", "--no-binary=:all:", "--no-build-isolation")
    sdist = sdist or _find(pattern, f"{name}=={pin}", "--no-binary=:all:")
    if sdist is None:
        pytest.skip(f"no {pattern} in the wheel directories, and pip download failed")
    top = f"pycuda-{pin}"
    with tarfile.open(sdist) as tar:
        cpp = [
            tar.extractfile(m).read().decode()
            for m in tar.getmembers()
            if m.name.startswith(f"{top}/src/wrapper/") and m.name.endswith(".cpp")
        ]
        driver = tar.extractfile(f"{top}/pycuda/driver.py").read().decode()
    assert any("BOOST_PYTHON_MODULE(_driver)" in t for t in cpp)
    return cpp, driver


def test_pycuda_definitions_are_parsed(pycuda_sources):
    defs = pycuda_definitions(*pycuda_sources)
    assert {"synchronize", "handle", "is_done"} <= defs["Stream"]
    assert {"push", "pop", "detach", "get_device"} <= defs["Context"]
    assert "synchronize" not in defs["DeviceAllocation"]  # members stay with their class
    assert "pagelocked_zeros" in defs and "LogicError" in defs


def test_every_pycuda_name_we_use_is_defined(pycuda_sources):
    """Names only: each exists in pycuda 2026.1's sources; nothing here runs pycuda."""
    defs = pycuda_definitions(*pycuda_sources)
    used = scan_names()["pycuda"]
    missing = []
    for n in sorted(_with_prefixes(used)):
        top, _, member = n.partition(".")
        if top not in defs or (member and member not in defs[top]):
            missing.append(n)
    print(f"checked {len(used)} pycuda names: {sorted(used)}")
    assert not missing, missing


# ---- on a real GPU (`-m cuda`; skipped without a GPU, driver and binding) -----------------
@pytest.mark.cuda
def test_round_trip_on_a_gpu():
    """Pinned host → device → pinned host on one stream, timed with events: the bytes come
    back, partial copies move only their bytes, and the events measure something."""
    cuda_mem._api = None  # choose the binding afresh (other tests here fake them)
    info = cuda_mem.device_info()
    assert info["name"] and re.fullmatch(r"\d+\.\d+", info["compute_capability"]), info
    shape = (4, 8, 64, 64, 3)
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    with cuda_mem.Stream() as s:
        assert s.handle != 0
        src, dst = (
            cuda_mem.PinnedBuffer(shape, np.float32),
            cuda_mem.PinnedBuffer(shape, np.float32),
        )
        dev = cuda_mem.DeviceBuffer(src.nbytes)
        events = [cuda_mem.Event() for _ in range(3)]
        try:
            np.copyto(src.view(shape), x)
            dst.view(shape)[...] = -1
            events[0].record(s)
            cuda_mem.copy_htod(dev, src, src.nbytes, s)
            events[1].record(s)
            cuda_mem.copy_dtoh(dst, dev, src.nbytes, s)
            events[2].record(s)
            s.synchronize()
            assert np.array_equal(dst.view(shape), x)
            h2d, d2h = events[1].ms_since(events[0]), events[2].ms_since(events[1])
            assert h2d > 0 and d2h > 0
            mb = src.nbytes / 2**20
            print(f"{cuda_mem.backend_name()} on {info['name']} (sm {info['compute_capability']}): "
                  f"{mb:.1f} MiB H2D {h2d:.3f} ms ({mb / 1024 / h2d * 1000:.1f} GiB/s), "
                  f"D2H {d2h:.3f} ms ({mb / 1024 / d2h * 1000:.1f} GiB/s)")  # fmt: skip
            # a smaller batch through views of the same buffers: only its bytes move
            small = (1, 8, 64, 64, 3)
            y = np.full(small, 7.0, np.float32)
            np.copyto(src.view(small), y)
            dst.view(shape)[...] = -1
            n = int(np.prod(small)) * 4
            cuda_mem.copy_htod(dev, src, n, s)
            cuda_mem.copy_dtoh(dst, dev, n, s)
            s.synchronize()
            assert np.array_equal(dst.view(small), y)
            assert (dst.view(shape).reshape(-1)[n // 4 :] == -1).all()
        finally:
            for b in (src, dst, dev, *events):
                b.free()
    with cuda_mem.Stream() as s2:
        tiny, host = cuda_mem.DeviceBuffer(16), cuda_mem.PinnedBuffer((64,), np.uint8)
        try:
            with pytest.raises(EdgeActionError, match="does not fit the device buffer"):
                cuda_mem.copy_htod(tiny, host, 64, s2)
        finally:
            tiny.free()
            host.free()
