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
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    t = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - t
    if os.waitstatus_to_exitcode(status) != 0:
        tail = "\n".join(out.strip().splitlines()[-15:])
        raise SystemExit(f"{what} failed:\n{tail}")
    return out, wall, usage


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
