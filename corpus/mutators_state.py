"""Mutation operators on state and control flow: a missing update or return, aliasing, a mutable
default, a swallowed exception.

UPDATE_DEL (family ``missing-update``), RETURN_DEL (``missing-return``), ALIAS (``aliasing``),
MUT_DEFAULT (``mutable-default``) and EXC_SWALLOW (``swallowed-exception``); see
:mod:`tracefix.corpus.families`.
"""

from __future__ import annotations

import ast
from typing import Any, Optional

from tracefix.corpus.effects import MUTATING_FUNCTIONS, MUTATING_METHODS
from tracefix.corpus.mutators_base import (
    _FUNCS,
    ModuleContext,
    MutationError,
    Operator,
    Site,
    TextEdit,
    _body_containing,
    delete_statement,
    _index_in,
    _replace_child,
)

_HEAP_CALLS = MUTATING_FUNCTIONS


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def is_update(ctx: ModuleContext, stmt: ast.AST) -> bool:
    """A statement that changes existing state: ``i += 1``, ``x = x + ...``, ``node = node.next``,
    ``self.size = ...`` (outside ``__init__``), ``d[k] = v``, ``items.append(x)``, ``del d[k]``."""
    func = ctx.function.get(id(stmt))
    if isinstance(stmt, ast.AugAssign):
        return True
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0]
        if isinstance(target, ast.Name):
            return target.id in _names(stmt.value)
        if isinstance(target, ast.Attribute):
            return func is not None and func.name != "__init__"  # type: ignore[attr-defined]
        if isinstance(target, ast.Subscript):
            return True
        return False
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        call = stmt.value.func
        if isinstance(call, ast.Attribute) and call.attr in MUTATING_METHODS:
            return True
        return isinstance(call, (ast.Name, ast.Attribute)) and (call.id if isinstance(call, ast.Name) else call.attr) in _HEAP_CALLS
    if isinstance(stmt, ast.Delete):
        return all(isinstance(t, ast.Subscript) for t in stmt.targets)
    return False


class DeleteUpdate(Operator):
    """A missing increment or update: ``i += 1``, ``total = total + x``, ``self.size -= 1``,
    ``seen.add(x)``, ``counts[k] = n`` deleted."""

    code = "UPDATE_DEL"
    summary = "missing increment or update"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.in_functions():
            if not isinstance(node, ast.stmt):
                continue
            if not is_update(ctx, node) or ctx.line_span(node) is None:
                continue
            found.append(ctx.site(self.code, node, None, f"deleted `{ctx.line_text(node.lineno).strip()[:60]}`", ctx.line_span(node)))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        return delete_statement(ctx, node)


class MissingReturn(Operator):
    """``return helper(x)`` -> ``helper(x)``, or a ``return value`` missing: the function gives None
    (or falls through to code that was not meant to run)."""

    code = "RETURN_DEL"
    summary = "missing return"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        guards = {id(g.body[-1]) for g in ctx.base_cases.guards}
        found = []
        for node in ctx.nodes:
            if not (isinstance(node, ast.Return) and node.value is not None and ctx.eligible(node)):
                continue
            if isinstance(node.value, ast.Constant) and node.value.value is None or id(node) in guards:
                continue
            if ctx.function.get(id(node)) is None or ctx.line_span(node) is None:
                continue
            if isinstance(node.value, ast.Call):
                found.append(ctx.site(self.code, node, "call", f"`return {ctx.text(node.value)[:40]}` -> the call without `return`"))
            else:
                found.append(ctx.site(self.code, node, "delete", f"deleted `return {ctx.text(node.value)[:40]}`", ctx.line_span(node)))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        assert isinstance(node, ast.Return) and node.value is not None
        if arg == "delete":
            return delete_statement(ctx, node)
        start, end = ctx.span(node)
        value = node.value
        text = ctx.text(value)
        expression = ast.Expr(value=value)
        _replace_child(ctx.parent[id(node)], node, expression)
        return [TextEdit(start, end, text)]


_COPY_BUILDERS = {"list", "dict", "set"}
_READERS = {"sorted", "len", "sum", "min", "max", "any", "all", "tuple", "frozenset", "enumerate", "zip", "iter", "reversed", "print", "str", "repr"}
_MUTABLE_BUILDERS = {"list", "dict", "set", "deque", "defaultdict", "Counter", "OrderedDict", "bytearray"}


def _copied(node: ast.AST) -> Optional[ast.AST]:
    """The object ``node`` copies (``list(x)``, ``dict(x)``, ``x.copy()``, ``x[:]``, ``copy(x)``), else None."""
    if isinstance(node, ast.Call) and not node.keywords:
        func = node.func
        if isinstance(func, ast.Name) and func.id in _COPY_BUILDERS | {"copy", "deepcopy"} and len(node.args) == 1:
            return node.args[0]
        if isinstance(func, ast.Attribute) and func.attr in ("copy", "deepcopy") and len(node.args) == 1 and \
                isinstance(func.value, ast.Name) and func.value.id == "copy":
            return node.args[0]
        if isinstance(func, ast.Attribute) and func.attr == "copy" and not node.args:
            return func.value
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice) and isinstance(node.ctx, ast.Load):
        s = node.slice
        if s.lower is None and s.upper is None and s.step is None:
            return node.value
    return None


def _mutable_value(node: ast.AST) -> bool:
    """An expression that makes a new mutable object: ``[]``, ``{}``, ``set()``, ``[0] * n``, ``deque()``..."""
    if isinstance(node, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return isinstance(node.left, ast.List) or isinstance(node.right, ast.List)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _MUTABLE_BUILDERS:
        return True
    return False


def _empty_mutable(node: ast.AST) -> bool:
    if isinstance(node, (ast.List, ast.Set)) and not node.elts:
        return True
    if isinstance(node, ast.Dict) and not node.keys:
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _MUTABLE_BUILDERS and not node.keywords and (
        not node.args or node.func.id == "defaultdict" and len(node.args) == 1 and isinstance(node.args[0], ast.Name))


class Aliasing(Operator):
    """Two names for one mutable object: a copy dropped (``list(items)`` -> ``items``, ``row[:]`` ->
    ``row``), a deep copy made shallow (``[r[:] for r in grid]`` -> ``list(grid)``), or rows built
    by repetition (``[[0] * n for _ in range(m)]`` -> ``[[0] * n] * m``)."""

    code = "ALIAS"
    summary = "aliasing / shallow copy"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for node in ctx.in_functions():
            source = _copied(node)
            if source is not None and isinstance(source, (ast.Name, ast.Attribute, ast.Subscript)):
                info = ctx.function_info(node)
                kind = info.kind(source.id) if isinstance(source, ast.Name) and info is not None else None
                builder = node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else None
                if kind in ("str", "int", "float", "tuple") or (builder in _COPY_BUILDERS and kind not in (None, builder)):
                    continue  # a conversion (``list(text)``, ``set(items)``), not a copy
                if (builder == "set" and kind != "set") or self._consumed(ctx, node):
                    continue
                found.append(ctx.site(self.code, node, "drop-copy", f"`{ctx.text(node)[:40]}` -> `{ctx.text(source)[:40]}` (no copy)"))
            if isinstance(node, ast.ListComp) and len(node.generators) == 1:
                generator = node.generators[0]
                if generator.ifs or generator.is_async or not isinstance(generator.target, ast.Name):
                    continue
                target = generator.target.id
                inner = _copied(node.elt)
                if inner is not None and isinstance(inner, ast.Name) and inner.id == target:
                    found.append(ctx.site(self.code, node, "shallow", f"`{ctx.text(node)[:40]}` -> `list({ctx.text(generator.iter)[:30]})` (rows shared)"))
                elif (_mutable_value(node.elt) and target not in {n.id for n in ast.walk(node.elt) if isinstance(n, ast.Name)}
                      and isinstance(generator.iter, ast.Call) and isinstance(generator.iter.func, ast.Name)
                      and generator.iter.func.id == "range" and len(generator.iter.args) == 1 and not generator.iter.keywords):
                    found.append(ctx.site(self.code, node, "repeat", f"`{ctx.text(node)[:40]}` -> `[...] * n` (one object repeated)"))
        return found

    @staticmethod
    def _consumed(ctx: ModuleContext, node: ast.AST) -> bool:
        """A copy handed straight to a function that only reads it (``sorted(list(x))``): not aliasing."""
        parent = ctx.parent.get(id(node))
        return isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id in _READERS

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        start, end = ctx.span(node)
        parent = ctx.parent[id(node)]
        if arg == "drop-copy":
            source = _copied(node)
            assert source is not None
            _replace_child(parent, node, source)
            return [TextEdit(start, end, ctx.text(source))]
        assert isinstance(node, ast.ListComp)
        generator = node.generators[0]
        if arg == "shallow":
            call = ast.Call(func=ast.Name(id="list", ctx=ast.Load()), args=[generator.iter], keywords=[])
            _replace_child(parent, node, call)
            return [TextEdit(start, end, f"list({ctx.text(generator.iter)})")]
        count = generator.iter.args[0]  # type: ignore[attr-defined]
        count_text = ctx.text(count)
        if not isinstance(count, (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Subscript)):
            count_text = f"({count_text})"
        repeated = ast.BinOp(left=ast.List(elts=[node.elt], ctx=ast.Load()), op=ast.Mult(), right=count)
        _replace_child(parent, node, repeated)
        text = f"[{ctx.text(node.elt)}] * {count_text}"
        if isinstance(parent, (ast.BinOp, ast.UnaryOp, ast.Attribute, ast.Subscript, ast.Call)) and not isinstance(parent, ast.Call):
            text = f"({text})"
        return [TextEdit(start, end, text)]


def _mutated_in_place(func: ast.AST, name: str, owner: Optional[str] = None) -> bool:
    """Is ``name`` (or ``owner.name``) changed in place in ``func``: ``name.append(...)``, ``name[k] = v``,
    ``name += [...]``?"""

    def matches(node: ast.AST) -> bool:
        if owner is None:
            return isinstance(node, ast.Name) and node.id == name
        return isinstance(node, ast.Attribute) and node.attr == name and isinstance(node.value, ast.Name) and node.value.id == owner

    for node in ast.walk(func):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATING_METHODS and matches(node.func.value):
            return True
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript) and matches(target.value):
                    return True
                if isinstance(node, ast.AugAssign) and matches(target):
                    return True
    return False


_TRY_TEMPLATE = "try:\n    pass\nexcept Exception:\n    pass\n"


class MutableDefault(Operator):
    """One mutable object shared across calls or instances: a ``None`` default made a literal
    (``def f(x, acc=None): if acc is None: acc = []`` -> ``def f(x, acc=[])``), a local accumulator
    turned into a default (``def f(x): seen = set()`` -> ``def f(x, seen=set())``), or an instance
    attribute turned into a class attribute (``self.items = []`` in ``__init__`` -> ``items = []`` in
    the class body)."""

    code = "MUT_DEFAULT"
    summary = "mutable default / shared mutable state"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        found = []
        for func in ctx.functions:
            if not ctx.eligible(func):
                continue
            args = func.args  # type: ignore[attr-defined]
            positional = args.posonlyargs + args.args
            defaults = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]], args.defaults))
            for stmt in func.body:  # type: ignore[attr-defined]
                guard = self._none_guard(stmt, defaults)
                if guard is not None and ctx.line_span(stmt) is not None:
                    default = defaults[guard]
                    region = (ctx.span(default)[0], ctx.line_span(stmt)[1])  # type: ignore[index]
                    found.append(ctx.site(self.code, stmt, ("none-guard", guard), f"`{guard}=None` -> `{guard}={ctx.text(stmt.body[0].value)}`", region))  # type: ignore[attr-defined]
            if args.vararg is None and args.kwarg is None and not args.kwonlyargs and not args.posonlyargs:
                params = {a.arg for a in positional}
                for stmt in func.body:  # type: ignore[attr-defined]
                    if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                            and stmt.targets[0].id not in params and _empty_mutable(stmt.value) and ctx.line_span(stmt) is not None
                            and stmt.lineno == stmt.end_lineno and _mutated_in_place(func, stmt.targets[0].id)):
                        where = self._insertion_point(ctx, func)
                        if where is not None:
                            name = stmt.targets[0].id
                            region = (where[0], ctx.line_span(stmt)[1])  # type: ignore[index]
                            found.append(ctx.site(self.code, stmt, ("local", name), f"local `{name} = {ctx.text(stmt.value)}` -> default argument", region))
            cls = ctx.class_of.get(id(func))
            if cls is not None and func.name == "__init__" and not func.decorator_list and positional:  # type: ignore[attr-defined]
                owner = positional[0].arg
                class_names = {t.id for s in cls.body if isinstance(s, ast.Assign) for t in s.targets if isinstance(t, ast.Name)}
                for stmt in func.body:  # type: ignore[attr-defined]
                    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and _empty_mutable(stmt.value)):
                        continue
                    target = stmt.targets[0]
                    if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == owner):
                        continue
                    if target.attr in class_names or ctx.line_span(stmt) is None or stmt.lineno != stmt.end_lineno:
                        continue
                    if not any(_mutated_in_place(m, target.attr, owner) for m in cls.body if isinstance(m, _FUNCS)):
                        continue
                    region = (ctx.line_start(func.lineno), ctx.line_span(stmt)[1])  # type: ignore[index,attr-defined]
                    found.append(ctx.site(self.code, stmt, ("class-attr", target.attr), f"`{owner}.{target.attr} = {ctx.text(stmt.value)}` -> a class attribute", region))
        return found

    @staticmethod
    def _none_guard(stmt: ast.AST, defaults: dict[str, ast.AST]) -> Optional[str]:
        if not (isinstance(stmt, ast.If) and not stmt.orelse and len(stmt.body) == 1 and isinstance(stmt.test, ast.Compare)):
            return None
        test = stmt.test
        if not (isinstance(test.left, ast.Name) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Is)):
            return None
        if not (isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None):
            return None
        name = test.left.id
        default = defaults.get(name)
        assign = stmt.body[0]
        if not (isinstance(default, ast.Constant) and default.value is None):
            return None
        if not (isinstance(assign, ast.Assign) and len(assign.targets) == 1 and isinstance(assign.targets[0], ast.Name)
                and assign.targets[0].id == name and _mutable_value(assign.value)):
            return None
        return name

    @staticmethod
    def _insertion_point(ctx: ModuleContext, func: ast.AST) -> Optional[tuple[int, str]]:
        """Where a new last parameter goes, and the separator before it."""
        args = func.args  # type: ignore[attr-defined]
        ends = [ctx.span(a)[1] for a in args.args] + [ctx.span(d)[1] for d in args.defaults]
        if ends:
            return max(ends), ", "
        start = ctx.span(func)[0]
        opening = ctx.source.find("(", start)
        if opening < 0 or ctx.source[opening + 1 : opening + 2] != ")":
            return None
        return opening + 1, ""

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        kind, name = arg
        func = ctx.function[id(node)]
        assert func is not None
        args = func.args  # type: ignore[attr-defined]
        region = ctx.line_span(node)
        if region is None:
            raise MutationError("statement does not own its lines")
        if kind == "none-guard":
            positional = args.posonlyargs + args.args
            index = [a.arg for a in positional[len(positional) - len(args.defaults):]].index(name)
            default = args.defaults[index]
            value = node.body[0].value  # type: ignore[attr-defined]
            start, end = ctx.span(default)
            args.defaults[index] = value
            func.body.remove(node)  # type: ignore[attr-defined]
            return [TextEdit(start, end, ctx.text(value)), TextEdit(region[0], region[1], "")]
        if kind == "local":
            where = self._insertion_point(ctx, func)
            if where is None:
                raise MutationError("no place for a new parameter")
            value = node.value  # type: ignore[attr-defined]
            args.args.append(ast.arg(arg=name, annotation=None, type_comment=None))
            args.defaults.append(value)
            func.body.remove(node)  # type: ignore[attr-defined]
            if not func.body:  # type: ignore[attr-defined]
                raise MutationError("the function would be empty")
            return [TextEdit(where[0], where[0], f"{where[1]}{name}={ctx.text(value)}"), TextEdit(region[0], region[1], "")]
        if kind == "class-attr":
            cls = ctx.class_of[id(func)]
            value = node.value  # type: ignore[attr-defined]
            func.body.remove(node)  # type: ignore[attr-defined]
            edits = [TextEdit(region[0], region[1], "" if func.body else f"{ctx.indent(node.lineno)}pass\n")]  # type: ignore[attr-defined]
            if not func.body:  # type: ignore[attr-defined]
                func.body.append(ast.Pass())  # type: ignore[attr-defined]
            position = _index_in(cls.body, func)
            cls.body.insert(position, ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=value, type_comment=None))
            at = ctx.line_start(func.lineno)  # type: ignore[attr-defined]
            return [TextEdit(at, at, f"{ctx.indent(func.lineno)}{name} = {ctx.text(value)}\n")] + edits  # type: ignore[attr-defined]
        raise MutationError(f"unknown mutable-default change {kind!r}")


_SPECIFIC = {"ValueError", "KeyError", "IndexError", "TypeError", "ZeroDivisionError", "AttributeError", "LookupError"}
_RISKY_CALLS = {"int", "float", "next", "Decimal", "Fraction", "complex"}


def _in_handler(ctx: ModuleContext, node: ast.AST) -> bool:
    parent = ctx.parent.get(id(node))
    while parent is not None and not isinstance(parent, (*_FUNCS, ast.ClassDef)):
        if isinstance(parent, ast.ExceptHandler):
            return True
        parent = ctx.parent.get(id(parent))
    return False


def _in_try_body(ctx: ModuleContext, node: ast.AST) -> bool:
    child, parent = node, ctx.parent.get(id(node))
    while parent is not None and not isinstance(parent, (*_FUNCS, ast.ClassDef)):
        if isinstance(parent, ast.Try) and any(child is s for s in parent.body):
            return True
        child, parent = parent, ctx.parent.get(id(parent))
    return False


class SwallowedException(Operator):
    """An error that should surface is swallowed: a handler's ``raise`` replaced by ``pass``, a
    ``raise`` replaced by ``return None``, a risky statement wrapped in ``try: ... except Exception:
    pass``, or a specific ``except`` made ``except Exception``."""

    code = "EXC_SWALLOW"
    summary = "swallowed exception"

    def sites(self, ctx: ModuleContext) -> list[Site]:
        # functions of the program that raise: a call to one of them is where an error can come from
        defined = {f.name for f in ctx.functions if any(isinstance(n, ast.Raise) for n in ast.walk(f))}  # type: ignore[attr-defined]
        found = []
        for node in ctx.in_functions():
            if isinstance(node, ast.Raise) and node.exc is not None and ctx.line_span(node) is not None:
                if _in_handler(ctx, node):
                    found.append(ctx.site(self.code, node, "handler-pass", f"`{ctx.text(node)[:50]}` in an except clause -> `pass`"))
                else:
                    found.append(ctx.site(self.code, node, "raise-return", f"`{ctx.text(node)[:50]}` -> `return None`"))
            elif isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Name) and node.type.id in _SPECIFIC:
                if not any(isinstance(n, ast.Raise) for n in ast.walk(node)):
                    found.append(ctx.site(self.code, node.type, "broad", f"`except {node.type.id}` -> `except Exception`"))
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr)) and node.lineno == node.end_lineno:
                if ctx.line_span(node) is None or _in_try_body(ctx, node) or _in_handler(ctx, node):
                    continue
                if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Call):
                    continue
                calls = [n.func for n in ast.walk(node) if isinstance(n, ast.Call)]
                risky = any(
                    (isinstance(f, ast.Name) and (f.id in _RISKY_CALLS or f.id in defined))
                    or (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "self" and f.attr in defined)
                    for f in calls
                )
                if risky:
                    found.append(ctx.site(self.code, node, "wrap", f"`{ctx.line_text(node.lineno).strip()[:50]}` wrapped in `try/except Exception: pass`", ctx.line_span(node)))
        return found

    def apply(self, ctx: ModuleContext, node: ast.AST, arg: Any) -> list[TextEdit]:
        if arg == "broad":
            start, end = ctx.span(node)
            node.id = "Exception"  # type: ignore[attr-defined]
            return [TextEdit(start, end, "Exception")]
        parent = ctx.parent[id(node)]
        if arg == "handler-pass":
            body = _body_containing(parent, node)
            if len(body) == 1:
                start, end = ctx.span(node)
                _replace_child(parent, node, ast.Pass())
                return [TextEdit(start, end, "pass")]
            return delete_statement(ctx, node)
        if arg == "raise-return":
            start, end = ctx.span(node)
            _replace_child(parent, node, ast.Return(value=ast.Constant(value=None)))
            return [TextEdit(start, end, "return None")]
        if arg == "wrap":
            region = ctx.line_span(node)
            if region is None:
                raise MutationError("statement does not own its lines")
            indent = ctx.indent(node.lineno)  # type: ignore[attr-defined]
            wrapper = ast.parse(_TRY_TEMPLATE).body[0]
            assert isinstance(wrapper, ast.Try)
            wrapper.body = [node]  # type: ignore[list-item]
            _replace_child(parent, node, wrapper)
            line = ctx.source[region[0] : region[1]]
            if not line.endswith("\n"):
                line += "\n"
            text = f"{indent}try:\n    {line}{indent}except Exception:\n{indent}    pass\n"
            return [TextEdit(region[0], region[1], text)]
        raise MutationError(f"unknown swallowed-exception change {arg!r}")


__all__ = ["Aliasing", "DeleteUpdate", "MissingReturn", "MutableDefault", "SwallowedException", "is_update", "MUTATING_METHODS"]
