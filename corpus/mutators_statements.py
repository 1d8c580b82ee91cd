"""Mutation operators on statements and definitions: deleted / swapped statements, wrong returns,
defaults, missing ``self.``, swapped arguments, loop exits, exception types.

STMT_DEL, STMT_SWAP, RET, DEFAULT_ARG, SELF_STATE, ARG_SWAP, LOOP_EXIT, EXC_TYPE (see
:mod:`tracefix.corpus.mutators`).
"""

from __future__ import annotations

import ast
from typing import Any, Iterator, Optional

from tracefix.corpus.mutators_base import (
    ModuleContext,
    MutationError,
    Operator,
    Site,
    TextEdit,
    _ATOMS,
    _EXITS,
    _FUNCS,
    _LOOPS,
    _body_containing,
    delete_statement,
    _index_in,
    _replace_child,
)
from tracefix.corpus.mutators_expressions import _alternatives, _stringy
from tracefix.corpus.effects import depends, summaries
from tracefix.corpus.mutators_state import is_update
from tracefix.pysource import BIN_SYMBOLS


def _deletable(ctx: ModuleContext, stmt: ast.AST) -> bool:
    """A statement whose absence is a *missing line*: an assignment, an annotated assignment or a call
    that is not an update (UPDATE_DEL's) and not a guard clause (GUARD_DEL's)."""
    if is_update(ctx, stmt):
        return False
    if isinstance(stmt, ast.Assign):
        return True
    if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        return True
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)


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


class DeleteStatement(Operator):
    code = "STMT_DEL"
    summary = "deleted statement"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for _, block in _statement_blocks(ctx):
            for stmt in block:
                if not (_deletable(ctx, stmt) and ctx.eligible(stmt)):
                    continue
                region = ctx.line_span(stmt)
                if region is None:
                    continue
                first_line = ctx.line_text(stmt.lineno).strip()  # type: ignore[attr-defined]
                found.append(ctx.site(self.code, stmt, None, f"deleted `{first_line[:60]}`", region))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        return delete_statement(ctx, node)


_UNSWAPPABLE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Global,
                ast.Nonlocal, ast.Return, ast.Raise, ast.Break, ast.Continue, ast.Pass)


class SwapStatements(Operator):
    code = "STMT_SWAP"
    summary = "two adjacent statements swapped"

    @staticmethod
    def _class_name(ctx: ModuleContext, node: ast.AST) -> Optional[str]:
        func = ctx.function.get(id(node))
        cls = ctx.class_of.get(id(func)) if func is not None else None
        return cls.name if cls is not None else None

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        known = summaries(ctx.tree)
        for _, block in _statement_blocks(ctx):
            for first, second in zip(block, block[1:]):
                if isinstance(first, _UNSWAPPABLE) or isinstance(second, _UNSWAPPABLE):
                    continue
                if not (ctx.eligible(first) and ctx.eligible(second)):
                    continue
                func = ctx.function.get(id(first))
                constructor = func is not None and getattr(func, "name", "") == "__init__"
                if ast.dump(first) == ast.dump(second) or not depends(first, second, known, self._class_name(ctx, first), constructor):
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
            if ctx.in_base_case(node.value):
                continue  # BASE_CASE's
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
            # comparisons and and/or are NEG_COND / ROR / LOR's; a value not returned at all is RETURN_DEL's
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
        text = f"{arg} = {owner}.{arg} {BIN_SYMBOLS[type(node.op)]} {value_text}"
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

    _SKIP = {"print", "super", "isinstance", "issubclass", "getattr", "setattr", "hasattr", "min", "max", "gcd", "lcm", "hypot"}
    """Builtins whose swapped arguments mean nothing, or the same (commutative)."""

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
        for node in ctx.in_functions():
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
            return [TextEdit(region[1], region[1], f"{prefix}{ctx.indent(last.lineno)}break\n")]
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
