"""Structural features of a generated task, recorded as tags: how many bugs, where, how they show.

* ``bugs:N`` -- the number of mutations (1-3);
* ``cross-function`` -- the bugs sit in two or more functions/methods;
* ``interacting`` -- (two or more bugs) some test fails because of two of them at once, or the bugs
  together fail a different set of tests than each alone (one masks or changes the other's
  symptom): fixing one bug is not enough to see the other go away;
* ``symptom:far`` / ``symptom:near`` / ``symptom:value`` -- where the failing visible tests point:
  a traceback whose deepest ``solution.py`` frame lies in a function *without* a bug (the symptom
  appears far from the cause), one that points into a buggy function, or no traceback at all
  (wrong values, a missing exception);
* ``exposed:some`` / ``exposed:all`` -- only some of the visible tests fail, or all of them;
* ``long-program`` -- over 60 non-blank lines.

Provenance goes next to them: ``seed:<id>``, ``family:<name>`` and ``mutation:<CODE>`` for each
bug, ``generator:v2`` and ``split:<name>``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from tracefix.pysource import FUNCTION_NODES

GENERATOR_VERSION = "v2"
GENERATOR_TAG = f"generator:{GENERATOR_VERSION}"
LONG_PROGRAM_LINES = 60
SYMPTOMS = ("far", "near", "value")


@dataclass(frozen=True)
class Features:
    bugs: int
    scopes: int
    lines: int
    visible_failed: int
    visible_total: int
    symptom: str
    interacting: Optional[bool] = None
    """``None`` for a single bug."""

    def tags(self) -> list[str]:
        tags = [f"bugs:{self.bugs}"]
        if self.scopes > 1:
            tags.append("cross-function")
        if self.interacting:
            tags.append("interacting")
        tags.append(f"symptom:{self.symptom}")
        tags.append("exposed:some" if self.visible_failed < self.visible_total else "exposed:all")
        if self.lines > LONG_PROGRAM_LINES:
            tags.append("long-program")
        return tags


def count_lines(code: str) -> int:
    return sum(1 for line in code.splitlines() if line.strip())


def scope_at(tree: ast.AST, line: int) -> str:
    """Qualified name of the innermost function or class containing ``line`` (``<module>`` if none)."""
    best = "<module>"
    best_start = -1

    def visit(node: ast.AST, prefix: str) -> None:
        nonlocal best, best_start
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (*FUNCTION_NODES, ast.ClassDef)):
                name = child.name if not prefix else f"{prefix}.{child.name}"
                if child.lineno <= line <= (child.end_lineno or child.lineno) and child.lineno > best_start:
                    best, best_start = name, child.lineno
                visit(child, name)
            else:
                visit(child, prefix)

    visit(tree, "")
    return best


def symptom_of(buggy_code: str, frames: Sequence[Optional[int]], buggy_scopes: Iterable[str]) -> str:
    """``far``, ``near`` or ``value`` (see the module docstring) from the visible failures' deepest frames."""
    lines = [f for f in frames if f is not None]
    if not lines:
        return "value"
    tree = ast.parse(buggy_code)
    scopes = set(buggy_scopes)
    for line in lines:
        where = scope_at(tree, line)
        if where in scopes or any(where.startswith(s + ".") or s.startswith(where + ".") for s in scopes if s != "<module>"):
            return "near"
    return "far"


def interacting(combined: Iterable[str], alone: Sequence[Iterable[str]]) -> bool:
    """Two or more bugs interact when a test fails because of two of them, or when together they fail
    other tests than the union of what each fails alone."""
    sets = [set(a) for a in alone]
    for i, first in enumerate(sets):
        for second in sets[i + 1 :]:
            if first & second:
                return True
    union: set[str] = set().union(*sets) if sets else set()
    return set(combined) != union
