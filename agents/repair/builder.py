"""A candidate edit and the collector every edit goes through (priority = suspiciousness × prior)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Sequence

from tracefix.agents.repair.failures import Failure
from tracefix.agents.repair.program import Program
from tracefix.agents.repair.ranking import rank_score, symptom_of


@dataclass(frozen=True)
class Candidate:
    lines: tuple[str, ...]
    operator: str
    line: int
    priority: float
    note: str
    prior: float = 0.0
    """The edit's own prior (how often this kind of edit is the fix)."""
    susp: float = 0.0
    """Suspiciousness of its line (after any floor): ``priority`` is a function of both."""


class _BuilderBase:
    """Collects candidates for one program and one localisation; the edit families are mixed in by
    :class:`tracefix.agents.repair.candidates._Builder`."""

    def __init__(self, program: Program, scores: dict[int, float], failures: Sequence[Failure]) -> None:
        self.p = program
        self.scores = scores
        self.failures = failures
        self.found: dict[tuple[str, ...], Candidate] = {}
        self.got_none = any(f.got_none for f in failures)
        self.expected_exceptions = {f.expected_exception for f in failures if f.expected_exception}
        self.raised = {f.exception for f in failures if f.exception}
        self.defaults_used = self._defaults_used_by_failures()
        self.symptom = symptom_of(failures)

    def susp(self, line: int) -> float:
        return self.scores.get(line, 0.02)

    def _defaults_used_by_failures(self) -> set[int]:
        """``id`` of the default-value nodes that some failing test expression relies on."""
        used: set[int] = set()
        for failure in self.failures:
            if not failure.expression:
                continue
            try:
                tree = ast.parse(failure.expression.strip())
            except (SyntaxError, ValueError, RecursionError):
                continue
            for call in [n for n in ast.walk(tree) if isinstance(n, ast.Call)]:
                name = call.func.id if isinstance(call.func, ast.Name) else call.func.attr if isinstance(call.func, ast.Attribute) else None
                if name is None:
                    continue
                targets = [f for f in self.p.functions if f.name == name]
                if name in self.p.classes:
                    targets += [f for f in self.p.functions if f.cls == name and f.name == "__init__"]
                for info in targets:
                    args = info.node.args  # type: ignore[attr-defined]
                    positional = args.posonlyargs + args.args
                    offset = 1 if info.cls is not None and positional and positional[0].arg in ("self", "cls") else 0
                    given = len(call.args) + offset
                    keywords = {k.arg for k in call.keywords}
                    first_default = len(positional) - len(args.defaults)
                    for index, default in enumerate(args.defaults):
                        param = positional[first_default + index]
                        if first_default + index >= given and param.arg not in keywords:
                            used.add(id(default))
                    for param, default in zip(args.kwonlyargs, args.kw_defaults):
                        if default is not None and param.arg not in keywords:
                            used.add(id(default))
        return used

    def add(self, edits: list[tuple[int, int, str]], operator: str, line: int, prior: float, note: str, floor: float = 0.0) -> None:
        new_lines = self.p.apply(edits)
        if new_lines is None:
            return
        key = tuple(new_lines)
        if key == tuple(self.p.lines):
            return
        susp = max(self.susp(line), floor)
        priority = rank_score(operator, prior, susp, self.symptom)
        old = self.found.get(key)
        if old is None or old.priority < priority:
            self.found[key] = Candidate(key, operator, line, round(priority, 6), f"line {line}: {note}", prior, susp)

    def replace(self, node: ast.AST, text: str, operator: str, prior: float, note: str, floor: float = 0.0) -> None:
        a, b = self.p.span(node)
        self.add([(a, b, text)], operator, node.lineno, prior, note, floor)  # type: ignore[attr-defined]
