"""Find labelled clips on disk in one of three layouts, split them, decode them.

No TensorFlow here: evaluation on a Jetson uses this module too. Every clip is decoded
by GStreamer through the runtime's scale/convert chain (`edgeaction.video`), so training,
evaluation and the live pipeline see identically prepared frames.

Layouts (`--layout`; `discover(layout=None)` detects them, rules in `detect_layout`):

`folders`
    Class-folder videos, UCF101 / UCF11 / Kinetics style: `root/<label>/**/*.mp4|avi|...`
    (sub-folders below a label folder are searched too, e.g. UCF11's
    `root/<label>/<group>/*.avi`). Labels are sorted by name. The split is stratified
    per label and reproducible by seed (70/15/15; at least one val and one test clip
    of a label with 3 or more clips). A `root/manifest.csv` (`path,label,split`, what
    `edgeaction synth` writes) lists the clips and fixes the split instead; detection
    calls such a folder `manifest`, `--layout folders` reads it the same way.
`frames`
    Frame-folder clips listed in a CSV, Jester / "gesture recognition case study" style:
    one folder of images (png, jpg, jpeg, bmp) per clip, frames ordered by file name in
    natural order (`img2` before `img10`); CSV rows `folder;label;index` (`;`-separated,
    no header; a first line whose index is not an integer is taken as a header and
    skipped; `folder;label` rows without an index are accepted too). Labels are ordered
    by class index when every label has one (indices need not be contiguous), otherwise
    by name; an index naming two labels, or a label with two indices, fails with the
    CSV line. Give either
    - a directory holding `train.csv` and `val.csv` (and optionally `test.csv`): the
      files give the split. Without `test.csv` a stratified test part is carved out of
      `train.csv`'s rows by seed: the `fractions[2]` share (15 %) of each label's rows,
      at least one of a label with 3 or more rows. `val.csv` stays untouched.
    - one CSV file: the split is stratified by seed as for `folders`.
    The folders of a CSV `<dir>/<name>.csv` are looked up in `<dir>/<name>/` if that
    directory exists and holds the first row's folder, else in `<dir>/` (absolute
    folders are taken as they are).
`manifest`
    A CSV with a header `path,label[,start,end][,split]` (`,`-separated; start/end in
    seconds, each optional per row: empty start = from the beginning, empty end = to the
    end; split empty = stratified by seed). A segment keeps the frames whose timestamp,
    counted from the clip's first frame, lies in `[start, end)`. Relative paths are
    resolved against the CSV's directory.

The data set root is the directory given, or the directory of the CSV file given. Every
clip must lie inside it once resolved (`..`, absolute paths and symbolic links are
followed): a row or a linked clip that points elsewhere (`../../etc/passwd`,
`/data/other/a.mp4`, a symlink out of the root) fails with the CSV line, unless
`allow_outside_root=True` (`--allow-outside-root` on the command line) says the data set
knowingly points outside. `outside_root_allowed(True)` sets the default for the code it
wraps (the CLI uses it where a data set is read by code it does not own the call of).

`ClipItem.key(root)` is a stable, file-name-safe id of a clip (and its segment) for caches.
Missing or unreadable clips are not fatal at discovery: `clips.load_clips` skips and reports
them (discovery fails only when none of the listed clips exists).
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import hashlib
import logging
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import fail
from .fsutil import show_path, target_kind
from .video.images import IMAGE_EXTS
from .video.reader import _VIDEO_EXTS

log = logging.getLogger("edgeaction.datasets")

LAYOUTS = ("folders", "frames", "manifest")
_SPECIAL = {"fifo": "a FIFO (named pipe)", "char": "a character device", "socket": "a socket",
            "block": "a block device"}  # fmt: skip
SPLITS = ("train", "val", "test")
_MANIFEST_COLUMNS = ("path", "label", "start", "end", "split")
_EPS = 1e-6  # seconds; timestamps are integer nanoseconds
OUTSIDE_FLAG = "--allow-outside-root"
_ALLOW_OUTSIDE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "edgeaction_allow_outside_root", default=False
)


@contextlib.contextmanager
def outside_root_allowed(allow: bool = True) -> Iterator[None]:
    """Within the block, `discover(allow_outside_root=None)` defaults to `allow`.

    Args:
        allow: Boolean. Whether clips outside the data set root are read. Defaults to
            `True`.
    """
    token = _ALLOW_OUTSIDE.set(bool(allow))
    try:
        yield
    finally:
        _ALLOW_OUTSIDE.reset(token)


def _show(text: str, limit: int = 120) -> str:
    """`text` for a one-line message: as is when printable and short, else its repr, cut."""
    if text.isprintable() and len(text) <= limit:
        return text
    r = repr(text)
    return r if len(r) <= limit else r[: limit - 3] + "..."


def _exists(p: Path) -> bool:
    """`p.exists()` that is False (not an error) for names the OS refuses (too long, NUL)."""
    try:
        return p.exists()
    except (OSError, ValueError):
        return False


def _is_dir(p: Path) -> bool:
    try:
        return p.is_dir()
    except (OSError, ValueError):
        return False


def _real(p: Path) -> Path | None:
    """`p` resolved (symlinks followed), or None when it cannot be (a loop, a bad name)."""
    try:
        return p.resolve()
    except (OSError, RuntimeError, ValueError):
        return None


class _RootGuard:
    """Refuses clips that resolve outside `root`, unless `allow`."""

    def __init__(self, root: Path, allow: bool):
        self.root, self.allow = root, allow
        self.real = _real(root) or Path(os.path.abspath(root))

    def check(self, path: Path, where: str, shown: str) -> None:
        """Fail when `path` lies outside the root; `where` and `shown` name the row."""
        if self.allow:
            return
        real = _real(path)
        if real is None:
            fail(
                f"{where}: cannot resolve {_show(shown)} (a symbolic link loop or a name the "
                f"system refuses), so it cannot be checked to lie inside the data set root "
                f"{self.root}; fix the path, or pass {OUTSIDE_FLAG} to skip the check"
            )
        if real.is_relative_to(self.real):
            return
        link = " through a symbolic link" if _under(path, self.root) else ""
        fail(
            f"{where}: {_show(shown)} points outside the data set root {self.root}{link}; "
            f"move the clip inside it, or pass {OUTSIDE_FLAG} to read it anyway"
        )


def _under(path: Path, root: Path) -> bool:
    """Whether `path` lies under `root` without following links."""
    a, b = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    return a.is_relative_to(b)


@dataclass
class ClipItem:
    """One labelled clip.

    Args:
        path: A video file; for `kind="frames"` the folder of images.
        label: String. Class name.
        split: `"train"`, `"val"`, `"test"` or None (not assigned yet).
        start: Float or None. Segment start in seconds from the first frame; None = start.
        end: Float or None. Segment end in seconds (exclusive); None = to the end.
        kind: `"video"` or `"frames"`.
    """

    path: Path
    label: str
    split: str | None = None
    start: float | None = None
    end: float | None = None
    kind: str = "video"

    def key(self, root: str | os.PathLike) -> str:
        """Stable, file-name-safe id of this clip relative to `root`, e.g. for caches.

        Readable (the relative path with `/` as `__`, the segment as `__1.5-3s`) and
        unique (a hash of the exact relative path and segment), so two segments of one
        video get different keys, and a data set moved elsewhere keeps its keys.
        """
        rel = _relative(Path(self.path), Path(root))
        if self.start is not None or self.end is not None:
            rel += f"@{_segment(self)}s"
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", rel.replace("/", "__").replace("@", "__"))
        readable = readable.strip("._-")[:96] or "clip"
        return f"{readable}-{hashlib.sha1(os.fsencode(rel)).hexdigest()[:10]}"

    def describe(self) -> str:
        """The path, with the segment when there is one (for messages)."""
        if self.start is None and self.end is None:
            return str(self.path)
        return f"{self.path} [{_segment(self)} s]"


def _num(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")


def _segment(item: ClipItem) -> str:
    s = _num(item.start) if item.start is not None else "0"
    return f"{s}-{_num(item.end) if item.end is not None else 'end'}"


def _relative(p: Path, root: Path) -> str:
    for a, b in ((p, root), (Path(os.path.abspath(p)), Path(os.path.abspath(root)))):
        try:
            return a.relative_to(b).as_posix()
        except ValueError:
            pass
    try:
        return Path(os.path.relpath(os.path.abspath(p), os.path.abspath(root))).as_posix()
    except ValueError:  # another drive on Windows
        return Path(os.path.abspath(p)).as_posix()


@dataclass
class Dataset:
    """Clips of one data set, their labels (model output order) and split."""

    root: Path
    layout: str
    labels: tuple[str, ...]
    items: list[ClipItem]

    def split(self, name: str) -> list[ClipItem]:
        return [it for it in self.items if it.split == name]


# ---- detection ---------------------------------------------------------------------------
def _first_line(p: Path) -> str:
    try:
        with open(p, encoding="utf-8-sig", errors="replace") as f:
            for line in f:
                if line.strip():
                    return line.strip()
    except OSError as e:
        fail(f"cannot read {p} ({e.strerror or e})")
    return ""


def detect_layout(data: str | os.PathLike) -> str:
    """Tell the layout of `data`.

    - a directory holding `manifest.csv` → `manifest`;
    - a directory holding `train.csv` and `val.csv` → `frames`;
    - any other directory → `folders`;
    - a CSV file whose first line has 2 or 3 `;`-separated fields → `frames`;
    - a CSV file whose first line is a `,`-separated header naming path and label →
      `manifest`.
    """
    p = _check_exists(data)
    if _is_dir(p):
        if (p / "manifest.csv").is_file():
            return "manifest"
        if (p / "train.csv").is_file() and (p / "val.csv").is_file():
            return "frames"
        return "folders"
    line = _first_line(p)
    if ";" in line and len(line.split(";")) in (2, 3):
        return "frames"
    header = {h.strip().lower() for h in line.split(",")}
    if {"path", "label"} <= header:
        return "manifest"
    fail(
        f"cannot tell the layout of {p}: its first line is neither a header "
        "path,label[,start,end][,split] (manifest) nor a row folder;label;index (frames); "
        f"fix the file or give --layout ({', '.join(LAYOUTS)})"
    )


def _check_exists(data) -> Path:
    """`data` as a Path if it is a directory or a regular file; fails with one line
    naming what it is otherwise (a FIFO is looked at, never opened: that would block)."""
    p = Path(data)
    if not _exists(p):
        fail(f"data set not found: {show_path(p)}; check the path")
    try:
        kind = target_kind(p)
    except (OSError, ValueError):
        kind = "other"
    if kind not in ("dir", "file"):
        what = _SPECIAL.get(kind, "not a regular file")
        fail(
            f"data set {show_path(p)} is {what}, not a directory or CSV file; give the "
            "folder of the data set or its CSV file"
        )
    return p


# ---- discovery ---------------------------------------------------------------------------
def discover(
    data: str | os.PathLike,
    layout: str | None = None,
    seed: int = 0,
    fractions=(0.7, 0.15, 0.15),
    allow_outside_root: bool | None = None,
) -> Dataset:
    """Find the clips of a data set and assign a train/val/test split.

    Args:
        data: A directory (class folders; a folder holding `manifest.csv`; a folder
            holding `train.csv` and `val.csv`) or a CSV file (frames or manifest).
        layout: String or None. One of `LAYOUTS`; None detects it (see `detect_layout`).
        seed: Integer. Seed of the stratified split where no file gives one.
        fractions: Tuple of 3 floats. Train/val/test shares. Defaults to 70/15/15.
        allow_outside_root: Boolean or None. Read clips that resolve outside the data
            set root (`..`, absolute paths, symbolic links out of it); otherwise they
            fail with the row. None takes the default of `outside_root_allowed`
            (False unless set).
    """
    if allow_outside_root is None:
        allow_outside_root = _ALLOW_OUTSIDE.get()
    allow = bool(allow_outside_root)
    if layout is not None and layout not in LAYOUTS:
        fail(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if len(fractions) != 3 or any(not 0 <= float(f) <= 1 for f in fractions):
        fail(f"split fractions must be 3 shares in 0..1. Received: {tuple(fractions)}")
    p = _check_exists(data)
    layout = layout or detect_layout(p)
    index: dict[str, int] = {}
    if layout == "folders" and _is_dir(p) and (p / "manifest.csv").is_file():
        root, items = _discover_manifest(p, allow)  # class folders whose manifest fixes the split
    elif layout == "folders":
        root, items = p, _discover_folders(p, allow)
    elif layout == "manifest":
        root, items = _discover_manifest(p, allow)
    else:
        root, items, index = _discover_frames(p, seed, fractions, allow)
    if not items:
        fail(f"no clips found in {p}; check the data set ({layout} layout)")
    names = {it.label for it in items}
    if index and names <= index.keys():
        labels = tuple(sorted(names, key=lambda lab: index[lab]))
    else:
        labels = tuple(sorted(names))
    if len(labels) < 2:
        fail(f"{p} holds clips of only one label ({labels[0]}); a classifier needs at least 2")
    if any(it.split is None for it in items):
        _stratified_split(items, labels, seed, fractions)
    if layout != "folders" or _is_dir(p) and (p / "manifest.csv").is_file():
        _check_listed(p, root, items)
    return Dataset(root, layout, labels, items)


def _discover_folders(r: Path, allow: bool = False) -> list[ClipItem]:
    if not _is_dir(r):
        fail(
            f"data set {r} is not a directory; give the folder that holds one sub-folder per label"
        )
    items = []
    guard = _RootGuard(r, allow)
    for d in sorted(p for p in r.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for top, dirs, files in os.walk(d):
            dirs[:] = sorted(x for x in dirs if not x.startswith("."))
            for name in sorted(files):
                f = Path(top) / name
                if f.suffix.lower() in _VIDEO_EXTS and not name.startswith(".") and f.is_file():
                    guard.check(f, f"clip {f}", f.relative_to(r).as_posix())
                    items.append(ClipItem(f, d.name))
    if not items:
        hint = ""
        if any(r.glob("*.csv")):
            hint = f"; for a CSV data set give the CSV file or --layout ({', '.join(LAYOUTS)})"
        fail(
            f"no clips found in {r}: expected <label>/<clip>.mp4 sub-folders "
            f"(extensions {', '.join(sorted(_VIDEO_EXTS))}){hint}"
        )
    return items


def _discover_manifest(p: Path, allow: bool = False) -> tuple[Path, list[ClipItem]]:
    if _is_dir(p):
        csv_path = p / "manifest.csv"
        if not csv_path.is_file():
            fail(
                f"{p} holds no manifest.csv; give the manifest CSV file "
                "(header path,label[,start,end][,split]) or a folder holding manifest.csv"
            )
    else:
        csv_path = p
    root = csv_path.parent
    return root, _read_manifest(csv_path, root, allow)


def _rows(csv_path: Path, delimiter: str):
    """(line number, stripped fields) of the non-blank rows of a CSV file."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            rows = csv.reader(f, delimiter=delimiter)
            for row in rows:
                fields = [x.strip() for x in row]
                if any(fields):
                    yield rows.line_num, fields
    except UnicodeDecodeError:
        fail(f"{csv_path} is not a UTF-8 text file; give a CSV file")
    except csv.Error as e:
        fail(f"{csv_path}: malformed CSV ({e})")
    except OSError as e:
        fail(f"cannot read {csv_path} ({e.strerror or e})")


def _seconds(csv_path: Path, n: int, what: str, text: str) -> float | None:
    if not text:
        return None
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not math.isfinite(v) or v < 0:
        fail(f"{csv_path} line {n}: {what} must be seconds >= 0. Received: {_show(repr(text))}")
    return v


def _read_manifest(csv_path: Path, root: Path, allow: bool = False) -> list[ClipItem]:
    rows = _rows(csv_path, ",")
    first = next(rows, None)
    if first is None:
        fail(f"{csv_path} is empty; it needs a header path,label[,start,end][,split]")
    _, header = first
    header = [h.lower() for h in header]
    if not {"path", "label"} <= set(header):
        fail(f"{csv_path} needs a header with path,label[,start,end][,split]")
    unknown = [h for h in header if h not in _MANIFEST_COLUMNS]
    if unknown or len(set(header)) != len(header):
        what = f"unknown column {_show(repr(unknown[0]))}" if unknown else "a repeated column"
        fail(f"{csv_path}: {what} in the header; columns are {','.join(_MANIFEST_COLUMNS)}")
    col = {h: i for i, h in enumerate(header)}
    guard = _RootGuard(root, allow)
    items = []
    seen: dict[tuple, int] = {}
    for n, fields in rows:
        if len(fields) != len(header):
            fail(
                f"{csv_path} line {n}: {len(fields)} fields, the header "
                f"{','.join(header)} has {len(header)}"
            )

        def get(name: str, fields=fields) -> str:
            return fields[col[name]] if name in col else ""

        rel, label, split = get("path"), get("label"), get("split") or None
        if not rel or not label:
            fail(f"{csv_path} line {n}: empty path or label")
        if split is not None and split not in SPLITS:
            fail(
                f"{csv_path} line {n}: split must be one of {SPLITS}. "
                f"Received: {_show(repr(split))}"
            )
        start = _seconds(csv_path, n, "start", get("start"))
        end = _seconds(csv_path, n, "end", get("end"))
        if end is not None and end <= (start or 0.0):
            fail(
                f"{csv_path} line {n}: start {_num(start or 0.0)} s >= end {_num(end)} s; "
                "a segment needs start < end"
            )
        path = Path(os.path.normpath(root / rel))
        guard.check(path, f"{csv_path} line {n}", rel)
        first = seen.setdefault((path, start, end), n)
        if first != n:  # the same frames twice: a label conflict, or a split leak
            fail(
                f"{csv_path} line {n}: {_show(rel)} is listed again (first on line {first}); "
                "list each clip (or segment) once"
            )
        items.append(ClipItem(path, label, split, start, end))
    return items


def _discover_frames(
    p: Path, seed: int, fractions, allow: bool = False
) -> tuple[Path, list[ClipItem], dict]:
    index: dict[str, tuple[int, str]] = {}
    names: dict[int, tuple[str, str]] = {}
    if _is_dir(p):
        guard = _RootGuard(p, allow)
        train, val, test = p / "train.csv", p / "val.csv", p / "test.csv"
        if not (train.is_file() and val.is_file()):
            fail(
                f"{p} holds no train.csv and val.csv; give the folder holding train.csv and "
                "val.csv (rows folder;label;index) or one such CSV file"
            )
        items = _read_frames_csv(train, "train", index, names, guard)
        items += _read_frames_csv(val, "val", index, names, guard)
        if test.is_file():
            items += _read_frames_csv(test, "test", index, names, guard)
        else:
            _carve_test(items, fractions[2], seed)
        root = p
    else:
        guard = _RootGuard(p.parent, allow)
        root, items = p.parent, _read_frames_csv(p, None, index, names, guard)
    return root, items, {lab: i for lab, (i, _) in index.items()}


def _read_frames_csv(
    csv_path: Path,
    split: str | None,
    index: dict[str, tuple[int, str]],
    names: dict[int, tuple[str, str]],
    guard: _RootGuard | None = None,
) -> list[ClipItem]:
    rows = []
    for k, (n, fields) in enumerate(_rows(csv_path, ";")):
        if len(fields) not in (2, 3):
            fail(
                f"{csv_path} line {n}: {len(fields)} ';'-separated fields, expected 3: "
                "folder;label;index"
            )
        folder, label = fields[0], fields[1]
        idx = None
        if len(fields) == 3:
            try:
                idx = int(fields[2])
            except ValueError:
                if k == 0:
                    continue  # a header line
                fail(
                    f"{csv_path} line {n}: class index must be an integer. "
                    f"Received: {_show(repr(fields[2]))}"
                )
        elif k == 0 and _is_header(folder, label):
            continue
        if not folder or not label:
            fail(f"{csv_path} line {n}: empty folder or label")
        where = f"{csv_path} line {n}"
        if idx is not None:
            if label in index and index[label][0] != idx:
                fail(
                    f"{where}: label {_show(repr(label))} has class index {idx} here but "
                    f"{index[label][0]} on {index[label][1]}; one label needs one index"
                )
            if idx in names and names[idx][0] != label:
                fail(
                    f"{where}: class index {idx} is {_show(repr(label))} here but "
                    f"{_show(repr(names[idx][0]))} on {names[idx][1]}; one index must name one label"
                )
            index.setdefault(label, (idx, where))
            names.setdefault(idx, (label, where))
        rows.append((n, folder, label))
    if not rows:
        fail(f"{csv_path} lists no clips; expected rows folder;label;index")
    base = _frames_base(csv_path, rows[0][1])
    items = []
    for n, folder, label in rows:
        path = Path(os.path.normpath(base / folder))
        if guard is not None:
            guard.check(path, f"{csv_path} line {n}", folder)
        items.append(ClipItem(path, label, split, kind="frames"))
    return items


def _is_header(folder: str, label: str) -> bool:
    return folder.lower() in ("folder", "path", "video", "video_id", "id", "name") and (
        label.lower() in ("label", "class", "gesture", "action", "template")
    )


def _frames_base(csv_path: Path, first_folder: str) -> Path:
    """`<dir>/<csv stem>/` if it exists and holds the first folder, else `<dir>/`."""
    sibling = csv_path.parent / csv_path.stem
    if _is_dir(sibling) and _exists(sibling / first_folder):
        return sibling
    if _exists(csv_path.parent / first_folder) or not _is_dir(sibling):
        return csv_path.parent
    return sibling


def _check_listed(data: Path, root: Path, items: list[ClipItem]) -> None:
    missing = [it for it in items if not _exists(it.path)]
    if not missing:
        return
    if len(missing) == len(items):
        fail(
            f"none of the {len(items)} clips listed in {data} exists "
            f"(first: {_show(str(missing[0].path))}); "
            f"relative paths are resolved against {root}"
        )
    log.warning(
        "%d of %d clips listed in %s do not exist (first: %s); they count as unreadable",
        len(missing),
        len(items),
        data,
        missing[0].path,
    )


def assign_split(items: list[ClipItem], labels, seed: int = 0, fractions=(0.7, 0.15, 0.15)) -> None:
    """Give the items whose split is None the stratified, seeded split `discover` uses.

    Per label: `fractions[1]` val and `fractions[2]` test (at least one each from 3
    clips up), the rest train; reproducible by seed.
    """
    _stratified_split(items, labels, seed, fractions)


def _stratified_split(items: list[ClipItem], labels, seed: int, fractions) -> None:
    rng = np.random.default_rng(seed)
    for label in labels:
        group = [it for it in items if it.label == label and it.split is None]
        order = rng.permutation(len(group))
        n = len(group)
        n_val = int(round(n * fractions[1])) if n >= 3 else 0
        n_test = int(round(n * fractions[2])) if n >= 3 else 0
        n_val, n_test = max(n_val, 1 if n >= 3 else 0), max(n_test, 1 if n >= 3 else 0)
        for rank, i in enumerate(order):
            group[i].split = "val" if rank < n_val else "test" if rank < n_val + n_test else "train"


def _carve_test(items: list[ClipItem], share: float, seed: int) -> None:
    """Move a stratified `share` of each label's train items to test (>= 1 from 3 items)."""
    rng = np.random.default_rng([seed, 7])
    for label in sorted({it.label for it in items if it.split == "train"}):
        group = [it for it in items if it.label == label and it.split == "train"]
        n = len(group)
        n_test = max(int(round(n * share)), 1) if n >= 3 and share > 0 else 0
        for i in rng.permutation(n)[:n_test]:
            group[i].split = "test"


# ---- decoding ----------------------------------------------------------------------------
__all__ = [
    "IMAGE_EXTS",
    "LAYOUTS",
    "ClipItem",
    "Dataset",
    "assign_split",
    "detect_layout",
    "discover",
    "outside_root_allowed",
]
