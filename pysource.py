"""Positions in Python source: what both the ``search`` agent and the corpus generator edit by.

Both :mod:`tracefix.agents.repair` (which undoes bugs) and :mod:`tracefix.corpus.mutators` (which makes
them) find a node with :mod:`ast` and then change the *text* at that node's exact place, so that
comments and formatting elsewhere survive.  That needs the same few facts about the source, and they
must agree with how :mod:`ast` counts: this module is the one place that knows them.

* :class:`SourceIndex`: line starts, ``(lineno, col_offset)`` -> character offset, a node's span and
  text, whole-line regions, indentation, and the operator token between two operands.
* :func:`splice`: several non-overlapping ``(start, end, text)`` edits applied at once.
* :data:`CMP_SYMBOLS` / :data:`BIN_SYMBOLS`: the source token of each comparison / binary operator.

What is *not* here is each side's policy (which operator is swapped for which, and how likely a fix
is): that stays with the code that decides it.
"""

from __future__ import annotations

import ast
import re
from typing import Iterable, Optional

__all__ = ["BIN_SYMBOLS", "CMP_SYMBOLS", "FUNCTION_NODES", "SourceIndex", "display_kind", "is_docstring", "splice"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""The line breaks the tokenizer counts (``ast`` line numbers): not form feeds, ``\\x1c`` or U+2028,
which :meth:`str.splitlines` would also split on."""

FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)

CMP_SYMBOLS: dict[type, str] = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
}
"""Comparison operator class -> its token."""

BIN_SYMBOLS: dict[type, str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
    ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.MatMult: "@",
}
"""Binary operator class -> its token (an augmented assignment adds ``=``)."""


def is_docstring(node: ast.AST) -> bool:
    """A bare string expression statement (a docstring when it is the first of a body)."""
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


_DISPLAYS: tuple[tuple[tuple[type, ...], str], ...] = (
    ((ast.List, ast.ListComp), "list"),
    ((ast.Dict, ast.DictComp), "dict"),
    ((ast.Set, ast.SetComp), "set"),
    ((ast.Tuple,), "tuple"),
    ((ast.JoinedStr,), "str"),
)


def display_kind(node: Optional[ast.AST]) -> Optional[str]:
    """``list`` / ``dict`` / ``set`` / ``tuple`` / ``str`` for a display, comprehension or f-string: the
    one kind of expression whose type its syntax alone decides; ``None`` for anything else.  (How to
    guess the rest is each caller's own policy.)"""
    for classes, kind in _DISPLAYS:
        if isinstance(node, classes):
            return kind
    return None


def splice(source: str, edits: Iterable[tuple[int, int, str]]) -> Optional[str]:
    """``source`` with each ``(start, end, text)`` replacing its character range; ``None`` if two overlap.

    Edits are applied in ``(start, end)`` order, so insertions at one point keep their given order.
    """
    ordered = sorted(edits, key=lambda e: (e[0], e[1]))
    for before, after in zip(ordered, ordered[1:]):
        if after[0] < before[1]:
            return None
    out, cursor = [], 0
    for start, end, text in ordered:
        out.append(source[cursor:start])
        out.append(text)
        cursor = end
    out.append(source[cursor:])
    return "".join(out)


class SourceIndex:
    """Character positions in ``source`` for the line/column positions :mod:`ast` reports.

    ``ast`` columns are UTF-8 *byte* offsets within a line and its lines are the tokenizer's (split on
    ``\\r\\n``, ``\\r`` and ``\\n`` only), while editing works on ``str`` indices; this converts one
    to the other.  Lines are numbered from 1.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        starts = [0] + [m.end() for m in _LINE_BREAK.finditer(source)]
        if starts[-1] != len(source):  # a last line without a line break
            starts.append(len(source))
        self.line_starts = starts
        """Offset of the first character of each line, then the length of the source."""

    def line_start(self, line: int) -> int:
        return self.line_starts[line - 1]

    def line_end(self, line: int) -> int:
        """Offset just past ``line`` and its line break."""
        return self.line_starts[line] if line < len(self.line_starts) else len(self.source)

    def line_text(self, line: int) -> str:
        """The text of ``line`` without its line break (``""`` past the end)."""
        if not 0 < line < len(self.line_starts):
            return ""
        return self.source[self.line_starts[line - 1] : self.line_starts[line]].rstrip("\r\n")

    def indent(self, line: int) -> str:
        text = self.line_text(line)
        return text[: len(text) - len(text.lstrip())]

    def offset(self, line: int, col: int) -> int:
        """Character offset of ``ast``'s ``(lineno, col_offset)`` (the column counts UTF-8 bytes)."""
        start = self.line_starts[line - 1]
        if 0 < line < len(self.line_starts):
            text = self.source[start : self.line_starts[line]]
            if not text.isascii():
                col = len(text.encode("utf-8")[:col].decode("utf-8", errors="ignore"))
        return start + col

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def text(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.source[start:end]

    def line_span(self, first: ast.AST, last: Optional[ast.AST] = None) -> Optional[tuple[int, int]]:
        """Whole lines from ``first`` to ``last`` (inclusive, line breaks included), if nothing else
        shares those lines (a trailing comment may); ``None`` otherwise."""
        last = last or first
        start, _ = self.span(first)
        _, end = self.span(last)
        line_start = self.line_start(first.lineno)  # type: ignore[attr-defined]
        line_end = self.line_end(last.end_lineno)  # type: ignore[attr-defined]
        if self.source[line_start:start].strip():
            return None
        tail = self.source[end:line_end].strip()
        if tail and not tail.startswith("#"):
            return None
        return line_start, line_end

    def operator_gap(self, left: ast.AST, right: ast.AST) -> Optional[tuple[int, int]]:
        """Character range of the operator token between two operand nodes (parentheses, spaces and
        line continuations skipped); ``None`` if a comment sits between them or nothing is left."""
        _, start = self.span(left)
        end, _ = self.span(right)
        gap = self.source[start:end]
        if "#" in gap:
            return None
        strip = "() \t\r\n\\"
        lead = len(gap) - len(gap.lstrip(strip))
        trail = len(gap) - len(gap.rstrip(strip))
        if lead + trail >= len(gap):
            return None
        return start + lead, end - trail
