"""Mutation operators on conditions and base cases: a clause too few or too many, a missing guard,
a wrong base case.

COND_DROP, COND_ADD, GUARD_DEL (family ``condition-clause``) and BASE_CASE (family ``base-case``);
see :mod:`tracefix.corpus.families`.
"""

from __future__ import annotations

import ast
from typing import Any, Optional

from tracefix.corpus.mutators_base import (
    _EXITS,
    ModuleContext,
    MutationError,
    Operator,
    Site,
    TextEdit,
    delete_statement,
    _const,
    _int_node,
    _int_value,
    _replace_child,
)
from tracefix.pysource import CMP_SYMBOLS

_LOOSE = (ast.BoolOp, ast.IfExp, ast.NamedExpr, ast.Lambda)
"""Expressions that need parentheses to be an operand of ``and`` / ``or``."""


def _operand(ctx: ModuleContext, node: ast.AST) -> str:
    text = ctx.text(node)
    return f"({text})" if isinstance(node, _LOOSE) else text


class DropClause(Operator):
    """``if a and b`` -> ``if a`` (a missing clause: the condition is less specific)."""

    code = "COND_DROP"
    summary = "a clause dropped from a condition"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.in_functions():
            if not isinstance(node, ast.BoolOp):
                continue
            word = "and" if isinstance(node.op, ast.And) else "or"
            for i, value in enumerate(node.values):
                shown = ctx.text(value)
                shown = shown if len(shown) <= 40 else shown[:37] + "..."
                found.append(ctx.site(self.code, node, i, f"dropped `{word} {shown}`" if i else f"dropped `{shown} {word}`"))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        assert isinstance(node, ast.BoolOp)
        start, end = ctx.span(node)
        kept = [v for i, v in enumerate(node.values) if i != arg]
        word = " and " if isinstance(node.op, ast.And) else " or "
        if len(kept) == 1:
            only = kept[0]
            parent = ctx.parent[id(node)]
            text = _operand(ctx, only) if isinstance(parent, (ast.BoolOp, ast.UnaryOp, ast.BinOp, ast.Compare)) else ctx.text(only)
            if isinstance(only, ast.NamedExpr) and not text.startswith("("):
                text = f"({text})"
            _replace_child(parent, node, only)
            return [TextEdit(start, end, text)]
        node.values = kept
        return [TextEdit(start, end, word.join(_operand(ctx, v) for v in kept))]


_CLAUSE_CALLS = {"len", "isinstance", "callable", "hasattr"}


def _clause_ok(clause: ast.AST) -> bool:
    """A side-effect-free clause: comparisons, names, attributes, ``not``, ``len``/``isinstance`` calls."""
    if not isinstance(clause, (ast.Compare, ast.Name, ast.Attribute, ast.UnaryOp)):
        return False
    if isinstance(clause, ast.UnaryOp) and not isinstance(clause.op, ast.Not):
        return False
    for sub in ast.walk(clause):
        if isinstance(sub, ast.Call) and not (isinstance(sub.func, ast.Name) and sub.func.id in _CLAUSE_CALLS):
            return False
        if isinstance(sub, (ast.NamedExpr, ast.Lambda, ast.Await, ast.Yield, ast.YieldFrom, *_COMPREHENSIONS)):
            return False
    return True


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _atoms(test: ast.AST) -> list[ast.AST]:
    if isinstance(test, ast.BoolOp):
        return [a for v in test.values for a in _atoms(v)]
    return [test]


class AddClause(Operator):
    """``if a`` -> ``if a and b`` / ``if a or b``, with ``b`` a clause the same function tests elsewhere
    (an extra clause: the condition is more, or less, specific than it should be).

    The clause is the nearest one (by line) that can change the outcome: inside ``if b:`` the clause
    ``b`` is true, so only ``or b`` is offered; after a guard ``if b: return/raise`` it is false, so
    only ``and b`` is (the other combination would be an equivalent mutant)."""

    code = "COND_ADD"
    summary = "an extra clause in a condition"
    per_test = 1

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        by_function: dict[int, list[ast.AST]] = {}
        tests = list(ctx.condition_tests(functions_only=True))
        for test in tests:
            func = ctx.function[id(test)]
            by_function.setdefault(id(func), []).extend(a for a in _atoms(test) if _clause_ok(a))
        served: set[int] = set()
        for test in tests:
            if isinstance(test, ast.Constant) or not ctx.eligible(test):
                continue
            func = ctx.function[id(test)]
            if id(func) in served:
                continue  # one condition per function: most extra clauses are implied by the context
            info = ctx.function_info(test)
            own = {ast.dump(a) for a in _atoms(test)}
            seen: set[str] = set()
            options = []
            for clause in by_function.get(id(func), []):
                key = ast.dump(clause)
                if key in own or key in seen or clause.lineno == test.lineno:  # type: ignore[attr-defined]
                    continue
                names = {n.id for n in ast.walk(clause) if isinstance(n, ast.Name)}
                if info is None or not all(self._available(ctx, info, name, test) for name in names):
                    continue
                seen.add(key)
                options.append(clause)
            options.sort(key=lambda c: (abs(c.lineno - test.lineno), c.lineno, c.col_offset))  # type: ignore[attr-defined]
            known_true, known_false = self._known_values(ctx, test)
            for clause in options[: self.per_test]:
                text = ctx.text(clause)
                key = ast.dump(clause)
                words = ["or"] if key in known_true else ["and"] if key in known_false else ["and", "or"]
                for word in words:
                    found.append(ctx.site(self.code, test, (text, word), f"`{ctx.text(test)[:40]}` -> `... {word} {text[:40]}`"))
                served.add(id(func))
        return found

    @staticmethod
    def _known_values(ctx: ModuleContext, test: ast.AST) -> tuple[set[str], set[str]]:
        """Clauses known to be true here (tests of enclosing ``if``/``while`` bodies) and known to be
        false (tests of earlier guard clauses that exit), as ``ast.dump`` strings."""
        true: set[str] = set()
        false: set[str] = set()
        child, parent = test, ctx.parent.get(id(test))
        while parent is not None and not isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if isinstance(parent, (ast.If, ast.While)) and any(child is s for s in parent.body):
                true.update(ast.dump(a) for a in _atoms(parent.test) if not isinstance(parent.test, ast.BoolOp) or isinstance(parent.test.op, ast.And))
            for name in ("body", "orelse"):
                block = getattr(parent, name, None)
                if isinstance(block, list) and any(child is s for s in block):
                    for earlier in block[: [i for i, s in enumerate(block) if s is child][0]]:
                        if _is_guard(earlier):
                            test_node = earlier.test  # type: ignore[attr-defined]
                            if not isinstance(test_node, ast.BoolOp) or isinstance(test_node.op, ast.Or):
                                false.update(ast.dump(a) for a in _atoms(test_node))
            child, parent = parent, ctx.parent.get(id(parent))
        return true, false

    @staticmethod
    def _available(ctx: ModuleContext, info: Any, name: str, test: ast.AST) -> bool:
        if name in ("True", "False", "None", "len", "isinstance", "callable", "hasattr", "self", "cls"):
            return True
        if name in info.comprehension_names:
            return False
        if name in info.params or name in info.first_bound:
            return info.bound_before(name, test.lineno)  # type: ignore[attr-defined]
        return any(isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Assign)) and (
            getattr(n, "name", None) == name or any(isinstance(t, ast.Name) and t.id == name for t in getattr(n, "targets", [])))
            for n in ctx.tree.body)

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        text, word = arg
        clause = ast.parse(text.strip(), mode="eval").body
        start, end = ctx.span(node)
        parent = ctx.parent[id(node)]
        combined = ast.BoolOp(op=ast.And() if word == "and" else ast.Or(), values=[node, clause])
        _replace_child(parent, node, combined)
        new_text = f"{_operand(ctx, node)} {word} {text if not isinstance(clause, _LOOSE) else f'({text})'}"
        if isinstance(parent, (ast.BoolOp, ast.UnaryOp)) or (isinstance(parent, ast.comprehension)) or isinstance(parent, ast.IfExp):
            new_text = f"({new_text})"
        return [TextEdit(start, end, new_text)]


def _is_guard(stmt: ast.AST) -> bool:
    return isinstance(stmt, ast.If) and not stmt.orelse and len(stmt.body) <= 3 and isinstance(stmt.body[-1], _EXITS)


class DeleteGuard(Operator):
    """A whole guard clause (``if bad: return/raise/continue/break``) missing."""

    code = "GUARD_DEL"
    summary = "a missing guard clause"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.in_functions():
            if not _is_guard(node):
                continue
            if _raises_lookup_error(node):
                continue  # ``if not items: raise IndexError``: without it the lookup raises the same error
            if ctx.source.startswith("elif", ctx.span(node)[0]):
                continue
            region = ctx.line_span(node)
            if region is None:
                continue
            found.append(ctx.site(self.code, node, None, f"deleted the guard `{ctx.line_text(node.lineno).strip()[:60]}`", region))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        return delete_statement(ctx, node)


def _raises_lookup_error(guard: ast.AST) -> bool:
    last = guard.body[-1]  # type: ignore[attr-defined]
    if not isinstance(last, ast.Raise) or last.exc is None:
        return False
    exc = last.exc.func if isinstance(last.exc, ast.Call) else last.exc
    return isinstance(exc, ast.Name) and exc.id in ("IndexError", "KeyError", "LookupError", "StopIteration")


_STRICTNESS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
_CMP_BY_NAME = {cls.__name__: cls for cls in CMP_SYMBOLS}


class WrongBaseCase(Operator):
    """The base case of a recursion, or the first cells of a DP table, wrong: the guard's bound moved
    (``n <= 1`` -> ``n <= 0`` / ``n < 1``), the value it returns changed (``return 1`` -> ``return 0``,
    ``return [[]]`` -> ``return []``), or ``dp[0] = 1`` -> ``dp[0] = 0``."""

    code = "BASE_CASE"
    summary = "wrong base case"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        cases = ctx.base_cases
        for guard in cases.guards:
            if not ctx.eligible(guard):
                continue
            for compare in (n for n in ast.walk(guard.test) if isinstance(n, ast.Compare)):
                operands = [compare.left, *compare.comparators]
                for i, op in enumerate(compare.ops):
                    if type(op) in _STRICTNESS and ctx.operator_gap(operands[i], operands[i + 1]) is not None:
                        new = _STRICTNESS[type(op)]
                        found.append(ctx.site(self.code, compare, ("op", i, new.__name__),
                                              f"base case `{CMP_SYMBOLS[type(op)]}` -> `{CMP_SYMBOLS[new]}`"))
                for operand in operands:
                    value = _int_value(operand)
                    if value is None:
                        continue
                    for new_value in (value - 1, value + 1):
                        if new_value >= 0 or value < 0:
                            found.append(ctx.site(self.code, operand, ("int", new_value), f"base case bound {value} -> {new_value}"))
            returned = guard.body[-1].value  # type: ignore[attr-defined]
            found.extend(self._value_sites(ctx, returned, "base case returns"))
        for cell in cases.table_cells:
            if ctx.eligible(cell):
                found.extend(self._value_sites(ctx, cell, "table starts at"))
        return found

    def _value_sites(self, ctx: ModuleContext, value: Optional[ast.AST], what: str) -> list[Site]:
        if value is None:
            return []
        number = _int_value(value)
        if isinstance(value, ast.Constant) and isinstance(value.value, bool):
            return [ctx.site(self.code, value, ("bool", not value.value), f"{what} {value.value} -> {not value.value}")]
        if number is not None:
            return [ctx.site(self.code, value, ("int", new), f"{what} {number} -> {new}") for new in (number - 1, number + 1)
                    if new >= 0 or number < 0]
        if isinstance(value, ast.List) and not value.elts:
            return [ctx.site(self.code, value, ("list", "[[]]"), f"{what} [] -> [[]]")]
        if isinstance(value, ast.List) and len(value.elts) == 1 and isinstance(value.elts[0], (ast.List, ast.Tuple)) and not value.elts[0].elts:
            return [ctx.site(self.code, value, ("list", "[]"), f"{what} {ctx.text(value)} -> []")]
        if isinstance(value, ast.Constant) and value.value == "":
            return [ctx.site(self.code, value, ("none", None), f"{what} '' -> None")]
        return []

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        kind = arg[0]
        if kind == "op":
            _, i, name = arg
            assert isinstance(node, ast.Compare)
            operands = [node.left, *node.comparators]
            region = ctx.operator_gap(operands[i], operands[i + 1])
            if region is None:
                raise MutationError("operator not found")
            new = _CMP_BY_NAME[name]
            node.ops[i] = new()
            return [TextEdit(region[0], region[1], CMP_SYMBOLS[new])]
        start, end = ctx.span(node)
        parent = ctx.parent[id(node)]
        if kind == "int":
            new_node = _int_node(arg[1])
            text = str(arg[1])
            if arg[1] < 0 and isinstance(parent, (ast.BinOp, ast.UnaryOp)):
                text = f"({text})"
        elif kind == "bool":
            new_node, text = _const(arg[1]), repr(arg[1])
        elif kind == "list":
            new_node = ast.parse(arg[1], mode="eval").body
            text = arg[1]
        elif kind == "none":
            new_node, text = _const(None), "None"
        else:
            raise MutationError(f"unknown base-case change {kind!r}")
        _replace_child(parent, node, new_node)
        return [TextEdit(start, end, text)]


__all__ = ["AddClause", "DeleteGuard", "DropClause", "WrongBaseCase"]
