"""Fault localisation: suspiciousness of each line given the failing tests (no execution)."""

from __future__ import annotations

import ast
import re
from typing import Sequence

from tracefix.agents.repair.failures import Failure
from tracefix.agents.repair.program import FunctionInfo, Program

CALL_DECAY = 0.8
"""Suspiciousness kept per call-graph edge away from a function a failing test calls."""


def _body_lines(program: Program, info: FunctionInfo) -> list[int]:
    body = info.node.body  # type: ignore[attr-defined]
    first = body[0].lineno if body else info.start
    return list(range(info.start, info.end + 1)) if first <= info.start else [info.start] + list(range(first, info.end + 1))


def _expression_names(expression: str) -> tuple[set[str], set[str]]:
    """Names called (``f(...)``) and attributes called (``x.m(...)``) in a test expression."""
    calls: set[str] = set()
    methods: set[str] = set()
    try:
        tree = ast.parse(expression.strip(), mode="exec")
    except (SyntaxError, ValueError, RecursionError):
        calls.update(re.findall(r"\b([A-Za-z_]\w*)\s*\(", expression))
        return calls, methods
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                calls.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                methods.add(node.func.attr)
        elif isinstance(node, ast.Attribute):
            methods.add(node.attr)
        elif isinstance(node, ast.Subscript) or isinstance(node, ast.Compare):
            pass
    return calls, methods


_MUTATORS = {"append", "appendleft", "extend", "insert", "pop", "popleft", "remove", "discard", "add", "update",
             "clear", "setdefault", "sort", "reverse"}


def _mutates_state(info: FunctionInfo) -> bool:
    """A method that changes its object (the 'setup' calls of a test, which its message does not show)."""
    if info.name == "__init__":
        return False
    for node in ast.walk(info.node):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = list(node.targets)
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute) and isinstance(part.value, ast.Name) and part.value.id == "self":
                    return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
            owner = node.func.value
            if isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name) and owner.value.id == "self":
                return True
    return False


def localise(program: Program, failures: Sequence[Failure]) -> dict[int, float]:
    """Suspiciousness in [0, 1] of each line of ``program`` given the failing tests."""
    scores: dict[int, float] = {}

    def bump(line: int, value: float) -> None:
        if 1 <= line <= len(program.lines) and program.lines[line - 1].strip():
            scores[line] = max(scores.get(line, 0.0), value)

    for info in program.functions:
        for line in _body_lines(program, info):
            bump(line, 0.1)
    for line in range(1, len(program.lines) + 1):
        bump(line, 0.05)

    for failure in failures:
        seeds: list[tuple[FunctionInfo, float]] = []
        if failure.expression:
            calls, methods = _expression_names(failure.expression)
            for name in calls:
                seeds += [(f, 0.6) for f in program.functions_named(name, methods=False)]
                if name in program.classes:
                    seeds += [(f, 0.45 if _mutates_state(f) else 0.3) for f in program.functions if f.cls == name]
                    seeds += [(f, 0.45) for f in program.functions if f.cls == name and f.name == "__init__"]
            for name in methods:
                named = program.functions_named(name, plain=False)
                seeds += [(f, 0.6) for f in named]
                for cls in {f.cls for f in named}:
                    # the object was built and changed by setup steps the message does not show
                    seeds += [(f, 0.45 if _mutates_state(f) or f.name == "__init__" else 0.3)
                              for f in program.functions if f.cls == cls]
            # ``obj.attr`` read by the test: the statements that set ``self.attr`` decide its value
            if program.tree is not None:
                for node in ast.walk(program.tree):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
                    for target in targets:
                        if (isinstance(target, ast.Attribute) and target.attr in methods and isinstance(target.value, ast.Name)
                                and target.value.id == "self"):
                            bump(node.lineno, 0.6)
        elif failure.timed_out or not failure.frames:
            seeds += [(f, 0.3) for f in program.functions]
        # breadth-first through the static call graph
        frontier = list(seeds)
        seen: dict[int, float] = {}
        while frontier:
            info, value = frontier.pop(0)
            if seen.get(id(info), 0.0) >= value or value < 0.12:
                continue
            seen[id(info)] = value
            for line in _body_lines(program, info):
                bump(line, value)
            frontier += [(callee, value * CALL_DECAY) for callee in program.callees(info)]
        # tracebacks: the deepest frame is the likeliest place
        frames = failure.frames
        for depth, (line, _) in enumerate(reversed(frames)):
            top = 1.0 if depth == 0 else 0.7
            bump(line, top)
            info = program.function_at(line)
            if info is not None:
                for other in _body_lines(program, info):
                    near = abs(other - line) <= 3
                    bump(other, (0.75 if near else 0.55) * top)
        if failure.expected_exception and program.tree is not None:
            # the guard that should have raised (or the raise itself) is the place to look
            for node in ast.walk(program.tree):
                if isinstance(node, ast.If) and any(isinstance(s, ast.Raise) for s in node.body):
                    bump(node.lineno, 0.8)
                if isinstance(node, ast.Raise):
                    bump(node.lineno, 0.7)
        if failure.syntax_line:
            bump(failure.syntax_line, 1.0)
            bump(failure.syntax_line - 1, 0.8)
    return scores
