"""`edgeaction run --prometheus`: a real run, scraped over HTTP while it runs."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import cli, cli_no_tf, one_line_error

pytest.importorskip("prometheus_client")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    """`{(sample name, sorted labels): value}` of one scrape, parsed by prometheus-client."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def value(samples: dict, name: str, **labels) -> float | None:
    want = {k: str(v) for k, v in labels.items()}
    for (n, lab), v in samples.items():
        if n == name and want.items() <= dict(lab).items():
            return v
    return None


def test_metrics_are_served_while_the_run_runs(tmp_path, tiny_onnx):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgeaction.cli", "run", str(tiny_onnx),
         "--source", "test://ball?fps=30", "--source", "test://snow?fps=30",
         "--duration", "20", "--events", str(tmp_path / "ev.jsonl"), "--emit", "every",
         "--prometheus", f"127.0.0.1:{port}", "-q"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # until the first status tick has frames
            try:
                first = scrape(port)
            except OSError:
                first = None
            if first and (value(first, "edgeaction_stream_frames_total", stream=1) or 0) > 0:
                break
            time.sleep(0.3)
        assert first is not None, "nothing served on /metrics"
        time.sleep(1.5)
        second = scrape(port)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    for s in (0, 1):
        for name in (
            "edgeaction_stream_frames_total",
            "edgeaction_stream_windows_total",
            "edgeaction_stream_events_total",
            "edgeaction_stream_dropped_frames_total",
            "edgeaction_stream_reconnects_total",
            "edgeaction_stream_fps",
            "edgeaction_stream_up",
        ):
            assert value(second, name, stream=s) is not None, (name, s)
        a = value(first, "edgeaction_stream_frames_total", stream=s)
        b = value(second, "edgeaction_stream_frames_total", stream=s)
        assert b > a > 0, (s, a, b)
        assert value(second, "edgeaction_window_latency_seconds_count", stream=s) > 0
        assert value(second, "edgeaction_stream_up", stream=s) == 1
    assert value(second, "edgeaction_stream_fps", stream=0) > 5
    assert value(second, "edgeaction_stage_latency_seconds_count", stage="infer") > 0
    assert value(second, "edgeaction_batch_windows_count") > 0
    assert value(second, "edgeaction_frames_total") > value(first, "edgeaction_frames_total")
    assert value(second, "edgeaction_info", model="tiny") == 1
    assert value(second, "process_resident_memory_bytes") > 0
    assert value(second, "edgeaction_stream_frames_total", source="test://ball?fps=30") > 0


def test_a_port_in_use_is_one_line_at_start(tiny_onnx):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        t = time.monotonic()
        p = cli("run", tiny_onnx, "--source", "test://ball?fps=30", "--duration", "30",
                "--prometheus", f"127.0.0.1:{port}", check=False)  # fmt: skip
    one_line_error(p, f"--prometheus 127.0.0.1:{port}: the port is in use", alone=True)
    assert time.monotonic() - t < 20  # refused at start, not after the run


def test_bad_address_and_missing_extra(tiny_onnx):
    p = cli("run", tiny_onnx, "--source", "test://ball", "--prometheus", "70000", check=False)
    assert p.returncode == 2 and "expected a port from 1 to 65535" in p.stderr
    p = cli_no_tf("run", tiny_onnx, "--source", "test://ball?frames=4&live=0", "--prometheus",
                  "9", check=False, block=("prometheus_client",))  # fmt: skip
    one_line_error(p, "edgeaction[metrics]", alone=True)


def test_spool_depth_is_exported_once_reported():
    from edgeaction.pipelines.prometheus import Exporter, set_spool_depth

    port = free_port()
    exp = Exporter(("127.0.0.1", port)).start()
    try:
        assert value(scrape(port), "edgeaction_spool_depth") is None
        set_spool_depth(7)
        assert value(scrape(port), "edgeaction_spool_depth") == 7
    finally:
        set_spool_depth(None)
        exp.close()
