"""`edgeaction jetson power` against fake Jetson roots and fake nvpmodel/jetson_clocks scripts.

The fakes print what JetPack 6's tools print (tests/jetson/fixtures/*.txt) and append their
arguments to a log, so the tests check which commands `power` ran and in what order.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from edgeaction import machine as ep
from tests.conftest import cli, one_line_error

FIXTURES = Path(__file__).parent / "fixtures"
ORIN = FIXTURES / "orin_r36_4"

_NVPMODEL = """#!/bin/sh
echo "nvpmodel $*" >> "{log}"
case "$1" in
  -q) cat "{fx}/nvpmodel_q.txt" ;;
  -m)
    if [ -f "{bin}/deny" ]; then
      echo "NVPM ERROR: Error opening /var/lib/nvpmodel/status: Permission denied" >&2
      exit 1
    fi
    if [ "$2" = "9" ]; then echo "NVPM ERROR: Invalid mode id 9" >&2; exit 1; fi ;;
esac
exit 0
"""
_JETSON_CLOCKS = """#!/bin/sh
echo "jetson_clocks $*" >> "{log}"
if [ -f "{bin}/deny" ]; then echo "Error: Run this script($0) as a root user"; exit 1; fi
case "$1" in
  --show) cat "{fx}/jetson_clocks_show_$(cat "{bin}/state").txt" ;;
  --store) touch "{bin}/stored" ;;
  --restore)
    if [ ! -f "{bin}/stored" ]; then echo "Error: File /root/l4t_dfs.conf doesn't exist"; exit 1; fi
    echo off > "{bin}/state" ;;
  "") echo on > "{bin}/state" ;;
esac
exit 0
"""


class FakeTools:
    """Fake `nvpmodel` and `jetson_clocks` in `bin/`; `calls()` reads their argument log."""

    def __init__(self, tmp_path: Path, clocks: str = "off", deny: bool = False):
        self.bin = tmp_path / "bin"
        self.bin.mkdir(exist_ok=True)
        self.log = tmp_path / "calls.log"
        self.log.write_text("")
        (self.bin / "state").write_text(clocks + "\n")
        if deny:
            (self.bin / "deny").write_text("")
        for name, text in (("nvpmodel", _NVPMODEL), ("jetson_clocks", _JETSON_CLOCKS)):
            p = self.bin / name
            p.write_text(text.format(log=self.log, fx=FIXTURES, bin=self.bin))
            p.chmod(0o755)
        self.env = {"PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"}

    def calls(self) -> list[str]:
        return [ln.strip() for ln in self.log.read_text().splitlines()]

    def power(self, *args, root: Path = ORIN, check: bool = True):
        return cli("jetson", "power", "--root", root, *args, env=self.env, check=check)


def test_off_jetson_is_one_line(tmp_path):
    p = cli("jetson", "power", "--root", tmp_path, check=False)
    one_line_error(
        p, "needs a Jetson", "/etc/nv_tegra_release", "nvidia-smi -pm / -lgc", alone=True
    )
    assert p.stdout == ""


def test_show_mode_and_clocks(tmp_path):
    t = FakeTools(tmp_path, clocks="off")
    out = t.power().stdout
    assert "power mode: MAXN (id 0)" in out and "clocks:     off" in out
    assert t.calls() == ["nvpmodel -q", "jetson_clocks --show"]


def test_set_mode(tmp_path):
    t = FakeTools(tmp_path)
    p = t.power("--mode", "2")
    assert "nvpmodel -m 2" in t.calls()
    assert t.calls()[0] == "nvpmodel -m 2" and "power mode: MAXN" in p.stdout


def test_set_mode_without_root_names_sudo(tmp_path):
    t = FakeTools(tmp_path, deny=True)
    err = one_line_error(t.power("--mode", "2", check=False), "needs root", "sudo", alone=True)
    assert "sudo edgeaction jetson power --mode 2" in err and "Permission denied" in err


def test_bad_mode_id_is_one_line(tmp_path):
    t = FakeTools(tmp_path)
    one_line_error(t.power("--mode", "9", check=False), "nvpmodel -m 9", "Invalid mode id 9")
    one_line_error(t.power("--mode", "-1", check=False), "--mode", ">= 0")


def test_clocks_on_stores_then_pins_and_off_restores(tmp_path):
    t = FakeTools(tmp_path, clocks="off")
    assert "clocks: on" in t.power("--clocks", "on").stdout
    assert t.calls() == ["jetson_clocks --show", "jetson_clocks --store", "jetson_clocks"]
    assert "clocks:     on" in t.power().stdout  # the fake now shows pinned clocks
    t.log.write_text("")
    assert "already pinned" in t.power("--clocks", "on").stdout  # keeps the stored file
    assert t.calls() == ["jetson_clocks --show"]
    t.log.write_text("")
    assert "clocks: off" in t.power("--clocks", "off").stdout
    assert t.calls() == ["jetson_clocks --restore"]


def test_clocks_off_without_stored_settings(tmp_path):
    t = FakeTools(tmp_path)
    one_line_error(t.power("--clocks", "off", check=False), "--restore failed", "l4t_dfs.conf")


def test_clocks_show_and_no_root(tmp_path):
    t = FakeTools(tmp_path, clocks="on")
    out = t.power("--clocks", "show").stdout
    assert "GPU MinFreq=1300500000" in out and out.rstrip().endswith(
        "clocks: on (pinned at the mode's maximum by jetson_clocks)"
    )
    assert t.calls() == ["jetson_clocks --show"]
    (tmp_path / "d").mkdir()
    d = FakeTools(tmp_path / "d", deny=True)
    out = d.power().stdout  # show never fails: clocks reported unknown
    assert "clocks:     unknown: jetson_clocks --show needs root" in out
    one_line_error(
        d.power("--clocks", "on", check=False),
        "needs root",
        "sudo edgeaction jetson power --clocks on",
    )


def test_missing_tools_named(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(ORIN, root)
    if shutil.which("nvpmodel"):
        pytest.skip("a real nvpmodel is on PATH")
    one_line_error(
        cli("jetson", "power", "--root", root, check=False), "nvpmodel not found", "apt install"
    )


def test_power_mode_probe(tmp_path, monkeypatch):
    assert ep.power_mode(tmp_path) is None
    t = FakeTools(tmp_path, clocks="on")
    monkeypatch.setenv("PATH", t.env["PATH"])
    assert ep.power_mode(ORIN) == {"mode": "MAXN", "id": 0, "clocks": "on"}
    (t.bin / "state").write_text("off\n")
    assert ep.power_mode(ORIN)["clocks"] == "off"
    s = ep.summary(ORIN)
    assert s["kind"] == "jetson" and s["name"] == "NVIDIA Jetson AGX Orin Developer Kit"
    assert s["l4t"] == "36.4.0" and s["jetpack"] == "6.1" and s["power"]["mode"] == "MAXN"


def test_parsers():
    assert ep.parse_nvpmodel((FIXTURES / "nvpmodel_q.txt").read_text()) == {"mode": "MAXN", "id": 0}
    assert ep.parse_nvpmodel("NVPM WARN: x\nNV Power Mode: 15W\n2\n") == {"mode": "15W", "id": 2}
    assert ep.parse_nvpmodel("garbage") == {"mode": None, "id": None}
    assert ep.parse_clocks((FIXTURES / "jetson_clocks_show_on.txt").read_text()) == "on"
    assert ep.parse_clocks((FIXTURES / "jetson_clocks_show_off.txt").read_text()) == "off"
    assert ep.parse_clocks("nothing here") is None
