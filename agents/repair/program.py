"""The program as parsed: offsets, parents, functions (variables, kinds, calls) and a static call graph."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from tracefix.core.context import join_lines, split_lines
from tracefix.pysource import FUNCTION_NODES, SourceIndex, display_kind, is_docstring, splice

_FUNCS = FUNCTION_NODES


@dataclass
class FunctionInfo:
    node: ast.AST
    name: str
    cls: Optional[str]
    start: int
    end: int
    params: list[str]
    variables: set[str]
    calls: set[str]
    attr_calls: set[str]
    self_attrs: set[str]
    kinds: dict[str, Optional[str]] = field(default_factory=dict)
    """Inferred kind of each variable (``list``, ``dict``, ``int``...; ``None`` when unknown or mixed)."""
    bound_at: dict[str, int] = field(default_factory=dict)
    """First line at which each variable is bound (parameters: the ``def`` line)."""

    reads: set[str] = field(default_factory=set)
    """Variables read somewhere in the function (nested functions included)."""

    def interchangeable(self, a: str, b: str) -> float:
        """How plausible it is that ``b`` was meant where ``a`` is written (0 = not at all)."""
        ka, kb = self.kinds.get(a), self.kinds.get(b)
        if ka is not None and kb is not None:
            return 1.0 if _compatible(ka, kb) else 0.0
        return 1.0 if ka is None and kb is None else 0.5

    @property
    def unused(self) -> set[str]:
        """Parameters and locals never read: where one of them was surely meant somewhere."""
        return {v for v in self.variables - self.reads if v not in ("self", "cls") and not v.startswith("_")}


_CONTAINERS = {"list", "dict", "set", "tuple", "str", "range", "seq"}
_NUMBERS = {"int", "num"}


def _compatible(a: str, b: str) -> bool:
    if a == b:
        return True
    if "seq" in (a, b):
        return a in _CONTAINERS and b in _CONTAINERS
    return a in _NUMBERS and b in _NUMBERS


def _usage_kind(func: ast.AST, name: str) -> Optional[str]:
    """``seq`` or ``int`` from how a parameter is used (``len(p)``, ``p[i]``, ``for _ in p`` / ``range(p)``, ``p + 1``)."""
    found: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            names = [a.id for a in node.args if isinstance(a, ast.Name)]
            if name in names:
                if node.func.id in ("len", "enumerate", "sorted", "reversed", "zip", "set", "list", "tuple"):
                    found.add("seq")
                elif node.func.id == "range":
                    found.add("int")
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == name:
            found.add("seq")
        elif isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.iter, ast.Name) and node.iter.id == name:
            found.add("seq")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.Pow)):
            operands = (node.left, node.right)
            if any(isinstance(o, ast.Name) and o.id == name for o in operands) and any(
                    isinstance(o, ast.Constant) and isinstance(o.value, int) and not isinstance(o.value, bool) for o in operands):
                found.add("int")
    return found.pop() if len(found) == 1 else None


_KIND_CALLS = {
    "list": "list", "sorted": "list", "dict": "dict", "set": "set", "frozenset": "set", "len": "int", "sum": "num",
    "int": "int", "str": "str", "float": "num", "abs": "num", "tuple": "tuple", "bool": "bool", "range": "range",
    "round": "num", "min": None, "max": None,
}


def expr_kind(node: Optional[ast.AST]) -> Optional[str]:
    display = display_kind(node)
    if display is not None:
        return display
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, (int, float)):
            return "num" if isinstance(value, float) else "int"
        if isinstance(value, str):
            return "str"
        return None
    if isinstance(node, (ast.Compare, ast.BoolOp)) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
        return "bool"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _KIND_CALLS.get(node.func.id)
    if isinstance(node, ast.BinOp):
        left, right = expr_kind(node.left), expr_kind(node.right)
        if left in ("int", "num") and right in ("int", "num"):
            return "int" if left == right == "int" and not isinstance(node.op, ast.Div) else "num"
        return left if left == right else None
    return None


def _docstring_offset(body: list[ast.stmt]) -> int:
    return 1 if body and is_docstring(body[0]) else 0


class Program(SourceIndex):
    """A parsed program with offsets (:class:`~tracefix.pysource.SourceIndex`), parents, functions and a
    static call graph."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        super().__init__(join_lines(self.lines))
        try:
            self.tree: Optional[ast.Module] = ast.parse(self.source)
        except (SyntaxError, ValueError, RecursionError):
            self.tree = None
        self.parent: dict[int, ast.AST] = {}
        self.functions: list[FunctionInfo] = []
        self.classes: dict[str, ast.ClassDef] = {}
        self.docstrings: set[int] = set()
        if self.tree is not None:
            for node in ast.walk(self.tree):
                for child in ast.iter_child_nodes(node):
                    self.parent[id(child)] = node
                if isinstance(node, (ast.Module, ast.ClassDef, *_FUNCS)) and _docstring_offset(node.body):
                    self.docstrings.add(id(node.body[0]))
            for node in self.tree.body:
                if isinstance(node, ast.ClassDef):
                    self.classes[node.name] = node
            for node in ast.walk(self.tree):
                if isinstance(node, _FUNCS):
                    self.functions.append(self._analyse(node))

    # -- edits --------------------------------------------------------------------------------------
    def apply(self, edits: Iterable[tuple[int, int, str]]) -> Optional[list[str]]:
        """Apply non-overlapping ``(start, end, text)`` edits; ``None`` if they overlap."""
        source = splice(self.source, edits)
        return None if source is None else split_lines(source)

    # -- analysis -----------------------------------------------------------------------------------
    def _analyse(self, func: ast.AST) -> FunctionInfo:
        parent = self.parent.get(id(func))
        cls = parent.name if isinstance(parent, ast.ClassDef) else None
        args = func.args  # type: ignore[attr-defined]
        params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        if args.vararg:
            params.append(args.vararg.arg)
        if args.kwarg:
            params.append(args.kwarg.arg)
        variables = set(params)
        kinds: dict[str, list[Optional[str]]] = {}
        bound_at: dict[str, int] = {name: func.lineno for name in params}  # type: ignore[attr-defined]
        positional = args.posonlyargs + args.args
        defaults = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]], args.defaults))
        for name in params:
            kinds[name] = [expr_kind(defaults.get(name))] if name in defaults else [None]
        for node in ast.walk(func):
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        known = kinds.get(target.id) or [None]
                        value = node.value if not isinstance(node, ast.AugAssign) else None
                        kinds.setdefault(target.id, []).append(expr_kind(value) if value is not None else known[0])
                    elif isinstance(target, (ast.Tuple, ast.List)):
                        for element in ast.walk(target):
                            if isinstance(element, ast.Name):
                                kinds.setdefault(element.id, []).append(None)
            elif isinstance(node, (ast.For, ast.comprehension)):
                for element in ast.walk(node.target):
                    if isinstance(element, ast.Name):
                        kinds.setdefault(element.id, []).append(None)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                bound_at[node.id] = min(bound_at.get(node.id, node.lineno), node.lineno)
        merged = {name: (values[0] if values and all(v == values[0] for v in values) else None) for name, values in kinds.items()}
        for name in params:
            if merged.get(name) is None and name not in ("self", "cls"):
                merged[name] = _usage_kind(func, name)
        reads = {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        calls: set[str] = set()
        attr_calls: set[str] = set()
        self_attrs: set[str] = set()
        for node in ast.walk(func):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                variables.add(node.id)
            elif isinstance(node, ast.arg) and node is not func:
                variables.add(node.arg)
            elif isinstance(node, ast.Call):
                if isinstance(node.func, ast.Name):
                    calls.add(node.func.id)
                elif isinstance(node.func, ast.Attribute):
                    attr_calls.add(node.func.attr)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
                self_attrs.add(node.attr)
        return FunctionInfo(
            node=func, name=func.name, cls=cls, start=func.lineno, end=func.end_lineno,  # type: ignore[attr-defined]
            params=params, variables=variables, calls=calls, attr_calls=attr_calls, self_attrs=self_attrs,
            kinds=merged, bound_at=bound_at, reads=reads,
        )

    def function_at(self, line: int) -> Optional[FunctionInfo]:
        best: Optional[FunctionInfo] = None
        for info in self.functions:
            if info.start <= line <= info.end and (best is None or info.end - info.start < best.end - best.start):
                best = info
        return best

    def outer_function_at(self, line: int) -> Optional[FunctionInfo]:
        best: Optional[FunctionInfo] = None
        for info in self.functions:
            if info.start <= line <= info.end and (best is None or info.end - info.start > best.end - best.start):
                best = info
        return best

    def functions_named(self, name: str, *, methods: bool = True, plain: bool = True) -> list[FunctionInfo]:
        return [f for f in self.functions if f.name == name and ((f.cls and methods) or (not f.cls and plain))]

    def callees(self, info: FunctionInfo) -> list[FunctionInfo]:
        found: list[FunctionInfo] = []
        for name in info.calls:
            found += self.functions_named(name, methods=False)
            if name in self.classes:
                found += [f for f in self.functions if f.cls == name and f.name == "__init__"]
        for name in info.attr_calls:
            found += self.functions_named(name, plain=False)
        return [f for f in found if f is not info]
