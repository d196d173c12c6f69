"""`edgeaction jetson service`: unit, env file, Dockerfiles, install.sh (fast, no TensorFlow)."""

from __future__ import annotations

import getpass
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from edgeaction.errors import EdgeActionError
from tests.commands import usage_error
from tests.conftest import cli, cli_no_tf, one_line_error

SECRET = "s3cr3tPW"
RTSP = f"rtsp://user:{SECRET}@cam/stream"
# systemd-analyze verify lines that say something is wrong with the unit itself.
_BAD = re.compile(
    r"unknown (key|section|lvalue)|invalid|failed to parse|bad unit|not executable|"
    r"is not absolute|missing '='|assignment outside of section|ignoring",
    re.IGNORECASE,
)
# Harmless here: the service's user/paths/targets describe the target machine.
_HARMLESS = re.compile(
    r"special user|network-online\.target|No such file|does not exist|not found|"
    r"Failed to create .*cgroup|Documentation",
    re.IGNORECASE,
)


@pytest.fixture
def fake_venv(tmp_path) -> Path:
    """A venv stand-in whose bin/edgeaction exists (systemd-analyze checks ExecStart)."""
    v = tmp_path / "venv"
    (v / "bin").mkdir(parents=True)
    exe = v / "bin" / "edgeaction"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    return v


@pytest.fixture
def generated(tmp_path, tiny_onnx, fake_venv):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\0" * 16)
    out = tmp_path / "deploy"
    p = cli(
        "jetson", "service", "--model", tiny_onnx, "--source", RTSP, "--source", clip,
        "--out", out, "--venv", fake_venv, "--user", getpass.getuser(),
        "--run-arg=--backend tensorrt",
    )  # fmt: skip
    return p, out, tiny_onnx, clip, fake_venv


def _keyfile(path: Path):
    from edgeaction._lazy import gst

    gst()
    from gi.repository import GLib

    text = path.read_text()
    k = GLib.KeyFile()
    assert k.load_from_data(text, len(text.encode()), GLib.KeyFileFlags.NONE)
    return k


def test_unit_keys(generated):
    _, out, model, _, venv = generated
    k = _keyfile(out / "edgeaction.service")
    assert list(k.get_groups()[0]) == ["Unit", "Service", "Install"]
    g = lambda sec, key: k.get_value(sec, key)  # noqa: E731
    assert g("Unit", "After") == "network-online.target" == g("Unit", "Wants")
    assert g("Service", "Type") == "simple"
    assert g("Service", "User") == getpass.getuser()
    assert g("Service", "EnvironmentFile") == "/etc/default/edgeaction"
    assert set(g("Service", "Environment").split()) == {
        "GST_DEBUG=1",
        "PYTHONUNBUFFERED=1",
        "EDGEACTION_CACHE_DIR=%S/edgeaction/engines",  # writable under ProtectHome=read-only
    }
    assert g("Service", "Restart") == "on-failure" and g("Service", "RestartSec") == "5"
    assert g("Service", "TimeoutStopSec") == "30"
    assert g("Service", "SupplementaryGroups") == "video"
    assert g("Service", "NoNewPrivileges") == "yes"
    assert g("Service", "ProtectSystem") == "full" and g("Service", "PrivateTmp") == "yes"
    assert g("Install", "WantedBy") == "multi-user.target"
    argv = g("Service", "ExecStart").split()
    assert argv[:3] == [str(venv / "bin" / "edgeaction"), "run", str(model)]
    # unbraced: systemd splits the variable into separate arguments
    assert "$EDGEACTION_SOURCES" in argv and "${EDGEACTION_SOURCES}" not in argv
    for opt in ("--events", "--metrics", "--quiet", "--backend"):
        assert opt in argv
    assert "--source" not in argv


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verify(generated):
    _, out, *_ = generated
    p = subprocess.run(
        ["systemd-analyze", "verify", str(out / "edgeaction.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [x for x in (p.stdout + p.stderr).splitlines() if x.strip()]
    bad = [x for x in lines if _BAD.search(x) and not _HARMLESS.search(x)]
    assert not bad, "\n".join(lines)


def test_env_file_holds_sources_0600(generated):
    _, out, _, clip, _ = generated
    env = out / "edgeaction.env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    lines = [x for x in env.read_text().splitlines() if x and not x.startswith("#")]
    assert lines == [f"EDGEACTION_SOURCES=--source {RTSP} --source {clip}"]
    # as systemd splits $EDGEACTION_SOURCES: whitespace-separated words
    assert lines[0].split("=", 1)[1].split() == ["--source", RTSP, "--source", str(clip)]


def test_secret_only_in_env_file(generated):
    p, out, *_ = generated
    assert SECRET not in p.stdout + p.stderr
    assert "rtsp://***:***@cam/stream" in p.stdout
    for f in out.iterdir():
        if f.name != "edgeaction.env":
            assert SECRET not in f.read_text(), f.name
            assert stat.S_IMODE(f.stat().st_mode) & 0o044  # readable, unlike the env file


def test_dockerfiles(generated):
    _, out, *_ = generated
    for name, base in (
        ("Dockerfile.jetson", "nvcr.io/nvidia/l4t-tensorrt:r10.3.0"),
        ("Dockerfile.x86", "nvcr.io/nvidia/tensorrt:24.08-py3"),
    ):
        text = (out / name).read_text()
        assert f"ARG BASE={base}" in text and "FROM ${BASE}" in text
        assert "pip install --no-cache-dir '.[runtime,cuda,metrics]'" in text
        assert "python3 -m venv --system-site-packages /opt/edgeaction/venv" in text
        code = "\n".join(x for x in text.splitlines() if not x.lstrip().startswith("#"))
        assert "train" not in code and "tensorflow" not in code.lower()
        assert "pip install tensorrt" not in code
        assert "COPY ${MODEL_DIR}/tiny.onnx /opt/edgeaction/model/tiny.onnx" in text
        assert (
            'ENTRYPOINT ["/bin/sh", "-c", "set -f; exec /opt/edgeaction/venv/bin/edgeaction run'
            in text
        )
        assert "$EDGEACTION_SOURCES" in text


def test_install_sh(generated):
    _, out, *_ = generated
    sh = out / "install.sh"
    subprocess.run(["bash", "-n", str(sh)], check=True)
    text = sh.read_text()
    assert "/etc/systemd/system/$NAME.service" in text
    assert 'install -D -m 0600 -o root -g root "$HERE/$NAME.env" "/etc/default/$NAME"' in text
    assert "systemctl daemon-reload" in text and 'systemctl enable "$NAME.service"' in text
    assert "journalctl -u $NAME -f" in text
    assert "NAME=edgeaction" in text


def test_quoting_and_name(tmp_path, fake_venv):
    out = tmp_path / "o"
    model = tmp_path / "my models" / "a%1.onnx"
    p = cli("jetson", "service", model, "--source", "csi://0", "--out", out, check=False)
    one_line_error(p, "model path", "whitespace")
    model = tmp_path / "models" / "a.onnx"
    cli(
        "jetson", "service", model, "--source", "test://ball?fps=15", "--source",
        "v4l2:///dev/video9", "--source", "csi://0", "--out", out, "--name", "cams.service",
        "--venv", fake_venv, "--user", "ubuntu", "--run-arg", "--smooth 3",
    )  # fmt: skip
    unit = (out / "cams.service").read_text()
    assert "EnvironmentFile=/etc/default/cams" in unit and "User=ubuntu" in unit
    exec_start = next(x for x in unit.splitlines() if x.startswith("ExecStart="))
    assert shlex.split(exec_start)[-2:] == ["--smooth", "3"]
    env = (out / "cams.env").read_text()
    assert "--source test://ball?fps=15 --source v4l2:///dev/video9 --source csi://0" in env


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--source", "rtsp://u:pw@/nohost"], ["no host"]),
        (["--source", "bogus://x"], ["unknown scheme"]),
        (["--source", "/data/my clip.mp4"], ["whitespace", "%20"]),
        (["--source", "test://nopattern"], ["unknown test pattern"]),
        (["--source", "v4l2://cam"], ["device path"]),
        (["--source", "x.mp4", "--name", "bad/name"], ["--name", "unit name"]),
        (["--source", "x.mp4", "--name", "a@b"], ["--name"]),
        (["--source", "x.mp4", "--run-arg=--source y"], ["sets --source itself"]),
        (["--source", "x.mp4", "--run-arg=--bogus 1"], ["no option --bogus"]),
        (["--source", "x.mp4", "--events", "/etc/ev.jsonl"], ["read-only"]),
        ([], ["at least one --source"]),
    ],
)
def test_one_line_errors(tmp_path, args, needles):
    p = cli("jetson", "service", tmp_path / "m.onnx", *args, "--out", tmp_path / "o", check=False)
    err = one_line_error(p, *needles)
    assert "pw" not in err
    assert not (tmp_path / "o" / "edgeaction.service").exists()


def test_bad_model_and_out(tmp_path):
    p = cli("jetson", "service", tmp_path / "m.keras", "--source", "x.mp4", "--out", tmp_path / "o", check=False)  # fmt: skip
    one_line_error(p, "training format", "edgeaction export")
    (tmp_path / "d").mkdir()
    p = cli("jetson", "service", tmp_path / "d", "--source", "x.mp4", "--out", tmp_path / "o", check=False)  # fmt: skip
    one_line_error(p, "no model.onnx")
    (tmp_path / "file").write_text("x")
    p = cli("jetson", "service", tmp_path / "m.onnx", "--source", "x.mp4", "--out", tmp_path / "file", check=False)  # fmt: skip
    one_line_error(p, "--out directory", "is a file")


def test_missing_model_is_a_warning(tmp_path, fake_venv):
    p = cli(
        "jetson", "service", tmp_path / "later" / "model.onnx", "--source", "/nowhere/clip.mp4",
        "--out", tmp_path / "o", "--venv", fake_venv,
    )  # fmt: skip
    assert "does not exist here" in p.stderr and "Traceback" not in p.stderr
    assert (tmp_path / "o" / "edgeaction.service").exists()


def test_imports_no_tensorflow(tmp_path, tiny_onnx, fake_venv):
    cli_no_tf(
        "jetson", "service", tiny_onnx, "--source", RTSP, "--out", tmp_path / "o",
        "--venv", fake_venv,
    )  # fmt: skip


def test_run_arg_check_asks_run_not_the_whole_cli():
    """No import circle cli -> jetson -> cli: the service learns `run`'s options from
    `commands.run` alone, and still refuses an option `run` does not have."""
    code = (
        "import sys\n"
        "from edgeaction.jetson.service import check_run_args\n"
        "assert check_run_args(['--smooth 3', '--backend=tensorrt']) == "
        "['--smooth', '3', '--backend=tensorrt']\n"
        "loaded = sorted(m for m in sys.modules if m == 'edgeaction.cli')\n"
        "print(loaded)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stdout + p.stderr


# ---- values written into the unit and the env file ---------------------------------------
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "s": " ", "\\": "\\", '"': '"', "'": "'"}


def _exec_start_words(line: str) -> list[str]:
    """`ExecStart=` split as systemd.syntax(7) says: `%%` specifiers, whitespace-separated
    words, single/double quotes, C escapes; then `$$` -> `$` (our output uses no other)."""
    line = line.split("=", 1)[1].replace("%%", "%")
    words, i = [], 0
    while i < len(line):
        if line[i] in " \t":
            i += 1
            continue
        w, quote = [], None
        while i < len(line) and (quote or line[i] not in " \t"):
            c = line[i]
            if c == quote or (quote is None and c in "\"'"):
                quote = None if c == quote else c
            elif c == "\\":
                i += 1
                w.append(_ESCAPES[line[i]])
            else:
                w.append(c)
            i += 1
        assert quote is None, line
        words.append("".join(w).replace("$$", "$"))
    return words


def _verify(unit: Path) -> list[str]:
    """What `systemd-analyze verify` says is wrong with `unit` (nothing: [])."""
    p = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    lines = [x for x in (p.stdout + p.stderr).splitlines() if x.strip()]
    return [x for x in lines if _BAD.search(x) and not _HARMLESS.search(x)]


HOSTILE_WORDS = [
    "--cache-dir", '/tmp/we ird "q" %h $HOME ; é\\x\'s #1', "--out-video", ";",
    "--backend", "$EDGEACTION_SOURCES", "--feature-cache", "%n%%", "--smooth", "3",
]  # fmt: skip


def test_hostile_run_arg_values_reach_execstart_unchanged(tmp_path, fake_venv):
    """Quotes, backslashes, %, $, ; and spaces in --run-arg values: systemd-analyze verify
    finds nothing wrong, and systemd's quoting rules give back exactly the words."""
    from edgeaction.jetson.service import ServiceConfig, generate

    c = ServiceConfig(
        str(tmp_path / "m.onnx"), [RTSP, "/data/c.mp4?realtime=1"], user=getpass.getuser(),
        venv=str(fake_venv), run_args=[shlex.join(HOSTILE_WORDS)],
    )  # fmt: skip
    unit = generate(c, tmp_path / "o")[0]
    k = _keyfile(unit)  # GLib reads the same keys: no line was added
    assert k.get_keys("Service")[0].count("ExecStart") == 1
    line = next(x for x in unit.read_text().splitlines() if x.startswith("ExecStart="))
    words = _exec_start_words(line)
    assert words[-len(HOSTILE_WORDS) :] == HOSTILE_WORDS
    assert words.count("$EDGEACTION_SOURCES") == 2  # ours, unquoted; the value's, escaped
    assert "$$EDGEACTION_SOURCES" in line
    if shutil.which("systemd-analyze"):
        assert not _verify(unit), unit.read_text()


@pytest.mark.parametrize(
    "field, value",
    [
        ("run_args", ['--cache-dir "/tmp/a\nExecStartPre=/bin/evil"']),  # was a stray line
        ("run_args", ["--smooth 3\nExecStartPre=/bin/evil"]),  # was a stray argument
        ("run_args", ["--cache-dir /tmp/a\u2028b"]),
        ("sources", ["rtsp://cam/a\x85b"]),
        ("user", "ubuntu\n"),
        ("workdir", "/srv/a\rb"),
        ("metrics", "/var/lib/x/m\x1b.json"),
        ("venv", os.fsdecode(b"/opt/v\xff")),  # not UTF-8: cannot go into a UTF-8 unit
    ],
)
def test_values_that_would_break_the_unit_are_refused(tmp_path, field, value):
    from edgeaction.jetson.service import ServiceConfig

    kw = {"sources": ["/data/c.mp4"], "user": "ubuntu", field: value}
    with pytest.raises(EdgeActionError) as e:
        ServiceConfig(str(tmp_path / "m.onnx"), **kw)
    assert len(str(e.value).splitlines()) == 1 and "\n" not in str(e.value)


def test_run_arg_with_a_newline_is_refused_by_the_cli(tmp_path):
    p = cli(
        "jetson", "service", tmp_path / "m.onnx", "--source", "x.mp4", "--out", tmp_path / "o",
        "--run-arg", "--smooth 3\nExecStartPre=/bin/evil", check=False,
    )  # fmt: skip
    usage_error(p, "--run-arg", "control character")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "source", ["/data/clip.mp4?realtime=1", "file:///data/clip.mp4?loop=1&realtime=1"]
)
def test_sources_take_the_options_run_takes(tmp_path, source, fake_venv):
    """`run` accepts ?realtime=1 on file sources; the service refused it."""
    cli(
        "jetson", "service", tmp_path / "m.onnx", "--source", source, "--out", tmp_path / "o",
        "--venv", fake_venv,
    )  # fmt: skip
    assert f"--source {source}" in (tmp_path / "o" / "edgeaction.env").read_text()
    p = cli(
        "jetson", "service", tmp_path / "m.onnx", "--source", source + "&bogus=1", "--out",
        tmp_path / "o2", check=False,
    )  # fmt: skip
    one_line_error(p, "unknown option 'bogus'")
