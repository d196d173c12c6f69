"""The `edgeaction` command line (and `build-engine`).

Each command is a module of `edgeaction.commands` (`add_parser(subparsers)` and
`run(args) -> int`), listed once in `COMMANDS`; `jetson.cli` adds `doctor` and `jetson ...`
the same way. Heavy imports happen inside the command that needs them, so `edgeaction run
--help` starts fast and `run` never imports TensorFlow. Every user error is one line on
stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from types import ModuleType

from . import __version__, options
from .commands import build_engine
from .commands.train import ARCH_NAMES  # noqa: F401 (kept importable from here)
from .errors import EdgeActionError
from .fsutil import command_outputs, os_error_line

#: The command modules, in the order `edgeaction --help` lists them. Each has
#: `add_parser(subparsers)` (and the commands' `run(args) -> int`): adding a command is
#: one module under `edgeaction/commands/` and one line here.
COMMANDS = (
    ".commands.synth",
    ".commands.train",
    ".commands.export",
    ".commands.evaluate",
    ".commands.compare",
    ".commands.keypoints",  # and its alias pose-extract
    ".commands.run",
    ".commands.check",
    ".commands.demo",
    ".commands.bench",
    ".commands.build_engine",
    ".commands.selftest",
    ".jetson.cli",  # doctor, jetson {power,deepstream,service}
)


def command_modules() -> list[ModuleType]:
    """The modules of `COMMANDS`, imported (each is light: heavy imports are in `run`)."""
    return [importlib.import_module(name, __package__ or "edgeaction") for name in COMMANDS]


EPILOG = """\
typical use:
  edgeaction synth data/ --classes 7 --clips-per-class 40      # or bring your own clips
  edgeaction train data/ --arch edge-tiny --out runs/a
  edgeaction evaluate runs/a heldout/ --split all             # report: accuracy, confusion, F1
  edgeaction export runs/a --out models/a --fp16 --split       # ONNX + contract, parity-gated
  edgeaction check models/a/model.onnx                         # TensorRT pre-flight, no GPU
  edgeaction run models/a/model.onnx --source clip.mp4 --events ev.jsonl --out-video ann.mp4
  edgeaction demo                                              # all of the above, on CPU

gestures (hand keypoints): edgeaction keypoints data/ --kind hands --out hands/
  && edgeaction train data/ --arch hands --keypoints hands/ --out runs/h
"""


class _Parser(argparse.ArgumentParser):
    """argparse's parser (and its sub-parsers' class), whose error stays one line even when
    the offending value holds a newline (`unrecognized arguments: ...` echoes it raw)."""

    def error(self, message: str):
        super().error(options.one_line(message))


def build_parser() -> argparse.ArgumentParser:
    """The `edgeaction` parser: global options and one sub-parser per command."""
    p = _Parser(
        prog="edgeaction",
        description="Video action/gesture recognition: Keras training → ONNX → TensorRT → GStreamer.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"edgeaction {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="show tracebacks and debug logs")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for command in command_modules():
        command.add_parser(sub)
    return p


def _dispatch(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    a = parser.parse_args(argv)
    if not getattr(a, "fn", None):
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.DEBUG if a.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not a.verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        with command_outputs():  # a failed command removes what it created
            return a.fn(a) or 0
    except EdgeActionError as e:
        if a.verbose:
            raise
        prog = parser.prog
        print(f"{prog}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"\n{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `edgeaction doctor | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as e:  # last resort: a path no writer mapped (too long, disk full)
        if a.verbose:
            raise
        print(f"{parser.prog}: error: {os_error_line(e)}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    return _dispatch(build_parser(), argv)


def build_engine_main(argv: list[str] | None = None) -> int:
    p = _Parser(
        prog="build-engine",
        description=build_engine.DESCRIPTION,
        epilog=build_engine.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", help="TensorRT's verbose log and tracebacks"
    )
    build_engine.add_engine_args(p, own_verbose=False)
    return _dispatch(p, argv)


if __name__ == "__main__":
    sys.exit(main())
