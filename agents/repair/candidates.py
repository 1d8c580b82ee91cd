"""The entry points: :func:`candidates` (mutation-inverse edits, most promising first), :func:`syntax_candidates`
(text repairs when the program does not compile) and :func:`compiles`."""

from __future__ import annotations

import ast
import re
from typing import Optional, Sequence

from tracefix.agents.repair.builder import Candidate
from tracefix.agents.repair.expressions import _ExpressionEdits
from tracefix.agents.repair.failures import SOLUTION_FILE, Failure
from tracefix.agents.repair.inverses import _InverseEdits
from tracefix.agents.repair.localise import localise
from tracefix.agents.repair.program import Program
from tracefix.agents.repair.statements import _StatementEdits
from tracefix.agents.repair.structural import _StructuralEdits
from tracefix.core.context import join_lines


class _Builder(_ExpressionEdits, _StatementEdits, _StructuralEdits, _InverseEdits):
    """Collects candidates for one program and one localisation."""

    # -- driver -------------------------------------------------------------------------------------
    def run(self) -> None:
        assert self.p.tree is not None
        for node in ast.walk(self.p.tree):
            if isinstance(node, ast.stmt) and id(node) in self.p.docstrings:
                continue
            if isinstance(node, ast.Compare):
                self.compare(node)
            elif isinstance(node, ast.BinOp):
                self.binop(node)
            elif isinstance(node, ast.AugAssign):
                self.augassign(node)
            elif isinstance(node, ast.BoolOp):
                self.boolop(node)
            elif isinstance(node, ast.Constant) and self._in_code(node):
                self.constant(node)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                self.names(node)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                self.attributes(node)
            elif isinstance(node, ast.Subscript):
                self.subscript(node)
            elif isinstance(node, ast.Call):
                self.call(node)
            if isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert)):
                self.condition(node.test)
            elif isinstance(node, ast.comprehension):
                for test in node.ifs:
                    self.condition(test)
            if isinstance(node, ast.stmt):
                self.statement(node)
            if not (isinstance(node, ast.Constant) and not self._in_code(node)):
                self.inverse_node(node)
        self.mutable_defaults()
        self.final_returns()
        self.missing_updates()
        self.shared_state()
        self.aliasing()
        self.guards()

    def _in_code(self, node: ast.Constant) -> bool:
        parent = self.p.parent.get(id(node))
        return not (isinstance(parent, ast.Expr) and id(parent) in self.p.docstrings) and not isinstance(parent, ast.JoinedStr)


# ---------------------------------------------------------------------------------------------------
# Syntax repairs (the program does not compile)
# ---------------------------------------------------------------------------------------------------
_BLOCK_KEYWORDS = re.compile(r"^\s*(def|class|if|elif|else|for|while|try|except|finally|with)\b")


def syntax_candidates(lines: Sequence[str], error_line: Optional[int]) -> list[Candidate]:
    """Small text repairs around the line a SyntaxError names, kept only if the result compiles."""
    lines = list(lines)
    targets = [error_line] if error_line else []
    if error_line and error_line > 1:
        targets.append(error_line - 1)
    if error_line and error_line < len(lines):
        targets.append(error_line + 1)
    if not targets:
        targets = list(range(1, len(lines) + 1))
    found: dict[tuple[str, ...], Candidate] = {}
    for rank, line in enumerate(targets):
        if not 1 <= line <= len(lines):
            continue
        text = lines[line - 1]
        stripped = text.rstrip()
        indent = text[: len(text) - len(text.lstrip())]
        options: list[tuple[str, str]] = []
        if _BLOCK_KEYWORDS.match(text) and not stripped.endswith(":"):
            options.append((stripped + ":", "added the missing `:`"))
        if re.search(r"\b(if|elif|while)\b[^=]*[^=!<>]=[^=]", text):
            options.append((re.sub(r"(?<=[^=!<>])=(?=[^=])", "==", text, count=1), "`=` -> `==`"))
        for opener, closer in ("()", "[]", "{}"):
            if text.count(opener) > text.count(closer):
                options.append((stripped + closer * (text.count(opener) - text.count(closer)), f"closed `{opener}`"))
            elif text.count(closer) > text.count(opener):
                position = stripped.rfind(closer)
                options.append((stripped[:position] + stripped[position + 1 :], f"removed a stray `{closer}`"))
        for quote in ('"', "'"):
            if text.count(quote) % 2 == 1:
                options.append((stripped + quote, f"closed the string `{quote}`"))
        options.append((text.replace("=<", "<=").replace("=>", ">=").replace("<>", "!="), "fixed an operator"))
        previous = next((lines[i] for i in range(line - 2, -1, -1) if lines[i].strip()), "")
        prev_indent = previous[: len(previous) - len(previous.lstrip())]
        for new_indent in {prev_indent, prev_indent + "    ", prev_indent[:-4] if len(prev_indent) >= 4 else ""}:
            if new_indent != indent:
                options.append((new_indent + text.lstrip(), "fixed the indentation"))
        if text.strip().startswith("else if "):
            options.append((text.replace("else if ", "elif ", 1), "`else if` -> `elif`"))
        for new_text, note in options:
            if new_text == text:
                continue
            candidate = lines[: line - 1] + [new_text] + lines[line:]
            if compiles(candidate):
                key = tuple(candidate)
                if key not in found:
                    found[key] = Candidate(key, "SYNTAX", line, round(1.0 - 0.1 * rank, 6), f"line {line}: {note}")
    return sorted(found.values(), key=lambda c: -c.priority)


def compiles(lines: Sequence[str]) -> bool:
    try:
        compile(join_lines(list(lines)), SOLUTION_FILE, "exec", dont_inherit=True)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def candidates(lines: Sequence[str], failures: Sequence[Failure]) -> list[Candidate]:
    """Candidate programs, most promising first (only ones that compile are kept, lazily by callers)."""
    program = Program(lines)
    if program.tree is None:
        error_line = next((f.syntax_line for f in failures if f.syntax_line), None)
        if error_line is None:
            try:
                compile(program.source, SOLUTION_FILE, "exec", dont_inherit=True)
            except SyntaxError as exc:
                error_line = exc.lineno
            except (ValueError, RecursionError, MemoryError):
                pass
        return syntax_candidates(lines, error_line)
    builder = _Builder(program, localise(program, failures), failures)
    builder.run()
    return sorted(builder.found.values(), key=lambda c: (-c.priority, c.line, c.operator, c.note))
