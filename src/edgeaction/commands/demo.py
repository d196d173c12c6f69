"""`edgeaction demo`: synth → train → export → run, end to end on the CPU."""

from __future__ import annotations

import argparse

from .. import options


def run(a) -> int:
    """`edgeaction demo` with the parsed arguments `a`; returns the exit status."""
    from ..demo import run_demo

    return run_demo(a.out, quick=a.quick)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `demo` on the top-level sub-parsers."""
    d = sub.add_parser("demo", help="synth → train → export → run, end to end on the CPU")
    d.add_argument(
        "--out", type=options.path, default="demo-out", help="output directory (default ./demo-out)"
    )
    d.add_argument("--quick", action="store_true", help="tiny data and 2 epochs (a smoke test)")
    d.set_defaults(fn=run)
