"""Whole-program fixes: mutable defaults, state shared across calls or instances, aliasing, guards."""

from __future__ import annotations

import ast
from typing import Optional

from tracefix.agents.repair.builder import _BuilderBase
from tracefix.agents.repair.program import _FUNCS, _docstring_offset

_MUTABLE_LITERALS = (ast.List, ast.Dict, ast.Set)


def _mutable_binding(stmt: ast.stmt) -> Optional[str]:
    """The name in ``name = <mutable literal>`` (a candidate for shared state), else ``None``."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        if _is_mutable_literal(stmt.value):
            return stmt.targets[0].id
    return None


def _is_mutable_literal(node: Optional[ast.AST]) -> bool:
    if isinstance(node, _MUTABLE_LITERALS):
        return True
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("list", "dict", "set", "defaultdict", "deque")
        and not node.keywords and len(node.args) <= 1
    )


class _StructuralEdits(_BuilderBase):
    """Fixes found by looking at the whole program (and at the tracebacks), run once per program."""

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
                name = _mutable_binding(stmt)
                if name is None:
                    continue
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
            name = _mutable_binding(stmt)
            if name is None:
                continue
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
