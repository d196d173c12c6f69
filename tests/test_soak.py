"""The 30-second soak (benchmarks/soak.py): 8 streams, memory, files, threads, frames."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REAL_CLIPS, ROOT


def test_eight_streams_for_thirty_seconds(tmp_path, tiny_split):
    out = tmp_path / "soak.json"
    p = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--model", str(tiny_split),
         "--streams", "8", "--minutes", "0.5", "--warmup-s", "15", "--sample-s", "2",
         "--clips", str(REAL_CLIPS), "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.exists(), p.stdout[-3000:] + p.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r["checks"] == {k: True for k in r["checks"]}, p.stdout[-3000:]
    assert p.returncode == 0
    assert any("real_clips" in s for s in r["sources"]) and len(r["per_stream"]) == 8
    assert all(s["frames"] > 300 and s["in_windows"] > 0 for s in r["per_stream"])
    assert r["seconds"] >= 45 and r["invalid_event_lines"] == 0
