"""Edits of whole statements: ``return``, ``self.`` updates, loop exits, exception classes, swaps, deletions."""

from __future__ import annotations

import ast

from tracefix.agents.repair.builder import _BuilderBase
from tracefix.agents.repair.program import FunctionInfo
from tracefix.pysource import BIN_SYMBOLS

_EXC_SWAPS = {
    "ValueError": ["TypeError", "KeyError", "IndexError"], "TypeError": ["ValueError"], "KeyError": ["IndexError", "ValueError"],
    "IndexError": ["KeyError", "ValueError"], "LookupError": ["ValueError"], "ZeroDivisionError": ["ValueError"],
    "RuntimeError": ["ValueError"], "AttributeError": ["KeyError"], "Exception": ["ValueError"],
}


class _StatementEdits(_BuilderBase):
    """Mutation-inverse edits of one statement (dispatched from :meth:`_Builder.run`)."""

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
