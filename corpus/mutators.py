"""AST mutation operators: each one finds *sites* in a correct program and turns one site into a bug.

Mutations are found and described on the ``ast`` of the program; the new source is produced by
splicing the changed node's text into the original at the node's exact position (so comments,
docstrings and formatting elsewhere survive), and then checked: the spliced program must parse to
exactly the mutated tree (``ast.dump`` equal) and compile.  A splice that does not reproduce the
intended tree is rejected (:class:`MutationError`), never written out.

Sites are plain picklable data (:class:`Site`): the operator code, the index of the target node in
``ast.walk`` order, and the operator's argument (the new operator, name, value, ...).  Applying the
same sites to the same source therefore always yields the same program, in any process.

Operators (``mutation:<CODE>`` in a generated task's tags):

==============  =================================================================================
ROR             relational operator swap (``<`` / ``<=`` / ``>`` / ``>=``, ``==`` / ``!=``, ``in``, ``is``)
AOR             arithmetic operator swap (``+`` / ``-``, ``*``, ``/`` / ``//``, ``%``, shifts, bit ops; also ``+=``)
CONST_OBO       off-by-one in an integer constant
RANGE_OBO       off-by-one in a ``range()`` bound
SLICE_OBO       off-by-one in a slice bound or an integer index
NEG_COND        boolean negation of a condition (``if``, ``while``, conditional expression, comprehension filter)
LOR             ``and`` / ``or`` swap
VAR_SWAP        wrong variable of the same (inferred) type in scope
STMT_DEL        deleted statement (assignment, call, update, or a whole guard clause)
STMT_SWAP       two adjacent statements swapped
RET             wrong return value
DEFAULT_ARG     changed default argument
SELF_STATE      missing ``self.`` in a state update (the method updates a local instead)
ARG_SWAP        two positional arguments of a call swapped
LOOP_EXIT       early or late loop exit (``break`` added, removed, or swapped with ``continue``)
EXC_TYPE        exception type changed in a ``raise`` or an ``except`` clause
==============  =================================================================================
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Optional, Sequence

# ------------------------------------------------------------------------------------------------
# Sites, edits, errors
# ------------------------------------------------------------------------------------------------


class MutationError(ValueError):
    """A set of sites could not be applied (overlap, or the splice did not give the intended tree)."""


@dataclass(frozen=True)
class Site:
    """One place where one operator can change the program, and how."""

    op: str
    node: int
    """Index of the target node in ``ast.walk(tree)`` order."""
    arg: Any
    """Operator-specific, picklable: the replacement operator / name / value / statement index."""
    line: int
    start: int
    end: int
    """Character range of the source the mutation touches (used to keep several mutations disjoint)."""
    scope: str
    """Qualified name of the innermost function or class (``<module>`` at top level)."""
    note: str
    """Human-readable summary, e.g. ``line 9: < -> <=``."""

    def overlaps(self, other: "Site") -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class TextEdit:
    start: int
    end: int
    text: str


# ------------------------------------------------------------------------------------------------
# Analysis of one module
# ------------------------------------------------------------------------------------------------

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_LOOPS = (ast.For, ast.While, ast.AsyncFor)
_EXITS = (ast.Return, ast.Raise, ast.Break, ast.Continue)


@dataclass
class FunctionInfo:
    """Names of one function: parameters, local bindings (with the line they are first bound on), kinds."""

    node: ast.AST
    params: list[str] = field(default_factory=list)
    first_bound: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, Optional[str]] = field(default_factory=dict)
    comprehension_names: set[str] = field(default_factory=set)
    called: set[str] = field(default_factory=set)
    origins: dict[str, str] = field(default_factory=dict)
    """How a name is first bound: 'param', 'loop' (a for target) or 'local'."""

    def kind(self, name: str) -> Optional[str]:
        return self.kinds.get(name)

    def variables(self) -> list[str]:
        """Parameters and locals in a stable order (parameters first, then by first binding)."""
        names = [p for p in self.params if p not in ("self", "cls")]
        locals_ = sorted((line, name) for name, line in self.first_bound.items() if name not in self.params)
        names += [name for _, name in locals_]
        return [n for n in names if n not in self.comprehension_names and n not in self.called and n != "_"]

    def interchangeable(self, a: str, b: str) -> bool:
        """Same known kind, or both unknown and bound the same way (two parameters, two loop variables)."""
        kind = self.kind(a)
        if kind != self.kind(b):
            return False
        return kind is not None or self.origins.get(a) == self.origins.get(b) != "local"

    def bound_before(self, name: str, line: int) -> bool:
        return name in self.params or self.first_bound.get(name, 10**9) < line


_STR_METHODS = {
    "join", "lower", "upper", "strip", "lstrip", "rstrip", "replace", "format", "title", "capitalize",
    "casefold", "ljust", "rjust", "center", "zfill", "swapcase", "expandtabs",
}
_INT_CALLS = {"len", "int", "ord", "hash", "round"}
_KIND_CALLS = {
    "str": "str", "chr": "str", "repr": "str", "format": "str", "list": "list", "sorted": "list",
    "dict": "dict", "set": "set", "frozenset": "set", "tuple": "tuple", "float": "float", "bool": "bool",
}
_ANNOTATION_KINDS = {"int", "str", "float", "bool", "list", "dict", "set", "tuple"}


def expr_kind(node: Optional[ast.AST], known: Optional[dict[str, Optional[str]]] = None) -> Optional[str]:
    """A coarse static type of an expression ('int', 'str', 'list', ...) or None when unknown."""
    if node is None:
        return None
    if isinstance(node, ast.Constant):
        if node.value is None or node.value is Ellipsis:
            return None
        return type(node.value).__name__
    if isinstance(node, (ast.List, ast.ListComp)):
        return "list"
    if isinstance(node, (ast.Dict, ast.DictComp)):
        return "dict"
    if isinstance(node, (ast.Set, ast.SetComp)):
        return "set"
    if isinstance(node, ast.Tuple):
        return "tuple"
    if isinstance(node, ast.JoinedStr):
        return "str"
    if isinstance(node, (ast.Compare,)) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
        return "bool"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Invert)):
        return expr_kind(node.operand, known)
    if isinstance(node, ast.Name) and known is not None:
        return known.get(node.id)
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in _INT_CALLS:
                return "int"
            return _KIND_CALLS.get(func.id)
        if isinstance(func, ast.Attribute):
            if func.attr in _STR_METHODS:
                return "str"
            if func.attr in ("split", "splitlines", "rsplit"):
                return "list"
            if func.attr in ("count", "index", "find", "rfind", "bit_length"):
                return "int"
        return None
    if isinstance(node, ast.BinOp):
        left, right = expr_kind(node.left, known), expr_kind(node.right, known)
        if isinstance(node.op, ast.Mod) and left == "str":
            return "str"
        if isinstance(node.op, ast.Div) and left in ("int", "float") and right in ("int", "float"):
            return "float"
        if left == right:
            return left
        if {left, right} == {"int", "float"}:
            return "float"
        return None
    return None


def _target_names(target: ast.AST) -> Iterator[ast.Name]:
    if isinstance(target, ast.Name):
        yield target
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _target_names(element)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)


def _analyse_function(func: ast.AST) -> FunctionInfo:
    info = FunctionInfo(func)
    arguments = func.args  # type: ignore[attr-defined]
    positional = list(arguments.posonlyargs) + list(arguments.args)
    defaults: list[Optional[ast.AST]] = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)
    observed: dict[str, list[Optional[str]]] = {}

    def note(name: str, kind: Optional[str]) -> None:
        observed.setdefault(name, []).append(kind)

    for arg, default in list(zip(positional, defaults)) + list(zip(arguments.kwonlyargs, arguments.kw_defaults)):
        info.params.append(arg.arg)
        info.origins[arg.arg] = "param"
        kind = None
        if isinstance(arg.annotation, ast.Name) and arg.annotation.id in _ANNOTATION_KINDS:
            kind = arg.annotation.id
        elif default is not None:
            kind = expr_kind(default)
        note(arg.arg, kind)
    for extra in (arguments.vararg, arguments.kwarg):
        if extra is not None:
            info.params.append(extra.arg)
            info.origins[extra.arg] = "param"
            note(extra.arg, "tuple" if extra is arguments.vararg else "dict")

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (_SCOPES + (ast.Lambda,))):
                continue  # nested scopes have their own names
            if isinstance(child, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                for generator in child.generators:
                    for name in _target_names(generator.target):
                        info.comprehension_names.add(name.id)
            if isinstance(child, ast.Assign):
                for target in child.targets:
                    if isinstance(target, ast.Name):
                        bind(target, expr_kind(child.value, _known()))
                    else:
                        values = child.value.elts if isinstance(child.value, ast.Tuple) and isinstance(target, ast.Tuple) else None
                        if values is not None and len(values) == len(target.elts):
                            for element, value in zip(target.elts, values):
                                if isinstance(element, ast.Name):
                                    bind(element, expr_kind(value, _known()))
                        else:
                            for name in _target_names(target):
                                bind(name, None)
            elif isinstance(child, ast.AugAssign) and isinstance(child.target, ast.Name):
                bind(child.target, expr_kind(child.value, _known()))
            elif isinstance(child, ast.AnnAssign) and isinstance(child.target, ast.Name):
                kind = child.annotation.id if isinstance(child.annotation, ast.Name) else expr_kind(child.value, _known())
                bind(child.target, kind if kind in _ANNOTATION_KINDS else None)
            elif isinstance(child, (ast.For, ast.AsyncFor)):
                for name in _target_names(child.target):
                    info.origins.setdefault(name.id, "loop")
                iterator = child.iter
                call = iterator.func.id if isinstance(iterator, ast.Call) and isinstance(iterator.func, ast.Name) else ""
                if isinstance(child.target, ast.Name):
                    bind(child.target, "int" if call == "range" else ("str" if expr_kind(iterator, _known()) == "str" else None))
                elif call == "enumerate" and isinstance(child.target, ast.Tuple) and len(child.target.elts) == 2:
                    first, second = child.target.elts
                    if isinstance(first, ast.Name):
                        bind(first, "int")
                    for name in _target_names(second):
                        bind(name, None)
                else:
                    for name in _target_names(child.target):
                        bind(name, None)
            elif isinstance(child, (ast.With, ast.AsyncWith)):
                for item in child.items:
                    if item.optional_vars is not None:
                        for name in _target_names(item.optional_vars):
                            bind(name, None)
            elif isinstance(child, ast.ExceptHandler) and child.name:
                info.first_bound.setdefault(child.name, child.lineno)
                note(child.name, "exception")
            elif isinstance(child, ast.NamedExpr) and isinstance(child.target, ast.Name):
                bind(child.target, expr_kind(child.value, _known()))
            elif isinstance(child, ast.Call) and isinstance(child.func, ast.Name):
                info.called.add(child.func.id)
            visit(child)

    def bind(name: ast.Name, kind: Optional[str]) -> None:
        info.origins.setdefault(name.id, "local")
        if name.id not in info.first_bound or name.lineno < info.first_bound[name.id]:
            info.first_bound[name.id] = name.lineno
        note(name.id, kind)

    def _known() -> dict[str, Optional[str]]:
        return {name: _merge(kinds) for name, kinds in observed.items()}

    visit(func)
    info.kinds = {name: _merge(kinds) for name, kinds in observed.items()}
    return info


def _merge(kinds: list[Optional[str]]) -> Optional[str]:
    known = {k for k in kinds if k is not None}
    return known.pop() if len(known) == 1 else None


def _char_offsets(source: str) -> tuple[list[str], list[int]]:
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return lines, starts


class ModuleContext:
    """A parsed program with everything the operators need: node order, parents, scopes, functions."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tree = ast.parse(source)
        self.nodes: list[ast.AST] = list(ast.walk(self.tree))
        self.index: dict[int, int] = {id(node): i for i, node in enumerate(self.nodes)}
        self.parent: dict[int, ast.AST] = {}
        self.scope: dict[int, str] = {}
        self.function: dict[int, Optional[ast.AST]] = {}
        self.excluded: set[int] = set()
        self.lines, self.line_starts = _char_offsets(source)
        self._functions: dict[int, FunctionInfo] = {}
        self.class_of: dict[int, ast.ClassDef] = {}
        self._walk(self.tree, None, "<module>", None, False)
        self.defined_exceptions: dict[str, str] = {}
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef):
                bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
                if any(b.endswith(("Error", "Exception")) for b in bases) or node.name.endswith("Error"):
                    base = next((b for b in bases if b in _BUILTIN_EXCEPTIONS), "Exception")
                    self.defined_exceptions[node.name] = base

    def _walk(self, node: ast.AST, parent: Optional[ast.AST], scope: str, func: Optional[ast.AST], excluded: bool) -> None:
        key = id(node)
        if parent is not None:
            self.parent[key] = parent
        self.scope[key] = scope
        self.function[key] = func
        if excluded:
            self.excluded.add(key)
        if isinstance(node, _SCOPES):
            scope = node.name if scope == "<module>" else f"{scope}.{node.name}"
            if isinstance(node, _FUNCS):
                func = node
                if isinstance(parent, ast.ClassDef):
                    self.class_of[key] = parent
        for name, value in ast.iter_fields(node):
            children = value if isinstance(value, list) else [value]
            for child in children:
                if not isinstance(child, ast.AST):
                    continue
                child_excluded = excluded or isinstance(node, ast.JoinedStr) or name in ("annotation", "returns", "decorator_list")
                if isinstance(child, (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal)):
                    child_excluded = True
                if name == "body" and isinstance(value, list) and child is value[0] and _is_docstring(child):
                    child_excluded = True
                self._walk(child, node, scope, func, child_excluded)

    # -- queries ------------------------------------------------------------------------------------
    def eligible(self, node: ast.AST) -> bool:
        return id(node) not in self.excluded and hasattr(node, "lineno")

    def function_info(self, node: ast.AST) -> Optional[FunctionInfo]:
        func = self.function.get(id(node))
        if func is None:
            return None
        info = self._functions.get(id(func))
        if info is None:
            info = self._functions[id(func)] = _analyse_function(func)
        return info

    def offset(self, line: int, col: int) -> int:
        text = self.lines[line - 1] if line - 1 < len(self.lines) else ""
        if not text.isascii():
            col = len(text.encode("utf-8")[:col].decode("utf-8", errors="ignore"))
        return self.line_starts[line - 1] + col

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def text(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.source[start:end]

    def line_span(self, first: ast.AST, last: Optional[ast.AST] = None) -> Optional[tuple[int, int]]:
        """Whole lines from ``first`` to ``last`` (inclusive), if nothing else shares those lines."""
        last = last or first
        start, end = self.span(first)
        _, end = self.span(last)
        line_start = self.line_starts[first.lineno - 1]  # type: ignore[attr-defined]
        line_end = self.line_starts[last.end_lineno]  # type: ignore[attr-defined]
        if self.source[line_start:start].strip():
            return None
        tail = self.source[end:line_end].strip()
        if tail and not tail.startswith("#"):
            return None
        return line_start, line_end

    def site(self, op: str, node: ast.AST, arg: Any, note: str, region: Optional[tuple[int, int]] = None) -> Site:
        start, end = region or self.span(node)
        line = node.lineno  # type: ignore[attr-defined]
        return Site(op, self.index[id(node)], arg, line, start, end, self.scope[id(node)], f"line {line}: {note}")


def _is_docstring(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


# ------------------------------------------------------------------------------------------------
# Tree surgery helpers (identity based, so several mutations can be applied to one tree)
# ------------------------------------------------------------------------------------------------


def _replace_child(parent: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for name, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, name, new)
            return
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is old:
                    value[i] = new
                    return
    raise MutationError("node not found in its parent")


def _body_containing(parent: ast.AST, stmt: ast.AST) -> list[ast.AST]:
    for _, value in ast.iter_fields(parent):
        if isinstance(value, list) and any(item is stmt for item in value):
            return value
    raise MutationError("statement not found in its parent")


def _index_in(body: list[ast.AST], stmt: ast.AST) -> int:
    for i, item in enumerate(body):
        if item is stmt:
            return i
    raise MutationError("statement not found in its block")


_ATOMS = (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Subscript, ast.List, ast.Tuple, ast.Dict, ast.Set,
          ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.JoinedStr)


def _operand_text(ctx: ModuleContext, node: ast.AST, *, additive: bool = True) -> str:
    """Source of ``node``, parenthesised when it would not bind as an operand of ``+``/``-``."""
    text = ctx.text(node)
    if isinstance(node, _ATOMS):
        return text
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult)) and additive:
        return text
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Invert)):
        return text
    return f"({text})"


def _const(value: Any) -> ast.Constant:
    return ast.Constant(value=value)


def _int_value(node: ast.AST) -> Optional[int]:
    """The value of an int literal, including a negated one (``-1``); None otherwise."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) and type(node.operand.value) is int:
        return -node.operand.value
    return None


def _int_node(value: int) -> ast.AST:
    return _const(value) if value >= 0 else ast.UnaryOp(op=ast.USub(), operand=_const(-value))


def _shifted(ctx: ModuleContext, node: ast.AST, delta: int) -> Optional[tuple[str, ast.AST, str]]:
    """``node`` moved by ``delta`` (+1 / -1): text, new tree and a note; None when not sensible."""
    value = _int_value(node)
    if value is not None:
        new = value + delta
        return str(new), _int_node(new), f"{value} -> {new}"
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)) and _int_value(node.right) == 1:
        # ``n - 1`` moved up by one is ``n``; ``n + 1`` moved down is ``n``
        if (isinstance(node.op, ast.Sub) and delta == 1) or (isinstance(node.op, ast.Add) and delta == -1):
            return ctx.text(node.left), node.left, f"{ctx.text(node)} -> {ctx.text(node.left)}"
    sign = "+" if delta > 0 else "-"
    text = f"{_operand_text(ctx, node)} {sign} 1"
    new = ast.BinOp(left=node, op=ast.Add() if delta > 0 else ast.Sub(), right=_const(1))
    return text, new, f"{ctx.text(node)} -> {text}"


# ------------------------------------------------------------------------------------------------
# Operators
# ------------------------------------------------------------------------------------------------

_BUILTIN_EXCEPTIONS = {
    "Exception", "ValueError", "TypeError", "KeyError", "IndexError", "LookupError", "ZeroDivisionError",
    "ArithmeticError", "RuntimeError", "OverflowError", "AttributeError", "NotImplementedError",
    "StopIteration", "AssertionError", "NameError", "RecursionError", "UnicodeError", "OSError",
}


class Operator:
    """One kind of bug.  Subclasses find sites and apply one site (text edits + the same change on the tree)."""

    code: str = ""
    summary: str = ""

    def sites(self, ctx: ModuleContext) -> list[Site]:
        raise NotImplementedError

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        raise NotImplementedError

    @property
    def tag(self) -> str:
        return f"mutation:{self.code}"


def _gap_operator(ctx: ModuleContext, left: ast.AST, right: ast.AST) -> Optional[tuple[int, int]]:
    """Character range of the operator token between two operand nodes (skipping parentheses)."""
    _, start = ctx.span(left)
    end, _ = ctx.span(right)
    gap = ctx.source[start:end]
    if "#" in gap:
        return None
    strip = "() \t\r\n\\"
    lead = len(gap) - len(gap.lstrip(strip))
    trail = len(gap) - len(gap.rstrip(strip))
    if lead + trail >= len(gap):
        return None
    return start + lead, end - trail


_CMP_SYMBOLS = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
}
_CMP_SWAPS = {
    ast.Lt: (ast.LtE, ast.Gt), ast.LtE: (ast.Lt, ast.GtE), ast.Gt: (ast.GtE, ast.Lt), ast.GtE: (ast.Gt, ast.LtE),
    ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,), ast.In: (ast.NotIn,), ast.NotIn: (ast.In,),
    ast.Is: (ast.IsNot,), ast.IsNot: (ast.Is,),
}
_CMP_BY_NAME = {cls.__name__: cls for cls in _CMP_SYMBOLS}


class RelationalOperator(Operator):
    code = "ROR"
    summary = "relational operator swap"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.nodes:
            if not isinstance(node, ast.Compare) or not ctx.eligible(node):
                continue
            operands = [node.left, *node.comparators]
            for i, op in enumerate(node.ops):
                region = _gap_operator(ctx, operands[i], operands[i + 1])
                if region is None:
                    continue
                for new in _CMP_SWAPS[type(op)]:
                    found.append(ctx.site(self.code, node, (i, new.__name__), f"{_CMP_SYMBOLS[type(op)]} -> {_CMP_SYMBOLS[new]}", region))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        i, name = arg
        operands = [node.left, *node.comparators]
        region = _gap_operator(ctx, operands[i], operands[i + 1])
        if region is None:
            raise MutationError("operator not found")
        new = _CMP_BY_NAME[name]
        node.ops[i] = new()
        return [TextEdit(region[0], region[1], _CMP_SYMBOLS[new])]


_BIN_SYMBOLS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
    ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
}
_BIN_SWAPS = {
    ast.Add: (ast.Sub,), ast.Sub: (ast.Add,), ast.Mult: (ast.Add, ast.FloorDiv), ast.Div: (ast.FloorDiv, ast.Mult),
    ast.FloorDiv: (ast.Div, ast.Mod), ast.Mod: (ast.FloorDiv,), ast.Pow: (ast.Mult,),
    ast.LShift: (ast.RShift,), ast.RShift: (ast.LShift,), ast.BitAnd: (ast.BitOr,), ast.BitOr: (ast.BitAnd,),
    ast.BitXor: (ast.BitOr,),
}
_BIN_BY_NAME = {cls.__name__: cls for cls in _BIN_SYMBOLS}
_PRECEDENCE = {
    ast.Pow: 7, ast.Mult: 6, ast.Div: 6, ast.FloorDiv: 6, ast.Mod: 6, ast.MatMult: 6, ast.Add: 5, ast.Sub: 5,
    ast.LShift: 4, ast.RShift: 4, ast.BitAnd: 3, ast.BitXor: 2, ast.BitOr: 1,
}


def _stringy(node: ast.AST) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))) or isinstance(node, ast.JoinedStr)


class ArithmeticOperator(Operator):
    code = "AOR"
    summary = "arithmetic operator swap"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.nodes:
            if not ctx.eligible(node):
                continue
            if isinstance(node, ast.BinOp) and type(node.op) in _BIN_SWAPS:
                if _stringy(node.left) or _stringy(node.right) or isinstance(node.left, (ast.List, ast.Tuple)):
                    continue  # string/list concatenation or %-formatting: a swap only gives a TypeError
                region = _gap_operator(ctx, node.left, node.right)
                if region is None:
                    continue
                for new in _BIN_SWAPS[type(node.op)]:
                    found.append(ctx.site(self.code, node, new.__name__, f"{_BIN_SYMBOLS[type(node.op)]} -> {_BIN_SYMBOLS[new]}", region))
            elif isinstance(node, ast.AugAssign) and type(node.op) in _BIN_SWAPS and not _stringy(node.value):
                region = _gap_operator(ctx, node.target, node.value)
                if region is None:
                    continue
                for new in _BIN_SWAPS[type(node.op)]:
                    old_symbol = _BIN_SYMBOLS[type(node.op)] + "="
                    found.append(ctx.site(self.code, node, new.__name__, f"{old_symbol} -> {_BIN_SYMBOLS[new]}=", region))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        new = _BIN_BY_NAME[arg]
        if isinstance(node, ast.AugAssign):
            region = _gap_operator(ctx, node.target, node.value)
            text = _BIN_SYMBOLS[new] + "="
        else:
            region = _gap_operator(ctx, node.left, node.right)  # type: ignore[attr-defined]
            text = _BIN_SYMBOLS[new]
        if region is None:
            raise MutationError("operator not found")
        old = type(node.op)  # type: ignore[attr-defined]
        node.op = new()  # type: ignore[attr-defined]
        edits = [TextEdit(region[0], region[1], text)]
        parent = ctx.parent.get(id(node))
        if isinstance(node, ast.BinOp) and _PRECEDENCE[old] != _PRECEDENCE[new] and isinstance(parent, (ast.BinOp, ast.UnaryOp, ast.Attribute, ast.Subscript)):
            start, end = ctx.span(node)
            if not (ctx.source[start - 1 : start] == "(" and ctx.source[end : end + 1] == ")"):
                edits = [TextEdit(start, start, "(")] + edits + [TextEdit(end, end, ")")]
        return edits


def _range_call(node: Optional[ast.AST]) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"


class ConstantOffByOne(Operator):
    code = "CONST_OBO"
    summary = "off-by-one in an integer constant"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.nodes:
            if not (isinstance(node, ast.Constant) and type(node.value) is int and ctx.eligible(node)):
                continue
            parent = ctx.parent.get(id(node))
            negated = isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub)
            holder = ctx.parent.get(id(parent)) if negated else parent
            target = parent if negated else node
            if _range_call(holder) and target in holder.args:  # type: ignore[union-attr]
                continue  # RANGE_OBO's
            if isinstance(holder, ast.Slice) or (isinstance(holder, ast.Subscript) and holder.slice is target):
                continue  # SLICE_OBO's
            if isinstance(holder, ast.arguments):
                continue  # DEFAULT_ARG's
            if isinstance(holder, ast.Call) and isinstance(holder.func, ast.Name) and holder.func.id in ("round", "print", "range"):
                continue
            for delta in (1, -1):
                new = node.value + delta
                if new < 0 or (negated and new == 0):
                    continue
                shown = f"-{node.value} -> -{new}" if negated else f"{node.value} -> {new}"
                found.append(ctx.site(self.code, node, new, shown))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        start, end = ctx.span(node)
        node.value = arg  # type: ignore[attr-defined]
        return [TextEdit(start, end, str(arg))]


class RangeOffByOne(Operator):
    code = "RANGE_OBO"
    summary = "off-by-one in a range() bound"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.nodes:
            if not (_range_call(node) and ctx.eligible(node)) or node.keywords or len(node.args) > 3:  # type: ignore[attr-defined]
                continue
            args = node.args  # type: ignore[attr-defined]
            if any(isinstance(a, ast.Starred) for a in args):
                continue
            bounds = [0] if len(args) == 1 else [0, 1]
            for position in bounds:
                for delta in (1, -1):
                    shifted = _shifted(ctx, args[position], delta)
                    value = _int_value(args[position])
                    if shifted is None or (value is not None and value + delta < 0):
                        continue
                    which = "stop" if position == len(args) - 1 or (len(args) == 3 and position == 1) else "start"
                    found.append(ctx.site(self.code, node, (position, delta), f"range {which} {shifted[2]}"))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        position, delta = arg
        target = node.args[position]  # type: ignore[attr-defined]
        shifted = _shifted(ctx, target, delta)
        if shifted is None:
            raise MutationError("bound cannot be shifted")
        start, end = ctx.span(target)
        node.args[position] = shifted[1]  # type: ignore[attr-defined]
        return [TextEdit(start, end, shifted[0])]


class SliceOffByOne(Operator):
    code = "SLICE_OBO"
    summary = "off-by-one in a slice bound or an integer index"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.nodes:
            if not (isinstance(node, ast.Subscript) and ctx.eligible(node)):
                continue
            index = node.slice
            info = ctx.function_info(node)
            if isinstance(index, ast.Slice):
                if index.step is not None:
                    continue
                for part in ("lower", "upper"):
                    bound = getattr(index, part)
                    if bound is None:
                        new_text = "1" if part == "lower" else "-1"
                        found.append(ctx.site(self.code, node, (part, 0), f"slice {part} bound omitted -> {new_text}"))
                        continue
                    for delta in (1, -1):
                        value = _int_value(bound)
                        if value is not None and value + delta == 0 and part == "upper" and value < 0:
                            continue  # x[:-1] -> x[:0] is just empty
                        shifted = _shifted(ctx, bound, delta)
                        if shifted is not None:
                            found.append(ctx.site(self.code, node, (part, delta), f"slice {part} {shifted[2]}"))
            elif not isinstance(index, ast.Tuple):
                value = _int_value(index)
                int_like = value is not None
                if isinstance(index, ast.Name) and info is not None and info.kind(index.id) == "int":
                    int_like = True
                if isinstance(index, ast.BinOp) and isinstance(index.op, (ast.Add, ast.Sub)) and _int_value(index.right) is not None:
                    int_like = True
                container = node.value
                if isinstance(container, ast.Name) and info is not None and info.kind(container.id) == "dict":
                    continue
                if not int_like:
                    continue
                for delta in (1, -1):
                    shifted = _shifted(ctx, index, delta)
                    if shifted is not None:
                        found.append(ctx.site(self.code, node, ("index", delta), f"index {shifted[2]}"))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        part, delta = arg
        index = node.slice  # type: ignore[attr-defined]
        if part == "index":
            shifted = _shifted(ctx, index, delta)
            if shifted is None:
                raise MutationError("index cannot be shifted")
            start, end = ctx.span(index)
            node.slice = shifted[1]  # type: ignore[attr-defined]
            return [TextEdit(start, end, shifted[0])]
        bound = getattr(index, part)
        pieces = {}
        for name in ("lower", "upper"):
            current = getattr(index, name)
            pieces[name] = ctx.text(current) if current is not None else ""
        if bound is None:
            new_node = _const(1) if part == "lower" else _int_node(-1)
            pieces[part] = "1" if part == "lower" else "-1"
        else:
            shifted = _shifted(ctx, bound, delta)
            if shifted is None:
                raise MutationError("bound cannot be shifted")
            pieces[part], new_node = shifted[0], shifted[1]
        start, end = ctx.span(index)
        setattr(index, part, new_node)
        return [TextEdit(start, end, f"{pieces['lower']}:{pieces['upper']}")]


def _condition_nodes(ctx: ModuleContext) -> Iterator[ast.AST]:
    for node in ctx.nodes:
        if isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert)) and ctx.eligible(node):
            yield node.test
        elif isinstance(node, ast.comprehension) and ctx.eligible(node.iter):
            yield from node.ifs


class NegateCondition(Operator):
    code = "NEG_COND"
    summary = "boolean negation of a condition"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for test in _condition_nodes(ctx):
            if isinstance(test, ast.Constant) or not ctx.eligible(test):
                continue
            if isinstance(test, ast.Compare) and len(test.ops) == 1:
                continue  # ``not a < b`` is ROR's ``a >= b`` written oddly
            if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
                found.append(ctx.site(self.code, test, "drop-not", f"`{ctx.text(test)}` -> `{ctx.text(test.operand)}`"))
            else:
                found.append(ctx.site(self.code, test, "add-not", f"`{ctx.text(test)}` negated"))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        start, end = ctx.span(node)
        parent = ctx.parent[id(node)]
        if arg == "drop-not":
            operand = node.operand  # type: ignore[attr-defined]
            text = ctx.text(operand)
            if isinstance(operand, (ast.BoolOp, ast.IfExp, ast.NamedExpr, ast.Lambda)):
                text = f"({text})"
            _replace_child(parent, node, operand)
            return [TextEdit(start, end, text)]
        text = ctx.text(node)
        if isinstance(node, (ast.BoolOp, ast.IfExp, ast.NamedExpr, ast.Lambda)):
            text = f"({text})"
        _replace_child(parent, node, ast.UnaryOp(op=ast.Not(), operand=node))
        return [TextEdit(start, end, f"not {text}")]


class LogicalOperator(Operator):
    code = "LOR"
    summary = "and/or swap"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.nodes:
            if isinstance(node, ast.BoolOp) and ctx.eligible(node) and self._regions(ctx, node) is not None:
                old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
                found.append(ctx.site(self.code, node, new, f"{old} -> {new}"))
        return found

    @staticmethod
    def _regions(ctx: ModuleContext, node: ast.BoolOp) -> Optional[list[tuple[int, int]]]:
        regions = []
        for left, right in zip(node.values, node.values[1:]):
            region = _gap_operator(ctx, left, right)
            if region is None:
                return None
            regions.append(region)
        return regions

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        regions = self._regions(ctx, node)  # type: ignore[arg-type]
        if regions is None:
            raise MutationError("operator not found")
        node.op = ast.And() if arg == "and" else ast.Or()  # type: ignore[attr-defined]
        edits = [TextEdit(a, b, arg) for a, b in regions]
        # ``a and b or c`` is ``(a and b) or c``: after the swap the inner group needs its parentheses.
        parent = ctx.parent.get(id(node))
        if isinstance(parent, ast.BoolOp) and not ctx.source[ctx.span(node)[0] - 1 : ctx.span(node)[0]] == "(":
            start, end = ctx.span(node)
            edits = [TextEdit(start, start, "(")] + edits + [TextEdit(end, end, ")")]
        return edits


def _load_names(ctx: ModuleContext) -> Iterator[tuple[ast.Name, FunctionInfo]]:
    for node in ctx.nodes:
        if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and ctx.eligible(node)):
            continue
        info = ctx.function_info(node)
        if info is None:
            continue
        parent = ctx.parent.get(id(node))
        if isinstance(parent, ast.Call) and parent.func is node:
            continue
        if isinstance(parent, ast.Attribute) and parent.value is node and node.id in ("self", "cls"):
            continue
        yield node, info


def _alternatives(info: FunctionInfo, name: str, line: int) -> list[str]:
    if name not in info.variables():
        return []
    return [
        other for other in info.variables()
        if other != name and info.interchangeable(name, other) and info.bound_before(other, line)
    ]


class WrongVariable(Operator):
    code = "VAR_SWAP"
    summary = "wrong variable of the same type in scope"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node, info in _load_names(ctx):
            parent = ctx.parent.get(id(node))
            if isinstance(parent, ast.Return):
                continue  # RET's
            siblings = {n.id for n in ast.walk(parent) if isinstance(n, ast.Name)} if isinstance(parent, (ast.Subscript, ast.BinOp, ast.Compare, ast.Call)) else set()
            for other in [o for o in _alternatives(info, node.id, node.lineno) if o not in siblings][:3]:
                found.append(ctx.site(self.code, node, other, f"`{node.id}` -> `{other}`"))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        start, end = ctx.span(node)
        node.id = arg  # type: ignore[attr-defined]
        return [TextEdit(start, end, arg)]


def _is_guard(stmt: ast.AST) -> bool:
    return (
        isinstance(stmt, ast.If) and not stmt.orelse and len(stmt.body) <= 3 and isinstance(stmt.body[-1], _EXITS)
    )


def _deletable(stmt: ast.AST) -> bool:
    if isinstance(stmt, (ast.Assign, ast.AugAssign)):
        return True
    if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        return True
    return _is_guard(stmt)


def _statement_blocks(ctx: ModuleContext) -> Iterator[tuple[ast.AST, list[ast.AST]]]:
    for node in ctx.nodes:
        if ctx.function.get(id(node)) is None and not isinstance(node, _FUNCS):
            continue
        if not ctx.eligible(node) and not isinstance(node, _FUNCS):
            continue
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield node, block


def _is_elif(ctx: ModuleContext, stmt: ast.AST) -> bool:
    start, _ = ctx.span(stmt)
    return isinstance(stmt, ast.If) and ctx.source.startswith("elif", start)


def _indent_of(ctx: ModuleContext, stmt: ast.AST) -> str:
    line = ctx.lines[stmt.lineno - 1]  # type: ignore[attr-defined]
    return line[: len(line) - len(line.lstrip())]


class DeleteStatement(Operator):
    code = "STMT_DEL"
    summary = "deleted statement"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for _, block in _statement_blocks(ctx):
            for stmt in block:
                if not (_deletable(stmt) and ctx.eligible(stmt)) or _is_elif(ctx, stmt):
                    continue
                region = ctx.line_span(stmt)
                if region is None:
                    continue
                first_line = ctx.lines[stmt.lineno - 1].strip()  # type: ignore[attr-defined]
                what = "guard clause" if isinstance(stmt, ast.If) else f"`{first_line[:60]}`"
                found.append(ctx.site(self.code, stmt, None, f"deleted {what}", region))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        region = ctx.line_span(node)
        if region is None:
            raise MutationError("statement does not own its lines")
        body = _body_containing(ctx.parent[id(node)], node)
        others = [s for s in body if s is not node]
        body.remove(node)
        if not others:
            body.append(ast.Pass())
            return [TextEdit(region[0], region[1], f"{_indent_of(ctx, node)}pass\n")]
        return [TextEdit(region[0], region[1], "")]


_UNSWAPPABLE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Global,
                ast.Nonlocal, ast.Return, ast.Raise, ast.Break, ast.Continue, ast.Pass)


class SwapStatements(Operator):
    code = "STMT_SWAP"
    summary = "two adjacent statements swapped"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for _, block in _statement_blocks(ctx):
            for first, second in zip(block, block[1:]):
                if isinstance(first, _UNSWAPPABLE) or isinstance(second, _UNSWAPPABLE):
                    continue
                if not (ctx.eligible(first) and ctx.eligible(second)):
                    continue
                if ast.dump(first) == ast.dump(second):
                    continue
                a, b = ctx.line_span(first), ctx.line_span(second)
                if a is None or b is None:
                    continue
                found.append(ctx.site(self.code, first, None, f"swapped lines {first.lineno} and {second.lineno}", (a[0], b[1])))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        body = _body_containing(ctx.parent[id(node)], node)
        i = _index_in(body, node)
        if i + 1 >= len(body):
            raise MutationError("no statement to swap with")
        second = body[i + 1]
        a, b = ctx.line_span(node), ctx.line_span(second)
        if a is None or b is None:
            raise MutationError("statements do not own their lines")
        first_text, between, second_text = ctx.source[a[0] : a[1]], ctx.source[a[1] : b[0]], ctx.source[b[0] : b[1]]
        if not second_text.endswith("\n"):
            second_text += "\n"
            first_text = first_text.rstrip("\n")
        body[i], body[i + 1] = second, node
        return [TextEdit(a[0], b[1], second_text + between + first_text)]


class WrongReturn(Operator):
    code = "RET"
    summary = "wrong return value"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.nodes:
            if not (isinstance(node, ast.Return) and node.value is not None and ctx.eligible(node)):
                continue
            value = node.value
            info = ctx.function_info(node)
            shown = ctx.text(value)
            if len(shown) > 40:
                shown = shown[:37] + "..."
            if isinstance(value, ast.Name) and info is not None:
                for other in _alternatives(info, value.id, node.lineno)[:3]:
                    found.append(ctx.site(self.code, node, ("name", other), f"return `{value.id}` -> `{other}`"))
            elif isinstance(value, ast.Constant) and isinstance(value.value, bool):
                found.append(ctx.site(self.code, node, ("const", not value.value), f"return {value.value} -> {not value.value}"))
            elif isinstance(value, ast.BinOp) and not (_stringy(value.left) or _stringy(value.right)):
                found.append(ctx.site(self.code, node, ("left", None), f"return `{shown}` -> `{ctx.text(value.left)}`"))
            elif isinstance(value, ast.Tuple) and len(value.elts) >= 2 and not any(isinstance(e, ast.Starred) for e in value.elts):
                if ast.dump(value.elts[0]) != ast.dump(value.elts[1]):
                    found.append(ctx.site(self.code, node, ("swap", None), f"return `{shown}` with the first two values swapped"))
            elif isinstance(value, ast.IfExp):
                found.append(ctx.site(self.code, node, ("ifexp", None), f"return `{shown}` with its branches swapped"))
            elif isinstance(value, (ast.Compare, ast.BoolOp)):
                continue  # NEG_COND / ROR / LOR cover these
            elif not (isinstance(value, ast.Constant) and value.value is None):
                found.append(ctx.site(self.code, node, ("none", None), f"return `{shown}` -> return None"))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        kind, param = arg
        value = node.value  # type: ignore[attr-defined]
        start, end = ctx.span(value)
        if kind == "name":
            value.id = param
            return [TextEdit(start, end, param)]
        if kind == "const":
            value.value = param
            return [TextEdit(start, end, repr(param))]
        if kind == "left":
            node.value = value.left  # type: ignore[attr-defined]
            text = ctx.text(value.left)
            if isinstance(value.left, ast.Tuple) and ctx.source[ctx.span(value.left)[0]] != "(":
                text = f"({text})"
            return [TextEdit(start, end, text)]
        if kind == "swap":
            first, second = value.elts[0], value.elts[1]
            a, b = ctx.span(first), ctx.span(second)
            value.elts[0], value.elts[1] = second, first
            return [TextEdit(a[0], a[1], ctx.source[b[0] : b[1]]), TextEdit(b[0], b[1], ctx.source[a[0] : a[1]])]
        if kind == "ifexp":
            body, orelse = value.body, value.orelse
            a, b = ctx.span(body), ctx.span(orelse)
            value.body, value.orelse = orelse, body
            return [TextEdit(a[0], a[1], _wrap_ifexp_part(ctx, orelse)), TextEdit(b[0], b[1], _wrap_ifexp_part(ctx, body))]
        if kind == "none":
            node.value = _const(None)  # type: ignore[attr-defined]
            return [TextEdit(start, end, "None")]
        raise MutationError(f"unknown return mutation {kind!r}")


def _wrap_ifexp_part(ctx: ModuleContext, node: ast.AST) -> str:
    text = ctx.text(node)
    return f"({text})" if isinstance(node, (ast.IfExp, ast.Lambda, ast.NamedExpr)) else text


class ChangedDefault(Operator):
    code = "DEFAULT_ARG"
    summary = "changed default argument"

    @staticmethod
    def _defaults(func: ast.AST) -> list[ast.AST]:
        arguments = func.args  # type: ignore[attr-defined]
        return list(arguments.defaults) + [d for d in arguments.kw_defaults if d is not None]

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for func in ctx.nodes:
            if not (isinstance(func, _FUNCS) and ctx.eligible(func)):
                continue
            for default in self._defaults(func):
                if not isinstance(default, ast.Constant):
                    continue
                value = default.value
                options: list[Any] = []
                if isinstance(value, bool):
                    options = [not value]
                elif isinstance(value, int):
                    options = [value + 1] + ([value - 1] if value >= 1 else [])
                elif isinstance(value, float):
                    options = [value * 2 if value else 1.0]
                elif isinstance(value, str):
                    options = [" " if value == "" else (value[:-1] if len(value) > 1 else "")]
                for new in options:
                    found.append(ctx.site(self.code, default, new, f"default {value!r} -> {new!r}"))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        start, end = ctx.span(node)
        node.value = arg  # type: ignore[attr-defined]
        return [TextEdit(start, end, repr(arg))]


def _self_name(ctx: ModuleContext, node: ast.AST) -> Optional[str]:
    func = ctx.function.get(id(node))
    if func is None or id(func) not in ctx.class_of or func.name == "__init__":  # type: ignore[attr-defined]
        return None
    if any(isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod") for d in func.decorator_list):  # type: ignore[attr-defined]
        return None
    positional = func.args.posonlyargs + func.args.args  # type: ignore[attr-defined]
    return positional[0].arg if positional else None


def _self_attribute(target: ast.AST, owner: str) -> Optional[str]:
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == owner:
        return target.attr
    return None


class MissingSelfUpdate(Operator):
    code = "SELF_STATE"
    summary = "missing self. state update"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.nodes:
            if not (isinstance(node, (ast.Assign, ast.AugAssign)) and ctx.eligible(node)):
                continue
            owner = _self_name(ctx, node)
            if owner is None:
                continue
            target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else getattr(node, "target", None)
            if isinstance(node, ast.Assign) and len(node.targets) != 1:
                continue
            attr = _self_attribute(target, owner) if target is not None else None
            if attr is None or ctx.line_span(node) is None:
                continue
            found.append(ctx.site(self.code, node, attr, f"`{owner}.{attr}` is no longer updated (a local `{attr}` is)"))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        if isinstance(node, ast.Assign):
            target = node.targets[0]
            start, end = ctx.span(target)
            node.targets[0] = ast.Name(id=arg, ctx=ast.Store())
            return [TextEdit(start, end, arg)]
        # ``self.n += v`` -> ``n = self.n + v``: the new value is computed and then lost
        assert isinstance(node, ast.AugAssign)
        start, end = ctx.span(node)
        owner = node.target.value.id  # type: ignore[attr-defined]
        value_text = ctx.text(node.value)
        if not isinstance(node.value, _ATOMS):
            value_text = f"({value_text})"
        text = f"{arg} = {owner}.{arg} {_BIN_SYMBOLS[type(node.op)]} {value_text}"
        replacement = ast.Assign(
            targets=[ast.Name(id=arg, ctx=ast.Store())],
            value=ast.BinOp(left=ast.Attribute(value=ast.Name(id=owner, ctx=ast.Load()), attr=arg, ctx=ast.Load()), op=node.op, right=node.value),
            type_comment=None,
        )
        _replace_child(ctx.parent[id(node)], node, replacement)
        return [TextEdit(start, end, text)]


class SwapArguments(Operator):
    code = "ARG_SWAP"
    summary = "swapped arguments"

    _SKIP = {"print", "super", "isinstance", "issubclass", "getattr", "setattr", "hasattr"}

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.nodes:
            if not (isinstance(node, ast.Call) and ctx.eligible(node)) or len(node.args) < 2:
                continue
            if isinstance(node.func, ast.Name) and node.func.id in self._SKIP:
                continue
            if any(isinstance(a, ast.Starred) for a in node.args):
                continue
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
                continue
            name = ctx.text(node.func)
            for i in range(len(node.args) - 1):
                a, b = node.args[i], node.args[i + 1]
                if ast.dump(a) == ast.dump(b):
                    continue
                found.append(ctx.site(self.code, node, i, f"`{name}(...)` arguments {i + 1} and {i + 2} swapped"))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        args = node.args  # type: ignore[attr-defined]
        a, b = args[arg], args[arg + 1]
        sa, sb = ctx.span(a), ctx.span(b)
        args[arg], args[arg + 1] = b, a
        return [TextEdit(sa[0], sa[1], _arg_text(ctx, b)), TextEdit(sb[0], sb[1], _arg_text(ctx, a))]


def _arg_text(ctx: ModuleContext, node: ast.AST) -> str:
    text = ctx.text(node)
    if isinstance(node, ast.GeneratorExp) and not text.startswith("("):
        return f"({text})"
    return text


class LoopExit(Operator):
    code = "LOOP_EXIT"
    summary = "early or late loop exit"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.nodes:
            if not ctx.eligible(node) or ctx.function.get(id(node)) is None:
                continue
            if isinstance(node, ast.Break) and ctx.line_span(node) is not None:
                found.append(ctx.site(self.code, node, "continue", "late exit: `break` -> `continue`"))
                found.append(ctx.site(self.code, node, "remove", "late exit: `break` removed"))
            elif isinstance(node, ast.Continue) and ctx.line_span(node) is not None:
                found.append(ctx.site(self.code, node, "break", "early exit: `continue` -> `break`"))
            elif isinstance(node, _LOOPS):
                for stmt in node.body:
                    if not isinstance(stmt, ast.If) or isinstance(stmt.body[-1], _EXITS):
                        continue
                    last = stmt.body[-1]
                    if last.lineno == stmt.lineno or ctx.line_span(last) is None or isinstance(last, (ast.If, ast.For, ast.While, ast.Try, ast.With)):
                        continue
                    found.append(ctx.site(self.code, stmt, "insert-break", f"early exit: `break` after line {last.end_lineno}"))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        parent = ctx.parent[id(node)]
        if arg == "insert-break":
            last = node.body[-1]  # type: ignore[attr-defined]
            region = ctx.line_span(last)
            if region is None:
                raise MutationError("statement does not own its lines")
            node.body.append(ast.Break())  # type: ignore[attr-defined]
            prefix = "" if ctx.source[region[1] - 1 : region[1]] == "\n" else "\n"
            return [TextEdit(region[1], region[1], f"{prefix}{_indent_of(ctx, last)}break\n")]
        start, end = ctx.span(node)
        if arg == "continue":
            _replace_child(parent, node, ast.Continue())
            return [TextEdit(start, end, "continue")]
        if arg == "break":
            _replace_child(parent, node, ast.Break())
            return [TextEdit(start, end, "break")]
        # remove the break (``pass`` when it was alone in its block)
        body = _body_containing(parent, node)
        region = ctx.line_span(node)
        if region is None:
            raise MutationError("statement does not own its lines")
        if len(body) == 1:
            _replace_child(parent, node, ast.Pass())
            return [TextEdit(start, end, "pass")]
        body.remove(node)
        return [TextEdit(region[0], region[1], "")]


_EXC_SWAPS = {
    "ValueError": "TypeError", "TypeError": "ValueError", "KeyError": "IndexError", "IndexError": "KeyError",
    "LookupError": "ValueError", "ZeroDivisionError": "ValueError", "ArithmeticError": "ValueError",
    "RuntimeError": "ValueError", "OverflowError": "ValueError", "AttributeError": "KeyError",
    "NotImplementedError": "RuntimeError", "StopIteration": "IndexError", "Exception": "ValueError",
}


class ExceptionType(Operator):
    code = "EXC_TYPE"
    summary = "exception type change"

    def _swap(self, ctx: ModuleContext, name: str) -> Optional[str]:
        if name in _EXC_SWAPS:
            return _EXC_SWAPS[name]
        if name in ctx.defined_exceptions:
            base = ctx.defined_exceptions[name]
            return base if base != "Exception" else "ValueError"
        return None

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.nodes:
            if not ctx.eligible(node):
                continue
            target: Optional[ast.AST] = None
            if isinstance(node, ast.Raise) and node.exc is not None:
                target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            elif isinstance(node, ast.ExceptHandler) and node.type is not None:
                target = node.type
            if isinstance(target, ast.Name):
                new = self._swap(ctx, target.id)
                if new is not None:
                    where = "raise" if isinstance(node, ast.Raise) else "except"
                    found.append(ctx.site(self.code, target, new, f"{where} {target.id} -> {new}"))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        start, end = ctx.span(node)
        node.id = arg  # type: ignore[attr-defined]
        return [TextEdit(start, end, arg)]


OPERATORS: dict[str, Operator] = {
    op.code: op
    for op in (
        RelationalOperator(), ArithmeticOperator(), ConstantOffByOne(), RangeOffByOne(), SliceOffByOne(),
        NegateCondition(), LogicalOperator(), WrongVariable(), DeleteStatement(), SwapStatements(), WrongReturn(),
        ChangedDefault(), MissingSelfUpdate(), SwapArguments(), LoopExit(), ExceptionType(),
    )
}
"""Every operator by code, in a fixed order."""


# ------------------------------------------------------------------------------------------------
# Finding and applying
# ------------------------------------------------------------------------------------------------


def find_sites(source: str, operators: Optional[Iterable[str]] = None) -> dict[str, list[Site]]:
    """Every site of every (chosen) operator in ``source``, by operator code, in a stable order."""
    ctx = ModuleContext(source)
    chosen = list(operators) if operators is not None else list(OPERATORS)
    return {code: OPERATORS[code].sites(ctx) for code in chosen}


def splice(source: str, edits: Sequence[TextEdit]) -> str:
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for before, after in zip(ordered, ordered[1:]):
        if after.start < before.end:
            raise MutationError("overlapping edits")
    out, cursor = [], 0
    for edit in ordered:
        out.append(source[cursor : edit.start])
        out.append(edit.text)
        cursor = edit.end
    out.append(source[cursor:])
    return "".join(out)


def apply_sites(source: str, sites: Sequence[Site]) -> str:
    """Apply one or more disjoint sites to ``source``; the result parses to exactly the mutated tree."""
    for i, a in enumerate(sites):
        for b in sites[i + 1 :]:
            if a.overlaps(b):
                raise MutationError(f"sites overlap: {a.note} / {b.note}")
    ctx = ModuleContext(source)
    targets = [ctx.nodes[site.node] for site in sites]
    edits: list[TextEdit] = []
    for site, node in zip(sites, targets):
        edits.extend(OPERATORS[site.op].apply(ctx, node, site.arg))
    mutated = splice(source, edits)
    try:
        tree = ast.parse(mutated)
    except SyntaxError as exc:
        raise MutationError(f"splice does not parse: {exc.msg} (line {exc.lineno})") from None
    if ast.dump(tree) != ast.dump(ctx.tree):
        raise MutationError("splice does not reproduce the mutated tree")
    try:
        compile(tree, "solution.py", "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise MutationError(f"mutant does not compile: {exc.msg}") from None
    return mutated


def normalised_ast_hash(source: str) -> str:
    """Hash of the program's tree (comments, whitespace and docstrings ignored): the dedup key."""
    import hashlib

    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, *_SCOPES)) and isinstance(body, list) and body and _is_docstring(body[0]):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return hashlib.sha256(ast.dump(tree).encode("utf-8")).hexdigest()
