"""The one user-facing error type.

Everything a user can get wrong (a missing file, a video that does not decode, a model
without a contract, a shape that does not match) raises `EdgeActionError` through
`fail()`. The CLI prints its message on one line and exits non-zero, without a
traceback. Messages say what was wrong, the offending value and how to fix it.
"""

from __future__ import annotations

from typing import NoReturn


class EdgeActionError(Exception):
    """A user error: bad input, missing dependency, mismatched model or engine.

    Args:
        message: String. One line: what failed, the value, the fix.
        exit_code: Integer. Process exit code the CLI uses. Defaults to `1`.
    """

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def first_line(e: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (a third-party error can span pages)."""
    s = str(e).strip().splitlines()
    return s[0][:limit] if s else type(e).__name__


def fail(message: str, exit_code: int = 1) -> NoReturn:
    """Raise `EdgeActionError(message)`; the CLI turns it into one line and an exit code."""
    raise EdgeActionError(message, exit_code)
