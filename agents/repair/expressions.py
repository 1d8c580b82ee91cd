"""Edits inside expressions: operators, constants, bounds and indices, names, attributes, calls."""

from __future__ import annotations

import ast
import re
from typing import Optional

from tracefix.agents.repair.builder import _BuilderBase
from tracefix.agents.repair.program import FunctionInfo, _compatible
from tracefix.pysource import BIN_SYMBOLS, CMP_SYMBOLS

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
    "find": ("rfind", 0.4), "rfind": ("find", 0.4), "index": ("rindex", 0.3), "rindex": ("index", 0.3),
    "partition": ("rpartition", 0.4), "rpartition": ("partition", 0.4), "ljust": ("rjust", 0.4), "rjust": ("ljust", 0.4),
    "keys": ("values", 0.3), "values": ("keys", 0.3), "issubset": ("issuperset", 0.4), "issuperset": ("issubset", 0.4),
    "union": ("intersection", 0.3), "intersection": ("union", 0.3), "title": ("capitalize", 0.3), "capitalize": ("title", 0.3),
    "rsplit": ("split", 0.3), "isupper": ("islower", 0.3), "islower": ("isupper", 0.3), "isalnum": ("isalpha", 0.2),
    "appendleft": ("append", 0.3), "reversed": ("sorted", 0.2), "int": ("round", 0.1), "round": ("int", 0.2),
}


def _wrap(text: str, node: ast.AST) -> str:
    return text if isinstance(node, (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Subscript)) else f"({text})"


def f_required(info: FunctionInfo) -> list[str]:
    args = info.node.args  # type: ignore[attr-defined]
    positional = [a.arg for a in args.posonlyargs + args.args]
    return positional[: len(positional) - len(args.defaults)]


class _ExpressionEdits(_BuilderBase):
    """Mutation-inverse edits of one expression node (dispatched from :meth:`_Builder.run`)."""

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
