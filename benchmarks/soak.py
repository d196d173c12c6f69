"""Soak: many streams through `edgeaction run` for minutes, watching memory, files, threads.

    python benchmarks/soak.py [--model DIR] [--streams 8] [--minutes 10] [--json OUT]

Half the streams are live `test://` sources (30 fps), half are real clips from
../shared/data/real_clips looped at their own frame rate (`?loop=1&realtime=1`). The run
is a child `edgeaction run` process; every `--sample-s` seconds this script reads its
resident memory, open file descriptors and threads from /proc, and checks that every
complete line of the events file written so far is valid JSON. At the end the child is
stopped with SIGINT, as a service manager would, and its metrics are checked:

- RSS growth after warm-up (the first 20 % of the run, at least 10 s) < 5 %;
- open file descriptors and threads flat after warm-up: the second half's peak at most
  2 per stream (fds) or 2 (threads) above the first half's. GStreamer's clock waits open
  and close a socket pair each all the time; a leak keeps rising;
- every frame accounted for, per stream: decoded = consumed + dropped, and consumed =
  frames in a classified window + frames skipped by sub-sampling + the tail (fewer than a
  window's worth) still waiting when the run stopped;
- the events file is valid JSON lines throughout and after the stop.

Exit status 0 when every check passes. The README's Reliability table comes from
`--streams 8 --minutes 10` with the demo model; CI runs a 30-second version
(tests/test_soak.py).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "data" / "real_clips"
PATTERNS = ["ball", "smpte", "snow", "circular", "pinwheel", "spokes", "gamut", "zone-plate"]


def sources(n: int, clips: Path) -> list[str]:
    """`n` sources: live test patterns and real clips looped at their own pace, alternating."""
    files = sorted(p for p in clips.glob("*") if p.suffix in (".mp4", ".avi")) if clips else []
    out = []
    for i in range(n):
        if i % 2 == 1 and files:
            out.append(f"{files[(i // 2) % len(files)]}?loop=1&realtime=1")
        else:
            out.append(f"test://{PATTERNS[i % len(PATTERNS)]}?fps=30&width=320&height=240")
    return out


def _proc(pid: int) -> dict | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, ValueError):
        return None
    return {
        "rss_mb": int(status["VmRSS"].split()[0]) / 1024,
        "threads": int(status["Threads"]),
        "fds": fds,
    }


def _check_lines(path: Path) -> tuple[int, int]:
    """(complete lines, invalid lines) of a JSON-lines file being written."""
    if not path.exists():
        return 0, 0
    text = path.read_text(errors="replace")
    lines = text.split("\n")[:-1]  # the last piece may be a line still being written
    bad = 0
    for line in lines:
        try:
            json.loads(line)
        except ValueError:
            bad += 1
    return len(lines), bad


def _flat(samples: list[dict], key: str, slack: int = 2) -> bool:
    """No upward drift: the second half's peak is at most `slack` above the first half's.

    GStreamer's clock waits open and close socket pairs all the time, so a count of open
    descriptors moves by a few between samples; a leak shows as a peak that keeps rising.
    """
    if len(samples) < 2:
        return False
    half = len(samples) // 2
    return max(s[key] for s in samples[half:]) <= max(s[key] for s in samples[:half]) + slack


def account(stream: dict, frames_per_window: int, stride: int, subsample: int) -> dict:
    """Split a stream's frames into classified-in-a-window, sub-sampled out, tail, dropped."""
    kept, windows = stream["kept"], stream["windows"]
    in_windows = 0 if windows == 0 else min(kept, (windows - 1) * stride + frames_per_window)
    skipped = stream["frames"] - kept
    tail = kept - in_windows
    expected_windows = 0 if kept < frames_per_window else (kept - frames_per_window) // stride + 1
    ok = (
        stream["decoded"] == stream["frames"] + stream["dropped"]  # nothing lost in between
        and windows == expected_windows  # every complete window was classified
        and kept == -(-stream["frames"] // subsample)  # every subsample-th frame kept
    )
    return {
        "decoded": stream["decoded"],
        "dropped": stream["dropped"],
        "in_windows": in_windows,
        "subsampled_out": skipped,
        "tail": tail,
        "accounted": ok,
    }


def soak(
    model: str,
    streams: int,
    seconds: float,
    out_dir: Path,
    clips: Path = CLIPS,
    sample_s: float = 5.0,
    warmup_s: float | None = None,
    log=print,
) -> dict:
    """Run the soak and return its figures (see the module docstring)."""
    srcs = sources(streams, clips)
    ev, met = out_dir / "events.jsonl", out_dir / "metrics.json"
    partial = ev  # `edgeaction run` appends events live
    cmd = [sys.executable, "-m", "edgeaction.cli", "run", model, "--events", str(ev),
           "--metrics", str(met), "--emit", "every", "-q"]  # fmt: skip
    for s in srcs:
        cmd += ["--source", s]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    t0 = time.monotonic()
    child = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    samples, invalid = [], 0
    warm = max(10.0, 0.2 * seconds) if warmup_s is None else warmup_s
    seconds += warm if warmup_s is not None else 0.0  # an explicit warm-up comes on top
    try:
        while time.monotonic() - t0 < seconds:
            time.sleep(min(sample_s, max(0.1, seconds - (time.monotonic() - t0))))
            if child.poll() is not None:
                break
            p = _proc(child.pid)
            lines, bad = _check_lines(partial)
            invalid += bad
            if p:
                samples.append({"t": round(time.monotonic() - t0, 1), **p, "events": lines})
                log(
                    f"{samples[-1]['t']:7.1f} s  rss {p['rss_mb']:6.1f} MB  fds {p['fds']:3d}  "
                    f"threads {p['threads']:3d}  events {lines}"
                )
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    if child.returncode != 0:
        raise SystemExit(f"edgeaction run failed ({child.returncode}):\n{err[-2000:]}")
    m = json.loads(met.read_text())
    lines, bad = _check_lines(ev)
    after = [s for s in samples if s["t"] >= warm] or samples[-1:]
    base = next((s for s in samples if s["t"] >= warm), samples[-1] if samples else None)
    growth = (max(s["rss_mb"] for s in after) - base["rss_mb"]) / base["rss_mb"] if base else None
    per_stream = [
        {"stream": s["stream"], "source": s["source"], "fps": s["fps"], "frames": s["frames"],
         **account(s, m["frames_per_window"], m["stride"], m["subsample"])}
        for s in m["streams"]
    ]  # fmt: skip
    result = {
        "streams": streams,
        "seconds": round(time.monotonic() - t0, 1),
        "model": m["model"],
        "sources": srcs,
        "frames": m["frames"],
        "windows": m["windows"],
        "events": lines,
        "fps": m["fps"],
        "warmup_s": warm,
        "rss_mb_at_warmup": None if base is None else round(base["rss_mb"], 1),
        "rss_mb_peak_after_warmup": round(max(s["rss_mb"] for s in after), 1) if after else None,
        "rss_growth": None if growth is None else round(growth, 4),
        "fds_range": [min(s["fds"] for s in after), max(s["fds"] for s in after)]
        if after
        else None,
        "threads_range": [min(s["threads"] for s in after), max(s["threads"] for s in after)]
        if after
        else None,
        "invalid_event_lines": invalid + bad,
        "per_stream": per_stream,
        "samples": samples,
        "stopped_by": m.get("stopped_by"),
    }
    result["checks"] = {
        "rss_growth_below_5pct": growth is not None and growth < 0.05,
        "fds_flat": _flat(after, "fds", slack=2 * streams),  # a socket pair per clock wait
        "threads_flat": _flat(after, "threads"),
        "frames_accounted": all(s["accounted"] for s in per_stream),
        "events_valid_json": result["invalid_event_lines"] == 0 and lines > 0,
        "every_stream_ran": all(s["frames"] > 0 for s in per_stream),
        "clean_stop": m.get("stopped_by") == "SIGINT",
    }
    return result


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default=str(ROOT / "demo-out" / "model"))
    p.add_argument("--streams", type=int, default=8)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--clips", type=Path, default=CLIPS)
    p.add_argument("--sample-s", type=float, default=5.0)
    p.add_argument(
        "--warmup-s",
        type=float,
        help="warm-up before the measured --minutes (default: the first 20 %%, >= 10 s, of them)",
    )
    p.add_argument("--json", help="write the figures here")
    a = p.parse_args()
    if not Path(a.model).exists():
        print(
            f"no model at {a.model}: run `edgeaction demo` first or give --model", file=sys.stderr
        )
        return 1
    with tempfile.TemporaryDirectory() as td:
        r = soak(a.model, a.streams, a.minutes * 60, Path(td), a.clips, a.sample_s, a.warmup_s)
    print(
        f"\nsoak: {r['streams']} streams x {r['seconds']:.0f} s, {r['frames']} frames, "
        f"{r['windows']} windows, {r['fps']:.0f} fps; RSS {r['rss_mb_at_warmup']} -> "
        f"{r['rss_mb_peak_after_warmup']} MB ({100 * (r['rss_growth'] or 0):+.1f} %), fds "
        f"{r['fds_range']}, threads {r['threads_range']}, invalid event lines "
        f"{r['invalid_event_lines']}"
    )
    for s in r["per_stream"]:
        print(
            f"  stream {s['stream']} {s['fps']:5.1f} fps  decoded {s['decoded']} = "
            f"{s['in_windows']} in windows + {s['subsampled_out']} sub-sampled + {s['tail']} "
            f"tail + {s['dropped']} dropped  {'ok' if s['accounted'] else 'NOT ACCOUNTED'}"
        )
    for k, v in r["checks"].items():
        print(f"  {'PASS' if v else 'FAIL'}  {k}")
    if a.json:
        Path(a.json).write_text(json.dumps(r, indent=2) + "\n")
    return 0 if all(r["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
