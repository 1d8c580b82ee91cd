"""Mutation operators on expressions: operator swaps, off-by-ones, negations, wrong variables.

ROR, AOR, CONST_OBO, RANGE_OBO, SLICE_OBO, NEG_COND, LOR, VAR_SWAP (see :mod:`tracefix.corpus.mutators`).
"""

from __future__ import annotations

import ast
from typing import Any, Iterator, Optional

from tracefix.corpus.mutators_base import (
    FunctionInfo,
    ModuleContext,
    MutationError,
    Operator,
    Site,
    TextEdit,
    _const,
    _int_node,
    _int_value,
    _replace_child,
    _shifted,
)
from tracefix.pysource import BIN_SYMBOLS, CMP_SYMBOLS


_CMP_SWAPS = {
    ast.Lt: (ast.LtE, ast.Gt), ast.LtE: (ast.Lt, ast.GtE), ast.Gt: (ast.GtE, ast.Lt), ast.GtE: (ast.Gt, ast.LtE),
    ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,), ast.In: (ast.NotIn,), ast.NotIn: (ast.In,),
    ast.Is: (ast.IsNot,), ast.IsNot: (ast.Is,),
}
_CMP_BY_NAME = {cls.__name__: cls for cls in CMP_SYMBOLS}


class RelationalOperator(Operator):
    code = "ROR"
    summary = "relational operator swap"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.nodes:
            if not isinstance(node, ast.Compare) or not ctx.eligible(node) or ctx.in_base_case(node):
                continue  # (a base case's bound is BASE_CASE's)
            operands = [node.left, *node.comparators]
            for i, op in enumerate(node.ops):
                region = ctx.operator_gap(operands[i], operands[i + 1])
                if region is None:
                    continue
                for new in _CMP_SWAPS[type(op)]:
                    found.append(ctx.site(self.code, node, (i, new.__name__), f"{CMP_SYMBOLS[type(op)]} -> {CMP_SYMBOLS[new]}", region))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        i, name = arg
        operands = [node.left, *node.comparators]
        region = ctx.operator_gap(operands[i], operands[i + 1])
        if region is None:
            raise MutationError("operator not found")
        new = _CMP_BY_NAME[name]
        node.ops[i] = new()
        return [TextEdit(region[0], region[1], CMP_SYMBOLS[new])]


_BIN_SWAPS = {
    ast.Add: (ast.Sub,), ast.Sub: (ast.Add,), ast.Mult: (ast.Add, ast.FloorDiv), ast.Div: (ast.FloorDiv, ast.Mult),
    ast.FloorDiv: (ast.Div, ast.Mod), ast.Mod: (ast.FloorDiv,), ast.Pow: (ast.Mult,),
    ast.LShift: (ast.RShift,), ast.RShift: (ast.LShift,), ast.BitAnd: (ast.BitOr,), ast.BitOr: (ast.BitAnd,),
    ast.BitXor: (ast.BitOr,),
}
_BIN_BY_NAME = {cls.__name__: cls for cls in BIN_SYMBOLS}
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
                region = ctx.operator_gap(node.left, node.right)
                if region is None:
                    continue
                for new in _BIN_SWAPS[type(node.op)]:
                    found.append(ctx.site(self.code, node, new.__name__, f"{BIN_SYMBOLS[type(node.op)]} -> {BIN_SYMBOLS[new]}", region))
            elif isinstance(node, ast.AugAssign) and type(node.op) in _BIN_SWAPS and not _stringy(node.value):
                region = ctx.operator_gap(node.target, node.value)
                if region is None:
                    continue
                for new in _BIN_SWAPS[type(node.op)]:
                    old_symbol = BIN_SYMBOLS[type(node.op)] + "="
                    found.append(ctx.site(self.code, node, new.__name__, f"{old_symbol} -> {BIN_SYMBOLS[new]}=", region))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        new = _BIN_BY_NAME[arg]
        if isinstance(node, ast.AugAssign):
            region = ctx.operator_gap(node.target, node.value)
            text = BIN_SYMBOLS[new] + "="
        else:
            region = ctx.operator_gap(node.left, node.right)  # type: ignore[attr-defined]
            text = BIN_SYMBOLS[new]
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
    summary = "off-by-one in an integer bound or offset (a comparison or arithmetic constant)"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.nodes:
            if not (isinstance(node, ast.Constant) and type(node.value) is int and ctx.eligible(node)) or ctx.in_base_case(node):
                continue
            parent = ctx.parent.get(id(node))
            negated = isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub)
            holder = ctx.parent.get(id(parent)) if negated else parent
            if not isinstance(holder, (ast.Compare, ast.BinOp, ast.AugAssign)):
                continue  # a bound or an offset; elsewhere an integer is a value (LITERAL's), an index
                # (SLICE_OBO's), a range() bound (RANGE_OBO's) or a default (DEFAULT_ARG's)
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
                    if value is not None and (value == 0 and delta == -1 or value == -1 and delta == 1):
                        continue  # ``x[0]`` <-> ``x[-1]`` (first <-> last) is not an off-by-one
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


class NegateCondition(Operator):
    code = "NEG_COND"
    summary = "boolean negation of a condition"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for test in ctx.condition_tests(asserts=True):
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
            region = ctx.operator_gap(left, right)
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


def _inside_raise(ctx: ModuleContext, node: ast.AST) -> bool:
    parent = ctx.parent.get(id(node))
    while parent is not None and not isinstance(parent, ast.stmt):
        parent = ctx.parent.get(id(parent))
    return isinstance(parent, ast.Raise)


class WrongVariable(Operator):
    code = "VAR_SWAP"
    summary = "wrong variable of the same type in scope"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node, info in _load_names(ctx):
            parent = ctx.parent.get(id(node))
            if isinstance(parent, ast.Return):
                continue  # RET's
            if _inside_raise(ctx, node):
                continue  # an exception's arguments are not what tests check
            siblings = {n.id for n in ast.walk(parent) if isinstance(n, ast.Name)} if isinstance(parent, (ast.Subscript, ast.BinOp, ast.Compare, ast.Call)) else set()
            for other in [o for o in _alternatives(info, node.id, node.lineno) if o not in siblings][:3]:
                found.append(ctx.site(self.code, node, other, f"`{node.id}` -> `{other}`"))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        start, end = ctx.span(node)
        node.id = arg  # type: ignore[attr-defined]
        return [TextEdit(start, end, arg)]
