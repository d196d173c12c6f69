"""Hostile output paths (issue 18): an output is never written over an input, another
output or a device node; a name over 255 bytes or a full disk is one line; a failed
command leaves nothing it created behind.

Every test runs the real CLI in a child process on real files, devices (root: mknod),
FIFOs and a small tmpfs (root: mount), as a hostile user would.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.commands import usage_error
from tests.conftest import cli, one_line_error

LONG = "x" * 300  # one path component over the 255-byte limit


def _device(path: Path, minor: int) -> Path:
    """A copy of /dev/null (minor 3) or /dev/full (minor 7) at `path` (root only)."""
    if os.geteuid() != 0:
        pytest.skip("creating a device node needs root")
    import stat

    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    return path


def test_run_never_writes_over_its_source(tmp_path, tiny_onnx, synth_video):
    src = tmp_path / "in.mp4"
    src.write_bytes(synth_video.read_bytes())
    os.link(src, tmp_path / "hard.mp4")
    for out in (src, tmp_path / "hard.mp4"):
        p = cli("run", tiny_onnx, "--source", src, "--out-video", out, check=False)
        one_line_error(p, "--out-video", "is the --source")
    assert src.read_bytes() == synth_video.read_bytes()
    p = cli("run", tiny_onnx, "--source", src, "--events", tmp_path / "o.mp4",
            "--out-video", tmp_path / "o.mp4", check=False)  # fmt: skip
    one_line_error(p, "same file")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["hard.mp4", "in.mp4", "tiny.onnx"]


def test_check_refuses_json_over_the_model(tmp_path, tiny_onnx):
    before = tiny_onnx.read_bytes()
    one_line_error(cli("check", tiny_onnx, "--json", tiny_onnx, check=False), "is the MODEL")
    assert tiny_onnx.read_bytes() == before


@pytest.mark.parametrize("minor", [3, 7], ids=["null", "full"])
def test_outputs_on_a_character_device_are_written_in_place(
    tmp_path, tiny_onnx, synth_video, minor
):
    dev = _device(tmp_path / "dev.mp4", minor)
    ino = dev.stat().st_ino
    runs = [
        ("check", tiny_onnx, "--json", dev),
        (
            "bench",
            tiny_onnx,
            "--duration-s",
            0.1,
            "--iterations",
            1,
            "--warmup-ms",
            0,
            "--json",
            dev,
        ),  # fmt: skip
        (
            "run",
            tiny_onnx,
            "--source",
            synth_video,
            "--events",
            tmp_path / "e.jsonl",
            "--metrics",
            dev,
        ),  # fmt: skip
        ("run", tiny_onnx, "--source", synth_video, "--events", dev, "--emit", "every"),
        (
            "run",
            tiny_onnx,
            "--source",
            synth_video,
            "--events",
            tmp_path / "e.jsonl",
            "--out-video",
            dev,
        ),  # fmt: skip
    ]
    for args in runs:
        p = cli(*args, check=False)
        if minor == 3:
            assert p.returncode == 0, p.stderr
        else:
            one_line_error(p, "dev.mp4")  # /dev/full: "No space left", one line
        assert dev.is_char_device() and dev.stat().st_ino == ino, args
    assert not [x for x in tmp_path.iterdir() if "partial" in x.name]


@pytest.mark.parametrize(
    "args",
    [
        ("check", "{onnx}", "--json", "{d}/" + LONG + ".json"),
        ("check", "{d}/" + LONG + ".onnx"),
        ("bench", "{onnx}", "--json", "{d}/" + LONG + "/b.json"),
        ("run", "{onnx}", "--source", "{video}", "--events", "{d}/" + LONG + ".jsonl"),
        ("run", "{onnx}", "--source", "{video}", "--out-video", "{d}/" + LONG + ".mp4"),
        ("run", "{d}/" + LONG + ".onnx", "--source", "{video}"),
        ("synth", "{d}/new/" + LONG),
        ("evaluate", "{onnx}", "{d}", "--out", "{d}/" + LONG),
        ("jetson", "deepstream", "{onnx}", "--out", "{d}/" + LONG),
    ],
    ids=lambda a: "-".join(x for x in a if not x.startswith("{"))[:40],
)
def test_a_name_over_255_bytes_is_one_line(tmp_path, tiny_onnx, synth_video, args):
    d = tmp_path / "w"
    d.mkdir()
    fill = {"onnx": tiny_onnx, "video": synth_video, "d": d}
    p = cli(*(a.format(**fill) for a in args), check=False)
    # the option converters refuse it before anything runs (exit 2); a name made inside a
    # command would be the writers' one line ("File name too long")
    usage_error(p, "bytes, the file system allows 255 per name")
    assert list(d.iterdir()) == []  # nothing created (synth's new/ removed again)


def test_events_on_a_full_disk_keep_what_was_written(tmp_path, tiny_onnx):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(disk)],
                       capture_output=True, text=True)  # fmt: skip
    if m.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {m.stderr.strip()[:100]}")
    try:
        events = disk / "e.jsonl"
        p = cli("run", tiny_onnx, "--source", "test://smpte?frames=600&live=0&width=64&height=64",
                "--emit", "every", "--events", events, check=False)  # fmt: skip
        one_line_error(p, "events file", "e.jsonl", "disk is full", "are kept")
        lines = events.read_bytes().split(b"\n")
        assert lines[-1] == b"" and len(lines) > 20
        assert all(json.loads(x)["label"] for x in lines[:-1])  # whole JSON lines only
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.slow
def test_failed_train_leaves_no_litter(synth_data, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    for out in (tmp_path / "new" / "run", old):  # 1e30 diverges to NaN like --lr nan
        p = cli("train", synth_data, "--frames", 4, "--size", 32, "--epochs", 1, "--batch", 8,
                "--lr", "1e30", "--out", out, check=False)  # fmt: skip
        one_line_error(p, "NaN")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["old"]
    assert list(old.iterdir()) == []


@pytest.mark.slow
def test_failed_export_leaves_no_out_directory(tmp_path):
    from edgeaction.contract import ModelContract

    run = tmp_path / "run"
    run.mkdir()
    ModelContract(name="t", labels=("a", "b"), frames=4, height=32, width=32).save(run)
    (run / "model.keras").write_bytes(b"not a zip")
    p = cli("export", run, "--out", tmp_path / "out" / "m", check=False)
    one_line_error(p, "model.keras")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["run"]


def test_events_and_json_into_a_fifo_are_written_in_place(tmp_path, tiny_onnx, synth_video):
    import stat
    import threading

    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    for args in (
        ("run", tiny_onnx, "--source", synth_video, "--events", fifo, "--emit", "every"),
        ("check", tiny_onnx, "--json", fifo),
    ):
        got: list[bytes] = []
        reader = threading.Thread(target=lambda got=got: got.append(fifo.read_bytes()))
        reader.start()
        p = cli(*args, check=False)
        reader.join(60)
        assert p.returncode == 0, p.stderr
        assert got and got[0].endswith(b"\n") and len(got[0].splitlines()) > 3
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["events.fifo", "tiny.onnx"]


@pytest.mark.parametrize("minor", [3, 7], ids=["null", "full"])
def test_compare_and_bench_plots_on_a_character_device(tmp_path, synth_data, minor):
    from edgeaction.contract import ModelContract
    from tests.conftest import make_onnx

    c = ModelContract(name="s", labels=("walk", "run", "jump"), frames=4, height=32, width=32)
    onnx = make_onnx(tmp_path / "s.onnx", c)
    dev = _device(tmp_path / "dev.png", minor)
    for args in (
        ("compare", onnx, onnx, "--data", synth_data, "--json", dev),
        ("compare", onnx, onnx, "--data", synth_data, "--plot", dev),
        ("bench", onnx, "--duration-s", 0.1, "--iterations", 1, "--warmup-ms", 0, "--plot", dev),
    ):
        p = cli(*args, check=False)
        if minor == 3:
            assert p.returncode == 0, p.stderr
        else:
            one_line_error(p, "dev.png", "disk is full")
        assert dev.is_char_device(), args
    assert sorted(x.name for x in tmp_path.iterdir()) == ["dev.png", "s.onnx"]
