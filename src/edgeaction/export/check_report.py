"""The results of `edgeaction check`: findings, the report of one model, its table."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

LEVELS = ("blocker", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One result of the pre-flight.

    Args:
        level: String. `"blocker"` (TensorRT will not build the model), `"warning"` (it
            builds; check this) or `"info"`.
        code: String. Stable short name of the check, e.g. `"unsupported-op"`.
        op: String. ONNX op type the finding is about, or `""`.
        node: String. Node, tensor or input name, or `""`.
        message: String. One line: what was found and what to do.
    """

    level: str
    code: str
    op: str
    node: str
    message: str

    @property
    def where(self) -> str:
        """`op/node` as the table shows it (`-` when neither applies)."""
        return "/".join(x for x in (self.op, self.node) if x) or "-"


@dataclass
class CheckReport:
    """The pre-flight of one ONNX model against one TensorRT major version.

    Args:
        path: String. The ONNX file checked.
        trt_major: Integer. TensorRT major version checked against (10 or 11).
        opset: Integer or `None`. Opset of the default ONNX domain.
        nodes: Integer. Nodes in the model, subgraphs (Loop/If/Scan bodies) included.
        ops: Dict of op type -> count, subgraphs included, most frequent first. Ops of a
            custom domain are keyed `domain:Op`.
        findings: List of `Finding`, blockers first.
        source: String. Where the operator list comes from (repository, path, release).
    """

    path: str
    trt_major: int
    opset: int | None
    nodes: int
    ops: dict[str, int]
    findings: list[Finding] = field(default_factory=list)
    source: str = ""

    @property
    def counts(self) -> dict[str, int]:
        """Number of findings per level: `{"blocker": n, "warning": n, "info": n}`."""
        c = Counter(f.level for f in self.findings)
        return {lvl: c.get(lvl, 0) for lvl in LEVELS}

    @property
    def blockers(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "blocker"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    @property
    def ready(self) -> bool:
        """Whether nothing blocks a TensorRT build."""
        return not self.blockers

    def summary(self) -> str:
        """One line, e.g. `0 blockers, 2 warnings: ready for TensorRT 10`."""
        c = self.counts
        b, w = plural(c["blocker"], "blocker"), plural(c["warning"], "warning")
        if self.ready:
            return f"{b}, {w}: ready for TensorRT {self.trt_major}"
        tail = f", {w}" if c["warning"] else ""
        return f"{b}{tail}: TensorRT {self.trt_major} will not build this model"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: path, trt_major, opset, nodes, counts, ready, summary, ops,
        findings, source."""
        return {
            "path": self.path,
            "trt_major": self.trt_major,
            "opset": self.opset,
            "nodes": self.nodes,
            "counts": self.counts,
            "ready": self.ready,
            "summary": self.summary(),
            "ops": self.ops,
            "findings": [asdict(f) for f in self.findings],
            "source": self.source,
        }


def plural(n: int, word: str) -> str:
    """`1 blocker`, `2 blockers`."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def _clip(s: str, width: int) -> str:
    if len(s) <= width:
        return s
    keep = width - 3
    return s[: keep // 2] + "..." + s[len(s) - (keep - keep // 2) :]


def format_table(report: CheckReport, where_width: int = 40) -> str:
    """A readable report: a header, one aligned row per finding and the summary line.

    Args:
        report: `CheckReport` from `preflight`.
        where_width: Integer. Longest `op/node` cell; longer names are shortened in the
            middle. Defaults to `40`.

    Returns:
        String of several lines, the last being `report.summary()`.
    """
    r = report
    top = ", ".join(f"{op} {n}" for op, n in list(r.ops.items())[:12])
    more = f", +{len(r.ops) - 12} more" if len(r.ops) > 12 else ""
    lines = [
        f"TensorRT {r.trt_major} pre-flight of {r.path}: opset {r.opset}, "
        f"{plural(r.nodes, 'node')}",
        f"ops: {top}{more}",
        f"operator list: {r.source}",
        "",
    ]
    head = ("level", "code", "op/node", "message")
    rows = [(f.level, f.code, _clip(f.where, where_width), f.message) for f in r.findings]
    if rows:
        w = [max(len(x[i]) for x in [head, *rows]) for i in range(3)]
        for row in [head, tuple("-" * n for n in w) + ("-------",), *rows]:
            lines.append("  ".join(c.ljust(w[i]) for i, c in enumerate(row[:3])) + "  " + row[3])
    else:
        lines.append("no findings")
    lines += ["", r.summary()]
    return "\n".join(lines)
