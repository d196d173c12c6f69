"""`edgeaction jetson service --config site.toml`: the unit reads the site file at start."""

from __future__ import annotations

import getpass
import json
import shlex
import sys

from tests.conftest import cli, one_line_error


def site(tmp_path, model, body: str = ""):
    p = tmp_path / "site.toml"
    camera = '[[camera]]\nsource = "test://${PAT}?frames=8&live=0"\n'
    p.write_text(f'model = "{model}"\nemit = "every"\n{body}\n{camera}')
    return p


def exec_start(unit: str) -> list[str]:
    line = next(x for x in unit.splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_the_unit_runs_the_site_file(tmp_path, tiny_onnx):
    """The unit's command line, run as systemd would (its env file's variables set), reads
    the site file: model, camera and sinks from the file, the secret from the env file."""
    ev = tmp_path / "ev.jsonl"
    cfg = site(tmp_path, tiny_onnx.name, f'[sinks]\nevents = "{ev}"\n')
    out = tmp_path / "deploy"
    p = cli("jetson", "service", "--config", cfg, "--out", out, "--user", getpass.getuser())
    assert "site file" in p.stdout and str(cfg) in p.stdout
    unit = (out / "edgeaction.service").read_text()
    words = exec_start(unit)
    assert words[1:4] == ["run", "--config", str(cfg)]
    assert "--events" not in words and "--metrics" not in words  # the file's sinks decide
    env = (out / "edgeaction.env").read_text()
    assert "\nPAT=\n" in env  # the variable the file reads, to fill in
    assert f"CONFIG={cfg}" in (out / "install.sh").read_text()
    argv = [w for w in words[1:] if w != "$EDGEACTION_SOURCES"]  # empty: the file's cameras
    cli(*argv, env={"PAT": "ball"})
    rows = [json.loads(x) for x in ev.read_text().splitlines()]
    assert rows and rows[0]["source"].startswith("test://ball") and rows[0]["model"] == "tiny"


def test_flags_given_to_the_service_still_win(tmp_path, tiny_onnx):
    cfg = site(tmp_path, tiny_onnx)
    out = tmp_path / "deploy"
    cli("jetson", "service", "/m/other.onnx", "--config", cfg, "--source", "test://snow",
        "--events", "/var/lib/x/ev.jsonl", "--out", out, "--user", getpass.getuser())  # fmt: skip
    words = exec_start((out / "edgeaction.service").read_text())
    assert words[1:5] == ["run", "/m/other.onnx", "--config", str(cfg)]
    assert words[words.index("--events") + 1] == "/var/lib/x/ev.jsonl"
    assert "EDGEACTION_SOURCES=--source test://snow" in (out / "edgeaction.env").read_text()


def test_a_bad_site_file_is_refused_now(tmp_path, tiny_onnx):
    out = tmp_path / "deploy"
    for body, needle in [
        ("[batching]\nmax-batch = -1", "site.toml: batching.max-batch: expected a number >= 1"),
        ("token = 'x'", "site.toml: token: secrets do not belong in the site file"),
        (
            "[sinks]\nevent = 'e.jsonl'",
            "site.toml: sinks.event: unknown key (did you mean 'events'?)",
        ),
    ]:
        cfg = site(tmp_path, tiny_onnx, body)
        p = cli("jetson", "service", "--config", cfg, "--out", out, check=False)
        one_line_error(p, needle, alone=True)
        assert not out.exists()
    cfg = tmp_path / "nomodel.toml"
    cfg.write_text('[[camera]]\nsource = "test://ball"\n')
    p = cli("jetson", "service", "--config", cfg, "--out", out, check=False)
    one_line_error(p, "give the model", alone=True)
    p = cli("jetson", "service", tiny_onnx, "--source", "test://ball", "--out", out,
            "--run-arg=--config x.toml", check=False)  # fmt: skip
    one_line_error(p, "the service sets --config itself", alone=True)
    assert sys.executable  # the venv the unit defaults to
