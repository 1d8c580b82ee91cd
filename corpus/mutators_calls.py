"""Mutation operators on names, calls and literals: the wrong attribute, the wrong function, swapped
operands, a wrong literal.

ATTR_SWAP (family ``wrong-name``), CALL_SWAP (``wrong-function``), OPERAND_SWAP
(``swapped-arguments``) and LITERAL (``wrong-literal``); see :mod:`tracefix.corpus.families`.
"""

from __future__ import annotations

import ast
import difflib
import json
from typing import Any, Optional

from tracefix.corpus.mutators_base import (
    _FUNCS,
    ModuleContext,
    MutationError,
    Operator,
    Site,
    TextEdit,
    _int_node,
    _int_value,
    _replace_child,
)
from tracefix.pysource import BIN_SYMBOLS, is_docstring


def _kinds_clash(a: Optional[str], b: Optional[str]) -> bool:
    return a is not None and b is not None and a != b


def _truth_test(ctx: ModuleContext, node: ast.AST) -> bool:
    """Is ``node`` used only for its truth value (``if x``, ``not x``, ``x and y``)?"""
    parent = ctx.parent.get(id(node))
    if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not) or isinstance(parent, ast.BoolOp):
        return True
    return isinstance(parent, (ast.If, ast.While, ast.IfExp, ast.Assert)) and parent.test is node


def _in_raise(ctx: ModuleContext, node: ast.AST) -> bool:
    parent = ctx.parent.get(id(node))
    while parent is not None and not isinstance(parent, ast.stmt):
        parent = ctx.parent.get(id(parent))
    return isinstance(parent, ast.Raise)


class WrongAttribute(Operator):
    """``self.head`` -> ``self.tail``, ``node.left`` -> ``node.right``: another attribute of the same class."""

    code = "ATTR_SWAP"
    summary = "wrong attribute"
    per_site = 2

    def sites(self, ctx: ModuleContext) -> list[Site]:
        attributes = ctx.class_attributes
        owners: dict[str, list[str]] = {}
        for cls, attrs in attributes.items():
            for attr in attrs:
                owners.setdefault(attr, []).append(cls)
        found = []
        for node in ctx.nodes:
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and ctx.eligible(node)):
                continue
            func = ctx.function.get(id(node))
            if func is None:
                continue
            parent = ctx.parent.get(id(node))
            if isinstance(parent, ast.Call) and parent.func is node:
                continue  # a method call: CALL_SWAP's
            if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "len":
                continue  # ``len(self.a)`` -> ``len(self.b)``: parallel containers have the same length
            if _truth_test(ctx, node) or _in_raise(ctx, node):
                continue  # ... and the same truth value; an exception's arguments are not what tests check
            if isinstance(node.ctx, ast.Store) and func.name == "__init__":  # type: ignore[attr-defined]
                continue  # the initialisation itself: a missing/renamed field is STMT_DEL's business
            cls = ctx.class_of.get(id(func))
            positional = func.args.posonlyargs + func.args.args  # type: ignore[attr-defined]
            if cls is not None and positional and node.value.id == positional[0].arg:
                pool = attributes.get(cls.name, {})
            elif len(owners.get(node.attr, [])) == 1:
                pool = attributes[owners[node.attr][0]]  # ``node.next`` on an instance of a class in the program
            else:
                continue
            if node.attr not in pool:
                continue
            kind = pool[node.attr]
            others = [a for a in pool if a != node.attr and not _kinds_clash(kind, pool[a])]
            others.sort(key=lambda a: (pool[a] != kind, -difflib.SequenceMatcher(None, a, node.attr).ratio(), a))
            for other in others[: self.per_site]:
                found.append(ctx.site(self.code, node, other, f"`{ctx.text(node)}` -> `{node.value.id}.{other}`"))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        assert isinstance(node, ast.Attribute)
        _, end = ctx.span(node)
        start = end - len(node.attr)
        if ctx.source[start:end] != node.attr:
            raise MutationError("attribute name not found")
        node.attr = arg
        return [TextEdit(start, end, arg)]


_SWAPS: dict[str, tuple[str, ...]] = {
    "min": ("max",), "max": ("min",), "any": ("all",), "all": ("any",), "floor": ("ceil",), "ceil": ("floor",),
    "bisect_left": ("bisect_right",), "bisect_right": ("bisect_left",), "startswith": ("endswith",),
    "endswith": ("startswith",), "lstrip": ("rstrip",), "rstrip": ("lstrip",), "strip": ("rstrip", "lstrip"),
    "lower": ("upper",), "upper": ("lower",), "find": ("rfind",), "rfind": ("find",), "index": ("rindex",),
    "rindex": ("index",), "partition": ("rpartition",), "rpartition": ("partition",), "ljust": ("rjust",),
    "rjust": ("ljust",), "isdigit": ("isalpha",), "isalpha": ("isdigit",), "isalnum": ("isalpha",),
    "isupper": ("islower",), "islower": ("isupper",), "keys": ("values",), "values": ("keys",),
    "appendleft": ("append",), "popleft": ("pop",), "extend": ("append",),
    "union": ("intersection",), "intersection": ("union",), "difference": ("symmetric_difference",),
    "issubset": ("issuperset",), "issuperset": ("issubset",),
    "sorted": ("reversed",), "round": ("int",), "heappop": ("heappush",), "heappush": ("heappop",),
    "title": ("capitalize",), "capitalize": ("title",), "split": ("rsplit",), "rsplit": ("split",),
}
"""Functions people mix up: each one's easily confused partner(s)."""
_NEEDS_ARGS = {"split": 2, "rsplit": 2, "heappop": 1, "heappush": 2}
"""``split``/``rsplit`` differ only with a maxsplit argument; ``heappop``/``heappush`` only where the
argument counts fit."""


def _arity(func: ast.AST) -> tuple[int, int]:
    args = func.args  # type: ignore[attr-defined]
    positional = args.posonlyargs + args.args
    return len(positional) - len(args.defaults), len(positional) if args.vararg is None else 10**6


class WrongFunction(Operator):
    """A call to the wrong function: a confusable builtin or method (``max`` / ``min``, ``rstrip`` /
    ``lstrip``), or another function of the program that takes the same arguments."""

    code = "CALL_SWAP"
    summary = "wrong function called"
    per_site = 2

    def sites(self, ctx: ModuleContext) -> list[Site]:
        top_level = {f.name: f for f in ctx.tree.body if isinstance(f, _FUNCS)}
        methods: dict[str, dict[str, ast.AST]] = {}
        for cls in (n for n in ctx.tree.body if isinstance(n, ast.ClassDef)):
            methods[cls.name] = {m.name: m for m in cls.body if isinstance(m, _FUNCS)}
        found = []
        for node in ctx.in_functions():
            if not isinstance(node, ast.Call):
                continue
            if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
                continue
            target = node.func
            name = target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) else None
            if name is None:
                continue
            enclosing = ctx.function[id(node)]
            options: list[str] = []
            used = not isinstance(ctx.parent.get(id(node)), ast.Expr)  # a result thrown away: a check, an update
            if not used and (name in top_level or isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                             and target.value.id in ("self", "cls")):
                pass  # another function called for its effect alone would mostly do nothing visible
            elif isinstance(target, ast.Name) and name in top_level:
                options = self._siblings(top_level, name, len(node.args), enclosing)
            elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in ("self", "cls"):
                cls = ctx.class_of.get(id(enclosing))
                if cls is not None and name in methods.get(cls.name, {}):
                    siblings = {k: v for k, v in methods[cls.name].items() if not k.startswith("__")}
                    options = self._siblings(siblings, name, len(node.args) + 1, enclosing)
            if not options and name in _SWAPS and not (isinstance(target, ast.Name) and (name in top_level or self._shadowed(ctx, node, name))):
                if len(node.args) + len(node.keywords) >= _NEEDS_ARGS.get(name, 0):
                    options = list(_SWAPS[name])
            for other in options[: self.per_site]:
                found.append(ctx.site(self.code, node.func, other, f"`{name}(...)` -> `{other}(...)`"))
        return found

    @staticmethod
    def _shadowed(ctx: ModuleContext, node: ast.AST, name: str) -> bool:
        info = ctx.function_info(node)
        return info is not None and (name in info.params or name in info.first_bound)

    @staticmethod
    def _siblings(functions: dict[str, ast.AST], name: str, given: int, enclosing: ast.AST) -> list[str]:
        options = []
        for other, func in functions.items():
            if other == name or func is enclosing:
                continue
            low, high = _arity(func)
            if low <= given <= high:
                options.append(other)
        options.sort(key=lambda o: (-difflib.SequenceMatcher(None, o, name).ratio(), o))
        return options

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        if isinstance(node, ast.Name):
            start, end = ctx.span(node)
            node.id = arg
            return [TextEdit(start, end, arg)]
        assert isinstance(node, ast.Attribute)
        _, end = ctx.span(node)
        start = end - len(node.attr)
        if ctx.source[start:end] != node.attr:
            raise MutationError("method name not found")
        node.attr = arg
        return [TextEdit(start, end, arg)]


_NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift)
_ATOMIC = (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Subscript, ast.List, ast.Tuple, ast.Dict, ast.Set,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.JoinedStr)


def _wrapped(ctx: ModuleContext, node: ast.AST) -> str:
    text = ctx.text(node)
    return text if isinstance(node, _ATOMIC) else f"({text})"


class SwapOperands(Operator):
    """``a - b`` -> ``b - a`` (any non-commutative operator), ``grid[r][c]`` -> ``grid[c][r]``."""

    code = "OPERAND_SWAP"
    summary = "swapped operands"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.in_functions():
            if isinstance(node, ast.BinOp) and isinstance(node.op, _NON_COMMUTATIVE):
                if any(isinstance(o, ast.Constant) and isinstance(o.value, (str, bytes)) for o in (node.left, node.right)):
                    continue
                if isinstance(node.left, ast.JoinedStr) or ast.dump(node.left) == ast.dump(node.right):
                    continue
                if not isinstance(node.op, (ast.Sub, ast.Div)) and any(isinstance(o, ast.Constant) for o in (node.left, node.right)):
                    continue  # ``2 // n`` for ``n // 2`` is not a slip anyone makes; ``1 - x`` for ``x - 1`` is
                symbol = BIN_SYMBOLS[type(node.op)]
                found.append(ctx.site(self.code, node, "binop", f"`{ctx.text(node)[:40]}` -> operands of `{symbol}` swapped"))
            elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Subscript) and isinstance(node.ctx, ast.Load):
                inner = node.value
                if isinstance(node.slice, ast.Slice) or isinstance(inner.slice, ast.Slice):
                    continue
                if isinstance(node.slice, ast.Tuple) or isinstance(inner.slice, ast.Tuple):
                    continue
                if ast.dump(node.slice) == ast.dump(inner.slice):
                    continue
                found.append(ctx.site(self.code, node, "index", f"`[{ctx.text(inner.slice)}][{ctx.text(node.slice)}]` swapped"))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        if arg == "binop":
            assert isinstance(node, ast.BinOp)
            start, end = ctx.span(node)
            left, right = node.left, node.right
            text = f"{_wrapped(ctx, right)} {BIN_SYMBOLS[type(node.op)]} {_wrapped(ctx, left)}"
            node.left, node.right = right, left  # same operator, so the node binds as before
            return [TextEdit(start, end, text)]
        assert isinstance(node, ast.Subscript) and isinstance(node.value, ast.Subscript)
        inner = node.value
        a, b = ctx.span(inner.slice), ctx.span(node.slice)
        ta, tb = ctx.text(inner.slice), ctx.text(node.slice)
        inner.slice, node.slice = node.slice, inner.slice
        return [TextEdit(a[0], a[1], tb), TextEdit(b[0], b[1], ta)]


_SEPARATORS = {",": ", ", ", ": ",", ";": "; ", "; ": ";", " ": "", "": " ", "-": "_", "_": "-", ":": ": ",
               ": ": ":", "=": " = ", " = ": "=", "|": " | ", " | ": "|", ".": ",", "/": "\\", "\n": " ", "\t": " "}


def _string_change(value: str) -> Optional[str]:
    """A separator with a space too many or too few (``", "`` -> ``","``), or a word with its first
    letter's case flipped (``"total"`` -> ``"Total"``); ``None`` for anything else."""
    if value in _SEPARATORS:
        return _SEPARATORS[value]
    if len(value) > 24 or not value[:1].isalpha():
        return None
    if not value.replace("_", "").replace(" ", "").replace("-", "").isalnum():
        return None
    first = value[0]
    return (first.lower() if first.isupper() else first.upper()) + value[1:]


def _literal_context(ctx: ModuleContext, node: ast.AST, numeric: bool) -> bool:
    """Where a literal is a *value* (an initialisation, an argument, an element, a returned or compared
    constant), not a bound or an offset (CONST_OBO's) nor an index (SLICE_OBO's)."""
    parent = ctx.parent.get(id(node))
    if isinstance(parent, ast.UnaryOp):
        parent = ctx.parent.get(id(parent))
    if isinstance(parent, (ast.BinOp, ast.AugAssign, ast.Slice, ast.arguments)):
        return False
    if isinstance(parent, ast.Subscript):
        return False
    if isinstance(parent, ast.Compare) and numeric:
        return False  # the boundary of a comparison: CONST_OBO's
    if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id in ("range", "round", "print"):
        return False
    if isinstance(parent, (ast.While, ast.If)) and parent.test is node:
        return False
    return True


def _spelled_like(original: str, value: Any) -> str:
    """``value`` written the way the original literal was (a string keeps its quote character)."""
    if isinstance(value, str) and original.startswith('"'):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


class WrongLiteral(Operator):
    """A wrong value written down: a flipped boolean, an integer ±1 where it is an initial value or an
    argument, a float off by a factor of ten, a separator with a space too many or too few, a word
    with its first letter's case flipped."""

    code = "LITERAL"
    summary = "wrong literal"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.in_functions():
            if not isinstance(node, ast.Constant):
                continue
            value = node.value
            if ctx.in_base_case(node) or not _literal_context(ctx, node, isinstance(value, (int, float))):
                continue
            parent = ctx.parent.get(id(node))
            if isinstance(value, bool):
                if isinstance(parent, ast.Return):
                    continue  # RET's
                found.append(ctx.site(self.code, node, ("value", not value), f"{value} -> {not value}"))
            elif isinstance(value, int):
                negated = isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub)
                target = parent if negated else node
                number = _int_value(target)
                assert number is not None
                for new in (number + 1, number - 1):
                    if new < 0 <= number:
                        continue
                    found.append(ctx.site(self.code, target, ("int", new), f"{number} -> {new}"))
            elif isinstance(value, float):
                new_float = float(f"{value * 10 if abs(value) < 1 else value / 10:.12g}")
                if value != 0.0:
                    found.append(ctx.site(self.code, node, ("value", new_float), f"{value!r} -> {new_float!r}"))
            elif isinstance(value, str):
                if isinstance(parent, ast.Expr) or is_docstring(parent) or self._message(ctx, node):
                    continue
                spelled = ctx.text(node)
                if spelled[:1] not in ("'", '"') or spelled[:3] in ("'" * 3, '"' * 3):
                    continue  # prefixed (r"...") or triple-quoted: leave its spelling alone
                new_text = _string_change(value)
                if new_text is not None and new_text != value:
                    found.append(ctx.site(self.code, node, ("value", new_text), f"{value!r} -> {new_text!r}"))
        return found

    @staticmethod
    def _message(ctx: ModuleContext, node: ast.AST) -> bool:
        """The text of an exception (``raise ValueError("...")``): tests check the type, not the words;
        or a codec name (``"utf-8"`` as ``encode``/``decode``/``open`` argument), which ignores case."""
        parent = ctx.parent.get(id(node))
        grand = ctx.parent.get(id(parent)) if parent is not None else None
        if isinstance(parent, ast.Call) and isinstance(grand, ast.Raise):
            return True
        if isinstance(parent, ast.keyword) and parent.arg in ("encoding", "errors"):
            return True
        func = parent.func if isinstance(parent, ast.Call) else None
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        return name in ("encode", "decode", "open", "bytes", "str")

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        kind, new = arg
        start, end = ctx.span(node)
        if kind == "int":
            new_node = _int_node(new)
            _replace_child(ctx.parent[id(node)], node, new_node)
            return [TextEdit(start, end, str(new))]
        assert isinstance(node, ast.Constant)
        spelled = ctx.text(node)
        node.value = new
        return [TextEdit(start, end, _spelled_like(spelled, new))]


__all__ = ["SwapOperands", "WrongAttribute", "WrongFunction", "WrongLiteral"]
