"""The one validation layer for option values (`edgeaction.options`).

Every option of every command that takes a value converts it with a converter from
`options` (checked by walking the real parser, so a new command cannot forget one); a
bad value ends in one `PROG: error: argument ...` line and exit status 2, never a
traceback, never exit 0, and never a line broken by a newline in the value.
"""

from __future__ import annotations

import argparse
import math
import os
import pathlib

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from edgeaction import options
from edgeaction.cli import build_parser
from edgeaction.errors import EdgeActionError
from tests.commands import usage_error
from tests.conftest import cli

FUZZ = settings(max_examples=300, deadline=None)


# ---- every option has a converter ------------------------------------------------------
def _walk(parser: argparse.ArgumentParser, prog: tuple[str, ...] = ()):
    """(command words, action) for every action of `parser` and its sub-parsers."""
    for act in parser._actions:
        if isinstance(act, argparse._SubParsersAction):
            for name, sub in act.choices.items():
                yield from _walk(sub, (*prog, name))
        else:
            yield prog, act


def _takes_value(act: argparse.Action) -> bool:
    return act.nargs != 0 and not isinstance(act, argparse._HelpAction | argparse._VersionAction)


VALUE_ACTIONS = [(p, a) for p, a in _walk(build_parser()) if _takes_value(a)]


def test_every_value_option_has_a_converter_from_options():
    missing = []
    for prog, act in VALUE_ACTIONS:
        from_options = getattr(act.type, "__module__", None) == "edgeaction.options"
        fixed_words = act.type is None and act.choices is not None  # str choices
        if not (from_options or fixed_words):
            missing.append(f"{' '.join(prog)} {act.option_strings or act.dest}: {act.type}")
    assert not missing, "options without a converter from edgeaction.options:\n" + "\n".join(
        missing
    )
    # the walk saw every command (a sub-parser registered elsewhere would be missed)
    commands = {p[0] for p, _ in VALUE_ACTIONS}
    assert {"synth", "train", "run", "bench", "build-engine", "jetson"} <= commands
    assert len(VALUE_ACTIONS) > 90


def _argv_with(prog: tuple[str, ...], act: argparse.Action, value: str) -> list[str]:
    """`prog` with `value` given to `act`, earlier positionals and required options filled."""
    parser = build_parser()
    for word in prog:
        parser = next(
            a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
        ).choices[word]
    before, required, seen = [], [], False
    for a in parser._actions:
        if (a.dest, a.option_strings) == (act.dest, act.option_strings):
            seen = True
        elif a.option_strings and a.required:
            required += [a.option_strings[0], str(next(iter(a.choices))) if a.choices else "x"]
        elif not a.option_strings and not seen:
            before.append("x")
    if act.option_strings:
        return [*prog, *required, act.option_strings[0], value]
    return [*prog, *required, *before, value]


@pytest.mark.parametrize(
    "prog, act",
    VALUE_ACTIONS,
    ids=[
        f"{' '.join(p)} {a.option_strings[0] if a.option_strings else a.dest}"
        for p, a in VALUE_ACTIONS
    ],
)
def test_a_newline_in_any_value_is_refused_on_one_line(prog, act, capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(_argv_with(prog, act, "1\nExecStartPre=/bin/evil"))
    assert e.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert ": error: " in lines[-1] and "ExecStartPre" in lines[-1], lines
    assert all(x.startswith(("usage:", " ")) for x in lines[:-1]), lines


def test_unrecognized_arguments_with_a_newline_stay_one_line(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "stray\nline"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith("unrecognized arguments: stray\\nline"), err


# ---- the known bugs, through the real CLI ------------------------------------------------
@pytest.mark.parametrize(
    "args, needles",
    [
        (["synth", "{tmp}/d", "--fps", "nan"], ["--fps", "finite"]),  # was a traceback
        (["synth", "{tmp}/d", "--fps", "0"], ["--fps", "above 0"]),  # was exit 0
        (["synth", "{tmp}/d", "--fps", "1e999"], ["--fps", "finite"]),
        (["train", "{tmp}/data", "--out", "{tmp}/r", "--patience", "-1"], ["--patience", ">= 0"]),
        (["train", "{tmp}/data", "--out", "{tmp}/r", "--lr", "nan"], ["--lr", "finite"]),
        (["train", "{tmp}/data", "--out", "{tmp}/r", "--max-bad", "1.5"], ["--max-bad"]),
        (["run", "{tmp}/m.onnx", "--source", "x.mp4", "--batch-timeout-ms", "inf"], ["finite"]),
        (["run", "{tmp}/m.onnx", "--source", "x.mp4", "--duration", "-1"], ["--duration"]),
        (["bench", "{tmp}/m.onnx", "--warmup-ms", "nan"], ["--warmup-ms"]),
        (["synth", "{tmp}/d", "--seed", "-1"], ["--seed", ">= 0"]),
        (["synth", "{tmp}/d", "--frames", "99999999999"], ["--frames", "<= 4096"]),  # MemoryError
        (["synth", "{tmp}/d", "--clips-per-class", "9" * 20], ["<= 2147483647"]),  # Overflow
        (["run", "{tmp}/m.onnx", "--source", "x.mp4", "--queue", "9" * 20], ["--queue"]),
        (["synth", "{tmp}/" + "a" * 256], ["256 bytes", "255"]),
        (["check", "{tmp}/" + "é" * 128 + "/m.onnx"], ["256 bytes"]),
        (["build-engine", "{tmp}/m.onnx", "--timing-cache", ""], ["empty"]),
        (["compare", "a", "b", "--data", "d", "--json", "{tmp}/" + "j" * 300], ["300 bytes"]),
    ],
)
def test_bad_values_exit_2_with_one_line(tmp_path, args, needles):
    p = cli(*(a.replace("{tmp}", str(tmp_path)) for a in args), check=False)
    usage_error(p, *needles)
    assert not any(tmp_path.iterdir()), list(tmp_path.iterdir())  # nothing written


def test_credentials_are_not_echoed(tmp_path):
    p = cli("run", tmp_path / "m.onnx", "--source", "rtsp://user:s3cr3t@cam/a\nb", check=False)
    err = usage_error(p, "--source", "control character")
    assert "s3cr3t" not in p.stderr and "***:***@cam" in err


# ---- the converters ------------------------------------------------------------------------
@FUZZ
@given(st.floats(allow_nan=True, allow_infinity=True))
@example(float("nan"))
@example(-0.0)
def test_finite_float_takes_exactly_the_finite_numbers(x):
    if math.isfinite(x):
        assert options.finite_float(repr(x)) == x
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="finite"):
            options.finite_float(repr(x))


@FUZZ
@given(st.text(max_size=40))
@example("١٢")  # Arabic-Indic digits: float() takes them; fine, they are digits
@example(" 5 ")
def test_every_converter_answers_any_text_with_a_value_or_one_line(s):
    for name in options.__all__:
        conv = getattr(options, name)
        if not callable(conv) or name.startswith(("check_", "keyfile", "one_line")):
            continue
        if name in ("float_range", "int_range"):
            continue
        try:
            v = conv(s)
        except argparse.ArgumentTypeError as e:
            assert len(str(e).splitlines()) == 1 and str(e), repr(str(e))
            continue
        assert not any(c in s for c in "\n\r\x00\x1b\u2028"), (name, s, v)
        if isinstance(v, float):
            assert math.isfinite(v)


@pytest.mark.parametrize(
    "conv, good, bad",
    [
        (options.positive_int, ["1", " 7 ", "+3"], ["0", "-1", "1.5", "", "1e3", "0x10"]),
        (options.non_negative_int, ["0", "12"], ["-1", "nan"]),
        (options.seed, ["0", str(2**32 - 1)], ["-1", str(2**32)]),
        (options.positive_float, ["1e-9", "3"], ["0", "-0.0", "nan", "inf", "-inf"]),
        (options.fraction, ["0", "1", "0.05"], ["1.0001", "-0.1"]),
        (options.fps, ["0.5", "1000", "29.97"], ["0", "1000.1", "NaN"]),
        (options.milliseconds, ["0", "20", "3600000"], ["-1", "inf", "3600001"]),
        (options.seconds, ["0.1"], ["0", "infinity"]),
        (options.text, ["1,4,8", "left:right", "é"], ["a\nb", "a\tb", "a\x1bb", "a\u2028b"]),
        (options.uri, ["rtsp://cam/a", "file:///a%20b.mp4"], ["not a uri", "rtsp://", "x.mp4"]),
        (options.source, ["clip.mp4", "test://ball?fps=15", "rtsp://h/p"], ["", "a\rb"]),
    ],
)
def test_converter_cases(conv, good, bad):
    for s in good:
        conv(s)
    for s in bad:
        with pytest.raises(argparse.ArgumentTypeError):
            conv(s)


def test_paths(tmp_path):
    assert options.path("-") == "-"  # stdout where an option says so
    assert options.pathlib_path("a/b") == pathlib.Path("a/b")
    assert options.path(str(tmp_path / ("a" * 255))) == str(tmp_path / ("a" * 255))
    undecodable = os.fsdecode(b"clip-\xff.mp4")  # not UTF-8: still a valid file name
    assert options.path(undecodable) == undecodable
    for bad, needle in [
        ("", "empty"),
        ("  ", "empty"),
        ("a\x00b", "\\x00"),
        ("a\nb", "\\n"),
        ("x/" + "b" * 256 + "/c", "256 bytes"),
        ("/" + "a/" * 2100, "at most 4096"),
    ]:
        with pytest.raises(argparse.ArgumentTypeError, match=None) as e:
            options.path(bad)
        assert needle in str(e.value) and len(str(e.value).splitlines()) == 1


def test_check_file_value_refuses_what_would_break_a_file():
    assert options.check_file_value("--smooth 3", "--run-arg") == "--smooth 3"
    for bad in ("a\nb", "a\rb", "a\x85b", "a\u2029b", os.fsdecode(b"\xff")):
        with pytest.raises(EdgeActionError) as e:
            options.check_file_value(bad, "--run-arg")
        assert "--run-arg" in str(e.value) and len(str(e.value).splitlines()) == 1


def test_uri_check_for_files():
    assert options.check_uri("file:///v/a.mp4", "--sources") == "file:///v/a.mp4"
    for bad in ("file://relative/a.mp4", "not a uri", "rtsp://cam/a b", "rtsp://cam/\n"):
        with pytest.raises(EdgeActionError, match="--sources"):
            options.check_uri(bad, "--sources")


@FUZZ
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Zl", "Zp", "Cs")), max_size=30))
@example(" leading")
@example("back\\slash\\n")
def test_keyfile_value_reads_back_through_glib(s):
    from edgeaction._lazy import gst

    gst()
    from gi.repository import GLib

    text = f"[property]\nonnx-file={options.keyfile_value(s, 'path')}\nnext=1\n"
    k = GLib.KeyFile()
    assert k.load_from_data(text, len(text.encode()), GLib.KeyFileFlags.NONE)
    assert k.get_keys("property")[0] == ["onnx-file", "next"]
    assert k.get_string("property", "onnx-file") == s


HOSTILE_VALUES = [
    "nan",
    "-inf",
    "1e999",
    "-1",
    "0",
    "",
    " ",
    "a" * 300,
    "é" * 200,
    "x\ty",
    "\x1b[2J",
]
HOSTILE_VALUES += ["9" * 20, "-" + "9" * 20]  # beyond 64 bits


@pytest.mark.parametrize(
    "prog, act",
    VALUE_ACTIONS,
    ids=[
        f"{' '.join(p)} {a.option_strings[0] if a.option_strings else a.dest}"
        for p, a in VALUE_ACTIONS
    ],
)
def test_hostile_values_parse_or_exit_2_on_one_line(prog, act, capsys):
    """A corpus of odd values for every option: a value, or argparse's one-line exit 2."""
    parser, argv = build_parser(), _argv_with(prog, act, "VALUE")
    for value in HOSTILE_VALUES:
        try:
            ns = parser.parse_args([value if w == "VALUE" else w for w in argv])
        except SystemExit as e:
            assert e.code == 2
            lines = capsys.readouterr().err.strip().splitlines()
            assert ": error: " in lines[-1], lines
            assert all(x.startswith(("usage:", " ")) for x in lines[:-1]), lines
            continue
        v = getattr(ns, act.dest)
        for x in v if isinstance(v, list) else [v]:
            assert not (isinstance(x, float) and not math.isfinite(x)), (act.dest, value)
            assert "\x1b" not in str(x) and "\t" not in str(x), (act.dest, value)


def test_parsed_ints_fit_in_32_bits():
    """Huge counts end later in MemoryError or OverflowError tracebacks: refused here."""
    for _, act in VALUE_ACTIONS:
        if act.type in (options.integer, options.positive_int, options.non_negative_int):
            with pytest.raises(argparse.ArgumentTypeError):
                act.type(str(2**31))
