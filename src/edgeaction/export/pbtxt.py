"""The protobuf text format (`.pbtxt`) of Triton configurations: a strict parser and quoting.

The grammar follows the Protocol Buffers "Text Format Language Specification"
(protobuf.dev); `parse_pbtxt` accepts a strict subset of it, the one Triton's
`config.pbtxt` files use.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from ..errors import fail

MAX_DEPTH = 32


def quote(s: str) -> str:
    """A text-format string literal; non-ASCII stays UTF-8, control characters are escaped."""
    out = []
    for ch in s:
        if ch in _QUOTE:
            out.append(_QUOTE[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_QUOTE = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class PbEnum(str):
    """An enum value in parsed text format: a bare identifier such as `TYPE_FP32`.

    Compares equal to its name, but `isinstance(v, PbEnum)` tells `kind: KIND_GPU` from
    `kind: "KIND_GPU"`.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"PbEnum({str.__repr__(self)})"


class _Tok(NamedTuple):
    kind: str  # "string", "number", "ident", "punct"
    text: str
    line: int
    col: int


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\n\f\v]+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\[^\n])*"|'(?:[^'\\\n]|\\[^\n])*')
  | (?P<number>(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[{}\[\]:,;-])
""",
    re.VERBOSE,
)
_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}


def parse_pbtxt(text: str, source: str = "config.pbtxt") -> dict[str, Any]:
    """Parse the protobuf text format subset Triton configurations use, strictly.

    Accepted: `field: scalar`, `field { ... }` / `field: { ... }`, lists
    `field: [a, b]` and `field [ {...}, {...} ]`, strings (`"..."` or `'...'` with C
    escapes, adjacent literals joined), decimal integers and floats with an optional `-`,
    `true`/`false`, enum identifiers (returned as `PbEnum`), `#` comments and optional
    `,`/`;` after a field. Anything else (unbalanced braces or brackets, stray tokens,
    hex/octal numbers, `<...>` blocks, bad escapes, nesting deeper than 32) fails.

    Args:
        text: String. The file's text.
        source: String. Name used in error messages. Defaults to `"config.pbtxt"`.

    Returns:
        A dict per message: a field written once without brackets maps to its value (a
        scalar or dict); a field written as a list or more than once maps to a list.
    """
    if not isinstance(text, str):
        fail(f"{source}: text format must be a str. Received: {type(text).__name__}")
    return _Parser(text, source).parse()


class _Parser:
    def __init__(self, text: str, source: str):
        self.source = source
        self.toks = self._tokenize(text)
        self.i = 0

    # -- tokens
    def _tokenize(self, text: str) -> list[_Tok]:
        toks, pos, line, line_start = [], 0, 1, 0
        while pos < len(text):
            m = _TOKEN_RE.match(text, pos)
            col = pos - line_start + 1
            if m is None:
                self._fail(line, col, f"unexpected character {text[pos]!r}")
            kind, s = m.lastgroup, m.group()
            if kind == "number" and re.match(r"[A-Za-z_0-9.]", text[m.end() : m.end() + 1]):
                tail = re.match(r"[A-Za-z_0-9.]*", text[m.end() :]).group()
                self._fail(line, col, f"bad number {s + tail!r} (decimal numbers only)")
            if kind not in ("ws", "comment"):
                toks.append(_Tok(kind, s, line, col))
            newlines = s.count("\n")
            if newlines:
                line += newlines
                line_start = pos + s.rindex("\n") + 1
            pos = m.end()
        self.end = (line, len(text) - line_start + 1)
        return toks

    def _fail(self, line: int, col: int, what: str):
        fail(f"{self.source}:{line}:{col}: {what}")

    def _err(self, what: str, tok: _Tok | None = None):
        tok = tok if tok is not None else self.peek()
        line, col = (tok.line, tok.col) if tok is not None else self.end
        found = f"found {tok.text!r}" if tok is not None else "found the end of the text"
        self._fail(line, col, f"{what}, {found}")

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def at(self, punct: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "punct" and tok.text == punct

    def accept(self, punct: str) -> bool:
        if self.at(punct):
            self.i += 1
            return True
        return False

    # -- grammar
    def parse(self) -> dict[str, Any]:
        out = self.message(depth=0, closing=False)
        if self.peek() is not None:
            self._err("unbalanced '}' or stray token")
        return out

    def message(self, depth: int, closing: bool) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            self._err(f"nesting deeper than {MAX_DEPTH}")
        out: dict[str, Any] = {}
        repeated: set[str] = set()
        while True:
            tok = self.peek()
            if tok is None:
                if closing:
                    self._err("unbalanced '{': missing '}'")
                return out
            if self.at("}"):
                if not closing:
                    self._err("unbalanced '}'")
                self.i += 1
                return out
            if tok.kind != "ident":
                self._err("expected a field name")
            self.i += 1
            name = tok.text
            colon = self.accept(":")
            if self.at("{"):
                self.i += 1
                value, is_list = self.message(depth + 1, closing=True), False
            elif self.at("["):
                self.i += 1
                value, is_list = self.items(depth + 1, scalars=colon, field=name), True
            elif colon:
                value, is_list = self.scalar(), False
            else:
                self._err(f"expected ':' or '{{' after field {name!r}")
            if name in out:
                if name not in repeated:
                    out[name] = [out[name]]
                    repeated.add(name)
                out[name] += value if is_list else [value]
            else:
                out[name] = value
                if is_list:
                    repeated.add(name)
            if not self.accept(","):
                self.accept(";")

    def items(self, depth: int, scalars: bool, field: str) -> list[Any]:
        out: list[Any] = []
        if self.accept("]"):
            return out
        while True:
            if self.accept("{"):
                out.append(self.message(depth, closing=True))
            elif scalars:
                out.append(self.scalar())
            else:
                self._err(f"list of {field!r} without ':' must hold messages {{...}}")
            if self.accept("]"):
                break
            if not self.accept(","):
                self._err("expected ',' or ']' in list")
        if len({isinstance(v, dict) for v in out}) > 1:
            self._err(f"list {field!r} mixes messages and scalars")
        return out

    def scalar(self) -> Any:
        tok = self.peek()
        if tok is None:
            self._err("expected a value")
        if self.accept("-"):
            num = self.peek()
            if num is None or num.kind != "number":
                self._err("expected a number after '-'")
            self.i += 1
            return -self.number(num)
        if tok.kind == "number":
            self.i += 1
            return self.number(tok)
        if tok.kind == "string":
            parts = []
            while (t := self.peek()) is not None and t.kind == "string":
                parts.append(self.unescape(t))
                self.i += 1
            return "".join(parts)
        if tok.kind == "ident":
            self.i += 1
            if tok.text in ("true", "false"):
                return tok.text == "true"
            return PbEnum(tok.text)
        self._err("expected a value")

    def number(self, tok: _Tok) -> int | float:
        s = tok.text
        if re.fullmatch(r"[0-9]+", s):
            if len(s) > 1 and s[0] == "0":
                self._err("octal-looking integer (leading zero)", tok)
            return int(s)
        return float(s)

    def unescape(self, tok: _Tok) -> str:
        body, out, i = tok.text[1:-1], bytearray(), 0
        while i < len(body):
            ch = body[i]
            if ch != "\\":
                out += ch.encode("utf-8")
                i += 1
                continue
            e = body[i + 1]
            if e in _ESCAPES:
                out += _ESCAPES[e].encode()
                i += 2
            elif e in "01234567":
                digits = re.match(r"[0-7]{1,3}", body[i + 1 :]).group()
                if int(digits, 8) > 255:
                    self._err(f"octal escape \\{digits} above \\377", tok)
                out.append(int(digits, 8))
                i += 1 + len(digits)
            elif e in "xX":
                m = re.match(r"[0-9A-Fa-f]{1,2}", body[i + 2 :])
                if m is None:
                    self._err("\\x escape without hex digits", tok)
                out.append(int(m.group(), 16))
                i += 2 + len(m.group())
            else:
                self._err(f"unknown escape \\{e}", tok)
        try:
            return out.decode("utf-8")
        except UnicodeDecodeError:
            self._err("string is not valid UTF-8", tok)


__all__ = ["PbEnum", "parse_pbtxt", "quote"]
