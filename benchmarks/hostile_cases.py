"""The cases of `benchmarks/hostile.py`: bad inputs for every command, on its fixture.

Each case runs in an empty working directory: relative outputs (`out`, `ev.jsonl`) land
there, and a failed case must leave it empty.
"""

from __future__ import annotations

import os

from hostile import SECRET, Case, Fixture

#: Option values no number option may take.
BAD_NUMBERS = ("nan", "inf", "-1", "0", "1e999", "", "12abc", "9" * 40, "1\n2")


def build_cases(fx: Fixture) -> list[Case]:
    cases: list[Case] = []
    for part in (_run, _run_sources, _models, _check_bench, _data_commands, _train_export,
                 _jetson, _misc):  # fmt: skip
        cases += part(fx)
    return cases


def _run(fx: Fixture) -> list[Case]:
    m, clip = str(fx.model), str(fx.clip)
    c = [
        Case("run", "truncated mp4", ["run", m, "--source", str(fx.truncated)], fast=True),
        Case("run", "mp4 header only", ["run", m, "--source", str(fx.header_only)]),
        Case("run", "zero-byte mp4", ["run", m, "--source", str(fx.zero)], fast=True),
        Case("run", "random bytes .mp4", ["run", m, "--source", str(fx.random)], fast=True),
        Case("run", "text file named .mp4", ["run", m, "--source", str(fx.text_mp4)]),
        Case("run", "bit-flipped mp4", ["run", m, "--source", str(fx.flipped)]),
        Case("run", "100000x100000 y4m header", ["run", m, "--source", str(fx.huge)], fast=True),
        Case("run", "FIFO source (no writer)", ["run", m, "--source", str(fx.fifo)], fast=True),
        Case("run", "/dev/zero source", ["run", m, "--source", "/dev/zero"], fast=True),
        Case("run", "socket source", ["run", m, "--source", str(fx.sock)]),
        Case("run", "directory source", ["run", m, "--source", str(fx.inp)]),
        Case("run", "symlink loop source", ["run", m, "--source", str(fx.loop)]),
        Case("run", "dangling symlink source", ["run", m, "--source", str(fx.dangling)]),
        Case("run", "300-byte source name", ["run", m, "--source", fx.long_name]),
        Case("run", "missing source", ["run", m, "--source", "nope.mp4"]),
        Case(
            "run",
            "wrong extension (valid video .txt)",
            ["run", m, "--source", str(fx.wrong_ext)],
            expect="ok",
        ),  # fmt: skip
        Case(
            "run",
            "non-UTF-8 source name",
            ["run", m, "--source", fx.odd_names["non-utf8"]],
            expect="ok",
            fast=True,
        ),  # fmt: skip
        Case(
            "run",
            "leading-dash source name",
            ["run", m, f"--source={fx.odd_names['leading-dash']}"],
            expect="ok",
        ),  # fmt: skip
        Case(
            "run",
            "spaces and quotes in the name",
            ["run", m, "--source", fx.odd_names["spaces-quotes"]],
            expect="ok",
        ),  # fmt: skip
        Case(
            "run",
            "newline in the source name",
            ["run", m, "--source", fx.odd_names["newline"]],
            fast=True,
        ),  # fmt: skip
        # outputs
        Case(
            "run",
            "--out-video is the source",
            ["run", m, "--source", clip, "--out-video", clip],
            fast=True,
        ),  # fmt: skip
        Case("run", "--events is the model", ["run", m, "--source", clip, "--events", m]),
        Case(
            "run",
            "--events and --out-video the same",
            ["run", m, "--source", clip, "--events", "x.mp4", "--out-video", "x.mp4"],
        ),
        Case("run", "--metrics is a directory", ["run", m, "--source", clip, "--metrics", "."]),
        Case("run", "--events 300-byte name", ["run", m, "--source", clip, "--events", "e" * 300]),
        Case(
            "run",
            "--events in a missing dir under a file",
            ["run", m, "--source", clip, "--events", f"{clip}/ev.jsonl"],
        ),  # fmt: skip
        Case(
            "run",
            "--events is a FIFO",
            ["run", m, "--source", str(fx.truncated), "--events", str(fx.fifo)],
        ),  # fmt: skip
    ]
    if os.geteuid() != 0:  # root writes into a read-only directory
        ro = str(fx.ro_dir / "ev.jsonl")
        c.append(
            Case("run", "--events in a read-only dir", ["run", m, "--source", clip, "--events", ro])
        )
    if fx.device is not None:
        dev = str(fx.device)
        c += [
            Case(
                "run",
                "--events on a full device",
                ["run", m, "--source", clip, "--events", dev],
                fast=True,
            ),  # fmt: skip
            Case(
                "run", "--metrics on a full device", ["run", m, "--source", clip, "--metrics", dev]
            ),
            Case(
                "run",
                "--out-video on a full device",
                ["run", m, "--source", clip, "--out-video", dev],
            ),  # fmt: skip
        ]
    for opt in ("--stride", "--subsample", "--max-batch", "--batch-timeout-ms", "--smooth",
                "--top-k", "--duration", "--queue", "--decode-nice"):  # fmt: skip
        for v in ("nan", "-1", "1e999", "x"):
            c.append(Case("run", f"{opt} {v!r}", ["run", m, "--source", clip, opt, v],
                          fast=(opt, v) == ("--stride", "nan")))  # fmt: skip
    c += [
        Case("run", "--emit bogus", ["run", m, "--source", clip, "--emit", "bogus"]),
        Case("run", "--platform tpu", ["run", m, "--source", clip, "--platform", "tpu"]),
        Case("run", "no --source", ["run", m]),
        Case("run", "unknown option", ["run", m, "--source", clip, "--bogus"]),
    ]
    return c


def _run_sources(fx: Fixture) -> list[Case]:
    m = str(fx.model)
    srcs = {
        "unknown scheme": "ftp://host/x.mp4",
        "rtsp without host": "rtsp:///live",
        "rtsp port 99999": "rtsp://h:99999/x",
        "rtsp with spaces": "rtsp://h/a b",
        "rtsp password echo": f"rtsp://admin:{SECRET}@127.0.0.1:1/x y",
        "unknown test pattern": "test://nope",
        "test fps 0": "test://ball?fps=0",
        "test fps nan": "test://ball?fps=nan",
        "test frames huge": "test://ball?frames=99999999999999",
        "test width 0": "test://ball?width=0",
        "test unknown option": "test://ball?colour=red",
        "v4l2 missing device": "v4l2:///dev/video99",
        "v4l2 relative": "v4l2://cam",
        "csi not a number": "csi://x",
        "csi on a PC": "csi://0",
        "file URL relative": "file://relative/x.mp4",
        "file URL of /dev/zero": "file:///dev/zero",
        "file URL fragment": f"file://{fx.clip}#frag",
        "file loop=maybe": f"file://{fx.clip}?loop=maybe",
        "empty source": "",
        "blank source": "   ",
        "3000-char source": "x" * 3000,
        "3000-char URL": "rtsp://h/" + "a" * 3000,
        "NUL in source": "clip\0.mp4",
        "U+2028 in source": "clip\u2028.mp4",
        "percent garbage": "file:///%ff%fe%00",
    }
    fast = {"rtsp password echo", "test fps nan", "3000-char source", "file URL of /dev/zero"}
    out = []
    for name, s in srcs.items():
        if "\0" in s:  # argv cannot hold a NUL: give it as the name of a missing file
            s = s.replace("\0", "%00")
        out.append(Case("run --source", name, ["run", m, "--source", s], fast=name in fast,
                        timeout=60))  # fmt: skip
    return out


def _models(fx: Fixture) -> list[Case]:
    clip = str(fx.clip)
    models = {
        "truncated ONNX": fx.onnx_truncated,
        "empty ONNX": fx.onnx_empty,
        "random ONNX": fx.onnx_random,
        "text ONNX": fx.onnx_text,
        "contract missing keys": fx.onnx_nocontract_keys,
        "contract not JSON": fx.onnx_bad_json,
        "labels not the data's": fx.onnx_wrong_frames,
        ".keras zip of garbage": fx.keras_garbage,
        ".keras not a zip": fx.keras_notzip,
        "garbage engine": fx.engine_garbage,
        "empty run directory": fx.run_empty,
        "FIFO as model": fx.fifo,
        "/dev/zero as model": "/dev/zero",
        "missing model": "nope.onnx",
        "video as model": fx.clip,
        "300-byte model name": fx.long_name[:-4] + ".onnx",
    }
    fast = {"truncated ONNX", "contract missing keys", "FIFO as model", ".keras zip of garbage"}
    out = []
    for name, model in models.items():
        if name == "labels not the data's":
            continue  # a valid model for `run`
        out.append(Case("run", f"model: {name}", ["run", str(model), "--source", clip],
                        fast=name in fast))  # fmt: skip
        # check is a TensorRT pre-flight of the graph: it does not read the contract
        ok = "ok" if name.startswith("contract") else "fail"
        out.append(Case("check", f"model: {name}", ["check", str(model)], expect=ok))
        out.append(Case("evaluate", f"model: {name}", ["evaluate", str(model), str(fx.data)],
                        timeout=120))  # fmt: skip
        out.append(Case("bench", f"model: {name}", ["bench", str(model), "--duration-s", "0.2"]))
    out.append(Case("evaluate", "labels not the data's",
                    ["evaluate", str(fx.onnx_wrong_frames), str(fx.data)]))  # fmt: skip
    for name in ("truncated ONNX", "garbage engine", "FIFO as model", "missing model"):
        out.append(Case("build-engine", f"model: {name}", ["build-engine", str(models[name])]))
        out.append(Case("compare", f"model: {name}",
                        ["compare", str(models[name]), str(fx.model), "--data", str(fx.data)]))  # fmt: skip
        out.append(Case("jetson deepstream", f"model: {name}",
                        ["jetson", "deepstream", str(models[name]), "--out", "ds"]))  # fmt: skip
    return out


def _check_bench(fx: Fixture) -> list[Case]:
    m = str(fx.model)
    c = [
        Case("check", "--json is the model", ["check", m, "--json", m], fast=True),
        Case("check", "--json is a directory", ["check", m, "--json", "."]),
        Case("check", "--trt 12", ["check", m, "--trt", "12"]),
        Case("check", "--json 300-byte name", ["check", m, "--json", "j" * 300]),
        Case("bench", "--json is the model", ["bench", m, "--json", m, "--duration-s", "0.2"]),
        Case("bench", "--plot is the model", ["bench", m, "--plot", m, "--duration-s", "0.2"]),
        Case("bench", "--end-to-end FIFO", ["bench", m, "--end-to-end", str(fx.fifo)], fast=True),
        Case("bench", "--end-to-end random bytes", ["bench", m, "--end-to-end", str(fx.random)]),
        Case("bench", "--backend tensorrt without TensorRT", ["bench", m, "--backend", "tensorrt"]),
    ]
    for opt, vals in (("--batch", ("0", "1,,2", "nan", "-4")), ("--duration-s", ("nan", "-1")),
                      ("--warmup-ms", ("inf",)), ("--iterations", ("0", "x")),
                      ("--percentiles", ("101", "nan", "50,abc"))):  # fmt: skip
        for v in vals:
            c.append(Case("bench", f"{opt} {v!r}", ["bench", m, opt, v],
                          fast=(opt, v) == ("--percentiles", "101")))  # fmt: skip
    if fx.device is not None:
        dev = str(fx.device)
        c += [
            Case("check", "--json on a full device", ["check", m, "--json", dev], fast=True),
            Case(
                "bench",
                "--json on a full device",
                ["bench", m, "--json", dev, "--duration-s", "0.2"],
            ),  # fmt: skip
        ]
    for opt, v in (("--batch", "1:2"), ("--batch", "4:2:1"), ("--workspace", "nan"),
                   ("--opt-level", "9"), ("--dla-core", "-1"), ("--out", m)):  # fmt: skip
        c.append(Case("build-engine", f"{opt} {v!r}", ["build-engine", m, opt, v]))
    return c


def _data_commands(fx: Fixture) -> list[Case]:
    m = str(fx.model)
    sets = {
        "empty directory": fx.ds_empty,
        "empty class folders": fx.ds_empty_classes,
        "one class only": fx.ds_one_class,
        "every clip broken": fx.ds_bad_clips,
        "manifest missing label column": fx.m_missing_cols,
        "manifest duplicate rows": fx.m_dupes,
        "manifest paths outside root": fx.m_outside,
        "empty manifest": fx.m_empty,
        "manifest header only": fx.m_header_only,
        "manifest bad split": fx.m_bad_split,
        "manifest nan start": fx.m_bad_time,
        "manifest binary": fx.m_binary,
        "manifest 50000 columns": fx.m_wide,
        "manifest NUL in a path": fx.m_nul,
        "manifest of a FIFO and /dev/zero": fx.m_specials,
        "frames CSV bad index": fx.frames_bad_index,
        "CSV of random bytes": fx.csv_garbage,
        "FIFO as data set": fx.fifo,
        "/dev/zero as data set": "/dev/zero",
        "missing data set": "nope",
        "video as data set": fx.clip,
    }
    fast = {"empty class folders", "manifest paths outside root", "FIFO as data set",
            "manifest binary", "manifest of a FIFO and /dev/zero"}  # fmt: skip
    out = []
    for name, d in sets.items():
        out.append(Case("evaluate", f"data: {name}", ["evaluate", m, str(d)],
                        fast=name in fast, timeout=120))  # fmt: skip
        out.append(Case("train", f"data: {name}", ["train", str(d), "--epochs", "1", "--out", "r"],
                        timeout=180))  # fmt: skip
    for name in ("empty directory", "FIFO as data set", "manifest binary"):
        out.append(Case("compare", f"data: {name}", ["compare", m, m, "--data", str(sets[name])]))
        out.append(Case("keypoints", f"data: {name}",
                        ["keypoints", str(sets[name]), "--out", "kp", "--kind", "pose"]))  # fmt: skip
    out += [
        Case("train", "no --out", ["train", str(fx.data)]),
        Case("evaluate", "--out is the model", ["evaluate", m, str(fx.data), "--out", m]),
        Case("evaluate", "--batch 0", ["evaluate", m, str(fx.data), "--batch", "0"]),
        Case("evaluate", "--split bogus", ["evaluate", m, str(fx.data), "--split", "bogus"]),
        Case(
            "evaluate",
            "non-UTF-8 clip name (valid)",
            ["evaluate", m, str(fx.inp / "utf8ds"), "--split", "all", "--out", "ev"],
            expect="ok",
        ),  # fmt: skip
        Case(
            "compare", "--json is model A", ["compare", m, m, "--data", str(fx.data), "--json", m]
        ),
        Case(
            "compare",
            "--plot is a directory",
            ["compare", m, m, "--data", str(fx.data), "--plot", "."],
        ),  # fmt: skip
        Case(
            "keypoints",
            "--out is a file",
            ["keypoints", str(fx.data), "--out", str(fx.clip), "--kind", "pose"],
        ),  # fmt: skip
        Case(
            "keypoints", "--kind bogus", ["keypoints", str(fx.data), "--out", "kp", "--kind", "x"]
        ),
        Case("pose-extract", "missing data", ["pose-extract", "nope", "--out", "kp"]),
    ]
    if fx.device is not None:
        out.append(Case("compare", "--json on a full device",
                        ["compare", m, m, "--data", str(fx.data), "--json", str(fx.device)]))  # fmt: skip
    return out


def _train_export(fx: Fixture) -> list[Case]:
    d = str(fx.data)
    c = []
    for opt in ("--epochs", "--batch", "--lr", "--frames", "--size", "--patience", "--fine-tune",
                "--max-bad", "--classes"):  # fmt: skip
        for v in ("nan", "-1", "0", "1e999"):
            if (opt, v) in (("--patience", "0"), ("--fine-tune", "0"), ("--max-bad", "0")):
                continue  # valid
            c.append(Case("train", f"{opt} {v!r}", ["train", d, opt, v, "--out", "r"],
                          fast=(opt, v) == ("--lr", "nan")))  # fmt: skip
    c += [
        Case(
            "train",
            "--weights garbage file",
            ["train", d, "--weights", str(fx.random), "--epochs", "1", "--out", "r"],
            timeout=240,
        ),  # fmt: skip
        Case("train", "--out is a file", ["train", d, "--out", str(fx.clip)]),
        Case("train", "--out is /dev/zero", ["train", d, "--out", "/dev/zero"]),
        Case("train", "--out 300-byte name", ["train", d, "--out", "o" * 300]),
        Case("train", "--name with a newline", ["train", d, "--name", "a\nb", "--out", "r"]),
        Case("train", "--flip-pairs bogus", ["train", d, "--flip-pairs", "walk", "--out", "r"]),
        Case(
            "train",
            "--keypoints missing",
            ["train", d, "--arch", "hands", "--keypoints", "nope", "--out", "r"],
        ),
        Case("train", "--resume without a run", ["train", d, "--resume", "--out", "fresh"]),
        Case("export", "run: empty directory", ["export", str(fx.run_empty), "--out", "ex"]),
        Case(
            "export",
            "run: garbage model.keras",
            ["export", str(fx.run_broken), "--out", "ex"],
            timeout=180,
        ),  # fmt: skip
        Case("export", "run: an ONNX file", ["export", str(fx.model), "--out", "ex"]),
        Case("export", "run: FIFO", ["export", str(fx.fifo), "--out", "ex"]),
        Case(
            "export",
            "--out is the run",
            ["export", str(fx.run_broken), "--out", str(fx.run_broken)],
        ),  # fmt: skip
        Case("export", "--opset 0", ["export", str(fx.run_broken), "--out", "ex", "--opset", "0"]),
        Case(
            "export", "--opset nan", ["export", str(fx.run_broken), "--out", "ex", "--opset", "nan"]
        ),
        Case(
            "export",
            "--data FIFO",
            ["export", str(fx.run_broken), "--out", "ex", "--data", str(fx.fifo)],
            timeout=180,
        ),  # fmt: skip
        Case("export", "--out 300-byte name", ["export", str(fx.run_broken), "--out", "x" * 300]),
    ]
    return c


def _jetson(fx: Fixture) -> list[Case]:
    m = str(fx.model)
    c = [
        Case("jetson power", "not a Jetson", ["jetson", "power"]),
        Case("jetson power", "--mode nan", ["jetson", "power", "--mode", "nan"]),
        Case("jetson power", "--mode -1", ["jetson", "power", "--mode", "-1"]),
        Case("jetson power", "--clocks maybe", ["jetson", "power", "--clocks", "maybe"]),
        Case(
            "jetson deepstream",
            "--sources not a URI",
            ["jetson", "deepstream", m, "--out", "ds", "--sources", "not a uri"],
            fast=True,
        ),  # fmt: skip
        Case(
            "jetson deepstream",
            "--sources with a newline",
            ["jetson", "deepstream", m, "--out", "ds", "--sources", "rtsp://h/a\nb"],
        ),  # fmt: skip
        Case(
            "jetson deepstream",
            "--batch 0",
            ["jetson", "deepstream", m, "--out", "ds", "--batch", "0"],
        ),
        Case(
            "jetson deepstream",
            "--streams nan",
            ["jetson", "deepstream", m, "--out", "ds", "--streams", "nan"],
        ),  # fmt: skip
        Case("jetson deepstream", "--out is the model", ["jetson", "deepstream", m, "--out", m]),
        Case(
            "jetson deepstream",
            "--out 300-byte name",
            ["jetson", "deepstream", m, "--out", "d" * 300],
        ),  # fmt: skip
        Case(
            "jetson deepstream",
            "--engine garbage",
            ["jetson", "deepstream", m, "--out", "ds", "--engine", str(fx.random)],
        ),  # fmt: skip
        Case(
            "jetson service",
            "--run-arg with a newline",
            [
                "jetson",
                "service",
                m,
                "--source",
                str(fx.clip),
                "--out",
                "svc",
                "--run-arg",
                "--stride 2\nExecStartPre=/bin/sh",
            ],
            fast=True,
        ),  # fmt: skip
        Case(
            "jetson service",
            "--source not a source",
            ["jetson", "service", m, "--source", "ftp://x", "--out", "svc"],
        ),  # fmt: skip
        Case(
            "jetson service",
            "--source with a password",
            ["jetson", "service", m, "--source", f"rtsp://u:{SECRET}@h/x y", "--out", "svc"],
        ),  # fmt: skip
        Case(
            "jetson service",
            "--name with a slash",
            ["jetson", "service", m, "--source", str(fx.clip), "--out", "svc", "--name", "a/b"],
        ),  # fmt: skip
        Case(
            "jetson service",
            "--user with a space",
            ["jetson", "service", m, "--source", str(fx.clip), "--out", "svc", "--user", "a b"],
        ),  # fmt: skip
        Case(
            "jetson service",
            "--workdir relative",
            ["jetson", "service", m, "--source", str(fx.clip), "--out", "svc", "--workdir", "rel"],
            expect="ok",
        ),  # fmt: skip  (made absolute)
        Case(
            "jetson service",
            "--out is the model",
            ["jetson", "service", m, "--source", str(fx.clip), "--out", m],
        ),  # fmt: skip
        Case(
            "jetson service",
            "model non-UTF-8 name",
            [
                "jetson",
                "service",
                fx.odd_names["non-utf8"],
                "--source",
                str(fx.clip),
                "--out",
                "svc",
            ],
        ),  # fmt: skip
        Case(
            "jetson service",
            "--source non-UTF-8 name",
            ["jetson", "service", m, "--source", fx.odd_names["non-utf8"], "--out", "svc"],
        ),  # fmt: skip
    ]
    return c


def _misc(fx: Fixture) -> list[Case]:
    c = [
        Case("synth", "--fps nan", ["synth", "s", "--fps", "nan"], fast=True),
        Case("synth", "--fps 0", ["synth", "s", "--fps", "0"]),
        Case("synth", "--classes 99", ["synth", "s", "--classes", "99"]),
        Case("synth", "--size 0", ["synth", "s", "--size", "0"]),
        Case("synth", "--frames -1", ["synth", "s", "--frames", "-1"]),
        Case("synth", "--seed -5", ["synth", "s", "--seed", "-5"]),
        Case("synth", "out is a file", ["synth", str(fx.clip)]),
        Case("synth", "out is /dev/zero", ["synth", "/dev/zero"]),
        Case("synth", "out 300-byte name", ["synth", "s" * 300]),
        Case("synth", "out holds a user's manifest", ["synth", str(fx.m_dupes.parent)]),
        Case("demo", "--out is a file", ["demo", "--out", str(fx.clip)]),
        Case("demo", "--out is /dev/zero", ["demo", "--out", "/dev/zero"]),
        Case("demo", "--out 300-byte name", ["demo", "--out", "d" * 300]),
        Case("doctor", "unknown option", ["doctor", "--bogus"]),
        Case("edgeaction", "unknown command", ["bogus"]),
    ]
    if fx.device is not None:
        c.append(Case("synth", "out is a device copy", ["synth", str(fx.device)]))
    return c


def make_utf8_dataset(fx: Fixture) -> None:
    """A class-folder data set whose clips include a name that is not UTF-8 (valid)."""
    import shutil

    root = fx.inp / "utf8ds"
    for k, lab in enumerate(fx.labels):
        (root / lab).mkdir(parents=True)
        for j, clip in enumerate(sorted((fx.data / lab).glob("*.mp4"))):
            name = os.fsencode(root / lab) + (
                b"/clip-\xff%d.mp4" % j if k == 0 else b"/c%d.mp4" % j
            )
            shutil.copy(clip, name)
