"""Cost of zones (`run --roi`): 8 streams x 2 zones vs 8 streams x 1 zone, and how to crop.

    python benchmarks/zones.py [--model DIR] [--frames N] [--repeats R] [--json OUT]
        [--live-seconds S] [--live-sizes 640x480,320x240] [--live-streams 8] [--no-saturated]
        [--real NAME=CLIP[,CLIP...]] [--real-seconds S] [--no-real]

MODEL defaults to the demo's export (demo-out/model; `edgeaction demo` makes it), as in
`benchmarks/run.py`. Every `edgeaction run` runs in a CHILD process, the runs of the
three layouts interleaved `--repeats` times (the median run of each counts):

  Z1  aggregate fps of 8 test streams x 2 zones / 8 streams x 1 zone          (>= 0.9)
      (also from the children's CPU seconds per frame, which other load on a shared
      machine disturbs far less than wall-clock fps)
      8 non-live `test://` streams (the patterns of benchmarks/run.py's P5, 320x240),
      one zone each (`--roi i:a=0,0,200,200`) against two (`a` and `b=120,40,200,200`);
      fps counts source frames, so two zones do twice the windows in the same frames.
      The same 8 streams without --roi (the whole-frame path) are reported beside it.

  R   the same ratio on real footage decoded as fast as the CPU goes: 8 streams cycling
      through a set of real H.264 clips from ../shared/data/real_clips, looped
      (`file://...?loop=1`), `--real-seconds` each (`run --duration`), one zone vs two
      (the same --roi): aggregate fps, and CPU per frame in steady state. The second zone
      costs about the same CPU per frame whatever the source, so the ratio says how much
      a frame costs apart from the model: 720p and 1080p (what a site's cameras send),
      and 340x256 Kinetics clips (cheap to decode, like Z1's patterns).

  L   the same question at camera rate: 8 LIVE `test://` sources (`live=1`, 30 fps; the
      site's cameras deliver frames at their own rate) for `--live-seconds` (`run
      --duration`), one zone vs two (the same --roi), per `--live-sizes` (640x480 first):
      aggregate fps (frames reaching the classifier per second, `--metrics`), dropped
      frames per stream, and the CPU the child used (CPU seconds per wall second, sampled
      from /proc between 2 s after the first frame and 1 s before the end: no start-up),
      with the ratios two / one. Headroom: how many 30 fps cameras x 2 zones the machine
      could carry, from Z1's CPU per frame (start-up excluded), from Z1's throughput (one
      main thread classifies every stream), and from each live run's CPU.

  D   how a stream delivers its zones, decode thread only (`--decode`, in a child):
      frames/s of one 1280x720 test source pulled through (a) a GStreamer `tee` with a
      `videocrop ! videoscale ! videoconvert ! appsink` branch per zone, and (b) one RGB
      frame 640 wide (the display branch) cropped and scaled per zone with OpenCV (what
      the runtime does), beside (c) the whole frame at the model's size (no zones).

The machine's cores and load average go into the JSON with every raw number.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import run_child, run_child_sampled  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = ("ball", "snow", "smpte", "ball", "snow", "smpte", "ball", "snow")
ZONE_A, ZONE_B = "a=0,0,200,200", "b=120,40,200,200"
GOAL = 0.9
LIVE_FPS = 30
MODEL_STEPS = ("infer", "encode", "head")
CLIPS = ROOT.parent / "shared" / "data" / "real_clips"
#: R's sets of real footage: the streams cycle through a set's clips (H.264, looped).
REAL_SETS = (
    "720p=gesture_thumbs_up_720p.mp4",
    "1080p=two_people_1080p.mp4",
    "340x256=kinetics_arm_wrestling.mp4,kinetics_cleaning_pool.mp4,kinetics_clean_and_jerk.mp4,"
    "kinetics_skateboarding.mp4,kinetics_ta_chi.mp4",
)

DECODE_CHILD = r"""
import json, sys, time
import numpy as np
from edgeaction._lazy import gst
from edgeaction.options import roi
from edgeaction.pipelines.zones import ZoneCrops
from edgeaction.video.reader import sample_array
Gst, _ = gst()
W, H, N, mw, mh = map(int, sys.argv[1:6])
zones = [roi("0:" + z) for z in sys.argv[6].split(";")]
src = f"videotestsrc pattern=ball num-buffers={N} ! video/x-raw,width={W},height={H},framerate=30/1 ! videoconvert name=conv0 ! tee name=t "
rgb = "videoconvert ! video/x-raw,format=RGB"
sink = "appsink max-buffers=8 drop=false sync=false name="
def branch(name, crop, w, h=None):
    size = f"width={w}," + (f"height={h}," if h else "")
    return f"t. ! queue max-size-buffers=8 ! {crop}videoscale ! video/x-raw,{size}pixel-aspect-ratio=1/1 ! {rgb} ! {sink}{name} "
def crop(z):
    return f"videocrop left={z.x} top={z.y} right={W - z.x - z.w} bottom={H - z.y - z.h} ! "
layouts = {
    "gst_crop_per_zone": src + "".join(branch(f"z{k}", crop(z), mw, mh) for k, z in enumerate(zones)),
    "numpy_from_640": src + branch("d", "", 640),
    "whole_frame_no_zones": src + branch("m", "", mw, mh),
    "display_640_only": src + branch("d", "", 640),
    "gst_crop_plus_display_640": src + branch("d", "", 640) + "".join(branch(f"z{k}", crop(z), mw, mh) for k, z in enumerate(zones)),
}
only = sys.argv[7].split(",") if len(sys.argv) > 7 else None
layouts = {k: v for k, v in layouts.items() if only is None or k in only}
out = {}
for name, desc in layouts.items():
    p = Gst.parse_launch(desc)
    sinks = [e for e in p.iterate_sinks()]
    sinks.sort(key=lambda e: e.get_name())
    crops = ZoneCrops(zones, mw, mh) if name.startswith("numpy") else None
    sinks = sinks if crops is None else sinks[:1]
    p.set_state(Gst.State.PLAYING)
    n, t0 = 0, None
    while True:
        samples = [s.emit("pull-sample") for s in sinks]
        if any(s is None for s in samples):
            break
        arrays = [sample_array(s) for s in samples]
        if crops is not None:
            if crops.boxes is None:
                crops.fit(W, H, arrays[0].shape[1], arrays[0].shape[0], "bench")
            arrays = crops(arrays[0])
        n += 1
        if n == 20:
            t0 = time.process_time()  # CPU of every thread: robust on a shared machine
    cpu = time.process_time() - t0
    p.set_state(Gst.State.NULL)
    out[name] = round(1000 * cpu / (n - 20), 2)
print("BENCH " + json.dumps(out))
"""


def _argv(model, td: Path, sources: list[str], zones: int, extra: list[str]) -> tuple:
    """The `edgeaction run` command of `sources` with `zones` zones each, and its metrics path."""
    args = [a for s in sources for a in ("--source", s)]
    for i in range(len(sources)):
        args += [x for z in (ZONE_A, ZONE_B)[:zones] for x in ("--roi", f"{i}:{z}")]
    m_path = td / f"m{time.monotonic_ns()}.json"
    argv = [sys.executable, "-m", "edgeaction.cli", "run", str(model), *args, *extra]
    argv += ["--events", str(td / "ev.jsonl"), "--metrics", str(m_path), "-q"]
    return argv, m_path


def _cpu_at(samples: list[tuple[float, float]], t: float) -> float:
    """The child's CPU seconds at `t` seconds after its start, between two samples."""
    before = [s for s in samples if s[0] <= t] or samples[:1]
    after = [s for s in samples if s[0] >= t] or samples[-1:]
    (t0, c0), (t1, c1) = before[-1], after[0]
    return c0 if t1 <= t0 else c0 + (c1 - c0) * (t - t0) / (t1 - t0)


def _run(model, td: Path, zones: int, frames: int) -> dict:
    src = [f"test://{p}?live=0&frames={frames}&width=320&height=240" for p in PATTERNS]
    argv, m_path = _argv(model, td, src, zones, [])
    _, _, usage, samples = run_child_sampled(argv, f"edgeaction run ({zones} zones)")
    m = json.loads(m_path.read_text())
    m["_cpu_s"] = usage.ru_utime + usage.ru_stime  # the child's CPU, all threads
    # ... less its start-up (imports, model, pipelines): the CPU at its first frame
    start = _cpu_at(samples, m["first_frame_since_process_start_s"]) if samples else 0.0
    m["_cpu_run_s"] = m["_cpu_s"] - start
    return m


def _brief(runs: list[dict]) -> dict:
    ranked = sorted(runs, key=lambda m: m["fps"])
    m = ranked[len(ranked) // 2]
    return {
        "fps": m["fps"],
        "fps_all": [r["fps"] for r in runs],
        "frames": m["frames"],
        "windows": m["windows"],
        "seconds": m["seconds"],
        "mean_batch": m["mean_batch"],
        "mean_batch_zones": m.get("mean_batch_zones"),
        "feature_cache": m["feature_cache"],
        "dropped": sum(s["dropped"] for s in m["streams"]),
        "cpu_ms_per_frame": round(1000 * m["_cpu_s"] / m["frames"], 3),
        "cpu_ms_per_frame_all": [round(1000 * r["_cpu_s"] / r["frames"], 3) for r in runs],
        # without the start-up: what one more frame costs while running
        "run_cpu_ms_per_frame_all": [round(1000 * r["_cpu_run_s"] / r["frames"], 3) for r in runs],
        # cores used from the first frame on (2 would be both cores of a 2-core machine)
        "cpu_cores_all": [round(r["_cpu_run_s"] / r["seconds"], 2) for r in runs],
        "step_total_s": {
            k: round(v["mean"] * v["count"] / 1000, 3) for k, v in m.get("latency_ms", {}).items()
        },
    }


def _run_live(model, td: Path, zones: int, size: tuple, seconds: float, streams: int) -> dict:
    """One camera-rate run: `streams` live test sources of `size` at LIVE_FPS for
    `seconds` (`run --duration`), with `zones` zones each; CPU sampled while it runs."""
    w, h = size
    pats = [PATTERNS[i % len(PATTERNS)] for i in range(streams)]
    src = [f"test://{p}?live=1&width={w}&height={h}&fps={LIVE_FPS}" for p in pats]
    return _run_timed(model, td, zones, src, seconds, f"edgeaction run live ({zones} zones)")


def _run_timed(model, td: Path, zones: int, sources: list, seconds: float, what: str) -> dict:
    """One `run --duration seconds` of `sources` with `zones` zones each; the child's CPU
    sampled while it runs, `_cores` its steady-state CPU seconds per wall second."""
    argv, m_path = _argv(model, td, sources, zones, ["--duration", f"{seconds:g}"])
    _, wall, usage, samples = run_child_sampled(argv, what)
    m = json.loads(m_path.read_text())
    m["_cpu_s"], m["_wall_s"] = usage.ru_utime + usage.ru_stime, wall
    # Steady state: from 2 s after the first frame to 1 s before the duration ends (the
    # streams started `time_to_first_frame_s - setup_s` before the first frame).
    first = m["first_frame_since_process_start_s"]
    t_end = first - (m["time_to_first_frame_s"] - m["setup_s"]) + seconds - 1.0
    steady = [s for s in samples if first + 2.0 <= s[0] <= t_end]
    if len(steady) < 2:
        raise SystemExit(f"{seconds:g} s runs are too short to measure the CPU")
    (t0, c0), (t1, c1) = steady[0], steady[-1]
    m["_cores"] = (c1 - c0) / (t1 - t0)
    return m


def _brief_live(runs: list[dict]) -> dict:
    """The median run's figures (by fps; CPU: the median of every run's)."""
    m = sorted(runs, key=lambda r: r["fps"])[len(runs) // 2]
    cores = statistics.median(r["_cores"] for r in runs)
    steps = m.get("latency_ms", {})
    lat = steps.get("window", {})
    return {
        "fps": m["fps"],  # frames reaching the classifier per second, all streams
        "fps_all": [r["fps"] for r in runs],
        "seconds": m["seconds"],
        # counted in `fps`: the streams' start (more branches with two zones) lowers it
        "time_to_first_frame_s_all": [r["time_to_first_frame_s"] for r in runs],
        "frames": m["frames"],
        "decoded": sum(s["decoded"] for s in m["streams"]),
        "windows": m["windows"],
        "windows_per_s": round(m["windows"] / m["seconds"], 1),
        "camera_fps": [s["fps"] for s in m["streams"]],
        "dropped_per_stream": [s["dropped"] for s in m["streams"]],
        "dropped_max_any_run": max(s["dropped"] for r in runs for s in r["streams"]),
        "dropped_all": [sum(s["dropped"] for s in r["streams"]) for r in runs],  # per run
        "decoded_all": [sum(s["decoded"] for s in r["streams"]) for r in runs],
        "cpu_cores": round(cores, 3),  # CPU seconds per wall second, steady state
        "cpu_cores_all": [round(r["_cores"], 3) for r in runs],
        "cpu_share": round(cores / (os.cpu_count() or 1), 3),
        "cpu_cores_whole_run": round(
            statistics.median(r["_cpu_s"] / r["_wall_s"] for r in runs), 3
        ),
        # the same in steady state: the cameras' own rates summed (start-up and end left out)
        "fps_streams_sum": round(sum(s["fps"] for s in m["streams"]), 2),
        "cpu_ms_per_frame": round(1000 * cores / m["fps"], 3),
        # main-thread time in the model (encoder + head, or the whole model) per frame
        "model_ms_per_frame": round(
            sum(v["mean"] * v["count"] for k, v in steps.items() if k in MODEL_STEPS) / m["frames"],
            3,
        ),
        "window_latency_ms": {k: lat.get(k) for k in ("p50", "p99")},
        "mean_batch": m["mean_batch"],
        "mean_batch_zones": m.get("mean_batch_zones"),
        "stopped_by": m.get("stopped_by"),
    }


def decode(model_w: int, model_h: int, frames: int) -> dict:
    zones = ";".join(("a=0,0,640,480", "b=500,200,640,480"))
    argv = [sys.executable, "-c", DECODE_CHILD, "1280", "720", str(frames)]
    out, _, _ = run_child(argv + [str(model_w), str(model_h), zones], "decode benchmark")
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    return json.loads(line.split(" ", 1)[1])


def saturated(model: str, repeats: int, frames: int) -> dict:
    """Z1: the three layouts decoded as fast as the CPU goes, interleaved `repeats` times."""
    runs: dict[str, list] = {"whole": [], "one": [], "two": []}
    with tempfile.TemporaryDirectory() as td:
        for _ in range(repeats):
            for key, zones in (("whole", 0), ("one", 1), ("two", 2)):
                runs[key].append(_run(model, Path(td), zones, frames))
    figures = {k: _brief(v) for k, v in runs.items()}
    ratio = figures["two"]["fps"] / figures["one"]["fps"]
    out: dict = {"Z1": {"value": ratio, "goal": f">= {GOAL}", **figures}}
    out["Z1_vs_whole_frame"] = figures["two"]["fps"] / figures["whole"]["fps"]
    out["Z1_zone_frames"] = 2 * ratio  # counting each zone's frames instead of the sources'
    cpu = {k: statistics.median(v["cpu_ms_per_frame_all"]) for k, v in figures.items()}
    out["Z1_cpu"] = cpu["one"] / cpu["two"]  # the same ratio from CPU per frame (load-proof)
    # What the second zone costs per source frame, and how much of it is the model's work
    # (encoder + head, or the whole model: main-thread step time of the median runs).
    model_s = {
        k: sum(v["step_total_s"].get(s, 0.0) for s in MODEL_STEPS) for k, v in figures.items()
    }
    n = figures["two"]["frames"]
    out["second_zone_ms_per_frame"] = {
        "cpu": round(cpu["two"] - cpu["one"], 3),
        "model": round(1000 * (model_s["two"] - model_s["one"]) / n, 3),
    }
    out["_cpu_ms"] = cpu
    return out


def _one_vs_two(keys: list, run, repeats: int) -> dict:
    """{key: (one, two)}: `run(td, key, zones)` with one zone and with two, for every key,
    interleaved `repeats` times; each side's runs briefed by `_brief_live`."""
    runs: dict = {k: {1: [], 2: []} for k in keys}
    with tempfile.TemporaryDirectory() as td:
        for _ in range(repeats):
            for k in keys:
                for zones in (1, 2):
                    runs[k][zones].append(run(Path(td), k, zones))
    return {k: (_brief_live(by[1]), _brief_live(by[2])) for k, by in runs.items()}


def live(model: str, repeats: int, sizes: list[tuple], seconds: float, streams: int) -> dict:
    """L: `streams` live cameras at LIVE_FPS, one zone vs two, per size, interleaved."""

    def run(td: Path, size: tuple, zones: int) -> dict:
        return _run_live(model, td, zones, size, seconds, streams)

    out = {}
    for (w, h), (one, two) in _one_vs_two(sizes, run, repeats).items():
        out[f"{w}x{h}"] = {
            "streams": streams,
            "fps_ratio": round(two["fps"] / one["fps"], 3),  # the operator's question
            "fps_streams_sum_ratio": round(two["fps_streams_sum"] / one["fps_streams_sum"], 3),
            "cpu_ratio": round(two["cpu_cores"] / one["cpu_cores"], 3),
            "second_zone_cores": round(two["cpu_cores"] - one["cpu_cores"], 3),
            "one": one,
            "two": two,
        }
    return out


def real(model: str, repeats: int, sets: dict, seconds: float, streams: int) -> dict:
    """R: `streams` looped real H.264 files per set (`file://...?loop=1`), decoded as fast
    as the CPU goes for `seconds`, one zone vs two, interleaved `repeats` times."""

    def run(td: Path, name: str, zones: int) -> dict:
        clips = sets[name]
        src = [f"file://{clips[i % len(clips)]}?loop=1" for i in range(streams)]
        what = f"edgeaction run real {name} ({zones} zones)"
        return _run_timed(model, td, zones, src, seconds, what)

    out = {}
    for name, (one, two) in _one_vs_two(list(sets), run, repeats).items():
        out[name] = {
            "clips": [Path(c).name for c in sets[name]],
            "streams": streams,
            "fps_ratio": round(two["fps"] / one["fps"], 3),
            "cpu_ratio": round(one["cpu_ms_per_frame"] / two["cpu_ms_per_frame"], 3),
            "second_zone_cpu_ms_per_frame": round(
                two["cpu_ms_per_frame"] - one["cpu_ms_per_frame"], 3
            ),
            "one": one,
            "two": two,
        }
    return out


def headroom(sat: dict | None, lv: dict, cores: int, streams: int) -> dict:
    """How many LIVE_FPS cameras x 2 zones `cores` could carry: from the saturated run's
    CPU per frame (start-up excluded), from its throughput (one main thread classifies
    every stream: the bound a CPU count alone misses), and from each live run's CPU."""
    out = {}
    if sat is not None:
        two = sat["Z1"]["two"]
        ms = statistics.median(two["run_cpu_ms_per_frame_all"])
        out["by_saturated_cpu_ms_320x240"] = round(cores * 1000 / (ms * LIVE_FPS), 1)
        out["by_saturated_fps_320x240"] = round(two["fps"] / LIVE_FPS, 1)
        out["saturated_cores_used"] = statistics.median(two["cpu_cores_all"])
    for size, f in lv.items():
        out[f"by_live_cpu_{size}"] = round(cores / (f["two"]["cpu_cores"] / streams), 1)
    return out


def _size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default=str(ROOT / "demo-out" / "model"), help="export dir or .onnx")
    p.add_argument("--frames", type=int, default=300, help="frames per stream")
    p.add_argument("--repeats", type=int, default=3, help="runs per layout (the median counts)")
    p.add_argument("--decode", action="store_true", help="also measure the cropping (D)")
    p.add_argument("--live-seconds", type=float, default=30.0, help="length of each live run (L)")
    p.add_argument(
        "--live-sizes",
        default="640x480,320x240",
        help="camera sizes of L, comma-separated ('' skips L)",
    )
    p.add_argument("--live-streams", type=int, default=8, help="cameras in L")
    p.add_argument("--no-saturated", action="store_true", help="skip Z1 (the saturated runs)")
    p.add_argument(
        "--real",
        action="append",
        metavar="NAME=CLIP[,CLIP...]",
        help=f"a set of real clips for R (repeatable; default: {' / '.join(REAL_SETS)})",
    )
    p.add_argument("--real-dir", default=str(CLIPS), help="where R's clips are")
    p.add_argument("--real-seconds", type=float, default=20.0, help="length of each R run")
    p.add_argument("--no-real", action="store_true", help="skip R (real footage, saturated)")
    p.add_argument("--json", help="write the figures here")
    return p.parse_args()


def main() -> int:
    a = _args()
    if not Path(a.model).exists():
        print(f"no model at {a.model} (run `edgeaction demo` first)", file=sys.stderr)
        return 1
    from edgeaction.contract import contract_from_onnx

    model = Path(a.model)
    c = contract_from_onnx(model / "model.onnx" if model.is_dir() else model)
    cores = os.cpu_count() or 1
    out: dict = {"cores": cores, "loadavg_start": os.getloadavg(), "model": a.model}
    sat = None if a.no_saturated else saturated(a.model, a.repeats, a.frames)
    if sat is not None:
        out.update({k: v for k, v in sat.items() if not k.startswith("_")})
        out["loadavg_after_Z1"] = os.getloadavg()
        _print_saturated(sat)
    sets = {} if a.no_real else _real_sets(a.real or REAL_SETS, Path(a.real_dir))
    rl = real(a.model, a.repeats, sets, a.real_seconds, a.live_streams) if sets else {}
    if rl:
        out["R"] = rl
        _print_real(rl)
    sizes = [_size(s) for s in a.live_sizes.split(",") if s.strip()]
    lv = live(a.model, a.repeats, sizes, a.live_seconds, a.live_streams) if sizes else {}
    if lv:
        out["L"] = lv
        out["headroom_cameras_2_zones"] = headroom(sat, lv, cores, a.live_streams)
        _print_live(lv, out["headroom_cameras_2_zones"])
    if a.decode:
        out["D"] = decode(c.width, c.height, 400)
        print("D  CPU ms/frame, one 1280x720 source, 2 zones: " + json.dumps(out["D"]))
    out["loadavg_end"] = os.getloadavg()
    print(f"load average {out['loadavg_start']} -> {out['loadavg_end']} on {cores} cores")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


def _print_saturated(sat: dict) -> None:
    f, ratio, cpu = sat["Z1"], sat["Z1"]["value"], sat["_cpu_ms"]
    print(
        f"Z1 8 streams x 2 zones / x 1 zone: {ratio:.2f} (goal >= {GOAL}; "
        f"{f['two']['fps']:.0f} vs {f['one']['fps']:.0f} fps, "
        f"{f['two']['windows']} vs {f['one']['windows']} windows; "
        f"no --roi: {f['whole']['fps']:.0f} fps); zone-frames/s: {2 * ratio:.2f}"
    )
    print(
        f"Z1 by CPU per frame (robust on a shared machine): {sat['Z1_cpu']:.2f} "
        f"({cpu['two']:.2f} vs {cpu['one']:.2f} ms; no --roi {cpu['whole']:.2f} ms); the "
        f"second zone costs {sat['second_zone_ms_per_frame']['cpu']:.2f} ms CPU per frame, "
        f"{sat['second_zone_ms_per_frame']['model']:.2f} ms of it in the model; cores used "
        f"from the first frame: {f['one']['cpu_cores_all']} / {f['two']['cpu_cores_all']}"
    )


def _real_sets(specs, folder: Path) -> dict:
    """`NAME=CLIP[,CLIP...]` texts -> {name: [paths]}; exits with one line for a missing clip."""
    out = {}
    for spec in specs:
        name, _, clips = spec.partition("=")
        paths = [folder / c.strip() for c in clips.split(",") if c.strip()]
        if not name or not paths:
            raise SystemExit(f"--real {spec!r}: give NAME=CLIP[,CLIP...]")
        for q in paths:
            if not q.is_file():
                raise SystemExit(f"--real {name}: no clip {q} (--real-dir names the folder)")
        out[name] = [str(q.resolve()) for q in paths]
    return out


def _print_real(rl: dict) -> None:
    for name, f in rl.items():
        one, two = f["one"], f["two"]
        print(
            f"R  {f['streams']} looped real {name} H.264 streams, as fast as the CPU goes, "
            f"2 zones / 1 zone: fps {f['fps_ratio']:.3f} ({two['fps']:.0f} vs {one['fps']:.0f}), "
            f"by CPU per frame {f['cpu_ratio']:.3f} ({two['cpu_ms_per_frame']:.2f} vs "
            f"{one['cpu_ms_per_frame']:.2f} ms; the second zone "
            f"{f['second_zone_cpu_ms_per_frame']:.2f} ms), cores {two['cpu_cores']:.2f} vs "
            f"{one['cpu_cores']:.2f}"
        )


def _print_live(lv: dict, room: dict) -> None:
    for size, f in lv.items():
        one, two = f["one"], f["two"]
        print(
            f"L  {f['streams']} live {size} cameras at {LIVE_FPS} fps, 2 zones / 1 zone: "
            f"fps {f['fps_ratio']:.3f} ({two['fps']:.1f} vs {one['fps']:.1f}; streams' own "
            f"rates summed {f['fps_streams_sum_ratio']:.3f}; windows/s "
            f"{two['windows_per_s']} vs {one['windows_per_s']}), dropped per stream "
            f"{two['dropped_per_stream']} vs {one['dropped_per_stream']} (every run, all "
            f"streams: {two['dropped_all']} vs {one['dropped_all']}), CPU "
            f"{two['cpu_cores']:.2f} vs {one['cpu_cores']:.2f} cores "
            f"({100 * two['cpu_share']:.0f} % vs {100 * one['cpu_share']:.0f} % of the machine; "
            f"{two['cpu_ms_per_frame']:.2f} vs {one['cpu_ms_per_frame']:.2f} ms per frame, "
            f"model {two['model_ms_per_frame']:.2f} vs {one['model_ms_per_frame']:.2f}), "
            f"window latency p50/p99 {two['window_latency_ms']} vs {one['window_latency_ms']} ms"
        )
    print("headroom, cameras x 2 zones at 30 fps: " + json.dumps(room))


if __name__ == "__main__":
    sys.exit(main())
