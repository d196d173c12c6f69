"""Cost of the streaming runtime (`edgeaction run`): five ratios, each measured in one go.

    python benchmarks/run.py [--model DIR] [--keras MODEL.keras] [--file CLIP] [--json OUT]

MODEL defaults to the demo's export (demo-out/model, `edgeaction demo` exports it with
--split), the Keras model to demo-out/run/model.keras, the clip to one mid-size H.264
MP4 from ../shared/data/real_clips. Every figure is a ratio of two numbers taken on this
machine in this invocation; each `edgeaction run` and every baseline runs in a CHILD
process (so no import or warm-up of one skews another):

  P1  stride-1 streaming cost per frame / one encoder pass per frame        (<= 1.15)
      `run --stride 1 --feature-cache on --emit every`: (encode + head total ms) /
      encode total ms, from the run's latency_ms (totals = mean * count). The same run
      with --feature-cache off gives the whole-model cost per frame (the T x saving).
  P2  end-to-end file fps / min(decode-only fps, inference-bound fps)        (>= 0.85)
      `run` with default options, each run paired with a decode-only run right after it
      (median of the --repeats paired ratios); decode-only: VideoReader at the
      contract's size; inference-bound: the runner alone (SplitRunner encoder + head, or
      the whole model) on random inputs at the batch sizes the run used, as input fps.
  P3  `run` fps / naive OpenCV read + Keras predict per window, same file   (>= 5)
      The naive loop classifies the run's windows (every `subsample`-th frame, a window
      every `stride` kept frames; predict warmed up once before the clock); the same
      loop without sub-sampling (twice the predicts) is reported beside it.
  P5  8 test streams aggregate fps / 1 test stream fps (non-live, saturated) (>= 0.9)
  P6  `run` imports no TensorFlow; first frame <= 1.5 s from process start;
      peak RSS <= 600 MB.

Ratios compare like with like: both sides of P2 and P3 are timed from opening the video
(after model load) to the last frame. The machine (cores, CPU, load average) and the
versions go into the JSON with every raw number.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import run_child, run_cli  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "data" / "real_clips"
DEFAULT_CLIP = "kinetics_cleaning_pool.mp4"  # H.264 340x256, 300 frames, 1.3 MB
#: Patterns of the 8 test streams: ball x3, snow x3, smpte x2 cost about what ball
#: alone costs to generate (the 1-stream baseline), measured in `source_fps`.
PATTERNS = ("ball", "snow", "smpte", "ball", "snow", "smpte", "ball", "snow")
GOALS = {"P1": ("<=", 1.15), "P2": (">=", 0.85), "P3": (">=", 5.0), "P5": (">=", 0.9)}
HEAVY = ("tensorflow", "keras", "tf2onnx", "tf_keras", "torch", "jax")

# `edgeaction ARGS` in a child that records every import attempt of HEAVY (without
# blocking it, so behaviour is unchanged) and what ended up loaded.
RUN_WRAPPER = textwrap.dedent(
    """
    import json, sys
    HEAVY = tuple(sys.argv[1].split(","))
    tried = set()
    class Watch:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HEAVY:
                tried.add(name.split(".")[0])
            return None
    sys.meta_path.insert(0, Watch())
    from edgeaction.cli import main
    rc = main(sys.argv[2:])
    loaded = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in HEAVY})
    print("BENCH_IMPORTS " + json.dumps({"tried": sorted(tried), "loaded": loaded}))
    sys.exit(rc)
    """
)

DECODE_CHILD = textwrap.dedent(
    """
    import json, sys, time
    from edgeaction._lazy import gst
    from edgeaction.video import VideoReader
    path, w, h, colour, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    gst()  # as the runtime does before its clock starts
    out = []
    for _ in range(reps):
        n, t1, last = 0, None, None
        t = time.perf_counter()
        with VideoReader(path, w, h, colour) as r:
            for f in r:
                last = time.perf_counter()
                t1 = t1 or last
                n += 1
        out.append({"frames": n, "seconds": time.perf_counter() - t,
                    "stream_seconds": (last - t1) if n > 1 else None})
    print(json.dumps(out))
    """
)

INFER_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    from edgeaction.engine import open_runner
    from edgeaction.engine.split import SplitRunner
    from edgeaction.preprocess import normalize
    spec = json.loads(sys.argv[1])
    rng = np.random.default_rng(0)
    out = {"encode": {}, "head": {}, "whole": {}}

    def bench(fn):
        for _ in range(5):
            fn()
        ts, end = [], time.perf_counter() + spec["min_s"]
        while time.perf_counter() < end or len(ts) < 20:
            t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
        return {"median_ms": 1000 * float(np.median(ts)), "mean_ms": 1000 * float(np.mean(ts)),
                "calls": len(ts)}

    if spec["encode"] or spec["head"]:
        with SplitRunner(spec["model"]) as s:
            c = s.contract
            for b in spec["encode"]:
                x = rng.integers(0, 256, (b, c.height, c.width, 3), dtype=np.uint8)
                out["encode"][str(b)] = bench(lambda: s.encode(x))
            for b in spec["head"]:
                f = rng.standard_normal((b, c.frames, s.features)).astype(np.float32)
                out["head"][str(b)] = bench(lambda: s.head(f))
    if spec["whole"]:
        with open_runner(spec["model"]) as r:
            c = r.contract
            for b in spec["whole"]:
                x = rng.integers(0, 256, (b, c.frames, c.height, c.width, 3), dtype=np.uint8)
                out["whole"][str(b)] = bench(lambda: r.classify(normalize(x, c)))
    print(json.dumps(out))
    """
)

KERAS_CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from collections import deque
    t0 = time.perf_counter()
    import numpy as np
    import cv2
    import keras
    from edgeaction.train import models  # noqa: F401  (registers the custom layers)
    from edgeaction.contract import contract_from_onnx
    from edgeaction.preprocess import normalize
    keras_path, onnx_path, video = sys.argv[1], sys.argv[2], sys.argv[3]
    c = contract_from_onnx(onnx_path)
    m = keras.models.load_model(keras_path, compile=False)
    t_loaded = time.perf_counter()

    def feed(x):
        if len(m.inputs) > 1:  # frames + pose: zeros for the pose input
            return [x if len(t.shape) == 5 else np.zeros((len(x), *t.shape[1:]), np.float32)
                    for t in m.inputs]
        return x

    # One predict before the clock: traces the predict function (a one-off, like loading).
    m.predict(feed(normalize(np.zeros((c.frames, c.height, c.width, 3), np.uint8), c)), verbose=0)
    t_warm = time.perf_counter()

    def loop(subsample):
        t = time.perf_counter()
        cap = cv2.VideoCapture(video)
        buf = deque(maxlen=c.frames)
        n = kept = windows = 0
        predict_s = 0.0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            n += 1
            if (n - 1) % subsample:
                continue
            img = cv2.resize(frame, (c.width, c.height))
            if c.colour == "RGB":
                img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
            buf.append(img)
            kept += 1
            if kept >= c.frames and (kept - c.frames) % c.stride == 0:
                x = normalize(np.stack(buf), c)
                tp = time.perf_counter()
                m.predict(feed(x), verbose=0)
                predict_s += time.perf_counter() - tp
                windows += 1
        cap.release()
        seconds = time.perf_counter() - t
        return {"frames": n, "kept": kept, "windows": windows, "seconds": seconds,
                "fps": n / seconds, "predict_ms_per_window": 1000 * predict_s / max(windows, 1),
                "predict_share": predict_s / seconds}

    same = loop(c.subsample)  # the run's windows: every subsample-th frame, stride kept
    literal = loop(1)  # every frame kept, a window every `stride` frames
    print(json.dumps({
        **same, "no_subsample": literal, "import_and_load_s": t_loaded - t0,
        "warmup_predict_s": t_warm - t_loaded, "keras": keras.__version__,
        "opencv": cv2.__version__, "subsample": c.subsample, "stride": c.stride,
    }))
    """
)

SOURCE_CHILD = textwrap.dedent(
    """
    import json, sys, time
    from edgeaction._lazy import gst
    Gst, _ = gst()
    w, h, W, H, n = (int(v) for v in sys.argv[1:6])
    out = {}
    for pat in sys.argv[6].split(","):
        desc = (f"videotestsrc pattern={pat} is-live=false num-buffers={n} "
                f"! video/x-raw,width={W},height={H} ! videoconvert ! videoscale "
                f"! video/x-raw,width={w},height={h},format=RGB ! fakesink sync=false")
        p = Gst.parse_launch(desc)
        t = time.perf_counter()
        p.set_state(Gst.State.PLAYING)
        p.get_bus().timed_pop_filtered(Gst.CLOCK_TIME_NONE,
                                       Gst.MessageType.EOS | Gst.MessageType.ERROR)
        out[pat] = n / (time.perf_counter() - t)
        p.set_state(Gst.State.NULL)
    out["gstreamer"] = Gst.version_string()
    print(json.dumps(out))
    """
)


# ---- children ------------------------------------------------------------------------------
def _py(code: str, *args) -> dict:
    """Run `python -c CODE ARGS`; its last stdout line (JSON) and wall seconds."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    t = time.monotonic()
    p = subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    out, err = p.communicate()
    wall = time.monotonic() - t
    if p.returncode != 0:
        tail = "\n".join((out + err).strip().splitlines()[-15:])
        raise SystemExit(f"child failed ({p.returncode}):\n{tail}")
    return {"result": json.loads(out.strip().splitlines()[-1]), "wall_s": wall}


def _run_watched(*args) -> dict:
    """`edgeaction ARGS` under RUN_WRAPPER: imports seen, wall seconds, ru_maxrss (MiB)."""
    out, wall, usage = run_child(
        [sys.executable, "-c", RUN_WRAPPER, ",".join(HEAVY), *map(str, args)],
        f"edgeaction {' '.join(map(str, args))}",
    )
    line = next(ln for ln in out.splitlines() if ln.startswith("BENCH_IMPORTS "))
    return {
        "imports": json.loads(line.split(" ", 1)[1]),
        "wall_s": wall,
        "ru_maxrss_mb": usage.ru_maxrss / 1024,
    }


def _edgeaction_run(model, sources, td: Path, *opts, repeats: int = 1, key=None) -> dict:
    """`edgeaction run` `repeats` times; the metrics of the median run by `key` (default
    fps), with every run's fps in `_fps_all` and every key in `_key_all`."""
    key = key or (lambda m: m["fps"])
    runs = []
    for k in range(repeats):
        m_path = td / f"m{time.monotonic_ns()}-{k}.json"
        src = [a for s in sources for a in ("--source", s)]
        cli = run_cli(
            "run", model, *src, "--events", td / "ev.jsonl", "--metrics", m_path, "-q", *opts
        )
        m = json.loads(m_path.read_text())
        m["_wall_s"], m["_peak_rss_gb"] = cli["wall_s"], cli["peak_rss_gb"]
        runs.append(m)
    return _median_run(runs, key)


def _median_run(runs: list[dict], key=None) -> dict:
    key = key or (lambda m: m["fps"])
    ranked = sorted(runs, key=key)
    mid = ranked[len(ranked) // 2]
    mid["_fps_all"] = [m["fps"] for m in runs]
    mid["_key_all"] = [key(m) for m in runs]
    return mid


# ---- figures from metrics ------------------------------------------------------------------
def _total(m: dict, step: str) -> float:
    lat = m.get("latency_ms", {}).get(step)
    return 0.0 if not lat else lat["mean"] * lat["count"]


def _count(m: dict, step: str) -> int:
    lat = m.get("latency_ms", {}).get(step)
    return 0 if not lat else lat["count"]


def _p1_ratio(m: dict) -> float:
    """(encode + head total ms) / encode total ms of one run."""
    enc = _total(m, "encode")
    return (enc + _total(m, "head")) / enc if enc else math.inf


def _kept(m: dict) -> int:
    return sum(s["kept"] for s in m["streams"])


def _lat_brief(m: dict) -> dict:
    return {
        k: {x: v[x] for x in ("count", "mean", "p50", "p99", "max")}
        for k, v in m.get("latency_ms", {}).items()
    }


def _stream_fps(m: dict) -> float:
    """First-to-last-frame fps of a 1-stream run (no pipeline start-up)."""
    return m["streams"][0]["fps"]


def _verdict(name: str, value: float | None) -> bool | None:
    if value is None:
        return None
    op, goal = GOALS[name]
    return value <= goal if op == "<=" else value >= goal


def _machine() -> dict:
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem = round(kb / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_gb": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


def _versions(gst_version: str | None) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("edgeaction", "onnxruntime", "numpy", "opencv-python-headless", "keras"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    out["gstreamer"] = gst_version
    return out


# ---- the measurements ----------------------------------------------------------------------
def _phase(out: dict, name: str, what: str) -> None:
    """Say what runs now and note the 1-minute load average (other work on the machine)."""
    out["loadavg_1min"][name] = round(os.getloadavg()[0], 2)
    print(f"{name}  {what} (load {out['loadavg_1min'][name]}) ...", flush=True)


def measure(a, td: Path) -> dict:
    from edgeaction.contract import contract_from_onnx

    model = Path(a.model)
    onnx = model / "model.onnx" if model.is_dir() else model
    c = contract_from_onnx(onnx)
    f = str(a.file)
    out: dict = {"P": {}, "loadavg_1min": {}}

    # P6 first: the coldest start of the script (files cached, nothing else warm).
    _phase(out, "P6", "run under an import watch")
    w = _run_watched(
        "run", model, "--source", f, "--events", td / "p6.jsonl", "--metrics", td / "p6.json", "-q"
    )
    m6 = json.loads((td / "p6.json").read_text())
    out["P"]["P6"] = {
        "tensorflow_free": not w["imports"]["loaded"] and not w["imports"]["tried"],
        "imports_tried": w["imports"]["tried"],
        "imports_loaded": w["imports"]["loaded"],
        "first_frame_since_process_start_s": m6["first_frame_since_process_start_s"],
        "time_to_first_frame_s": m6["time_to_first_frame_s"],
        "setup_s": m6["setup_s"],
        "peak_rss_mb_child": round(w["ru_maxrss_mb"], 1),
        "peak_rss_mb_metrics": m6["peak_rss_mb"],
        "process_wall_s": round(w["wall_s"], 3),
    }

    _phase(out, "P1", "stride 1, feature cache on / off")
    on = _edgeaction_run(
        model, [f], td, "--stride", "1", "--feature-cache", "on", "--emit", "every",
        repeats=a.repeats, key=_p1_ratio,
    )  # fmt: skip
    off = _edgeaction_run(
        model, [f], td, "--stride", "1", "--feature-cache", "off", "--emit", "every",
        repeats=a.repeats,
    )  # fmt: skip

    _phase(out, "P2", "end-to-end (default options), decode-only")
    # Interleaved, so a change in the machine's load hits both sides alike.
    e2e_runs, dec = [], []
    for _ in range(a.repeats):
        e2e_runs.append(_edgeaction_run(model, [f], td))
        dec += _py(DECODE_CHILD, f, c.width, c.height, c.colour, 1)["result"]
    e2e = _median_run(e2e_runs)
    dec_fps = sorted(d["frames"] / d["seconds"] for d in dec)[len(dec) // 2]
    dec_stream_fps = sorted((d["frames"] - 1) / d["stream_seconds"] for d in dec)[len(dec) // 2]

    # Batch sizes the runs used, for the runner-alone figures.
    def enc_batch(m):
        return max(1, round(_kept(m) / max(_count(m, "encode"), 1)))

    spec = {"model": str(model), "min_s": a.min_s, "encode": [], "head": [], "whole": []}
    spec["encode"] = sorted({enc_batch(on)} | ({enc_batch(e2e)} if e2e["feature_cache"] else set()))
    spec["head"] = sorted(
        {max(1, round(on["mean_batch"]))}
        | ({max(1, round(e2e["mean_batch"]))} if e2e["feature_cache"] else set())
    )
    spec["whole"] = sorted(
        {max(1, round(off["mean_batch"]))}
        | (set() if e2e["feature_cache"] else {max(1, round(e2e["mean_batch"]))})
    )
    _phase(out, "P2b", f"runner alone on random inputs, batches {spec}")
    inf = _py(INFER_CHILD, json.dumps(spec))["result"]

    def per_call(part, b):
        return inf[part][str(b)]["median_ms"]

    # ---- P1
    enc_t, head_t, kept_on = _total(on, "encode"), _total(on, "head"), _kept(on)
    p1 = (enc_t + head_t) / enc_t if enc_t else None
    be, bh = enc_batch(on), max(1, round(on["mean_batch"]))
    enc_pf = per_call("encode", be) / be  # ms per kept frame, runner alone
    head_pw = per_call("head", bh) / bh  # ms per window
    p1_alone = (enc_pf + head_pw * on["windows"] / kept_on) / enc_pf
    bw = max(1, round(off["mean_batch"]))
    out["P"]["P1"] = {
        "value": p1,
        "value_all_runs": on["_key_all"],
        "ratio_runner_alone": p1_alone,
        "frames": on["frames"],
        "kept_frames": kept_on,
        "windows": on["windows"],
        "encode_total_ms": enc_t,
        "head_total_ms": head_t,
        "encode_ms_per_kept_frame": enc_t / kept_on,
        "streaming_ms_per_kept_frame": (enc_t + head_t) / kept_on,
        "encoder_batch": be,
        "head_batch": bh,
        "latency_ms": _lat_brief(on),
        "fps": on["fps"],
        "fps_all": on["_fps_all"],
        "whole_model": {
            "infer_total_ms": _total(off, "infer"),
            "infer_ms_per_kept_frame": _total(off, "infer") / _kept(off),
            "windows": off["windows"],
            "batch": bw,
            "latency_ms": _lat_brief(off),
            "fps": off["fps"],
            "fps_all": off["_fps_all"],
            "runner_alone_ms_per_window": per_call("whole", bw) / bw,
        },
        "saving_x": (_total(off, "infer") / _kept(off)) / ((enc_t + head_t) / kept_on),
        "saving_x_runner_alone": (per_call("whole", bw) / bw) / (enc_pf + head_pw),
    }

    # ---- P2
    frames, kept = e2e["frames"], _kept(e2e)
    if e2e["feature_cache"]:
        be2, bh2 = enc_batch(e2e), max(1, round(e2e["mean_batch"]))
        infer_s = (
            kept * per_call("encode", be2) / be2 + e2e["windows"] * per_call("head", bh2) / bh2
        ) / 1000
        how = f"encoder x{be2} per {kept} kept frames + head x{bh2} per {e2e['windows']} windows"
    else:
        bw2 = max(1, round(e2e["mean_batch"]))
        infer_s = e2e["windows"] * per_call("whole", bw2) / bw2 / 1000
        how = f"whole model x{bw2} per {e2e['windows']} windows (normalize included)"
    inf_fps = frames / infer_s
    bound = min(dec_fps, inf_fps)
    serial = 1 / (1 / dec_fps + 1 / inf_fps)
    paired = [
        m["fps"] / min(d["frames"] / d["seconds"], inf_fps)
        for m, d in zip(e2e_runs, dec, strict=True)
    ]
    out["P"]["P2"] = {
        "value": statistics.median(paired),
        "value_all_runs": paired,
        "ratio_of_medians": e2e["fps"] / bound,
        "fps": e2e["fps"],
        "fps_all": e2e["_fps_all"],
        "decode_only_fps": dec_fps,
        "inference_bound_fps": inf_fps,
        "min_fps": bound,
        "limited_by": "decode" if dec_fps <= inf_fps else "inference",
        "inference_bound_how": how,
        "serial_bound_fps": serial,
        "ratio_to_serial_bound": e2e["fps"] / serial,
        "stream_fps": _stream_fps(e2e),
        "decode_only_stream_fps": dec_stream_fps,
        "ratio_streaming": _stream_fps(e2e) / min(dec_stream_fps, inf_fps),
        "frames": frames,
        "kept_frames": kept,
        "windows": e2e["windows"],
        "feature_cache": e2e["feature_cache"],
        "mean_batch": e2e["mean_batch"],
        "seconds": e2e["seconds"],
        "setup_s": e2e["setup_s"],
        "time_to_first_frame_s": e2e["time_to_first_frame_s"],
        "latency_ms": _lat_brief(e2e),
        "stream_decode_ms": e2e["streams"][0].get("decode_ms"),
        "decode_only_runs": dec,
        "runner_alone": inf,
    }

    # ---- P3
    _phase(out, "P3", "naive OpenCV + Keras predict loop")
    nv = _py(KERAS_CHILD, a.keras, onnx, f)
    naive = nv["result"]
    out["P"]["P3"] = {
        "value": e2e["fps"] / naive["fps"],
        "fps": e2e["fps"],
        "naive_fps": naive["fps"],
        "value_no_subsample": e2e["fps"] / naive["no_subsample"]["fps"],
        "naive": naive,
        "naive_process_wall_s": nv["wall_s"],
        "edgeaction_process_wall_s": e2e["_wall_s"],
        "windows": e2e["windows"],
    }

    # ---- P5
    _phase(out, "P5", "1 vs 8 saturated test streams")
    W, H = a.test_size
    pats = list(PATTERNS)

    def test_src(pat, n):
        return f"test://{pat}?live=0&frames={n}&width={W}&height={H}"

    if a.stream_frames:
        n = a.stream_frames
        probe = None
    else:
        probe = _edgeaction_run(model, [test_src(pats[0], 2000)], td)
        n = int(math.ceil(_stream_fps(probe) * a.stream_seconds / 500.0) * 500)
    src_fps = _py(SOURCE_CHILD, c.width, c.height, W, H, 1500, ",".join(sorted(set(pats))))
    src_fps = src_fps["result"]
    one = _edgeaction_run(model, [test_src(pats[0], n)], td)
    eight = _edgeaction_run(model, [test_src(p, n) for p in pats], td)
    fps1 = one["frames"] / one["seconds"]
    fps8 = eight["frames"] / eight["seconds"]
    out["P"]["P5"] = {
        "value": fps8 / fps1,
        "frames_per_stream": n,
        "source": test_src("PATTERN", n),
        "patterns": pats,
        "one": {
            "frames": one["frames"],
            "seconds": one["seconds"],
            "fps": fps1,
            "mean_batch": one["mean_batch"],
            "latency_ms": _lat_brief(one),
            "peak_rss_mb": one["peak_rss_mb"],
        },
        "eight": {
            "frames": eight["frames"],
            "seconds": eight["seconds"],
            "fps": fps8,
            "mean_batch": eight["mean_batch"],
            "per_stream_fps": [s["fps"] for s in eight["streams"]],
            "per_stream_frames": [s["frames"] for s in eight["streams"]],
            "dropped": sum(s["dropped"] for s in eight["streams"]),
            "latency_ms": _lat_brief(eight),
            "peak_rss_mb": eight["peak_rss_mb"],
        },
        "probe_fps": None if probe is None else _stream_fps(probe),
        "source_only_fps": {k: v for k, v in src_fps.items() if k != "gstreamer"},
        "mix_source_ms_per_frame": statistics.mean(1000 / src_fps[p] for p in pats),
        "one_source_ms_per_frame": 1000 / src_fps[pats[0]],
    }
    out["gstreamer"] = src_fps["gstreamer"]
    return out


def _fmt(v, nd=2) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def _table(P: dict) -> list[dict]:
    p1, p2, p3, p5, p6 = (P[k] for k in ("P1", "P2", "P3", "P5", "P6"))
    rows = [
        (
            "P1 stride-1 cost / encoder pass",
            p1["value"],
            "P1",
            f"enc {p1['encode_total_ms']:.1f} + head {p1['head_total_ms']:.1f} ms over "
            f"{p1['kept_frames']} kept frames (runs {', '.join(f'{v:.2f}' for v in p1['value_all_runs'])}); "
            f"runner alone {p1['ratio_runner_alone']:.3f}; "
            f"cache off {p1['whole_model']['infer_ms_per_kept_frame']:.2f} vs on "
            f"{p1['streaming_ms_per_kept_frame']:.2f} ms/frame ({p1['saving_x']:.1f}x)",
        ),
        (
            "P2 e2e fps / min(decode, infer)",
            p2["value"],
            "P2",
            f"{p2['fps']:.0f} fps vs decode {p2['decode_only_fps']:.0f}, infer "
            f"{p2['inference_bound_fps']:.0f} ({p2['limited_by']}); runs "
            f"{', '.join(f'{v:.2f}' for v in p2['value_all_runs'])}; serial bound "
            f"{p2['serial_bound_fps']:.0f} -> {p2['ratio_to_serial_bound']:.2f}; "
            f"first->last frame {p2['ratio_streaming']:.2f}",
        ),
        (
            "P3 run fps / naive cv2+Keras",
            p3["value"],
            "P3",
            f"{p3['fps']:.0f} vs {p3['naive_fps']:.0f} fps (predict "
            f"{p3['naive']['predict_ms_per_window']:.1f} ms x {p3['naive']['windows']} windows, "
            f"same windows as run); no sub-sampling ({p3['naive']['no_subsample']['windows']} "
            f"windows): {p3['value_no_subsample']:.2f}x",
        ),
        (
            "P5 8-stream / 1-stream fps",
            p5["value"],
            "P5",
            f"{p5['eight']['fps']:.0f} vs {p5['one']['fps']:.0f} fps, {p5['frames_per_stream']} "
            f"frames/stream, {p5['eight']['seconds']:.1f} s vs {p5['one']['seconds']:.1f} s, "
            f"batch {p5['eight']['mean_batch']} vs {p5['one']['mean_batch']}",
        ),
    ]
    out = []
    for name, value, key, raw in rows:
        op, goal = GOALS[key]
        out.append(
            {
                "figure": name,
                "value": value,
                "goal": f"{op} {goal}",
                "pass": _verdict(key, value),
                "raw": raw,
            }
        )
    ff = p6["first_frame_since_process_start_s"]
    rss = max(p6["peak_rss_mb_child"], p6["peak_rss_mb_metrics"] or 0)
    out += [
        {
            "figure": "P6 no TensorFlow imported",
            "value": p6["tensorflow_free"],
            "goal": "true",
            "pass": p6["tensorflow_free"],
            "raw": f"tried {p6['imports_tried'] or 'none'}, loaded {p6['imports_loaded'] or 'none'}",
        },
        {
            "figure": "P6 first frame from process start",
            "value": ff,
            "goal": "<= 1.5 s",
            "pass": None if ff is None else ff <= 1.5,
            "raw": f"runtime start -> first frame {p6['time_to_first_frame_s']} s "
            f"(setup {p6['setup_s']} s)",
        },
        {
            "figure": "P6 peak RSS (MB)",
            "value": rss,
            "goal": "<= 600",
            "pass": rss <= 600,
            "raw": f"child ru_maxrss {p6['peak_rss_mb_child']:.0f} MB, metrics "
            f"{p6['peak_rss_mb_metrics']} MB",
        },
    ]
    return out


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default=str(ROOT / "demo-out" / "model"), help="export dir or .onnx")
    p.add_argument("--keras", default=str(ROOT / "demo-out" / "run" / "model.keras"))
    p.add_argument("--file", default=str(CLIPS / DEFAULT_CLIP), help="video file for P1-P3, P6")
    p.add_argument(
        "--repeats", type=int, default=5, help="file runs per figure (the median run counts)"
    )
    p.add_argument("--min-s", type=float, default=1.0, help="seconds per runner-alone batch size")
    p.add_argument(
        "--stream-seconds", type=float, default=10.0, help="P5: target length of the 1-stream run"
    )
    p.add_argument("--stream-frames", type=int, help="P5: frames per stream (default: calibrated)")
    p.add_argument("--test-size", type=int, nargs=2, default=(320, 240), metavar=("W", "H"))
    p.add_argument("--json", help="write the figures here")
    a = p.parse_args()
    for what, path in (("model", a.model), ("Keras model", a.keras), ("file", a.file)):
        if not Path(path).exists():
            hint = " (run `edgeaction demo` first)" if what != "file" else ""
            print(f"no {what} at {path}{hint}", file=sys.stderr)
            return 1
    machine = _machine()
    print(
        f"machine: {machine['usable_cores']} cores, {machine['cpu_model']}, "
        f"load {machine['loadavg_start']}; model {a.model}; file {Path(a.file).name}",
        flush=True,
    )
    if machine["loadavg_start"][0] > 0.5 * machine["usable_cores"]:
        print(
            f"warning: load average {machine['loadavg_start'][0]} on {machine['usable_cores']} "
            "cores: other work shares the CPU, the figures will be noisy",
            flush=True,
        )
    t = time.monotonic()
    with tempfile.TemporaryDirectory() as td:
        res = measure(a, Path(td))
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    rows = _table(res["P"])
    print()
    print(f"{'figure':<36} {'value':>8} {'goal':>9} {'':>4}  raw")
    for r in rows:
        v = r["value"]
        vs = str(v).lower() if isinstance(v, bool) else _fmt(v, 3)
        ok = "-" if r["pass"] is None else ("PASS" if r["pass"] else "FAIL")
        print(f"{r['figure']:<36} {vs:>8} {r['goal']:>9} {ok:>4}  {r['raw']}")
    total = time.monotonic() - t
    print(f"\n{total:.0f} s in all; load average {machine['loadavg_end']} at the end")
    if a.json:
        doc = {
            "machine": machine,
            "versions": _versions(res.get("gstreamer")),
            "model": str(a.model),
            "keras_model": str(a.keras),
            "file": str(a.file),
            "seconds": round(total, 1),
            "table": rows,
            "loadavg_1min_by_phase": res["loadavg_1min"],
            "figures": res["P"],
        }
        Path(a.json).write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
