"""The engine package imports no later stage and has no import cycles (lazy imports too).

Read with `ast` from the source, every `import` statement counted wherever it stands (a
function-level import is still a dependency). import-linter contracts in `.ci/run`
enforce the same package-wide; this is the engine's own guard.
"""

import ast

from tests.conftest import ROOT

PKG = ROOT / "src" / "edgeaction"


def _module(path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path) -> set[str]:
    """Modules of `edgeaction` that the file imports (absolute names)."""
    me = _module(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}  # `from . import cuda_mem`
    modules = {_module(p) for p in PKG.rglob("*.py")}
    return {m for m in found if m in modules and m != me}


def _graph(root):
    return {_module(p): _imports(p) for p in sorted(root.rglob("*.py"))}


def test_engine_has_no_import_cycles():
    graph = _graph(PKG / "engine")
    inside = {
        m: {d for d in deps if d in graph and d != "edgeaction.engine"} for m, deps in graph.items()
    }
    cycles, state = [], {}

    def visit(m, stack):
        state[m] = "open"
        for d in sorted(inside[m]):
            if state.get(d) == "open":
                cycles.append(" -> ".join([*stack[stack.index(d) :], d]))
            elif d not in state:
                visit(d, [*stack, d])
        state[m] = "done"

    for m in sorted(inside):
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles


def test_engine_imports_no_later_stage():
    later = ("edgeaction.export", "edgeaction.train", "edgeaction.pipelines", "edgeaction.cli")
    bad = {
        m: sorted(d for d in deps if d.startswith(later))
        for m, deps in _graph(PKG / "engine").items()
    }
    assert not {m: d for m, d in bad.items() if d}
