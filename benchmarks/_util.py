"""Helpers shared by the benchmarks: run the real CLI in a child and measure it."""

from __future__ import annotations

import os
import subprocess
import sys
import time


def run_cli(*args, quiet: bool = True) -> dict:
    """Run `edgeaction ARGS` in a child process; wall seconds and the child's peak RSS.

    Raises SystemExit with the child's last lines when it fails.
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    t = time.monotonic()
    p = subprocess.Popen(
        [sys.executable, "-m", "edgeaction.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t
    if p.returncode != 0:
        tail = "\n".join(out.strip().splitlines()[-15:])
        raise SystemExit(f"edgeaction {' '.join(map(str, args))} failed:\n{tail}")
    if not quiet:
        print(out)
    return {"wall_s": round(wall, 1), "peak_rss_gb": round(usage.ru_maxrss / 2**20, 2), "out": out}
