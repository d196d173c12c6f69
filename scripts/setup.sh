#!/usr/bin/env bash
# Set up everything edgeaction needs on a fresh Debian 12 / Ubuntu 22.04+ machine:
# Debian's GStreamer packages, a .venv with the package and its extras.
# Idempotent: a second run checks stamps and returns in seconds.
#
#   bash scripts/setup.sh            # runtime + train + pose + metrics + mqtt extras
#   bash scripts/setup.sh --test     # the same plus the test tools
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${EDGEACTION_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
WITH_TEST=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
SUDO=""
need_sudo() {
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "setup: system packages are missing; run as root or install sudo" >&2; exit 1; }
        SUDO="sudo"
    fi
}

# --- 1. system packages (GStreamer 1.22 from Debian; FACTS: no Linux wheels) -------------
# mosquitto: the MQTT broker the tests of `run --mqtt` start on a loopback port (Debian
# enables its service on install; the tests start their own on a free port).
APT_PKGS=(
    python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
    gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
    gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-x gstreamer1.0-tools
    gir1.2-gst-rtsp-server-1.0 python3-venv
    mosquitto mosquitto-clients
)
missing=()
for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    say "installing ${#missing[@]} Debian packages: ${missing[*]}"
    need_sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    say "Debian packages present"
fi

# --- 2. virtual environment -------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV with $($PY --version 2>&1)"
    "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"

# PyGObject: reuse Debian's gi when the ABI matches the venv's Python (fast), else build
# it in the venv against the system GLib (FACTS: pygobject<3.51 on Debian 12).
if ! "$VPY" -c "import gi" 2>/dev/null; then
    site="$("$VPY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    tag="$("$VPY" -c 'import sys; print(f"cpython-{sys.version_info[0]}{sys.version_info[1]}")')"
    if ls /usr/lib/python3/dist-packages/gi/_gi.${tag}-*.so >/dev/null 2>&1; then
        say "linking Debian's PyGObject into the venv ($tag)"
        ln -sfn /usr/lib/python3/dist-packages/gi "$site/gi"
        for d in /usr/lib/python3/dist-packages/PyGObject-*.egg-info; do
            [[ -e "$d" ]] && ln -sfn "$d" "$site/$(basename "$d")"
        done
    else
        say "building PyGObject in the venv (no Debian gi for $tag)"
        need_sudo
        $SUDO apt-get install -y -qq --no-install-recommends libgirepository1.0-dev pkg-config \
            python3-dev gcc >/dev/null
        "$VPY" -m pip install -q "pygobject<3.51" -Csetup-args=-Dpycairo=disabled
    fi
fi

# --- 3. the package and its extras (constraints keep MediaPipe, TF and onnx together) ----
extras="runtime,train,pose,metrics,mqtt"
((WITH_TEST)) && extras="$extras,test"
stamp="$VENV/.edgeaction-$extras-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [[ ! -e "$stamp" ]]; then
    say "installing edgeaction[$extras] (first time: a few minutes, TensorFlow is large)"
    "$VPY" -m pip install -q --upgrade pip
    "$VPY" -m pip install -q -c constraints.txt -e ".[$extras]"
    # MediaPipe 0.10.21 ships its pose models offline; its metadata pins are too strict.
    "$VPY" -m pip install -q -c constraints.txt --no-deps "mediapipe==0.10.21"
    rm -f "$VENV"/.edgeaction-*
    touch "$stamp"
else
    say "edgeaction[$extras] already installed"
fi
"$VPY" -c "import gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst; Gst.init(None)" \
    || { echo "setup: GStreamer is not importable from $VPY" >&2; exit 1; }
say "ready: $VENV"
