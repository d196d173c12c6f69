"""The command registry: one module per command under `edgeaction.commands`, one line each
in `cli.COMMANDS`, and nothing under `jetson/` importing `cli`."""

from __future__ import annotations

import argparse
import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import edgeaction.commands
from edgeaction import cli

SRC = Path(edgeaction.commands.__file__).parents[1]


def _command_modules() -> list[str]:
    return [
        m.name
        for m in pkgutil.iter_modules(edgeaction.commands.__path__)
        if m.name not in ("common",) and not m.name.startswith("_")
    ]


def test_every_command_module_is_registered_once():
    registered = [m.__name__ for m in cli.command_modules()]
    assert len(registered) == len(set(registered))
    for name in _command_modules():
        assert f"edgeaction.commands.{name}" in registered, name


@pytest.mark.parametrize("name", _command_modules())
def test_each_module_has_add_parser_and_run(name):
    mod = importlib.import_module(f"edgeaction.commands.{name}")
    assert callable(mod.add_parser) and callable(mod.run)
    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    mod.add_parser(sub)
    for parser in sub.choices.values():  # `keypoints` also registers `pose-extract`
        assert parser.get_default("fn") is mod.run


def test_help_lists_the_commands_in_order(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    order = ["synth", "train", "export", "evaluate", "compare", "keypoints", "pose-extract",
             "run", "check", "demo", "bench", "build-engine", "doctor", "jetson"]  # fmt: skip
    positions = [re.search(rf"^    {re.escape(c)}\b", out, re.M).start() for c in order]
    assert positions == sorted(positions)


def test_build_engine_script_entry(capsys):
    with pytest.raises(SystemExit) as e:
        cli.build_engine_main(["--help"])
    assert e.value.code == 0 and "usage: build-engine" in capsys.readouterr().out


def test_nothing_under_jetson_or_commands_imports_cli():
    """The circle cli -> jetson -> cli is gone; command modules never import cli either."""
    for path in [*(SRC / "jetson").glob("*.py"), *(SRC / "commands").glob("*.py")]:
        package = f"edgeaction.{path.parent.name}"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                parts = package.split(".")
                up = parts[: len(parts) - node.level + 1] if node.level else []
                base = ".".join([*up, node.module] if node.module else up)
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            assert "edgeaction.cli" not in targets, f"{path.name}: {ast.unparse(node)}"


def test_run_option_strings_match_runs_parser():
    from edgeaction.commands import run

    sub = cli.build_parser()._subparsers._group_actions[0].choices["run"]
    assert run.option_strings() == set(sub._option_string_actions) - {"-h", "--help"}
