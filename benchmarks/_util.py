"""Helpers shared by the benchmarks: run the real CLI in a child and measure it."""

from __future__ import annotations

import os
import subprocess
import sys
import time


def run_child(argv: list[str], what: str) -> tuple[str, float, object]:
    """Run `argv` (stdout and stderr together); `(output, wall seconds, rusage)`.

    Raises SystemExit with the child's last lines when it fails.
    """
    t = time.monotonic()
    p = _spawn(argv)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - t
    _check(out, status, what)
    return out, wall, usage


def _spawn(argv: list[str]) -> subprocess.Popen:
    """A child of the benchmarks: stdout and stderr together, TensorFlow's logs quiet."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )


def _check(out: str, status: int, what: str) -> None:
    """SystemExit with the child's last lines when its wait status says it failed."""
    if os.waitstatus_to_exitcode(status) != 0:
        tail = "\n".join(out.strip().splitlines()[-15:])
        raise SystemExit(f"{what} failed:\n{tail}")


def run_cli(*args, quiet: bool = True) -> dict:
    """Run `edgeaction ARGS` in a child process; wall seconds and the child's peak RSS.

    Raises SystemExit with the child's last lines when it fails.
    """
    out, wall, usage = run_child(
        [sys.executable, "-m", "edgeaction.cli", *map(str, args)],
        f"edgeaction {' '.join(map(str, args))}",
    )
    if not quiet:
        print(out)
    return {"wall_s": round(wall, 1), "peak_rss_gb": round(usage.ru_maxrss / 2**20, 2), "out": out}


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system, every thread) process `pid` used so far (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_child_sampled(argv: list[str], what: str, every_s: float = 0.1):
    """`run_child`, sampling the child's CPU while it runs: `(output, wall seconds,
    rusage, samples)`, samples being `(seconds since the start, CPU seconds so far)`.

    A steady-state CPU rate (cores used) is then the slope between two samples, free of
    the child's start-up (imports, model load) that its rusage includes.
    """
    import threading

    t = time.monotonic()
    p = _spawn(argv)
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.append(p.stdout.read()), daemon=True)
    reader.start()
    samples: list[tuple[float, float]] = []
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)  # reaps it once it has exited
        if pid:
            break
        cpu = cpu_seconds(p.pid)
        if cpu is not None:
            samples.append((time.monotonic() - t, cpu))
        time.sleep(every_s)
    wall = time.monotonic() - t
    p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    reader.join()
    p.stdout.close()
    out = "".join(chunks)
    _check(out, status, what)
    return out, wall, usage, samples
