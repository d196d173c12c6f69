"""Tests of `edgeaction.commands` and the shared helper for argparse's refusals."""

from __future__ import annotations

import subprocess


def usage_error(p: subprocess.CompletedProcess, *needles: str) -> str:
    """Assert `p` is argparse's refusal: exit 2, no traceback, one `error:` line holding
    `needles` (the usage lines before it aside); return that line."""
    assert p.returncode == 2, (p.returncode, p.stdout[-500:], p.stderr[-2000:])
    assert "Traceback" not in p.stderr, p.stderr
    lines = p.stderr.strip().splitlines()
    err = [x for x in lines if ": error: " in x]
    assert len(err) == 1 and lines[-1] == err[0], p.stderr
    for x in lines[:-1]:
        assert x.startswith("usage:") or x.startswith(" "), p.stderr
    for n in needles:
        assert n in err[0], err[0]
    return err[0]
