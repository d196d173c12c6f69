"""Sub-commands of the deployment stage: `edgeaction doctor` and `edgeaction jetson ...`.

Each module registers its own parser (`add_parser(subparsers)`), as `edgeaction.commands` do;
`edgeaction.cli` lists this module among its commands.
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add `doctor` and `jetson {power,deepstream,service}` to the top-level parser."""
    from . import deepstream, doctor, power, service

    doctor.add_parser(sub)
    j = sub.add_parser(
        "jetson",
        help="deploy on a Jetson: power modes, DeepStream configs, systemd service, containers",
        description="Deployment helpers for NVIDIA Jetson (JetPack 6). `power` needs a "
        "Jetson; `deepstream` and `service` write files anywhere.",
    )
    jsub = j.add_subparsers(title="commands", metavar="COMMAND")
    j.set_defaults(fn=lambda a: (j.print_help(), 2)[1])
    power.add_parser(jsub)
    deepstream.add_parser(jsub)
    service.add_parser(jsub)
