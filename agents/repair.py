"""Fault localisation and candidate patches for the ``search`` agent (no execution, no task access).

Everything here works on what an agent sees: the program text (from the numbered code view) and the
visible test results (their names and failure messages: ``expected X, got Y``, ``should raise E``,
tracebacks with ``File "solution.py", line N``).  Code is parsed with :mod:`ast` and compiled with
:func:`compile` to discard candidates that would not compile; nothing is ever executed here.

:func:`localise` scores lines by suspiciousness: the deepest traceback frame first, then its
neighbourhood and the other frames, then the functions named in failing test expressions and the
functions they call (static call graph), then the rest of their classes, then everything else.

:func:`candidates` proposes *mutation-inverse* edits (the bug classes of the task corpus, undone):
swapped comparison / arithmetic / boolean operators, off-by-one constants and bounds, dropped
``± 1`` offsets, swapped variables, indices, arguments and callees, missing ``return``, wrong
exception classes, guards for a division by zero, state shared across calls or instances, loop exits,
adjacent statements swapped, missing ``self.`` updates, and a few syntax repairs.  Each candidate is
a whole new program with a priority = suspiciousness of its line × prior of its operator; the
message-directed ones (``got None`` → add a ``return``, ``should raise E`` → raise ``E``) get a floor.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from tracefix.core.context import join_lines, split_lines
from tracefix.pysource import BIN_SYMBOLS, CMP_SYMBOLS, FUNCTION_NODES, SourceIndex, display_kind, is_docstring, splice

SOLUTION_FILE = "solution.py"
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>[\w<>.]+))?')
_EXPRESSION = re.compile(r"^`(?P<expr>.+?)`(?:\s|:|$)", re.DOTALL)
_SHOULD_RAISE = re.compile(r"should raise (?P<exc>[A-Za-z_][\w.]*)")
_EXCEPTION_LINE = re.compile(r"^(?P<exc>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Iteration|Warning|[A-Z]\w*))(?::|$)")
_SYNTAX_LINE = re.compile(r"SyntaxError at line (?P<line>\d+)|line (?P<line2>\d+)")
CALL_DECAY = 0.8
"""Suspiciousness kept per call-graph edge away from a function a failing test calls."""


# ---------------------------------------------------------------------------------------------------
# What the failing tests say
# ---------------------------------------------------------------------------------------------------
@dataclass
class Failure:
    """One failing visible test, as far as its message tells."""

    name: str
    message: str
    expression: Optional[str] = None
    frames: list[tuple[int, str]] = field(default_factory=list)
    """``(line, function)`` of each ``solution.py`` frame, outermost first."""
    exception: Optional[str] = None
    """Class name of the exception raised, when the message shows one."""
    expected_exception: Optional[str] = None
    got_none: bool = False
    timed_out: bool = False
    syntax_line: Optional[int] = None

    @classmethod
    def parse(cls, name: str, message: str) -> "Failure":
        failure = cls(name=name, message=message)
        match = _EXPRESSION.match(message.strip())
        if match:
            failure.expression = match.group("expr")
        for frame in _FRAME.finditer(message):
            if frame.group("file").endswith(SOLUTION_FILE):
                failure.frames.append((int(frame.group("line")), frame.group("func") or ""))
        raise_match = _SHOULD_RAISE.search(message)
        if raise_match:
            failure.expected_exception = raise_match.group("exc").split(".")[-1]
        for line in reversed([l.strip() for l in message.splitlines() if l.strip()]):
            exc = _EXCEPTION_LINE.match(line)
            if exc and ("raised" in message or "Traceback" in message):
                failure.exception = exc.group("exc").split(".")[-1]
                break
        if failure.exception is None:
            raised = re.search(r"raised (?P<exc>[A-Za-z_]\w*)(?::|\s|$)", message)
            if raised and raised.group("exc") != "Traceback":
                failure.exception = raised.group("exc")
        failure.got_none = bool(re.search(r"got None\s*$", message.strip()))
        failure.timed_out = "timeout" in message.lower() or "timed out" in message.lower()
        if message.startswith("SyntaxError"):
            syntax = _SYNTAX_LINE.search(message)
            if syntax:
                failure.syntax_line = int(syntax.group("line") or syntax.group("line2"))
        return failure


# ---------------------------------------------------------------------------------------------------
# The program
# ---------------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------------
# Localisation
# ---------------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    lines: tuple[str, ...]
    operator: str
    line: int
    priority: float
    note: str


# replacement, prior: the boundary partner first
_CMP_SWAPS: dict[type, list[tuple[str, float]]] = {
    ast.Lt: [("<=", 1.0), ("!=", 0.45), (">", 0.35), ("==", 0.2)],
    ast.LtE: [("<", 1.0), ("==", 0.4), (">=", 0.35), ("!=", 0.2)],
    ast.Gt: [(">=", 1.0), ("!=", 0.45), ("<", 0.35), ("==", 0.2)],
    ast.GtE: [(">", 1.0), ("==", 0.4), ("<=", 0.35), ("!=", 0.2)],
    ast.Eq: [("!=", 0.55), ("<=", 0.35), (">=", 0.35), ("is", 0.15)],
    ast.NotEq: [("==", 0.55), ("<", 0.35), (">", 0.35)],
    ast.In: [("not in", 0.7)],
    ast.NotIn: [("in", 0.7)],
    ast.Is: [("is not", 0.7), ("==", 0.2)],
    ast.IsNot: [("is", 0.7), ("!=", 0.2)],
}
_BIN_SWAPS: dict[type, list[tuple[str, float]]] = {
    ast.Add: [("-", 0.65), ("*", 0.3)],
    ast.Sub: [("+", 0.65)],
    ast.Mult: [("//", 0.3), ("+", 0.3), ("**", 0.2), ("/", 0.2)],
    ast.Div: [("//", 0.8), ("*", 0.35)],
    ast.FloorDiv: [("/", 0.9), ("%", 0.3), ("*", 0.3)],
    ast.Mod: [("//", 0.4)],
    ast.Pow: [("*", 0.3)],
    ast.LShift: [(">>", 0.5)],
    ast.RShift: [("<<", 0.5)],
    ast.BitOr: [("&", 0.4), ("^", 0.3)],
    ast.BitAnd: [("|", 0.4)],
    ast.BitXor: [("|", 0.3)],
}
_BUILTIN_SWAPS = {
    "min": ("max", 0.7), "max": ("min", 0.7), "any": ("all", 0.6), "all": ("any", 0.6),
    "bisect_left": ("bisect_right", 0.6), "bisect_right": ("bisect_left", 0.6),
    "bisect": ("bisect_left", 0.5), "floor": ("ceil", 0.5), "ceil": ("floor", 0.5),
    "startswith": ("endswith", 0.5), "endswith": ("startswith", 0.5), "lower": ("upper", 0.3), "upper": ("lower", 0.3),
    "heappush": ("heappop", 0.1), "append": ("appendleft", 0.1), "popleft": ("pop", 0.4),
    "extend": ("append", 0.35), "remove": ("discard", 0.2), "sort": ("reverse", 0.1), "sorted": ("reversed", 0.1),
    "isdigit": ("isalpha", 0.2), "isalpha": ("isdigit", 0.2), "rstrip": ("strip", 0.3), "lstrip": ("strip", 0.3),
    "strip": ("rstrip", 0.2),
}
_EXC_SWAPS = {
    "ValueError": ["TypeError", "KeyError", "IndexError"], "TypeError": ["ValueError"], "KeyError": ["IndexError", "ValueError"],
    "IndexError": ["KeyError", "ValueError"], "LookupError": ["ValueError"], "ZeroDivisionError": ["ValueError"],
    "RuntimeError": ["ValueError"], "AttributeError": ["KeyError"], "Exception": ["ValueError"],
}
_MUTABLE_LITERALS = (ast.List, ast.Dict, ast.Set)


def _is_mutable_literal(node: Optional[ast.AST]) -> bool:
    if isinstance(node, _MUTABLE_LITERALS):
        return True
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("list", "dict", "set", "defaultdict", "deque")
        and not node.keywords and len(node.args) <= 1
    )


def _wrap(text: str, node: ast.AST) -> str:
    return text if isinstance(node, (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Subscript)) else f"({text})"


class _Builder:
    """Collects candidates for one program and one localisation."""

    def __init__(self, program: Program, scores: dict[int, float], failures: Sequence[Failure]) -> None:
        self.p = program
        self.scores = scores
        self.failures = failures
        self.found: dict[tuple[str, ...], Candidate] = {}
        self.got_none = any(f.got_none for f in failures)
        self.expected_exceptions = {f.expected_exception for f in failures if f.expected_exception}
        self.raised = {f.exception for f in failures if f.exception}
        self.defaults_used = self._defaults_used_by_failures()

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
        priority = max(self.susp(line), floor) * prior
        old = self.found.get(key)
        if old is None or old.priority < priority:
            self.found[key] = Candidate(key, operator, line, round(priority, 6), f"line {line}: {note}")

    def replace(self, node: ast.AST, text: str, operator: str, prior: float, note: str, floor: float = 0.0) -> None:
        a, b = self.p.span(node)
        self.add([(a, b, text)], operator, node.lineno, prior, note, floor)  # type: ignore[attr-defined]

    # -- operators ----------------------------------------------------------------------------------
    def compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        for i, op in enumerate(node.ops):
            region = self.p.operator_gap(operands[i], operands[i + 1])
            if region is None:
                continue
            for symbol, prior in _CMP_SWAPS.get(type(op), []):
                self.add([(region[0], region[1], symbol)], "ROR", node.lineno, prior,
                         f"`{CMP_SYMBOLS[type(op)]}` -> `{symbol}`")

    def binop(self, node: ast.BinOp) -> None:
        region = self.p.operator_gap(node.left, node.right)
        if region is None:
            return
        old = BIN_SYMBOLS.get(type(node.op), "?")
        stringy = any(isinstance(n, ast.Constant) and isinstance(n.value, str) for n in (node.left, node.right)) or isinstance(node.left, ast.JoinedStr)
        if not stringy:
            for symbol, prior in _BIN_SWAPS.get(type(node.op), []):
                self.add([(region[0], region[1], symbol)], "AOR", node.lineno, prior, f"`{old}` -> `{symbol}`")
        # a stray offset: ``x - 1`` -> ``x``
        if isinstance(node.op, (ast.Add, ast.Sub)) and isinstance(node.right, ast.Constant) and isinstance(node.right.value, int) and not isinstance(node.right.value, bool):
            self.replace(node, self.p.text(node.left), "OFFSET", 0.9 if node.right.value == 1 else 0.5,
                         f"dropped `{old} {node.right.value}`")
        if isinstance(node.op, ast.Add) and isinstance(node.left, ast.Constant) and isinstance(node.left.value, int) and not isinstance(node.left.value, bool):
            self.replace(node, self.p.text(node.right), "OFFSET", 0.6, f"dropped `{node.left.value} +`")

    def augassign(self, node: ast.AugAssign) -> None:
        region = self.p.operator_gap(node.target, node.value)
        if region is None:
            return
        old = BIN_SYMBOLS.get(type(node.op), "?")
        for symbol, prior in _BIN_SWAPS.get(type(node.op), []):
            self.add([(region[0], region[1], symbol + "=")], "AOR", node.lineno, prior * 0.9, f"`{old}=` -> `{symbol}=`")

    def boolop(self, node: ast.BoolOp) -> None:
        regions = [self.p.operator_gap(a, b) for a, b in zip(node.values, node.values[1:])]
        if any(r is None for r in regions):
            return
        new = "or" if isinstance(node.op, ast.And) else "and"
        edits = [(r[0], r[1], new) for r in regions if r is not None]
        parent = self.p.parent.get(id(node))
        if isinstance(parent, ast.BoolOp):
            a, b = self.p.span(node)
            if self.p.source[a - 1 : a] != "(":
                edits = [(a, a, "(")] + edits + [(b, b, ")")]
        self.add(edits, "LOR", node.lineno, 0.55, f"`{'and' if new == 'or' else 'or'}` -> `{new}`")
        # drop one operand of a two-term condition (an extra clause)
        if len(node.values) == 2:
            for keep in node.values:
                self.replace(node, self.p.text(keep), "LOR", 0.2, "dropped one clause")

    def condition(self, test: ast.AST) -> None:
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            operand = test.operand
            text = self.p.text(operand)
            if isinstance(operand, (ast.Lambda, ast.NamedExpr, ast.IfExp)):
                text = f"({text})"
            self.replace(test, text, "NEG", 0.55, "dropped `not`")
        elif not (isinstance(test, ast.Compare) and len(test.ops) == 1) and not isinstance(test, ast.Constant):
            self.replace(test, f"not {_wrap(self.p.text(test), test)}", "NEG", 0.4, "negated the condition")

    def constant(self, node: ast.Constant) -> None:
        value = node.value
        default_used = id(node) in self.defaults_used
        if isinstance(value, bool):
            self.replace(node, repr(not value), "CONST", 0.75 if default_used else 0.45, f"{value} -> {not value}",
                         floor=0.5 if default_used else 0.0)
            return
        if not isinstance(value, int):
            return
        parent = self.p.parent.get(id(node))
        if isinstance(parent, ast.UnaryOp):
            return
        # off-by-one constants live in comparisons, bounds, indices and arithmetic, rarely in initialisations
        context = isinstance(parent, (ast.Compare, ast.BinOp, ast.Subscript, ast.Slice, ast.AugAssign)) or (
            isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "range")
        prior = (0.6 if abs(value) <= 2 else 0.4) if context else 0.3
        if default_used:  # a default value the failing call relies on
            prior = 0.75
        for new in (value + 1, value - 1):
            if new < 0 and value >= 0 and isinstance(parent, (ast.Subscript, ast.Slice)):
                continue
            self.replace(node, str(new), "CONST", prior, f"{value} -> {new}", floor=0.5 if default_used else 0.0)

    def index_constant(self, node: ast.AST, where: str) -> None:
        """``x[-1]`` <-> ``x[0]``, ``x[:-2]`` -> ``x[:-1]``, ``x[1:m]`` -> ``x[:m]``: integer indices and bounds ±1."""
        value: Optional[int] = None
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            value = node.value
        elif (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)
              and isinstance(node.operand.value, int) and not isinstance(node.operand.value, bool)):
            value = -node.operand.value
        if value is None:
            return
        for new in (value + 1, value - 1):
            self.replace(node, str(new), "INDEX", 0.6, f"{where} {value} -> {new}")
        parent = self.p.parent.get(id(node))
        if isinstance(parent, ast.Slice) and value in (0, 1) and parent.lower is node:
            a, b = self.p.span(node)
            self.add([(a, b, "")], "INDEX", node.lineno, 0.55, f"dropped the lower bound {value}")  # type: ignore[attr-defined]

    def bound(self, node: ast.AST, where: str) -> None:
        """``x`` -> ``x + 1`` / ``x - 1`` for range() arguments, slice bounds and indices."""
        if isinstance(node, ast.Constant) or isinstance(node, ast.Slice):
            return
        text = _wrap(self.p.text(node), node) if not isinstance(node, ast.BinOp) else self.p.text(node)
        for delta, prior in (("+ 1", 0.5), ("- 1", 0.45)):
            self.replace(node, f"{text} {delta}", "BOUND", prior, f"{where} {delta}")

    def names(self, node: ast.Name) -> None:
        info = self.p.function_at(node.lineno)
        parent = self.p.parent.get(id(node))
        if isinstance(parent, ast.Call) and parent.func is node:
            return
        if node.id in ("self", "cls") or info is None or node.id not in info.variables:
            return
        nearby = self._nearby_names(node, info)
        innermost = self._innermost_loop_target(node, info)
        # ``x < lo`` -> ``x < x`` is never the fix: skip names already in the same operation
        siblings = {n.id for n in ast.walk(parent) if isinstance(n, ast.Name)} if isinstance(
            parent, (ast.Compare, ast.BinOp, ast.BoolOp)) else set()
        duplicated = self._in_duplicated_operand(node)
        unused = info.unused
        wanted_kind = self._context_kind(node)
        mismatched = wanted_kind is not None and info.kinds.get(node.id) is not None and not _compatible(wanted_kind, info.kinds[node.id])
        for other in sorted(info.variables):
            if other == node.id or other in ("self", "cls") or other.startswith("__") or other in siblings:
                continue
            if info.bound_at.get(other, 10**9) > node.lineno and other not in nearby:
                continue  # not bound yet at this point
            fit = info.interchangeable(node.id, other)
            if fit == 0.0:
                continue
            near = other in nearby
            prior = (0.45 if near else 0.3) * fit
            if isinstance(parent, ast.Slice) and parent.lower is not None and parent.upper is not None and (
                    self.p.text(parent.lower) == self.p.text(parent.upper)):
                prior = max(prior, 0.8)  # ``x[i:i]`` is always empty
            if other == innermost and not re.search(rf"\b{re.escape(other)}\b", self.p.lines[node.lineno - 1]):
                prior = 0.55  # the loop variable of the innermost loop, unused on this line
            if isinstance(parent, ast.Return):
                prior += 0.1
            if duplicated:
                prior = max(prior, 0.85 * max(fit, 0.6))  # ``x[j] < x[j]``, ``f(b) + f(b)``: one side is wrong
            if other in unused:
                prior = max(prior, 0.8 * max(fit, 0.6))  # a parameter or local that is never read was meant somewhere
            if mismatched and info.kinds.get(other) is not None and _compatible(wanted_kind, info.kinds[other]):
                prior = max(prior, 0.8)  # ``len(n)`` with an int ``n``: a name of the right kind was meant
            floor = 0.45 if (other in unused or duplicated) and self.susp(node.lineno) >= 0.1 else 0.0
            self.replace(node, other, "VAR", prior, f"`{node.id}` -> `{other}`", floor=floor)

    def _in_duplicated_operand(self, node: ast.AST) -> bool:
        """Is ``node`` inside one of two textually identical operands (``a[i] != a[i]``, ``(r, r)``)?"""
        child, ancestor = node, self.p.parent.get(id(node))
        while ancestor is not None and not isinstance(ancestor, ast.stmt):
            operands: list[ast.AST] = []
            if isinstance(ancestor, ast.Compare):
                operands = [ancestor.left, *ancestor.comparators]
            elif isinstance(ancestor, ast.BinOp):
                operands = [ancestor.left, ancestor.right]
            elif isinstance(ancestor, (ast.Tuple, ast.List)):
                operands = list(ancestor.elts)
            if child in operands:
                text = self.p.text(child)
                if sum(self.p.text(o) == text for o in operands) > 1:
                    return True
            child, ancestor = ancestor, self.p.parent.get(id(ancestor))
        if isinstance(ancestor, ast.Assign) and len(ancestor.targets) == 1:
            target, value = ancestor.targets[0], ancestor.value
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
                texts = [self.p.text(e) for e in target.elts]
                if len(set(texts)) < len(texts) and any(child is e or child is target for e in target.elts):
                    return True
        return False

    def _context_kind(self, node: ast.Name) -> Optional[str]:
        parent = self.p.parent.get(id(node))
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and node in parent.args:
            if parent.func.id in ("len", "enumerate", "sorted", "reversed"):
                return "seq"
            if parent.func.id == "range":
                return "int"
        if isinstance(parent, (ast.For, ast.comprehension)) and parent.iter is node:
            return "seq"
        return None

    def _nearby_names(self, node: ast.AST, info: FunctionInfo) -> set[str]:
        """Names on the same line, bound in the three lines above, or targets of enclosing loops."""
        line = node.lineno  # type: ignore[attr-defined]
        names: set[str] = set()
        for other in ast.walk(info.node):
            if isinstance(other, ast.Name):
                if line - 1 <= other.lineno <= line or (isinstance(other.ctx, ast.Store) and line - 3 <= other.lineno < line):
                    names.add(other.id)
        ancestor = self.p.parent.get(id(node))
        while ancestor is not None and ancestor is not info.node:
            if isinstance(ancestor, (ast.For, ast.comprehension)):
                names |= {n.id for n in ast.walk(ancestor.target) if isinstance(n, ast.Name)}
            ancestor = self.p.parent.get(id(ancestor))
        return names

    def _innermost_loop_target(self, node: ast.AST, info: FunctionInfo) -> Optional[str]:
        ancestor = self.p.parent.get(id(node))
        while ancestor is not None and ancestor is not info.node:
            if isinstance(ancestor, ast.For) and isinstance(ancestor.target, ast.Name):
                return ancestor.target.id
            ancestor = self.p.parent.get(id(ancestor))
        return None

    def attributes(self, node: ast.Attribute) -> None:
        if not (isinstance(node.value, ast.Name) and node.value.id == "self"):
            return
        parent = self.p.parent.get(id(node))
        if isinstance(parent, ast.Call) and parent.func is node:
            return
        info = self.p.function_at(node.lineno)
        if info is None or info.cls is None:
            return
        attrs: set[str] = set()
        for f in self.p.functions:
            if f.cls == info.cls:
                attrs |= {a for a in f.self_attrs}
        methods = {f.name for f in self.p.functions if f.cls == info.cls}
        for other in sorted(attrs - methods - {node.attr}):
            a, b = self.p.span(node)
            self.add([(a, b, f"self.{other}")], "ATTR", node.lineno, 0.25, f"`self.{node.attr}` -> `self.{other}`")

    def subscript(self, node: ast.Subscript) -> None:
        inner = node.value
        if isinstance(inner, ast.Subscript) and not isinstance(node.slice, ast.Slice) and not isinstance(inner.slice, ast.Slice):
            a0, a1 = self.p.span(inner.slice)
            b0, b1 = self.p.span(node.slice)
            ta, tb = self.p.text(inner.slice), self.p.text(node.slice)
            if ta != tb:
                self.add([(a0, a1, tb), (b0, b1, ta)], "INDEX", node.lineno, 0.6, f"`[{ta}][{tb}]` -> `[{tb}][{ta}]`")
        if isinstance(node.slice, ast.Slice):
            for part in (node.slice.lower, node.slice.upper):
                if part is not None:
                    self.bound(part, "slice bound")
                    self.index_constant(part, "slice bound")
            s = node.slice
            if s.lower is not None and s.upper is None and s.step is None:
                a, b = self.p.span(node)
                self.add([(a, b, f"{self.p.text(node.value)}[:{self.p.text(s.lower)}]")], "SLICE", node.lineno, 0.3, "`[x:]` -> `[:x]`")
            if s.upper is not None and s.lower is None and s.step is None:
                a, b = self.p.span(node)
                self.add([(a, b, f"{self.p.text(node.value)}[{self.p.text(s.upper)}:]")], "SLICE", node.lineno, 0.3, "`[:x]` -> `[x:]`")
        else:
            self.index_constant(node.slice, "index")
            if isinstance(node.ctx, ast.Load):
                self.bound(node.slice, "index")

    def call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name is None:
            return
        if name == "range":
            for arg in node.args[:2]:
                self.bound(arg, "range bound")
        swap = _BUILTIN_SWAPS.get(name)
        if swap is not None:
            new, prior = swap
            if isinstance(func, ast.Name):
                self.replace(func, new, "CALL", prior, f"`{name}` -> `{new}`")
            else:
                a, b = self.p.span(func)
                self.add([(b - len(name), b, new)], "CALL", node.lineno, prior, f"`.{name}` -> `.{new}`")
        arity = len(node.args)
        # a sibling function / method with the same arity
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            info = self.p.function_at(node.lineno)
            siblings = [f for f in self.p.functions if info is not None and f.cls == info.cls and f.name != name
                        and len(f.params) - 1 >= arity and not f.name.startswith("__")]
            for other in siblings:
                if len(f_required(other)) - 1 <= arity:
                    a, b = self.p.span(func)
                    recursive = info is not None and name == info.name  # e.g. ``self.expr()`` inside expr()
                    self.add([(b - len(name), b, other.name)], "CALLEE", node.lineno, 0.55 if recursive else 0.3,
                             f"`self.{name}` -> `self.{other.name}`")
        elif isinstance(func, ast.Name) and self.p.functions_named(name, methods=False):
            for other in [f for f in self.p.functions if f.cls is None and f.name != name]:
                if len(f_required(other)) <= arity <= len(other.params):
                    info = self.p.function_at(node.lineno)
                    recursive = info is not None and name == info.name
                    self.replace(func, other.name, "CALLEE", 0.5 if recursive else 0.3, f"`{name}` -> `{other.name}`")
        # swapped arguments (very likely when the names passed match the callee's parameters the other way round)
        if len(node.args) >= 2 and name not in ("print", "isinstance", "getattr", "setattr", "hasattr", "super"):
            params: list[str] = []
            callee = [f for f in self.p.functions if f.name == name and (f.cls is None) == isinstance(func, ast.Name)]
            if len(callee) == 1:
                params = [p for p in callee[0].params if p not in ("self", "cls")]
            for i in range(len(node.args) - 1):
                a, b = node.args[i], node.args[i + 1]
                if isinstance(a, ast.Starred) or isinstance(b, ast.Starred):
                    continue
                ta, tb = self.p.text(a), self.p.text(b)
                if ta == tb:
                    continue
                prior = 0.4
                if i + 1 < len(params) and (ta, tb) == (params[i + 1], params[i]):
                    prior = 0.95
                elif i + 1 < len(params) and (ta == params[i + 1] or tb == params[i]):
                    prior = 0.7
                sa, sb = self.p.span(a), self.p.span(b)
                self.add([(sa[0], sa[1], tb), (sb[0], sb[1], ta)], "ARGS", node.lineno, prior, f"swapped `{ta}` and `{tb}`")

    def statement(self, stmt: ast.stmt) -> None:
        info = self.p.function_at(stmt.lineno)
        a, b = self.p.span(stmt)
        line = stmt.lineno
        # a missing ``return``
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and info is not None:
            recursive = isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == info.name or (
                isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == info.name)
            body = info.node.body  # type: ignore[attr-defined]
            last = bool(body) and body[-1] is stmt
            if recursive or last:
                prior = (1.0 if self.got_none else 0.45) + (0.2 if recursive else 0.0)
                self.add([(a, a, "return ")], "RETURN", line, prior, "added `return`", floor=0.8 if self.got_none else 0.0)
        # the value computed but not returned: ``x = f(...)`` as the last statement
        if isinstance(stmt, ast.Assign) and info is not None and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            body = info.node.body  # type: ignore[attr-defined]
            if body and body[-1] is stmt:
                self.add([(b, b, f"\n{self.p.indent(line)}return {stmt.targets[0].id}")], "RETURN", line, 0.9 if self.got_none else 0.3,
                         f"added `return {stmt.targets[0].id}`", floor=0.7 if self.got_none else 0.0)
        # missing ``self.`` on a state update inside a method
        if info is not None and info.cls is not None and isinstance(stmt, (ast.Assign, ast.AugAssign)):
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else getattr(stmt, "target", None)
            attrs = set().union(*[f.self_attrs for f in self.p.functions if f.cls == info.cls])
            if isinstance(target, ast.Name) and target.id in attrs:
                self.replace(target, f"self.{target.id}", "SELF", 0.55, f"`{target.id}` -> `self.{target.id}`")
                value = stmt.value
                if isinstance(stmt, ast.Assign) and isinstance(value, ast.BinOp):
                    left = value.left
                    if isinstance(left, ast.Attribute) and isinstance(left.value, ast.Name) and left.value.id == "self" and left.attr == target.id:
                        symbol = BIN_SYMBOLS.get(type(value.op), "+")
                        self.replace(stmt, f"self.{target.id} {symbol}= {self.p.text(value.right)}", "SELF", 0.6,
                                     f"`{target.id} = self.{target.id} {symbol} ...` -> `self.{target.id} {symbol}= ...`")
        # loop exits
        if isinstance(stmt, ast.Break):
            self.replace(stmt, "continue", "LOOP", 0.35, "`break` -> `continue`")
            self._delete(stmt, 0.4, "removed `break`")
        elif isinstance(stmt, ast.Continue):
            self.replace(stmt, "break", "LOOP", 0.35, "`continue` -> `break`")
        # a wrong exception class
        if isinstance(stmt, ast.Raise) and stmt.exc is not None:
            target = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            if isinstance(target, ast.Name):
                for expected in self.expected_exceptions:
                    if expected != target.id:
                        prior = 1.3 if target.id in self.raised else 0.8
                        self.replace(target, expected, "EXC", prior, f"raise {target.id} -> {expected}", floor=0.8)
                for other in _EXC_SWAPS.get(target.id, []):
                    self.replace(target, other, "EXC", 0.2, f"raise {target.id} -> {other}")
        if isinstance(stmt, ast.Try):
            for handler in stmt.handlers:
                if isinstance(handler.type, ast.Name):
                    for expected in self.raised:
                        if expected != handler.type.id:
                            self.replace(handler.type, expected, "EXC", 0.5, f"except {handler.type.id} -> {expected}")
        # ``return None`` (or a bare ``return``) where a value was meant
        if isinstance(stmt, ast.Return) and info is not None and (
                stmt.value is None or (isinstance(stmt.value, ast.Constant) and stmt.value.value is None)):
            options: list[str] = []
            for node in ast.walk(info.node):
                if isinstance(node, ast.Name) and node.id in info.variables and node.id not in ("self", "cls"):
                    if info.bound_at.get(node.id, 10**9) <= line:
                        options.append(node.id)
                elif (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and isinstance(node.value, ast.Name)
                      and node.value.id in info.variables and node.lineno < line):
                    parent_call = self.p.parent.get(id(node))
                    if not (isinstance(parent_call, ast.Call) and parent_call.func is node):
                        options.append(self.p.text(node))
            prior = 0.55 if self.got_none else 0.25
            for option in list(dict.fromkeys(options))[:8]:
                if stmt.value is None:
                    self.add([(a, b, f"return {option}")], "RETURN", line, prior, f"`return` -> `return {option}`",
                             floor=0.5 if self.got_none else 0.0)
                else:
                    self.replace(stmt.value, option, "RETURN", prior, f"`return None` -> `return {option}`",
                                 floor=0.5 if self.got_none else 0.0)
        # a wrong return value
        if isinstance(stmt, ast.Return) and stmt.value is not None:
            value = stmt.value
            if isinstance(value, ast.Tuple) and len(value.elts) >= 2 and not any(isinstance(e, ast.Starred) for e in value.elts):
                x, y = value.elts[0], value.elts[1]
                tx, ty = self.p.text(x), self.p.text(y)
                if tx != ty:
                    sx, sy = self.p.span(x), self.p.span(y)
                    self.add([(sx[0], sx[1], ty), (sy[0], sy[1], tx)], "RETURN", line, 0.4, "swapped the returned values")
            if isinstance(value, ast.IfExp):
                sb_, so_ = self.p.span(value.body), self.p.span(value.orelse)
                self.add([(sb_[0], sb_[1], self.p.text(value.orelse)), (so_[0], so_[1], self.p.text(value.body))], "RETURN", line, 0.4,
                         "swapped the branches of the returned expression")
        # adjacent statements swapped
        parent = self.p.parent.get(id(stmt))
        unswappable = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Return, ast.Raise,
                       ast.Break, ast.Continue, ast.Pass, ast.Global, ast.Nonlocal)
        if parent is not None and info is not None and not isinstance(stmt, unswappable):
            for block_name in ("body", "orelse", "finalbody"):
                block = getattr(parent, block_name, None)
                if isinstance(block, list) and stmt in block:
                    i = block.index(stmt)
                    if i + 1 < len(block) and not isinstance(block[i + 1], unswappable):
                        self._swap(stmt, block[i + 1])
        # a state update that should have gone through a helper method: ``self._map[k] = v`` -> ``self._touch(v)``
        if info is not None and info.cls is not None and isinstance(stmt, (ast.Assign, ast.Expr)) and stmt.lineno == stmt.end_lineno:
            region = self.p.line_span(stmt)
            local = [n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and n.id in info.variables and n.id != "self"]
            helpers = [f for f in self.p.functions if f.cls == info.cls and f is not info and len(f.params) == 2
                       and f.name.startswith("_") and not f.name.startswith("__")]
            noop = self._is_noop(stmt, info)
            if region is not None:
                for helper in helpers:
                    for name in dict.fromkeys(local):
                        text = f"{self.p.indent(line)}self.{helper.name}({name})\n"
                        self.add([(region[0], region[1], text)], "HELPER", line, 0.7 if noop else 0.25,
                                 f"-> `self.{helper.name}({name})`")
            if noop:
                self._delete(stmt, 0.5, "deleted a statement that changes nothing")
        # a spurious statement
        if info is not None and isinstance(stmt, (ast.Assign, ast.AugAssign, ast.Expr)) and id(stmt) not in self.p.docstrings:
            self._delete(stmt, 0.15, "deleted the statement")

    def _is_noop(self, stmt: ast.stmt, info: FunctionInfo) -> bool:
        """``x = x``, or ``d[k] = v`` right after ``v = d.get(k)`` / ``v = d[k]``: a statement with no effect,
        where a different statement was probably meant."""
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
            return False
        target, value = stmt.targets[0], stmt.value
        if self.p.text(target) == self.p.text(value):
            return True
        if not (isinstance(target, ast.Subscript) and isinstance(value, ast.Name)):
            return False
        container, key = self.p.text(target.value), self.p.text(target.slice)
        for node in ast.walk(info.node):
            if isinstance(node, ast.Assign) and node.lineno < stmt.lineno and len(node.targets) == 1:
                bound = node.targets[0]
                if not (isinstance(bound, ast.Name) and bound.id == value.id):
                    continue
                source = node.value
                if isinstance(source, ast.Call) and isinstance(source.func, ast.Attribute) and source.func.attr == "get" and source.args:
                    if self.p.text(source.func.value) == container and self.p.text(source.args[0]) == key:
                        return True
                if isinstance(source, ast.Subscript) and self.p.text(source.value) == container and self.p.text(source.slice) == key:
                    return True
        return False

    def _delete(self, stmt: ast.stmt, prior: float, note: str) -> None:
        region = self.p.line_span(stmt)
        if region is None:
            return
        parent = self.p.parent.get(id(stmt))
        block = next((getattr(parent, n) for n in ("body", "orelse", "finalbody") if stmt in (getattr(parent, n, None) or [])), [])
        text = f"{self.p.indent(stmt.lineno)}pass\n" if len(block) == 1 else ""
        self.add([(region[0], region[1], text)], "DELETE", stmt.lineno, prior, note)

    def _swap(self, first: ast.stmt, second: ast.stmt) -> None:
        a, b = self.p.line_span(first), self.p.line_span(second)
        if a is None or b is None:
            return
        src = self.p.source
        first_text, between, second_text = src[a[0] : a[1]], src[a[1] : b[0]], src[b[0] : b[1]]
        if not second_text.endswith("\n"):
            second_text += "\n"
            first_text = first_text.rstrip("\n")
        # ``y = f(x)`` before ``x = ...``: a use before the definition it needs
        bound_by_second = {n.id for n in ast.walk(second) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        read_by_first = {n.id for n in ast.walk(first) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        info = self.p.function_at(first.lineno)
        premature = {
            name for name in bound_by_second & read_by_first
            if info is None or info.bound_at.get(name, 10**9) >= second.lineno or name not in info.variables
        }
        self.add([(a[0], b[1], second_text + between + first_text)], "SWAP", first.lineno, 0.9 if premature else 0.35,
                 f"swapped lines {first.lineno} and {second.lineno}", floor=0.5 if premature else 0.0)

    # -- structural fixes ---------------------------------------------------------------------------
    def _body_insert_point(self, func: ast.AST) -> tuple[int, str]:
        body = func.body  # type: ignore[attr-defined]
        index = _docstring_offset(body)
        if index < len(body):
            stmt = body[index]
            return self.p.line_start(stmt.lineno), self.p.indent(stmt.lineno)
        last = body[-1]
        end = self.p.line_end(last.end_lineno)
        return end, self.p.indent(last.lineno)

    def mutable_defaults(self) -> None:
        for info in self.p.functions:
            args = info.node.args  # type: ignore[attr-defined]
            positional = args.posonlyargs + args.args
            pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
            pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
            for arg, default in pairs:
                if not _is_mutable_literal(default):
                    continue
                where, indent = self._body_insert_point(info.node)
                a, b = self.p.span(default)
                guard = f"{indent}if {arg.arg} is None:\n{indent}    {arg.arg} = {self.p.text(default)}\n"
                floor = max(self.susp(info.start), 0.5)
                self.add([(a, b, "None"), (where, where, guard)], "STATE", info.start, 0.85,
                         f"mutable default `{arg.arg}={self.p.text(default)}` -> None", floor=floor)
                # stored on the object: keep a copy, so the caller's list is not shared either
                for stmt in ast.walk(info.node):
                    if (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Name) and stmt.value.id == arg.arg
                            and any(isinstance(t, ast.Attribute) for t in stmt.targets)):
                        kind = "list" if isinstance(default, ast.List) else "dict" if isinstance(default, ast.Dict) else "set" if isinstance(default, ast.Set) else None
                        if kind is None:
                            continue
                        c0, c1 = self.p.span(stmt.value)
                        self.add([(a, b, "None"), (where, where, guard), (c0, c1, f"{kind}({arg.arg})")], "STATE", info.start, 0.9,
                                 f"mutable default `{arg.arg}={self.p.text(default)}` -> None, stored as a copy", floor=floor)

    def shared_state(self) -> None:
        tree = self.p.tree
        assert tree is not None
        # class attributes holding a mutable value that the instances then mutate
        for cls in self.p.classes.values():
            init = next((n for n in cls.body if isinstance(n, _FUNCS) and n.name == "__init__"), None)
            for stmt in cls.body:
                if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                    continue
                if not _is_mutable_literal(stmt.value):
                    continue
                name = stmt.targets[0].id
                users = [f for f in self.p.functions if f.cls == cls.name and name in f.self_attrs]
                if not users:
                    continue
                region = self.p.line_span(stmt)
                if region is None:
                    continue
                floor = max(max(self.susp(f.start + 1) for f in users), 0.5)
                if init is not None:
                    where, indent = self._body_insert_point(init)
                    line = f"{indent}self.{name} = {self.p.text(stmt.value)}\n"
                    self.add([region + ("",), (where, where, line)], "STATE", stmt.lineno, 0.9,
                             f"class attribute `{name}` -> instance attribute", floor=floor)
                else:
                    indent = self.p.indent(stmt.lineno)
                    text = f"{indent}def __init__(self):\n{indent}    self.{name} = {self.p.text(stmt.value)}\n"
                    self.add([region + (text,)], "STATE", stmt.lineno, 0.6, f"class attribute `{name}` -> instance attribute", floor=floor)
        # module-level mutable values used as per-call state (a memo that outlives its call)
        top_functions = [n for n in tree.body if isinstance(n, _FUNCS)]
        for stmt in tree.body:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                continue
            if not _is_mutable_literal(stmt.value):
                continue
            name = stmt.targets[0].id
            for func in top_functions:
                uses = [n for n in ast.walk(func) if isinstance(n, ast.Name) and n.id == name]
                declared_global = any(isinstance(n, ast.Global) and name in n.names for n in ast.walk(func))
                if not uses or declared_global:
                    continue
                where, indent = self._body_insert_point(func)
                floor = max(self.susp(func.lineno + 1), 0.4)
                self.add([(where, where, f"{indent}{name} = {self.p.text(stmt.value)}\n")], "STATE", func.lineno, 0.75,
                         f"fresh `{name}` on every call of {func.name}()", floor=floor)

    def aliasing(self) -> None:
        """``self.items = items`` (a caller's list kept by reference) -> a copy."""
        for info in self.p.functions:
            if info.cls is None or info.name != "__init__":
                continue
            for stmt in ast.walk(info.node):
                if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Name) and stmt.value.id in info.params and stmt.value.id != "self":
                    target = stmt.targets[0]
                    if isinstance(target, ast.Attribute):
                        self.replace(stmt.value, f"list({stmt.value.id})", "STATE", 0.3, f"copy `{stmt.value.id}`")

    def guards(self) -> None:
        """A division by zero (or an empty sequence) reached at a traceback line: guard the statement."""
        for failure in self.failures:
            if not failure.frames:
                continue
            line, _ = failure.frames[-1]
            stmt = self._statement_at(line)
            if stmt is None:
                continue
            value = getattr(stmt, "value", None)
            if value is None or not isinstance(stmt, (ast.Assign, ast.Return, ast.AugAssign)):
                continue
            conditions: list[str] = []
            for node in ast.walk(value):
                if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Div, ast.FloorDiv)):
                    divisor = node.right
                    if isinstance(divisor, ast.Call) and isinstance(divisor.func, ast.Name) and divisor.func.id == "len" and divisor.args:
                        conditions.append(self.p.text(divisor.args[0]))
                    else:
                        conditions.append(self.p.text(divisor))
                elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and failure.exception == "IndexError":
                    conditions.append(self.p.text(node.value))
            if failure.exception not in ("ZeroDivisionError", "IndexError"):
                continue
            fallbacks = ["0"]
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                fallbacks.append(stmt.targets[0].id)
            if isinstance(stmt, ast.Return):
                fallbacks += ["None", "[]"]
            shown = self.p.text(value)
            if isinstance(value, (ast.Tuple, ast.IfExp, ast.Lambda, ast.NamedExpr)) and not shown.startswith("("):
                shown = f"({shown})"
            for cond in dict.fromkeys(conditions):
                for k, fallback in enumerate(fallbacks):
                    text = f"{shown} if {cond} else {fallback}"
                    self.replace(value, text, "GUARD", 1.0 - 0.1 * k, f"guarded by `if {cond}`", floor=0.9)

    def _statement_at(self, line: int) -> Optional[ast.stmt]:
        best = None
        for node in ast.walk(self.p.tree):  # type: ignore[arg-type]
            if isinstance(node, ast.stmt) and node.lineno <= line <= node.end_lineno and not isinstance(node, (*_FUNCS, ast.ClassDef, ast.If, ast.For, ast.While, ast.With, ast.Try)):  # type: ignore[attr-defined]
                if best is None or node.lineno >= best.lineno:
                    best = node
        return best

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
        self.mutable_defaults()
        self.shared_state()
        self.aliasing()
        self.guards()

    def _in_code(self, node: ast.Constant) -> bool:
        parent = self.p.parent.get(id(node))
        return not (isinstance(parent, ast.Expr) and id(parent) in self.p.docstrings) and not isinstance(parent, ast.JoinedStr)


def f_required(info: FunctionInfo) -> list[str]:
    args = info.node.args  # type: ignore[attr-defined]
    positional = [a.arg for a in args.posonlyargs + args.args]
    return positional[: len(positional) - len(args.defaults)]


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


def parse_failures(results: Iterable[tuple[str, bool, str]]) -> list[Failure]:
    return [Failure.parse(name, message) for name, passed, message in results if not passed]


__all__ = ["Candidate", "Failure", "Program", "candidates", "compiles", "localise", "parse_failures", "syntax_candidates"]
