"""Size targets of issue 15, measured with `ast`: short files, short functions.

No file under `src/` may be over 700 lines, and no function over 80 lines unless the line
before its `def` (or its first body line) says why with a `# long because ...` comment.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_FILE_LINES = 700
MAX_FUNCTION_LINES = 80
REASON = "# long because"


def _sources() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _first_line(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The line of the `def` (or of its first decorator)."""
    return min([node.lineno] + [d.lineno for d in node.decorator_list])


def _has_reason(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> bool:
    """True when the line before the `def` or the function's first body line states a reason.

    The first body line is any line between the signature and the first statement after the
    docstring (comments are not in the tree, so the lines are read as text).
    """
    first = _first_line(node)
    before = lines[first - 2] if first >= 2 else ""
    body = node.body
    has_doc = (
        isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )
    if has_doc and len(body) > 1:
        head = lines[body[0].end_lineno : body[1].lineno]
    else:
        head = lines[node.lineno - 1 : body[0].lineno]
    return any(REASON in s for s in [before, *head])


def _long_functions(path: Path) -> list[str]:
    """`file:line name is N lines` for each function over the limit without a reason."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    out = []
    for node in _functions(ast.parse(text, filename=str(path))):
        n = node.end_lineno - _first_line(node) + 1
        if n > MAX_FUNCTION_LINES and not _has_reason(node, lines):
            name = path.relative_to(SRC) if path.is_relative_to(SRC) else path.name
            out.append(f"{name}:{node.lineno} {node.name} is {n} lines")
    return out


def test_sources_are_found():
    files = _sources()
    assert len(files) > 50
    assert SRC / "edgeaction" / "cli.py" in files


def test_no_file_over_700_lines():
    too_long = []
    for path in _sources():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_FILE_LINES:
            too_long.append(f"{path.relative_to(SRC)} is {n} lines")
    assert not too_long, "split these files into cohesive modules:\n" + "\n".join(too_long)


def test_no_function_over_80_lines_without_a_reason():
    too_long = [msg for path in _sources() for msg in _long_functions(path)]
    assert not too_long, (
        "turn these into named steps, or say why on the line before the def "
        f"(`{REASON} ...`):\n" + "\n".join(too_long)
    )


def test_a_stated_reason_is_recognised(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(85))
    path = tmp_path / "m.py"
    path.write_text(f"def f():\n{body}\n", encoding="utf-8")
    assert _long_functions(path)
    path.write_text(f"# long because a flat table of checks\ndef f():\n{body}\n", encoding="utf-8")
    assert not _long_functions(path)
    path.write_text(f'def f():\n    """Doc."""\n    # long because a table\n{body}\n')
    assert not _long_functions(path)
