"""`edgeaction jetson power`: show or set the Jetson power mode and clock pinning.

Wraps JetPack's own tools, looked up on `PATH` and in `/usr/sbin`, `/usr/bin`:

- `nvpmodel -q` (query: "NV Power Mode: MAXN" and the mode id), `nvpmodel -m N` (set;
  needs root, and some mode changes need a reboot, which nvpmodel asks about: its
  question gets no answer here, so it does not reboot and we say a reboot is needed);
- `jetson_clocks --show`, `jetson_clocks --store` + `jetson_clocks` (`--clocks on`:
  save the current clocks, then pin them at the mode's maximum), `jetson_clocks
  --restore` (`--clocks off`: back to the saved dynamic clocks). Needs root.

```bash
edgeaction jetson power                  # mode and clocks state
sudo edgeaction jetson power --mode 0    # MAXN on AGX Orin
sudo edgeaction jetson power --clocks on # before a benchmark; --clocks off after
```
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .. import machine as ep
from .. import options
from ..errors import fail

NOT_JETSON = (
    "edgeaction jetson power needs a Jetson (no /etc/nv_tegra_release here); "
    "on a dGPU use nvidia-smi -pm / -lgc"
)
_ROOT_WORDS = ("permission denied", "must be root", "as a root user", "are you root",
               "operation not permitted", "root privilege", "need root")  # fmt: skip


def _tool(name: str, root: Path, package: str) -> str:
    path = ep.which(name, root)
    if path is None:
        fail(f"{name} not found on PATH, /usr/sbin or /usr/bin: sudo apt install {package}")
    return path


def _first(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    err = [ln for ln in lines if "error" in ln.lower()]
    return (err or lines or ["no output"])[0][:200]


def _call(cmd: list[str], again: str, timeout: float = 30.0) -> str:
    """Run `cmd`; on failure raise one line, naming sudo when root is what is missing."""
    r = ep.run_tool(cmd, timeout=timeout)
    name = Path(cmd[0]).name
    shown = " ".join([name, *cmd[1:]])
    if r is None:
        fail(f"{shown} could not run (not executable, or no answer in {timeout:g} s)")
    rc, out = r
    if rc == 0:
        return out
    said = _first(out)
    low = out.lower()
    if any(w in low for w in _ROOT_WORDS) or os.geteuid() != 0:
        fail(f"{shown} needs root: run `sudo {again}` ({name} said: {said})")
    fail(f"{shown} failed (exit {rc}): {said}")


def _clocks(jc: str) -> tuple[str | None, str]:
    """`(state, note)` from `jetson_clocks --show`; state None with the reason when it fails."""
    r = ep.run_tool([jc, "--show"])
    if r is None:
        return None, "jetson_clocks --show did not run"
    rc, out = r
    if rc != 0:
        low = out.lower()
        if any(w in low for w in _ROOT_WORDS) or os.geteuid() != 0:
            return None, "unknown: jetson_clocks --show needs root (sudo)"
        return None, f"unknown: jetson_clocks --show failed: {_first(out)}"
    state = ep.parse_clocks(out)
    return state, "unknown: unrecognised jetson_clocks --show output" if state is None else ""


def _mode_line(nvp: str) -> str:
    q = ep.parse_nvpmodel(_call([nvp, "-q"], "nvpmodel -q"))
    if q["mode"] is None:
        return "unknown (nvpmodel -q printed no 'NV Power Mode' line)"
    return q["mode"] + (f" (id {q['id']})" if q["id"] is not None else "")


def _clocks_line(state: str | None, note: str) -> str:
    if state == "on":
        return "on (pinned at the mode's maximum by jetson_clocks)"
    if state == "off":
        return "off (dynamic frequency scaling)"
    return note


def cmd_power(a) -> int:
    """`edgeaction jetson power [--mode N] [--clocks on|off|show]`."""
    root = Path(a.root)
    if not ep.is_jetson(root):
        fail(NOT_JETSON)
    nvp = _tool("nvpmodel", root, "nvidia-l4t-nvpmodel")
    jc = _tool("jetson_clocks", root, "nvidia-l4t-tools")

    if a.mode is not None:
        if a.mode < 0:
            fail(f"--mode takes a power mode id >= 0 (see /etc/nvpmodel.conf). Received: {a.mode}")
        out = _call([nvp, "-m", str(a.mode)], f"edgeaction jetson power --mode {a.mode}")
        print(f"power mode: {_mode_line(nvp)}")
        if "reboot" in out.lower():
            print(f"note: this mode change takes effect after a reboot (nvpmodel: {_first(out)})")

    if a.clocks == "on":
        state, _ = _clocks(jc)
        again = "edgeaction jetson power --clocks on"
        if state == "on":
            print("clocks: already pinned at maximum (stored settings kept)")
        else:
            _call([jc, "--store"], again)
            _call([jc], again)
            print("clocks: on (previous settings stored; --clocks off restores them)")
    elif a.clocks == "off":
        r = ep.run_tool([jc, "--restore"], timeout=30.0)
        if r is None or r[0] != 0:
            said = _first(r[1]) if r else "did not run"
            low = r[1].lower() if r else ""
            if any(w in low for w in _ROOT_WORDS) or os.geteuid() != 0:
                fail(
                    f"jetson_clocks --restore needs root: run `sudo edgeaction jetson power "
                    f"--clocks off` (jetson_clocks said: {said})"
                )
            fail(
                f"jetson_clocks --restore failed: {said}; no stored settings? They are saved by "
                "`edgeaction jetson power --clocks on`; a reboot also restores dynamic clocks"
            )
        print("clocks: off (stored settings restored)")
    elif a.clocks == "show":
        r = ep.run_tool([jc, "--show"])
        if r is None or r[0] != 0:
            _call([jc, "--show"], "edgeaction jetson power --clocks show")
        print(r[1])
        print(f"clocks: {_clocks_line(ep.parse_clocks(r[1]), 'unknown: unrecognised output')}")

    if a.mode is None and a.clocks is None:
        print(f"power mode: {_mode_line(nvp)}")
        print(f"clocks:     {_clocks_line(*_clocks(jc))}")
    return 0


def add_parser(jsub: argparse._SubParsersAction) -> None:
    """Register `edgeaction jetson power` on the `jetson` sub-parsers."""
    p = jsub.add_parser(
        "power",
        help="show or set the power mode (nvpmodel) and clock pinning (jetson_clocks)",
        description="Without options: print the power mode (nvpmodel -q) and whether the "
        "clocks are pinned (jetson_clocks --show). Setting needs root (sudo). Needs a "
        "Jetson; on a dGPU use nvidia-smi -pm / -lgc.",
        epilog="examples:\n"
        "  edgeaction jetson power                    # mode and clocks\n"
        "  sudo edgeaction jetson power --mode 0      # MAXN (AGX Orin); ids: /etc/nvpmodel.conf\n"
        "  sudo edgeaction jetson power --clocks on   # before benchmarking; --clocks off after\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(  # options.integer: the range check and its message are cmd_power's
        "--mode", type=options.integer, metavar="N", help="set power mode N (nvpmodel -m N)"
    )
    p.add_argument(
        "--clocks",
        choices=["on", "off", "show"],
        help="on: store the current clocks, then pin them at maximum (jetson_clocks); "
        "off: restore the stored clocks; show: jetson_clocks --show",
    )
    p.add_argument("--root", type=options.pathlib_path, default=Path("/"), help=argparse.SUPPRESS)
    p.set_defaults(fn=cmd_power)
