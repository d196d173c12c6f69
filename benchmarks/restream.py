"""Cost of the RTSP re-stream (`run --out-rtsp`) and a client's time to its first frame.

    python benchmarks/restream.py [--model M] [--seconds S] [--repeats R] [--json OUT]

MODEL defaults to the demo's export (demo-out/model; `edgeaction demo` makes it). Every
`edgeaction run` runs in a CHILD process, the two layouts interleaved `--repeats` times
(the median counts):

  R1  fps of a saturated run (one non-live 320x240 `test://ball` source, as fast as the
      machine goes, for S seconds) with `--out-rtsp` and one real `rtspsrc ! decodebin !
      appsink` client connected for the whole run, over the same run without it
      (goal: >= 0.85, the re-stream costs <= 15 %); CPU seconds per frame beside it;
      the same at 1280x720 (R1_720p); `--out-video` (a file, every frame) for reference.
  R2  a live run (15 fps): CPU seconds per second with and without the re-stream and a
      client (the run's fps is the source's; the encoder's cost shows in the CPU).
  T   seconds from a client's PLAYING to its first decoded frame, connecting to a live
      run that serves (goal: < 2 s), one client after another.

The machine's cores and load average go into the JSON with every raw number.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
GOAL = 0.85


def _client(url: str, stop: threading.Event, out: dict) -> None:
    """A real client pulling frames until `stop` (reconnecting until the server is up)."""
    from tests.pipelines.test_restream import pull_frames

    while not stop.is_set():
        first, n, _ = pull_frames(url, want=10**9 if out.get("hold") else 1, timeout_s=2.0)
        if first is not None:
            out.setdefault("first_s", []).append(first)
            out["frames"] = out.get("frames", 0) + n
        if out.get("once") and first is not None:
            return


def one_run(model: str, source: str, seconds: float, layout: str) -> dict:
    """One `edgeaction run` in a child: `plain`; `rtsp` (one client pulls for the whole
    run); `video` (`--out-video`, every frame annotated and encoded to a file)."""
    rtsp = layout == "rtsp"
    from tests.rtsp import free_port

    with tempfile.TemporaryDirectory() as d:
        metrics = Path(d) / "m.json"
        argv = [sys.executable, "-m", "edgeaction.cli", "run", model, "--source", source,
                "--duration", str(seconds), "--events", os.devnull, "--metrics", str(metrics),
                "-q"]  # fmt: skip
        stop, seen = threading.Event(), {"hold": True}
        if layout == "video":
            argv += ["--out-video", str(Path(d) / "v.mp4")]
        if rtsp:
            url = f"rtsp://127.0.0.1:{free_port()}/cam0"
            argv += ["--out-rtsp", url]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TF_CPP_MIN_LOG_LEVEL": "3"}
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        t = None
        if rtsp:
            p.stderr.readline()  # "RTSP re-stream: ..." once it serves
            t = threading.Thread(target=_client, args=(url, stop, seen), daemon=True)
            t.start()
        _, status, usage = os.wait4(p.pid, 0)
        stop.set()
        if t is not None:
            t.join(5)
        if os.waitstatus_to_exitcode(status) != 0:
            code = os.waitstatus_to_exitcode(status)
            raise SystemExit(f"run failed ({code}): {p.stderr.read().decode()[-2000:]}")
        m = json.loads(metrics.read_text())
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "fps": m["fps"],
        "frames": m["frames"],
        "seconds": m["seconds"],
        "cpu_s_per_frame": cpu / max(1, m["frames"]),
        "cpu_s_per_s": cpu / m["seconds"],
        "client_frames": seen.get("frames", 0),
    }


def time_to_first_frame(model: str, clients: int) -> list[float]:
    """Clients connecting one after another to a live run that serves."""
    from tests.pipelines.test_restream import pull_frames
    from tests.rtsp import free_port

    url = f"rtsp://127.0.0.1:{free_port()}/cam0"
    argv = [sys.executable, "-m", "edgeaction.cli", "run", model, "--source",
            "test://ball?live=1&fps=15", "--out-rtsp", url, "--duration", str(4 + 3 * clients),
            "--events", os.devnull, "-q"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    p.stderr.readline()
    time.sleep(1.0)
    got = []
    for _ in range(clients):
        first, _n, _ = pull_frames(url, want=3, timeout_s=5.0)
        got.append(first)
        time.sleep(0.5)
    p.wait(60)
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "demo-out" / "model"))
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--clients", type=int, default=5)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    if not Path(a.model).exists():
        raise SystemExit(f"no model at {a.model}: run `edgeaction demo` or give --model")
    res: dict = {"cores": os.cpu_count(), "load_before": os.getloadavg(), "raw": {}}
    for name, src in (("R1", "test://ball?live=0&width=320&height=240"),
                      ("R1_720p", "test://ball?live=0&width=1280&height=720"),
                      ("R2", "test://ball?live=1&fps=15&width=320&height=240")):  # fmt: skip
        runs = {"plain": [], "rtsp": [], "video": []}
        for _ in range(a.repeats):
            for k in runs:
                runs[k].append(one_run(a.model, src, a.seconds, k))
        res["raw"][name] = runs
        med = {k: {f: statistics.median(r[f] for r in v) for f in v[0]} for k, v in runs.items()}
        res[name] = {
            "fps_plain": med["plain"]["fps"],
            "fps_rtsp": med["rtsp"]["fps"],
            "fps_ratio": round(med["rtsp"]["fps"] / med["plain"]["fps"], 3),
            "fps_out_video": med["video"]["fps"],
            "cpu_per_frame_ratio": round(
                med["plain"]["cpu_s_per_frame"] / med["rtsp"]["cpu_s_per_frame"], 3
            ),
            "cpu_s_per_s": (med["plain"]["cpu_s_per_s"], med["rtsp"]["cpu_s_per_s"]),
            "client_frames": med["rtsp"]["client_frames"],
        }
        print(name, json.dumps(res[name]), flush=True)
    ttff = time_to_first_frame(a.model, a.clients)
    res["T"] = {"first_frame_s": ttff, "max_s": max(x or 99 for x in ttff)}
    print("T", json.dumps(res["T"]), flush=True)
    res["goal_R1"] = [res[k]["fps_ratio"] >= GOAL for k in ("R1", "R1_720p")]
    res["goal_T"] = res["T"]["max_s"] < 2.0
    res["load_after"] = os.getloadavg()
    res["self_cpu_s"] = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    if a.json:
        a.json.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps({k: res[k] for k in ("goal_R1", "goal_T")}))


if __name__ == "__main__":
    main()
