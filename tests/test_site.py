"""`edgeaction run --config site.toml`: one TOML file, validated against run's own options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import cli, one_line_error


def write(tmp_path: Path, text: str, name: str = "site.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def events_of(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_a_valid_site_file_runs(tmp_path, tiny_onnx):
    """Model, two cameras, sinks and batching from the file; relative paths from its folder."""
    d = tmp_path / "site"
    d.mkdir()
    tiny_onnx.rename(d / "m.onnx")
    cfg = write(
        d,
        """
model = "m.onnx"
emit = "every"
top-k = 2

[[camera]]
source = "test://ball?frames=12&live=0"

[[camera]]
source = "test://snow?frames=12&live=0"

[sinks]
events = "out/ev.jsonl"
metrics = "out/m.json"

[batching]
max-batch = 2
batch-timeout-ms = 5
""",
    )
    (d / "out").mkdir()
    cli("run", "--config", cfg, "-q")  # run from elsewhere: paths are the file's
    ev = events_of(d / "out" / "ev.jsonl")
    m = json.loads((d / "out" / "m.json").read_text())
    assert {e["stream"] for e in ev if "label" in e} == {0, 1}
    assert all(len(e["top_k"]) == 2 for e in ev if "label" in e)
    assert m["max_batch"] == 2 and m["batch_timeout_ms"] == 5
    assert [s["source"] for s in m["streams"]][0].startswith("test://ball")


def test_flags_override_the_file(tmp_path, tiny_onnx):
    """--emit change (run's default, given explicitly) beats the file's emit = "every";
    --source replaces the file's cameras; the file still gives the model and the sinks."""
    ev = tmp_path / "ev.jsonl"
    cfg = write(
        tmp_path,
        f"""
model = "{tiny_onnx.name}"
emit = "every"
[[camera]]
source = "test://ball?frames=12&live=0"
[[camera]]
source = "test://smpte?frames=12&live=0"
[sinks]
events = "{ev.name}"
""",
    )
    cli("run", "--config", cfg, "--source", "test://snow?frames=16&live=0", "--emit", "change",
        "-q")  # fmt: skip
    rows = [e for e in events_of(ev) if "label" in e]
    assert {e["stream"] for e in rows} == {0}
    assert all(e["source"].startswith("test://snow") for e in rows)
    labels = [e["label"] for e in rows]  # emit change: no two equal labels in a row
    assert all(a != b for a, b in zip(labels, labels[1:], strict=False)), labels
    other = tmp_path / "other.jsonl"
    cli("run", "--config", cfg, "--events", other, "-q")
    assert other.exists() and {e["stream"] for e in events_of(other) if "label" in e} == {0, 1}


BAD = [
    ("top-k = 2\nmodel = = 1\n", ["site.toml: TOML syntax error", "line 2"]),
    ("modle = 'm.onnx'", ["site.toml: modle: unknown key", "'model'"]),
    ("[sinks]\nevents = 'e.jsonl'\nbogus = 1", ["site.toml: sinks.bogus: unknown key"]),
    ("max-batch = 4", ["site.toml: max-batch: belongs in [batching]"]),
    ("[batching]\nmax-batch = '4'", ["batching.max-batch: expected a whole number, not a string"]),
    ("[batching]\nmax-batch = 0", ["site.toml: batching.max-batch: expected a number >= 1"]),
    ("[batching]\nmax-batch = 2.5", ["batching.max-batch: expected a whole number"]),
    ("emit = 'sometimes'", ["site.toml: emit: expected one of change, every", "sometimes"]),
    ("quiet = 'yes'", ["site.toml: quiet: expected true or false"]),
    ("duration = [1, 2]", ["site.toml: duration: expected a single value. Received: a list"]),
    ("[[camera]]\nsource = 5", ["site.toml: camera[0].source: one source per camera, a string"]),
    ("[sinks]\nevents = 5", ["site.toml: sinks.events: expected a string, not a whole number"]),
    ("[[camera]]\nroi2 = 'x'", ["site.toml: camera[0]: every camera needs a source"]),
    ("[camera]\nsource = 'a.mp4'", ["site.toml: camera: cameras are tables: write [[camera]]"]),
    (
        "[[camera]]\nsource = 'test://ball'\n[[camera]]\nsource = 'a.mp4'\nemit = 'every'",
        ["site.toml: camera[1].emit: is not a per-camera option"],
    ),
    ('[[camera]]\nsource = "x\\ny.mp4"', ["site.toml: camera[0].source:", "control character"]),
    ("config = 'other.toml'", ["site.toml: config: unknown key"]),
    ("prometheus = 'x:y'", ["site.toml: prometheus: expected a port from 1 to 65535"]),
]


@pytest.mark.parametrize("text,needles", BAD, ids=[b[0][:30] for b in BAD])
def test_every_kind_of_bad_file_is_one_line_naming_the_key(tmp_path, tiny_onnx, text, needles):
    cfg = write(tmp_path, text)
    p = cli("run", tiny_onnx, "--config", cfg, "--source", "test://ball?frames=8&live=0",
            check=False)  # fmt: skip
    one_line_error(p, *needles, alone=True)


SECRETS = [
    ("password = 'hunter2'", "site.toml: password: secrets do not belong in the site file"),
    ("[sinks]\nmqtt_token = 'abc'", "site.toml: sinks.mqtt_token: secrets do not belong"),
    ("[[camera]]\nsource = 'rtsp://u:hunter2@cam/s'", "camera[0].source: holds a password"),
    ("[[camera]]\nsource = 'rtsp://cam/s?token=hunter2'", "query parameter 'token' is a secret"),
]


@pytest.mark.parametrize("text,needle", SECRETS, ids=[s[0][:24] for s in SECRETS])
def test_a_secret_is_refused_and_never_echoed(tmp_path, tiny_onnx, text, needle):
    cfg = write(tmp_path, text)
    p = cli("run", tiny_onnx, "--config", cfg, check=False)
    line = one_line_error(p, needle, "environment file", alone=True)
    assert "hunter2" not in p.stderr and "abc" not in line


def test_secrets_come_from_the_environment(tmp_path, tiny_onnx):
    """`${NAME}` is read from the environment (the service's environment file); unset is one
    line naming the variable; the value never appears in an error."""
    ev = tmp_path / "ev.jsonl"
    cfg = write(
        tmp_path,
        f"""model = "{tiny_onnx.name}"
[[camera]]
source = "test://${{PATTERN}}?frames=8&live=0"
[sinks]
events = "{ev.name}"
""",
    )
    p = cli("run", "--config", cfg, check=False, env={"PATTERN": ""})
    one_line_error(p, "camera[0].source: ${PATTERN} is not set", "environment file", alone=True)
    cli("run", "--config", cfg, "-q", env={"PATTERN": "ball"})
    assert events_of(ev)[0]["source"].startswith("test://ball")
    cam = write(
        tmp_path,
        'no-reconnect = true\n[[camera]]\nsource = "rtsp://viewer:${CAM_PW}@127.0.0.1:1/s"\n',
        "cam.toml",
    )
    p = cli("run", tiny_onnx, "--config", cam, check=False, env={"CAM_PW": "s3cr3t"})
    one_line_error(p, "127.0.0.1:1")
    assert "s3cr3t" not in p.stderr, p.stderr


def test_missing_model_and_sources_and_file(tmp_path, tiny_onnx):
    one_line_error(cli("run", "-q", check=False), "give the model")
    one_line_error(cli("run", tiny_onnx, "-q", check=False), "give at least one --source")
    cfg = write(tmp_path, f'model = "{tiny_onnx.name}"\n')
    one_line_error(cli("run", "--config", cfg, check=False), "--source", "site file")
    p = cli("run", "--config", tmp_path / "nope.toml", check=False)
    one_line_error(p, "--config", "nope.toml: no such file", alone=True)
    cfg = write(tmp_path, f'model = "{tiny_onnx.name}"\n[sinks]\nevents = "site.toml"\n')
    p = cli("run", "--config", cfg, "--source", "test://ball?frames=4&live=0", check=False)
    one_line_error(p, "--events", "is the --config", alone=True)
    assert cfg.read_text().startswith("model")
    (tmp_path / "bin.toml").write_bytes(b"model = '\xff'\n")
    p = cli("run", "--config", tmp_path / "bin.toml", check=False)
    one_line_error(p, "bin.toml: not UTF-8", alone=True)


def test_keys_are_runs_options():
    """Every option of run is a key (derived from its parser), and only those."""
    import argparse

    from edgeaction.commands.run import add_arguments
    from edgeaction.site import option_key

    keys = {option_key(a) for a in add_arguments(argparse.ArgumentParser(add_help=False))}
    assert {"model", "source", "max-batch", "events", "prometheus", "fp16", "quiet"} <= keys


def test_per_stream_and_new_options_need_no_change_here(tmp_path):
    """Options added to run's parser later are keys at once: a per-stream one (metavar
    STREAM:...) in each [[camera]] with the camera's index prefixed, a sink in [sinks];
    their values go through their own converters."""
    import argparse

    from edgeaction import options
    from edgeaction.commands.run import add_arguments
    from edgeaction.errors import EdgeActionError
    from edgeaction.site import load

    p = argparse.ArgumentParser(add_help=False)
    acts = add_arguments(p)
    have = {o for a in acts for o in a.option_strings}
    if "--roi" not in have:  # run's own --roi (zones) once it exists
        acts.append(p.add_argument("--roi", type=options.text, action="append",
                                   metavar="STREAM:NAME=X,Y,W,H"))  # fmt: skip
    if "--mqtt" not in have:
        acts.append(p.add_argument("--mqtt", type=options.uri))
    cfg = write(
        tmp_path,
        """
[[camera]]
source = "a.mp4"
roi = ["court=120,80,640,400", "gate=0,0,10,10"]
[[camera]]
source = "rtsp://cam/s"
roi = "door=1,2,3,4"
[sinks]
mqtt = "mqtt://broker:1883/site/{stream}"
""",
    )
    s = load(cfg, acts)
    assert s.values["source"] == [str(tmp_path / "a.mp4"), "rtsp://cam/s"]
    assert [options.roi(r) if isinstance(r, str) else r for r in s.values["roi"]] == [
        options.Roi(0, "court", 120, 80, 640, 400),
        options.Roi(0, "gate", 0, 0, 10, 10),
        options.Roi(1, "door", 1, 2, 3, 4),
    ]
    assert s.values["mqtt"] == "mqtt://broker:1883/site/{stream}"
    for text, needle in [
        ("[sinks]\nmqtt = 'not a uri'", "site.toml: sinks.mqtt: expected a URI"),
        ("mqtt = 'mqtt://b/t'", "site.toml: mqtt: belongs in [sinks]"),
        ("[[camera]]\nsource = ['a', 'b']", "camera[0].source: one source per camera"),
    ]:
        with pytest.raises(EdgeActionError, match=None) as e:
            load(write(tmp_path, text), acts)
        assert needle in str(e.value), str(e.value)
