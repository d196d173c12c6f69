"""Data-set layouts: class folders, frame folders with CSVs, manifests with segments.

Every test builds a small real data set in tmp_path (H.264 clips, PNG/JPEG frames) or
cuts segments of a real clip, and decodes it through GStreamer. No TensorFlow here.
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from edgeaction.clips import decode_item, load_clips
from edgeaction.datasets import (
    LAYOUTS,
    ClipItem,
    detect_layout,
    discover,
)
from edgeaction.errors import EdgeActionError
from edgeaction.video import VideoWriter

ARM = "kinetics_arm_wrestling.mp4"  # 280 frames, 28 fps, pts start at 0.071 s
UCF = "ucf101_apply_eye_makeup.avi"  # 164-165 frames, 25 fps


def one_line_error(match: str, fn, *args, **kw) -> str:
    with pytest.raises(EdgeActionError) as e:
        fn(*args, **kw)
    msg = str(e.value)
    assert "\n" not in msg and re.search(match, msg), msg
    return msg


def write_clip(path: Path, n: int, grey: int, size=(32, 24), fps=10.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    with VideoWriter(path, w, h, fps=fps) as vw:
        for i in range(n):
            vw.write(np.full((h, w, 3), (grey + 8 * i) % 256, np.uint8))
    return path


def write_frames(folder: Path, greys, ext=".png", size=(40, 30), name="img{}") -> Path:
    import cv2  # test-only encoder of real image files

    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    for i, g in enumerate(greys):
        assert cv2.imwrite(str(folder / (name.format(i) + ext)), np.full((h, w, 3), g, np.uint8))
    return folder


def centre_greys(frames) -> list[int]:
    return [int(f[f.shape[0] // 2, f.shape[1] // 2, 0]) for f in frames]


# ---- folders ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> Path:
    """walk: 4 clips (one in a UCF11-style group sub-folder), wave: 3 clips, plus noise."""
    root = tmp_path_factory.mktemp("folders")
    for k in range(3):
        write_clip(root / "walk" / f"walk_{k}.mp4", 6 + k, 10 * k)
        write_clip(root / "wave" / f"wave_{k}.mp4", 5, 100 + 10 * k)
    write_clip(root / "walk" / "g02" / "walk_g02_c01.mp4", 7, 200)
    (root / "walk" / "notes.txt").write_text("not a clip")
    (root / "walk" / ".hidden.mp4").write_bytes(b"")
    return root


def test_folders_layout_recursive_split_and_load(folders):
    ds = discover(folders)
    assert ds.layout == "folders" and ds.root == folders
    assert ds.labels == ("walk", "wave")
    names = sorted(it.path.name for it in ds.items)
    assert names == sorted(
        ["walk_0.mp4", "walk_1.mp4", "walk_2.mp4", "walk_g02_c01.mp4"]
        + [f"wave_{k}.mp4" for k in range(3)]
    )
    for label in ds.labels:  # stratified: every label in every split
        splits = [it.split for it in ds.items if it.label == label]
        assert {"train", "val", "test"} <= set(splits), splits
    again = discover(folders, layout="folders")
    assert [it.split for it in again.items] == [it.split for it in ds.items]  # same seed
    x, y, bad, lengths = load_clips(ds.items, ds.labels, 4, 24, 32, progress=False)
    assert x.shape == (7, 4, 24, 32, 3) and x.dtype == np.uint8 and not bad
    assert y.tolist() == [ds.labels.index(it.label) for it in ds.items]
    assert sorted(lengths) == [5, 5, 5, 6, 7, 7, 8]


def test_folders_corrupt_clip_is_counted_bad(tmp_path):
    write_clip(tmp_path / "a" / "ok.mp4", 4, 0)
    write_clip(tmp_path / "b" / "ok.mp4", 4, 50)
    (tmp_path / "b" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x07" * 500)
    ds = discover(tmp_path)
    x, y, bad, lengths = load_clips(ds.items, ds.labels, 3, 16, 16, progress=False)
    assert x.shape == (2, 3, 16, 16, 3) and lengths == [4, 4]
    assert [Path(p).name for p, _ in bad] == ["broken.mp4"] and "\n" not in bad[0][1]


def test_synth_manifest_is_detected_and_keeps_its_split(tmp_path):
    from edgeaction.synth import synthesize

    synthesize(tmp_path, classes=2, clips_per_class=3, frames=4, size=32, seed=3)
    rows = (tmp_path / "manifest.csv").read_text().splitlines()[1:]
    want = {r.split(",")[0]: r.split(",")[2] for r in rows}
    for layout in (None, "manifest", "folders"):
        ds = discover(tmp_path, layout=layout)
        assert ds.layout == (layout or "manifest") and ds.labels == ("run", "walk")
        assert {it.path.relative_to(tmp_path).as_posix(): it.split for it in ds.items} == want
    x, _, bad, lengths = load_clips(ds.items, ds.labels, 4, 32, 32, progress=False)
    assert x.shape == (6, 4, 32, 32, 3) and not bad and lengths == [4] * 6


def test_in_root_manifest_may_not_escape_its_folder(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "manifest.csv").write_text("path,label,split\n../x.mp4,a,train\nb.mp4,b,val\n")
    one_line_error(r"manifest\.csv line 2: \.\./x\.mp4 points outside", discover, root)


# ---- frame folders ---------------------------------------------------------------------
def test_frames_directory_form_order_split_and_natural_sort(tmp_path):
    # labels are given out of alphabetical order: the class index decides
    rows = {"train": [], "val": []}
    for k in range(4):
        for label, idx, base in (("Thumbs_Up", 0, 0), ("Left_Swipe", 1, 100)):
            split = "val" if k == 3 else "train"
            clip = f"WIN_{label}_{k}"
            n = 12 if k == 0 else 5 + k
            write_frames(tmp_path / split / clip, [base + 10 * i for i in range(n)])
            rows[split].append(f"{clip};{label};{idx}")
    (tmp_path / "train.csv").write_text("\n".join(rows["train"]) + "\n")
    (tmp_path / "val.csv").write_text("\n".join(rows["val"]) + "\n")
    assert detect_layout(tmp_path) == "frames"
    ds = discover(tmp_path, seed=1)
    assert ds.layout == "frames" and ds.labels == ("Thumbs_Up", "Left_Swipe")
    assert all(it.kind == "frames" and it.path.is_dir() for it in ds.items)
    for label in ds.labels:  # val.csv is val; a test part is carved out of train.csv
        splits = sorted(it.split for it in ds.items if it.label == label)
        assert splits == ["test", "train", "train", "val"], splits
    assert {it.path.name for it in ds.split("val")} == {"WIN_Thumbs_Up_3", "WIN_Left_Swipe_3"}
    # natural order: img0, img1, ..., img9, img10, img11 (not img0, img1, img10, img11, img2)
    item = next(it for it in ds.items if it.path.name == "WIN_Thumbs_Up_0")
    frames = decode_item(item, None, None)
    assert frames[0].shape == (30, 40, 3)
    assert centre_greys(frames) == [10 * i for i in range(12)]
    x, y, bad, lengths = load_clips(ds.items, ds.labels, 4, 24, 32, progress=False)
    assert x.shape == (8, 4, 24, 32, 3) and not bad
    assert y.tolist() == [0, 1] * 4
    assert sorted(lengths) == [6, 6, 7, 7, 8, 8, 12, 12]
    # T=4 of 12 images samples images 1, 4, 7, 10 (centres of 4 equal segments)
    i = [it.path.name for it in ds.items].index("WIN_Thumbs_Up_0")
    assert centre_greys(x[i]) == [10, 40, 70, 100]


def test_frames_test_csv_gives_the_test_split(tmp_path):
    for split in ("train", "val", "test"):
        lines = []
        for label, idx in (("a", 0), ("b", 1)):
            write_frames(tmp_path / f"{split}_{label}", [idx * 50] * 3, ext=".jpg")
            lines.append(f"{split}_{label};{label};{idx}")
        (tmp_path / f"{split}.csv").write_text("\n".join(lines) + "\n")
    ds = discover(tmp_path, layout="frames")
    assert [len(ds.split(s)) for s in ("train", "val", "test")] == [2, 2, 2]
    assert {it.path.parent for it in ds.items} == {tmp_path}  # no train/ sub-folder here


def test_frames_single_csv_jpeg_header_and_stratified_split(tmp_path):
    lines = ["video_id;label;label_id"]  # a header line is skipped
    for label, idx, grey in (("Stop", 2, 60), ("Shake", 0, 180)):
        for k in range(4):
            write_frames(tmp_path / "clips" / f"{label}{k}", [grey] * 6, ext=".jpg", name="{:05d}")
            lines.append(f"{label}{k};{label};{idx}")
    csv_path = tmp_path / "clips.csv"
    csv_path.write_text("\n".join(lines) + "\n")
    assert detect_layout(csv_path) == "frames"
    ds = discover(csv_path, seed=4)
    assert ds.layout == "frames" and ds.root == tmp_path and ds.labels == ("Shake", "Stop")
    assert all(it.path.parent == tmp_path / "clips" for it in ds.items)  # clips.csv → clips/
    for label in ds.labels:
        assert sorted(it.split for it in ds.items if it.label == label) == [
            "test",
            "train",
            "train",
            "val",
        ]
    assert [it.split for it in discover(csv_path, seed=4).items] == [it.split for it in ds.items]
    x, y, bad, _ = load_clips(ds.items, ds.labels, 8, 16, 16, progress=False)
    assert x.shape == (8, 8, 16, 16, 3) and not bad
    for clip, label in zip(x, y, strict=True):  # JPEG: close to the written grey
        want = 180 if ds.labels[label] == "Shake" else 60
        assert abs(float(clip[:, 4:12, 4:12].mean()) - want) < 4


def test_frames_corrupt_image_is_a_bad_clip(tmp_path):
    lines = []
    for label in ("a", "b"):
        for k in range(3):
            write_frames(tmp_path / f"{label}{k}", [30, 60, 90, 120])
            lines.append(f"{label}{k};{label};{'ab'.index(label)}")
    (tmp_path / "b1" / "img2.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 64)
    (tmp_path / "a2" / "img1.png").write_bytes(b"")
    (tmp_path / "all.csv").write_text("\n".join(lines) + "\n")
    ds = discover(tmp_path / "all.csv")
    x, y, bad, lengths, keep = load_clips(
        ds.items, ds.labels, 4, 16, 16, progress=False, return_index=True
    )
    assert x.shape == (4, 4, 16, 16, 3) and lengths == [4] * 4
    assert [ds.items[k].path.name for k in keep] == ["a0", "a1", "b0", "b2"]
    reasons = {Path(p).name: why for p, why in bad}
    assert set(reasons) == {"b1", "a2"}
    assert "img2.png" in reasons["b1"] and "empty" in reasons["a2"]
    assert all("\n" not in why for why in reasons.values())
    b1 = next(it for it in ds.items if it.path.name == "b1")
    one_line_error(r"cannot decode image img2\.png", decode_item, b1, 16, 16)


def test_frames_label_index_conflicts_name_the_line(tmp_path):
    csv_path = tmp_path / "x.csv"
    csv_path.write_text("c1;Stop;0\nc2;Go;1\nc3;Wait;0\n")
    one_line_error(r"x\.csv line 3: class index 0 is 'Wait' here but 'Stop'", discover, csv_path)
    csv_path.write_text("c1;Stop;0\nc2;Go;1\n\nc4;Stop;2\n")
    one_line_error(r"x\.csv line 4: label 'Stop' has class index 2", discover, csv_path)
    csv_path.write_text("c1;Stop;0\nc2;Go;1;extra\n")
    one_line_error(r"x\.csv line 2: 4 ';'-separated fields", discover, csv_path)
    csv_path.write_text("c1;Stop;0\nc2;Go;one\n")
    one_line_error(r"x\.csv line 2: class index must be an integer", discover, csv_path)


# ---- manifest with segments ------------------------------------------------------------
def test_manifest_segments_of_a_real_clip(tmp_path, real_clips):
    arm, ucf = real_clips / ARM, real_clips / UCF
    csv_path = tmp_path / "lists" / "segments.csv"
    csv_path.parent.mkdir()
    csv_path.write_text(
        "path,label,start,end,split\n"
        f"{arm},wrestle,,,train\n"  # absolute path, whole clip
        f"{arm},wrestle,1.0,3.0,val\n"
        f"{arm},wrestle,8.5,,test\n"
        f"{ucf},makeup,0,2,train\n"
        f"{ucf},makeup,30,,val\n"  # beyond the end: an empty segment
    )
    assert detect_layout(csv_path) == "manifest"
    one_line_error(
        r"segments\.csv line 2: .* points outside .*--allow-outside-root", discover, csv_path
    )
    ds = discover(csv_path, allow_outside_root=True)  # absolute paths elsewhere, knowingly
    assert ds.layout == "manifest" and ds.root == csv_path.parent
    assert ds.labels == ("makeup", "wrestle")
    assert [(it.start, it.end) for it in ds.items][:3] == [(None, None), (1.0, 3.0), (8.5, None)]
    whole = decode_item(ds.items[0], 32, 32)
    seg = decode_item(ds.items[1], 32, 32)
    assert len(whole) == 280 and abs(len(seg) - 2.0 * 28) <= 1  # duration * fps
    # the segment starts 1 s (28 frames) in: its first frame is the whole clip's 28th
    assert np.array_equal(seg[0], whole[28])
    keys = {it.key(ds.root) for it in ds.items}
    assert len(keys) == 5 and all(re.fullmatch(r"[A-Za-z0-9._-]+", k) for k in keys)
    x, y, bad, lengths = load_clips(ds.items, ds.labels, 8, 32, 32, progress=False)
    assert x.shape == (4, 8, 32, 32, 3) and y.tolist() == [1, 1, 1, 0]
    assert lengths[0] == 280 and abs(lengths[1] - 56) <= 1 and abs(lengths[2] - 42) <= 2
    assert abs(lengths[3] - 50) <= 1
    assert len(bad) == 1 and bad[0][0] == str(ucf) and "holds no frames" in bad[0][1]


def test_manifest_relative_paths_and_line_errors(tmp_path, real_clips):
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "a.avi").symlink_to(real_clips / UCF)
    (tmp_path / "v" / "b.mp4").symlink_to(real_clips / ARM)
    m = tmp_path / "lists" / "m.csv"
    m.parent.mkdir()
    m.write_text("path,label\n../v/a.avi,a\n../v/b.mp4,b\n")  # outside lists/: opt in
    one_line_error(r"m\.csv line 2: \.\./v/a\.avi points outside", discover, m)
    ds = discover(m, layout="manifest", allow_outside_root=True)
    assert [it.path for it in ds.items] == [tmp_path / "v" / "a.avi", tmp_path / "v" / "b.mp4"]
    assert all(it.split in ("train", "val", "test") for it in ds.items)
    m.write_text("path,label,start,end\n../v/a.avi,a,1,2\n../v/b.mp4,b,4,3\n")
    one_line_error(r"m\.csv line 3: start 4 s >= end 3 s", discover, m, allow_outside_root=True)
    m.write_text("path,label,start,end\n../v/a.avi,a,1\n")
    one_line_error(r"m\.csv line 2: 3 fields, the header path,label,start,end has 4", discover, m)
    m.write_text("path,label,start\n../v/a.avi,a,soon\n")
    one_line_error(r"m\.csv line 2: start must be seconds", discover, m)
    m.write_text("path,label,spilt\n../v/a.avi,a,train\n")
    one_line_error(r"unknown column 'spilt'", discover, m)
    m.write_text("path,label\nnope/a.avi,a\nnope/b.avi,b\n")
    one_line_error(r"none of the 2 clips listed in .*m\.csv exists", discover, m)  # inside


# ---- errors and API --------------------------------------------------------------------
def test_one_line_errors(tmp_path, folders):
    one_line_error(r"data set not found", discover, tmp_path / "nope")
    one_line_error(r"unknown layout 'jester'; choose one of folders, frames, manifest",
                   discover, folders, layout="jester")  # fmt: skip
    (tmp_path / "empty.csv").write_text("path,label,split\n")
    one_line_error(r"no clips found", discover, tmp_path / "empty.csv")
    (tmp_path / "one.csv").write_text("path,label\na.mp4,x\nb.mp4,x\n")
    one_line_error(r"only one label \(x\)", discover, tmp_path / "one.csv")
    (tmp_path / "odd.csv").write_text("hello world\n")
    one_line_error(r"cannot tell the layout of .*odd\.csv", discover, tmp_path / "odd.csv")
    one_line_error(r"holds no train\.csv and val\.csv", discover, folders, layout="frames")
    one_line_error(r"holds no manifest\.csv", discover, folders, layout="manifest")
    one_line_error(r"not a directory", discover, tmp_path / "one.csv", layout="folders")
    (tmp_path / "nothing").mkdir()
    one_line_error(r"no clips found in .*nothing: expected <label>", discover, tmp_path / "nothing")
    assert LAYOUTS == ("folders", "frames", "manifest")


def test_keys_are_stable_safe_and_relative(tmp_path):
    a = ClipItem(tmp_path / "walk" / "clip 1.mp4", "walk")
    s1 = ClipItem(a.path, "walk", start=1.0, end=2.5)
    s2 = ClipItem(a.path, "walk", start=2.5)
    keys = [it.key(tmp_path) for it in (a, s1, s2)]
    assert len(set(keys)) == 3 and all(re.fullmatch(r"[A-Za-z0-9._-]+", k) for k in keys)
    assert keys[0].startswith("walk__clip_1.mp4-") and "1-2.5s" in keys[1]
    moved = ClipItem(Path("/elsewhere/walk/clip 1.mp4"), "walk", start=1.0, end=2.5)
    assert moved.key("/elsewhere") == keys[1]  # relative to the root: survives a move


def test_datasets_imports_no_tensorflow():
    code = textwrap.dedent(
        """
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("tensorflow", "keras", "tf2onnx"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        import edgeaction.datasets, edgeaction.video.images
        print("OK")
        """
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "OK", p.stderr[-2000:]


# ---- file names that are not UTF-8 ------------------------------------------------------
@pytest.fixture(scope="module")
def bytes_named(tmp_path_factory) -> Path:
    """`edgeaction synth` clips (walk, run) without a manifest, one renamed `walk-\\xff.mp4`."""
    from tests.conftest import cli

    root = tmp_path_factory.mktemp("bytes") / "data"
    cli("synth", root, "--classes", 2, "--clips-per-class", 3, "--frames", 8, "--size", 32)
    (root / "manifest.csv").unlink()  # scanned as class folders
    os.rename(
        os.fsencode(root / "walk" / "walk_0000.mp4"), os.fsencode(root / "walk") + b"/walk-\xff.mp4"
    )
    return root


def test_non_utf8_clip_names_are_found_and_decode(bytes_named):
    ds = discover(bytes_named)
    odd = [it for it in ds.items if os.fsencode(it.path.name) == b"walk-\xff.mp4"]
    assert len(odd) == 1 and len(ds.items) == 6
    assert len(decode_item(odd[0], 16, 16)) == 8
    key = odd[0].key(bytes_named)
    assert key.isascii() and key != ClipItem(bytes_named / "walk" / "walk-_.mp4", "walk").key(
        bytes_named
    )
    x, _, bad, _ = load_clips(ds.items, ds.labels, 4, 16, 16, progress=False)
    assert len(x) == 6 and not bad


def test_non_utf8_names_evaluate_and_run(bytes_named, tmp_path):
    from edgeaction.contract import ModelContract
    from tests.conftest import cli, make_onnx

    c = ModelContract(name="tiny", labels=("run", "walk"), frames=4, height=32, width=32)
    model = make_onnx(tmp_path / "tiny.onnx", c)
    p = cli("evaluate", model, bytes_named, "--split", "all", "--out", tmp_path / "ev")
    assert "6 scored, 0 unreadable" in p.stdout
    assert "walk-\\xff.mp4" in (tmp_path / "ev" / "predictions.csv").read_text()
    clip = os.fsdecode(os.fsencode(bytes_named / "walk") + b"/walk-\xff.mp4")
    events, video = tmp_path / "ev.jsonl", os.fsdecode(os.fsencode(tmp_path) + b"/out-\xfe.mp4")
    p = cli("run", model, "--source", clip, "--events", events, "--out-video", video)
    assert "ended, 8 frames" in p.stdout + p.stderr
    assert "walk-\\\\xff.mp4" in events.read_text()  # UTF-8 JSON, the byte shown as \xff
    assert os.path.getsize(video) > 0
    p = cli("run", model, "--source", clip[:-4] + "-missing.mp4", check=False)
    assert p.returncode == 1 and "walk-\\xff-missing.mp4" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_a_clip_listed_twice_in_a_manifest_names_both_lines(tmp_path):
    root = tmp_path / "m"
    root.mkdir()
    (root / "x.mp4").write_bytes(b"not decoded here")
    csv_path = root / "manifest.csv"
    csv_path.write_text("path,label,start,end\nx.mp4,a,0,1\nx.mp4,b,1,2\n./x.mp4,b,0,1\n")
    one_line_error(r"line 4: ./x.mp4 is listed again \(first on line 2\)", discover, csv_path)
    csv_path.write_text("path,label\nx.mp4,a\nx.mp4,a\n")  # the same label: a split leak
    one_line_error("line 3: x.mp4 is listed again", discover, csv_path)
