"""The fast subset of the hostile corpus (`benchmarks/hostile.py --fast`) ends clean.

About 30 bad inputs across the commands (broken videos and models, FIFOs and device
copies as inputs and outputs, bad option values and URIs, broken data sets, odd file
names), each run as a child process: one error line and a non-zero exit, no traceback,
no input changed, nothing left behind; odd but valid names work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_fast_hostile_corpus_is_clean(tmp_path):
    out = tmp_path / "hostile.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    p = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "hostile.py"), "--fast", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    results = json.loads(out.read_text())
    assert 25 <= len(results) <= 40, p.stdout
    bad = [r for r in results if r["outcome"] != "clean"]
    assert not bad, p.stdout
    assert p.returncode == 0, p.stderr[-2000:]
    groups = {r["group"].split()[0] for r in results}
    assert {"run", "check", "bench", "evaluate", "train", "synth", "jetson"} <= groups
