"""What a statement reads and writes: enough to tell whether swapping two statements can matter.

A swap of two independent statements (``x = a + 1`` / ``y = b + 2``) is an *equivalent mutant*: no
test can see it, so making it only wastes a sandbox run and lowers the seeds' kill rates.
:func:`depends` decides, conservatively, whether two adjacent statements may interact:

* reads and writes are *paths*: ``total``, ``self.items``, ``node.next`` (a subscript store or a
  mutating method call -- ``append``, ``add``, ``update`` ... -- writes its object's path);
* a call of a function of the program writes the arguments that function changes in place, and
  ``self`` when it is a method that assigns any ``self`` attribute (:func:`summaries`);
* ``print`` and the like (output, randomness, time) are *opaque*: two opaque statements depend;
* two guard clauses (``if bad: raise ...``) are treated as independent: swapping them only changes
  which error an input that breaks both rules gets.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Optional

MUTATING_METHODS = {
    "append", "extend", "insert", "pop", "popleft", "appendleft", "remove", "discard", "add", "update",
    "setdefault", "clear", "sort", "reverse", "rotate", "extendleft", "difference_update", "intersection_update",
}
MUTATING_FUNCTIONS = {"heappush", "heappop", "heapify", "heappushpop", "heapreplace", "insort", "insort_left", "insort_right", "shuffle"}
"""Module functions that change their first argument (``heapq``, ``bisect``, ``random``)."""
OPAQUE_FUNCTIONS = {"print", "input", "open", "random", "randint", "choice", "time", "sleep", "next", "exec", "eval"}
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_EXITS = (ast.Return, ast.Raise, ast.Break, ast.Continue)


def path_of(node: ast.AST) -> Optional[str]:
    """``self.items`` for ``self.items[k].x``'s object chain; ``None`` for anything not rooted in a name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = path_of(node.value)
        return f"{inner}.{node.attr}" if inner else None
    if isinstance(node, ast.Subscript):
        return path_of(node.value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return path_of(node.func.value)
    return None


@dataclass
class Summary:
    """What calling one function of the program may change."""

    mutated: set[int] = field(default_factory=set)
    """Positions (0-based, ``self`` excluded) of the arguments it changes in place."""
    writes_self: bool = False
    opaque: bool = False


def _summary(func: ast.AST) -> Summary:
    args = func.args  # type: ignore[attr-defined]
    names = [a.arg for a in args.posonlyargs + args.args]
    method_owner = names[0] if names and names[0] in ("self", "cls") else None
    params = names[1:] if method_owner else names
    summary = Summary()
    for node in ast.walk(func):
        roots: list[ast.AST] = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            roots = [t for t in targets if isinstance(t, (ast.Attribute, ast.Subscript))]
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in MUTATING_METHODS:
                roots = [node.func.value]
            elif isinstance(node.func, ast.Name) and node.func.id in MUTATING_FUNCTIONS and node.args:
                roots = [node.args[0]]
            if isinstance(node.func, ast.Name) and node.func.id in OPAQUE_FUNCTIONS:
                summary.opaque = True
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            summary.opaque = True
        for root in roots:
            path = path_of(root)
            if path is None:
                continue
            base = path.split(".")[0]
            if base == method_owner:
                summary.writes_self = True
            elif base in params:
                summary.mutated.add(params.index(base))
    return summary


def summaries(tree: ast.AST) -> dict[str, Summary]:
    """Summary of every function and method of the module, by name (``Class.method`` for methods)."""
    found: dict[str, Summary] = {}
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, _FUNCS):
            found[node.name] = _summary(node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, _FUNCS):
                    found[f"{node.name}.{item.name}"] = _summary(item)
                    found.setdefault(f"*.{item.name}", _summary(item))
    return found


@dataclass
class Effects:
    read: set[str] = field(default_factory=set)
    rebound: set[str] = field(default_factory=set)
    """Plain names assigned (``x = ...``): invisible to the caller."""
    mutated: set[str] = field(default_factory=set)
    """Objects changed in place or attributes assigned (``d[k] = v``, ``self.n += 1``, ``items.append(x)``)."""
    opaque: bool = False

    @property
    def written(self) -> set[str]:
        return self.rebound | self.mutated


def effects(stmt: ast.AST, known: dict[str, Summary], cls: Optional[str] = None) -> Effects:
    """The paths one statement reads, rebinds and mutates (see the module docstring)."""
    result = Effects()
    read, opaque = result.read, False
    written = result.mutated
    inner: set[int] = set()  # names/attributes that are part of a longer path: only the full path counts
    for node in ast.walk(stmt):
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            inner.add(id(node.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            inner.add(id(node.func))
    for node in ast.walk(stmt):
        if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)) and id(node) not in inner:
            path = path_of(node)
            if path is not None:
                if not isinstance(node.ctx, (ast.Store, ast.Del)):
                    read.add(path)
                elif isinstance(node, ast.Name):
                    result.rebound.add(path)
                else:
                    written.add(path)
        elif isinstance(node, ast.Call):
            func = node.func
            summary: Optional[Summary] = None
            if isinstance(func, ast.Name):
                if func.id in OPAQUE_FUNCTIONS:
                    opaque = True
                elif func.id in MUTATING_FUNCTIONS and node.args:
                    owner = path_of(node.args[0])
                    if owner:
                        written.add(owner)
                summary = known.get(func.id)
            elif isinstance(func, ast.Attribute):
                owner = path_of(func.value)
                if owner:
                    read.add(owner)
                if func.attr in MUTATING_METHODS and owner:
                    written.add(owner)
                if isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
                    summary = known.get(f"{cls}.{func.attr}") if cls else known.get(f"*.{func.attr}")
                    if summary is not None and summary.writes_self:
                        written.add(func.value.id)
            if summary is not None:
                opaque = opaque or summary.opaque
                for position in summary.mutated:
                    if position < len(node.args):
                        owner = path_of(node.args[position])
                        if owner:
                            written.add(owner)
    result.opaque = opaque
    return result


def _overlap(a: set[str], b: set[str]) -> bool:
    """Do two sets of paths touch the same state (``self.items`` and ``self.items.x`` do; ``self.a`` and ``self.b`` do not)?"""
    for x in a:
        for y in b:
            if x == y or x.startswith(y + ".") or y.startswith(x + "."):
                return True
    return False


def is_guard(stmt: ast.AST) -> bool:
    return isinstance(stmt, ast.If) and not stmt.orelse and bool(stmt.body) and isinstance(stmt.body[-1], _EXITS)


def depends(first: ast.AST, second: ast.AST, known: Optional[dict[str, Summary]] = None, cls: Optional[str] = None,
            constructor: bool = False) -> bool:
    """Whether swapping two adjacent statements can change anything (see the module docstring).

    In a constructor (``constructor=True``) attributes of ``self`` set before a failing check are
    never seen: the object does not exist for the caller."""
    if is_guard(first) and is_guard(second):
        return False
    known = known or {}
    a, b = effects(first, known, cls), effects(second, known, cls)
    if a.opaque and b.opaque:
        return True
    for guard, other in ((first, b), (second, a)):
        changed = {p for p in other.mutated if not (constructor and p.startswith("self."))}
        if is_guard(guard) and (changed or other.opaque):
            return True  # state changed before (or after) the check that should stop it
    return _overlap(a.written, b.read | b.written) or _overlap(b.written, a.read)
