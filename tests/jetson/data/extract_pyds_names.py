"""Extract the Python names DeepStream's pyds bindings define from their pybind11 sources.

The bindings live in NVIDIA-AI-IOT/deepstream_python_apps under `bindings/src/*.cpp`. This
reads those C++ files (never copied into this repository) and writes only the names they
register, with where each file was read, to `pyds_names_<version>.json`:

- `functions`: `m.def("name", ...)` (module-level functions),
- `attributes`: `m.attr("name")`,
- `classes`: `py::class_<T>(m, "Name", ...)` with the members chained on it
  (`.def`, `.def_static`, `.def_readwrite`, `.def_readonly`, `.def_property`,
  `.def_property_readonly`),
- `enums`: `py::enum_<T>(m, "Name", ...)` with its `.value("X", ...)` names and whether
  `.export_values()` also puts them on the module.

```
# sources fetched from GitHub at the commits named in SOURCES (needs network):
python tests/jetson/data/extract_pyds_names.py 1.2.0 --fetch
# or from local copies laid out as DIR/<commit>/<file name>:
python tests/jetson/data/extract_pyds_names.py 1.2.0 --src /tmp/pyds-src
```

Only the files listed for a version are read, so a name the app needs that is not in one
of them is reported missing (the test fails closed, never open).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import urllib.request
from pathlib import Path

REPO = "NVIDIA-AI-IOT/deepstream_python_apps"
HERE = Path(__file__).resolve().parent

#: version -> release facts and the files read, each at the commit it was read at.
SOURCES = {
    "1.2.0": {
        "deepstream": "7.1",
        "release_commit": "4a24152b3b2d28aa8fbd5e1fe90efe246b4ec963",
        "release_evidence": (
            "at this commit bindings/README.md says 'SDK version supported: 7.1' and installs "
            'pyds-1.2.0; bindings/src/pyds.cpp defines PYDS_VERSION "1.2.0" and registers '
            "bindnvosd, bindnvdsmeta, bindschema, bindfunctions, bindtrackermeta, bindmeta360, "
            "bindanalyticsmeta, bindgstnvdsmeta, bindnvbufsurface, bindnvdsinfer, "
            "bindopticalflowmeta, bindutils and bindcustom only (no preprocess or ROI binder)"
        ),
        "files": [
            ("bindings/src/pyds.cpp", "4a24152b3b2d28aa8fbd5e1fe90efe246b4ec963"),
            ("bindings/src/bindfunctions.cpp", "4a24152b3b2d28aa8fbd5e1fe90efe246b4ec963"),
            ("bindings/src/utils.cpp", "4a24152b3b2d28aa8fbd5e1fe90efe246b4ec963"),
            ("bindings/src/bindnvdsinfer.cpp", "883c0e3acaa77b76d0b2e7554425397baed1e396"),
            ("bindings/src/bindnvdsmeta.cpp", "883c0e3acaa77b76d0b2e7554425397baed1e396"),
        ],
        "notes": [
            "bindnvdsinfer.cpp and bindnvdsmeta.cpp did not change in the release commit; they "
            "are read at 883c0e3a (DeepStream 6.2, pyds 1.1.5), the newest official commit the "
            "source store holds them at. bindnvdsinfer.cpp is unchanged since then (2021-2022 "
            "copyright, and a fork commit built on 1.2.0 stores no copy of its own). "
            "bindnvdsmeta.cpp in 1.2.0 also has NvDsMetaType.NVDS_TRACKER_BATCH_REID_META and "
            "NVDS_TRACKER_OBJ_REID_META (seen in a fork built on 1.2.0) that 883c0e3a lacks: the "
            "names here are a subset of 1.2.0's, never a superset.",
            "Not read: bindnvosd, bindschema, bindtrackermeta, bindmeta360, bindanalyticsmeta, "
            "bindgstnvdsmeta, bindnvbufsurface, bindopticalflow, custom_binding/bindcustom.",
            "Excluded: commits c0052d48, 7f37b644, 4289462d, b6e18108 and bd4db3d2 seen in the "
            "repository network also say pyds 1.2.0 but add bindnvdspreprocess_meta.cpp / "
            "bindnvds_roi_meta.cpp (no NVIDIA licence header, build outputs and wheels "
            "committed): a fork's build, not the 1.2.0 release.",
        ],
    },
}

CHAIN = re.compile(
    r"\.(def|def_static|def_readwrite|def_readonly|def_property|def_property_readonly|value)"
    r"\s*\(\s*\"([^\"]+)\""
)
HEAD = re.compile(r"py::(class_|enum_)\s*<[^;{]*?>\s*\(\s*m\s*,\s*\"([^\"]+)\"")
MODULE = re.compile(r"\bm\s*\.\s*(def|attr)\s*\(\s*\"([^\"]+)\"")


def strip_comments(src: str) -> str:
    """C++ source with // and /* */ comments blanked (string literals kept)."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append(src[i : j + 1])
            i = j + 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _statement_end(src: str, start: int) -> int:
    """Index of the `;` ending the statement that begins at `start` (outside (), {}, "")."""
    depth, i = 0, start
    while i < len(src):
        c = src[i]
        if c == '"':
            i += 1
            while src[i] != '"':
                i += 2 if src[i] == "\\" else 1
        elif c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif c == ";" and depth == 0:
            return i
        i += 1
    raise ValueError(f"unterminated statement at {start}")


def _top_level(src: str, start: int, end: int) -> str:
    """`src[start:end]` with everything nested in parentheses/braces beyond the chain blanked.

    A chain `py::class_<T>(m, "N").def("a", [](T &s) { ... }).def_readonly("b", ...)`
    keeps `.def("a"` and `.def_readonly("b"` but not calls made inside lambda bodies.
    """
    keep, depth, i = [], 0, start
    while i < end:
        c = src[i]
        if c == '"':
            j = i + 1
            while src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            keep.append(src[i : j + 1] if depth <= 1 else " ")
            i = j + 1
            continue
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        keep.append(c if depth <= 1 else " ")
        i += 1
    return "".join(keep)


def extract(sources: dict[str, str]) -> dict:
    """Names registered by the pybind11 sources `{path: text}`."""
    functions, attributes, classes, enums = set(), set(), {}, {}
    for text in sources.values():
        src = strip_comments(text)
        spans = []
        for h in HEAD.finditer(src):
            end = _statement_end(src, h.start())
            spans.append((h.start(), end))
            chain = _top_level(src, h.start(), end)
            calls = [(m.group(1), m.group(2)) for m in CHAIN.finditer(chain)]
            if h.group(1) == "enum_":
                e = enums.setdefault(h.group(2), {"values": set(), "export_values": False})
                e["values"].update(n for k, n in calls if k == "value")
                e["export_values"] |= ".export_values" in chain
            else:
                classes.setdefault(h.group(2), set()).update(n for k, n in calls if k != "value")
        for m in MODULE.finditer(src):
            if any(a <= m.start() <= b for a, b in spans):
                continue
            (functions if m.group(1) == "def" else attributes).add(m.group(2))
    return {
        "functions": sorted(functions),
        "attributes": sorted(attributes),
        "classes": {k: sorted(v) for k, v in sorted(classes.items())},
        "enums": {
            k: {"values": sorted(v["values"]), "export_values": v["export_values"]}
            for k, v in sorted(enums.items())
        },
    }


def read_sources(version: str, src_dir: Path | None) -> dict[str, str]:
    out = {}
    for path, commit in SOURCES[version]["files"]:
        if src_dir is None:
            url = f"https://raw.githubusercontent.com/{REPO}/{commit}/{path}"
            with urllib.request.urlopen(url, timeout=60) as r:
                out[path] = r.read().decode("utf-8")
        else:
            out[path] = (src_dir / commit / Path(path).name).read_text(encoding="utf-8")
    return out


def build(version: str, src_dir: Path | None) -> dict:
    info = SOURCES[version]
    texts = read_sources(version, src_dir)
    return {
        "pyds": version,
        "deepstream": info["deepstream"],
        "repository": REPO,
        "release_commit": info["release_commit"],
        "release_evidence": info["release_evidence"],
        "sources": [
            {"path": p, "commit": c, "sha256": hashlib.sha256(texts[p].encode()).hexdigest()}
            for p, c in info["files"]
        ],
        "notes": info["notes"],
        "generated_by": "tests/jetson/data/extract_pyds_names.py",
        **extract(texts),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("version", choices=sorted(SOURCES))
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--fetch", action="store_true", help="download the sources from GitHub")
    g.add_argument("--src", type=Path, help="local copies as DIR/<commit>/<file name>")
    ap.add_argument("--out", type=Path, help="default: pyds_names_<version>.json here")
    a = ap.parse_args(argv)
    data = build(a.version, None if a.fetch else a.src)
    out = a.out or HERE / f"pyds_names_{a.version}.json"
    out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    n = len(data["functions"]) + sum(map(len, data["classes"].values()))
    print(f"wrote {out} ({len(data['classes'])} classes, {n} functions and members)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
