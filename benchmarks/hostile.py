"""A hostile corpus: bad inputs across every command, each run as a child process.

```
python benchmarks/hostile.py                  # the whole corpus (about 200 cases)
python benchmarks/hostile.py --fast           # the CI subset (about 30 cases, < 60 s)
python benchmarks/hostile.py --json out.json -k run
```

Every case is one `edgeaction ...` command line built on a fixture of real files (a
synthetic data set, a tiny ONNX model, videos, broken models and data sets, FIFOs,
device copies, odd names). A case expected to fail ends **clean** when

- the exit status is not 0 and stderr holds exactly one `error:` line and no traceback;
- no input changed (every fixture file is hashed before and after; FIFOs, sockets and the
  device copies must still be what they were);
- nothing is half-written (the case's empty working directory stays empty, no
  `.partial` file anywhere).

A case expected to work (a valid but odd input: a file name that is not UTF-8, a
leading dash) must exit 0 with no traceback and leave the inputs alone. Anything else is
reported by kind: `timeout`, `traceback`, `exit-0`, `not-one-line`, `input-modified`,
`device-replaced`, `litter`, `leak` (a password echoed), `failed` (an odd but valid input
refused). Prints a table (per command) and writes `--json`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cr3tpw"


def child_env() -> dict[str, str]:
    """The children's environment: they import the `edgeaction` this process imports
    (an absolute `PYTHONPATH`: the children run in other directories)."""
    import edgeaction

    src = str(Path(edgeaction.__file__).resolve().parents[1])
    path = os.pathsep.join(x for x in (src, os.environ.get("PYTHONPATH", "")) if x)
    return {**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


@dataclass
class Case:
    """One command line of the corpus.

    Args:
        group: String. The command (`run`, `jetson service`, ...), for the table.
        name: String. What is hostile about it.
        argv: List of strings. The arguments after `edgeaction` (paths as `str`, names
            that are not UTF-8 surrogate-escaped).
        expect: String. `"fail"` (a clean one-line failure) or `"ok"` (exit 0).
        fast: Boolean. Part of the CI subset (`--fast`). Defaults to `False`.
        timeout: Float. Seconds before the child is killed. Defaults to `90`.
    """

    group: str
    name: str
    argv: list[str]
    expect: str = "fail"
    fast: bool = False
    timeout: float = 90.0


@dataclass
class Outcome:
    group: str
    name: str
    outcome: str
    rc: int | None
    seconds: float
    error: str = ""
    detail: list[str] = field(default_factory=list)


# ---- the fixture ----------------------------------------------------------------------------
def _tiny_onnx(path: Path, labels, frames=4, size=32, contract: str | None = None) -> Path:
    """A small real ONNX classifier (mean → MatMul → Softmax) carrying `contract` (JSON)
    or a valid contract of `labels`."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgeaction.contract import CONTRACT_KEY, ModelContract

    c = ModelContract(name="tiny", labels=tuple(labels), frames=frames, height=size, width=size)
    w = np.random.default_rng(0).normal(0, 1, (3, len(labels))).astype(np.float32)
    inp = helper.make_tensor_value_info(
        c.input_name, TensorProto.FLOAT, ["N", frames, size, size, 3]
    )
    out = helper.make_tensor_value_info(c.output_name, TensorProto.FLOAT, ["N", len(labels)])
    nodes = [
        helper.make_node("ReduceMean", [c.input_name], ["m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("MatMul", ["m", "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], [c.output_name], axis=-1),
    ]
    g = helper.make_graph(nodes, "tiny", [inp], [out], [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    m.metadata_props.add(key=CONTRACT_KEY, value=c.to_json() if contract is None else contract)
    onnx.save(m, str(path))
    return path


def _cli(*args, cwd=None) -> None:
    env = child_env()
    subprocess.run(
        [sys.executable, "-m", "edgeaction.cli", *map(str, args)],
        check=True,
        capture_output=True,
        env=env,
        cwd=cwd,
    )


def _odd(base: Path, raw: bytes) -> str:
    """`base/raw` as the surrogate-escaped `str` Python gives for a non-UTF-8 name."""
    return os.fsdecode(os.fsencode(base) + b"/" + raw)


class Fixture:
    """Every input file of the corpus, under `root/in` (hashed around each case)."""

    def __init__(self, root: Path):
        self.root = root
        self.inp = root / "in"
        self.inp.mkdir(parents=True)
        i = self.inp
        self.data = i / "data"
        _cli("synth", self.data, "--classes", 2, "--clips-per-class", 3, "--frames", 8,
             "--size", 32)  # fmt: skip
        self.labels = json.loads((self.data / "synth.json").read_text())["classes"]
        self.clip = i / "clip.mp4"
        shutil.copy(next((self.data / self.labels[0]).glob("*.mp4")), self.clip)
        self.model = _tiny_onnx(i / "tiny.onnx", self.labels)
        self._videos(i)
        self._models(i)
        self._datasets(i)
        self._specials(i)

    def _videos(self, i: Path) -> None:
        good = self.clip.read_bytes()
        self.truncated = _write(i / "truncated.mp4", good[: len(good) // 3])
        self.header_only = _write(i / "header.mp4", good[:64])
        self.zero = _write(i / "zero.mp4", b"")
        self.random = _write(i / "random.mp4", np.random.default_rng(1).bytes(20000))
        self.text_mp4 = _write(i / "notes.mp4", b"this is not a video\n" * 50)
        self.wrong_ext = _write(i / "clip.txt", good)
        self.flipped = _write(i / "flipped.mp4", bytes(b ^ 0x55 for b in good))
        # a raw-video header claiming 100000x100000 frames (40 GB a frame)
        self.huge = _write(
            i / "huge.y4m", b"YUV4MPEG2 W100000 H100000 F30:1 C420jpeg\nFRAME\n" + b"\0" * 4096
        )
        self.odd_names = {
            "non-utf8": _odd(i, b"clip-\xff.mp4"),
            "newline": str(i / "clip\nname.mp4"),
            "leading-dash": str(i / "-clip.mp4"),
            "spaces-quotes": str(i / "a \"b\" 'c'.mp4"),
        }
        for p in self.odd_names.values():
            with open(os.fsencode(p), "wb") as f:
                f.write(good)

    def _models(self, i: Path) -> None:
        raw = self.model.read_bytes()
        self.onnx_truncated = _write(i / "truncated.onnx", raw[: len(raw) // 2])
        self.onnx_empty = _write(i / "empty.onnx", b"")
        self.onnx_random = _write(i / "random.onnx", np.random.default_rng(2).bytes(3000))
        self.onnx_text = _write(i / "text.onnx", b"not a model\n")
        self.onnx_nocontract_keys = _tiny_onnx(i / "nokeys.onnx", self.labels,
                                               contract=json.dumps({"name": "x"}))  # fmt: skip
        self.onnx_bad_json = _tiny_onnx(i / "badjson.onnx", self.labels, contract="{not json")
        self.onnx_wrong_frames = _tiny_onnx(i / "wrongclasses.onnx", ["a", "b", "c", "d"])
        self.keras_garbage = i / "garbage.keras"
        with zipfile.ZipFile(self.keras_garbage, "w") as z:
            z.writestr("config.json", "{garbage")
            z.writestr("model.weights.h5", b"\0" * 100)
        self.keras_notzip = _write(i / "notzip.keras", b"PK\x03\x04 but no zip")
        self.engine_garbage = _write(i / "garbage.engine", np.random.default_rng(3).bytes(500))
        self.run_empty = i / "emptyrun"
        self.run_empty.mkdir()
        self.run_broken = i / "brokenrun"
        self.run_broken.mkdir()
        shutil.copy(self.keras_garbage, self.run_broken / "model.keras")

    def _datasets(self, i: Path) -> None:
        d = i / "ds"
        self.ds_empty = _mkdir(d / "empty")
        self.ds_empty_classes = _mkdir(d / "emptyclasses")
        _mkdir(self.ds_empty_classes / "a")
        _mkdir(self.ds_empty_classes / "b")
        self.ds_one_class = _mkdir(d / "oneclass")
        _mkdir(self.ds_one_class / "a")
        shutil.copy(self.clip, self.ds_one_class / "a" / "x.mp4")
        self.ds_bad_clips = _mkdir(d / "badclips")
        for lab in ("a", "b"):
            _mkdir(self.ds_bad_clips / lab)
            shutil.copy(self.zero, self.ds_bad_clips / lab / "z.mp4")
            shutil.copy(self.random, self.ds_bad_clips / lab / "r.mp4")
        rel = [p.relative_to(self.data).as_posix() for p in sorted(self.data.glob("*/*.mp4"))]

        def manifest(name: str, text: str) -> Path:  # labels a, b: the model's labels
            for lab, real in (("a", self.labels[0]), ("b", self.labels[1])):
                text = text.replace(f",{lab}\n", f",{real}\n").replace(f",{lab},", f",{real},")
            return _write(_mkdir(d / name) / "manifest.csv", text.encode())

        self.m_missing_cols = manifest(
            "m_nocols", "path,split\n" + "".join(f"{r},train\n" for r in rel)
        )
        # the same clip listed 4 times, under two labels
        self.m_dupes = manifest("m_dupes", "path,label\n" + "x.mp4,a\n" * 3 + "x.mp4,b\n")
        shutil.copy(self.clip, self.m_dupes.parent / "x.mp4")
        self.m_outside = manifest(
            "m_outside", "path,label\n/etc/passwd,a\n../../../../etc/hosts,b\n"
        )
        self.m_empty = manifest("m_empty", "")
        self.m_header_only = manifest("m_header", "path,label,split\n")
        self.m_bad_split = manifest(
            "m_badsplit", "path,label,split\nx.mp4,a,holdout\ny.mp4,b,train\n"
        )
        self.m_bad_time = manifest(
            "m_badtime", "path,label,start,end\nx.mp4,a,nan,1\ny.mp4,b,2,1\n"
        )
        self.m_binary = _write(
            _mkdir(d / "m_binary") / "manifest.csv", b"path,label\n\xff\xfe\0\0,\x80\n"
        )
        self.m_wide = manifest("m_wide", "path,label\n" + ",".join(["x"] * 50000) + "\n")
        self.m_nul = manifest("m_nul", "path,label\nclip\0.mp4,a\nb.mp4,b\n")
        self.frames_bad_index = _write(d / "frames.csv", b"f1;a;zero\nf2;b;one\n")
        self.csv_garbage = _write(d / "garbage.csv", np.random.default_rng(4).bytes(2000))
        # a manifest of special files: each listed clip is a FIFO or a device
        self.m_specials = manifest("m_specials", "path,label\nzero.mp4,a\nfifo.mp4,b\n")
        os.mkfifo(self.m_specials.parent / "fifo.mp4")
        try:  # a copy of /dev/zero inside the root
            os.mknod(self.m_specials.parent / "zero.mp4", stat.S_IFCHR | 0o666, os.makedev(1, 5))
        except OSError:
            os.symlink("/dev/zero", self.m_specials.parent / "zero.mp4")

    def _specials(self, i: Path) -> None:
        self.fifo = i / "fifo.mp4"
        os.mkfifo(self.fifo)  # no writer: opening it blocks
        self.sock = i / "sock.mp4"
        self._sock = socket.socket(socket.AF_UNIX)
        self._sock.bind(str(self.sock))
        self.device = i / "full"  # a copy of /dev/full: writes fail with ENOSPC
        try:
            os.mknod(self.device, stat.S_IFCHR | 0o666, os.makedev(1, 7))
        except OSError:
            self.device = None
        self.loop = i / "loop.mp4"
        os.symlink(self.loop, self.loop)
        self.dangling = i / "dangling.mp4"
        os.symlink(i / "nowhere.mp4", self.dangling)
        self.long_name = str(i / ("n" * 300 + ".mp4"))
        self.ro_dir = _mkdir(i / "readonly")
        os.chmod(self.ro_dir, 0o555)

    def kinds(self) -> dict[str, str]:
        """Each special file and what it must still be."""
        out = {str(self.fifo): "fifo", str(self.sock): "sock",
               str(self.m_specials.parent / "fifo.mp4"): "fifo"}  # fmt: skip
        if self.device is not None:
            out[str(self.device)] = "chr"
        return out

    def close(self) -> None:
        self._sock.close()
        os.chmod(self.ro_dir, 0o755)


def _write(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


# ---- checking one case ----------------------------------------------------------------------
def _snapshot(root: Path) -> dict[bytes, str]:
    """Path → content hash (or kind) of everything under `root`, symlinks not followed."""
    out = {}
    for top, dirs, files in os.walk(os.fsencode(root)):
        for name in dirs + files:
            p = os.path.join(top, name)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    out[p] = hashlib.sha1(f.read()).hexdigest()
            elif stat.S_ISDIR(st.st_mode):
                out[p] = "dir"
            else:
                out[p] = f"mode {stat.S_IFMT(st.st_mode):o}"
    return out


def _kind(p: str) -> str:
    try:
        m = os.lstat(p).st_mode
    except OSError:
        return "missing"
    return "fifo" if stat.S_ISFIFO(m) else "sock" if stat.S_ISSOCK(m) else (
        "chr" if stat.S_ISCHR(m) else "other")  # fmt: skip


def run_case(case: Case, fx: Fixture, work: Path) -> Outcome:
    """Run one case in `work` (its current directory, empty) and classify the outcome."""
    before = _snapshot(fx.inp)
    kinds = fx.kinds()
    env = child_env()
    t = time.monotonic()
    try:
        p = subprocess.run(
            [sys.executable, "-m", "edgeaction.cli", *case.argv],
            capture_output=True,
            timeout=case.timeout,
            env=env,
            cwd=work,
            stdin=subprocess.DEVNULL,
        )
        rc, err = p.returncode, p.stderr.decode("utf-8", "backslashreplace")
        out = p.stdout.decode("utf-8", "backslashreplace")
    except subprocess.TimeoutExpired:
        rc, err, out = None, "", ""
    secs = time.monotonic() - t
    found = _problems(case, rc, out, err)
    after = _snapshot(fx.inp)
    if after != before:
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        found.append(("input-modified", [os.fsdecode(c) for c in changed[:3]]))
    bad_kinds = [p for p, k in kinds.items() if _kind(p) != k]
    if bad_kinds:
        found.append(("device-replaced", bad_kinds))
    litter = [os.fsdecode(p) for p in _snapshot(work)] if case.expect == "fail" else []
    litter += [os.fsdecode(p) for p in after if p.endswith(b".partial") or b".partial." in p]
    if litter:
        found.append(("litter", litter[:3]))
    errs = [x for x in err.splitlines() if ": error:" in x]
    kind = found[0][0] if found else "clean"
    detail = [str(d) for _, ds in found for d in ds] or ([] if kind == "clean" else [err[-300:]])
    return Outcome(case.group, case.name, kind, rc, round(secs, 2), errs[0] if errs else "",
                   detail)  # fmt: skip


def _problems(case: Case, rc, out: str, err: str) -> list[tuple[str, list]]:
    if rc is None:
        return [("timeout", [f"killed after {case.timeout:.0f} s"])]
    found = []
    if "Traceback (most recent call last)" in err + out:
        found.append(("traceback", [err.strip().splitlines()[-1] if err.strip() else ""]))
    if SECRET in err + out:
        found.append(("leak", ["the password is echoed"]))
    if case.expect == "ok":
        if rc != 0:
            found.append(("failed", [err.strip()[-300:]]))
        return found
    if rc == 0:
        found.append(("exit-0", [out.strip()[-200:]]))
    elif sum(": error:" in x for x in err.splitlines()) != 1:
        found.append(("not-one-line", [err.strip()[-300:]]))
    return found


def _clean_work(work: Path) -> None:
    for top, dirs, _ in os.walk(work):
        for d in dirs:
            os.chmod(os.path.join(top, d), 0o755)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)


# ---- the table --------------------------------------------------------------------------------
def report(results: list[Outcome]) -> str:
    by = Counter()
    clean = Counter()
    for r in results:
        by[r.group] += 1
        clean[r.group] += r.outcome == "clean"
    lines = [f"{'command':<20} {'cases':>5} {'clean':>5}  problems"]
    for g in sorted(by):
        probs = Counter(r.outcome for r in results if r.group == g and r.outcome != "clean")
        shown = ", ".join(f"{k} {v}" for k, v in sorted(probs.items()))
        lines.append(f"{g:<20} {by[g]:>5} {clean[g]:>5}  {shown}")
    n, c = len(results), sum(clean.values())
    lines.append(f"{'all':<20} {n:>5} {c:>5}")
    for r in results:
        if r.outcome != "clean":
            lines.append(f"  {r.outcome:<15} {r.group}: {r.name}: {'; '.join(r.detail)[:300]!r}")
    return "\n".join(lines)


def main(argv=None) -> int:
    sys.modules.setdefault("hostile", sys.modules[__name__])  # the cases import it
    from hostile_cases import build_cases, make_utf8_dataset

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fast", action="store_true", help="only the CI subset (about 30 cases)")
    ap.add_argument("-k", default="", help="only cases whose command or name holds this text")
    ap.add_argument("--json", help="write the outcomes here (JSON)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="edgeaction-hostile-") as tmp:
        fx = Fixture(Path(tmp))
        try:
            make_utf8_dataset(fx)
            cases = [c for c in build_cases(fx) if (c.fast or not a.fast)]
            cases = [c for c in cases if a.k in f"{c.group} {c.name}"]
            results = []
            t0 = time.monotonic()
            for k, case in enumerate(cases):
                work = Path(tmp) / "work"
                _clean_work(work)
                r = run_case(case, fx, work)
                results.append(r)
                print(f"[{k + 1}/{len(cases)}] {r.outcome:<14} {r.seconds:6.1f}s  "
                      f"{case.group}: {case.name}", file=sys.stderr, flush=True)  # fmt: skip
        finally:
            fx.close()
    print(report(results))
    print(f"{len(results)} cases in {time.monotonic() - t0:.0f} s")
    if a.json:
        Path(a.json).write_text(json.dumps([asdict(r) for r in results], indent=1))
    return 0 if all(r.outcome == "clean" for r in results) else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
