"""Edits that undo the bug families the first set of edits did not cover: swallowed exceptions,
swapped operands, wrong literals, aliasing, missing updates and returns, wrong base cases, wrong
attributes of other objects.

Like every edit, each one is a guess ranked by suspiciousness of its line times a prior; the priors
were set on the ``train`` split of the generated corpus (never on ``validation`` or ``test``).
"""

from __future__ import annotations

import ast
import json

from tracefix.agents.repair.builder import _BuilderBase
from tracefix.pysource import BIN_SYMBOLS

_NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift)
_ATOMIC = (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Subscript, ast.List, ast.Tuple, ast.Dict, ast.Set,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.JoinedStr)
_SEPARATORS = {",": ", ", ", ": ",", ";": "; ", "; ": ";", " ": "", "": " ", "-": "_", "_": "-", ":": ": ",
               ": ": ":", "=": " = ", " = ": "=", "|": " | ", " | ": "|", ".": ",", "\n": " "}
_MUTABLE = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)

PRIORS = {
    "operands": 0.3,
    "separator": 0.3,
    "word_case": 0.2,
    "float_scale": 0.2,
    "unwrap_try": 0.7,
    "reraise": 0.35,
    "narrow_except": 0.35,
    "raise_instead": 0.9,
    "copy": 0.35,
    "rows": 0.6,
    "increment": 0.5,
    "append": 0.35,
    "pass_return": 0.5,
    "final_return": 0.5,
    "empty_base": 0.35,
    "other_attr": 0.3,
}
"""Prior of each kind of edit (how often it is the fix when its line is the buggy one)."""


def _wrapped(text: str, node: ast.AST) -> str:
    return text if isinstance(node, _ATOMIC) else f"({text})"


class _InverseEdits(_BuilderBase):
    """Mutation-inverse edits for the v2 bug families (dispatched from :meth:`_Builder.run`)."""

    def inverse_node(self, node: ast.AST) -> None:
        if isinstance(node, ast.BinOp):
            self.swap_operands(node)
            self.repeated_rows(node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, (str, float)) and not isinstance(node.value, bool):
            self.literal(node)
        elif isinstance(node, ast.Try):
            self.swallowed(node)
        elif isinstance(node, ast.Return):
            self.return_value(node)
        elif isinstance(node, ast.Pass):
            self.lone_pass(node)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            self.other_attribute(node)
        elif isinstance(node, ast.Assign):
            self.copy_on_store(node)
        elif isinstance(node, ast.While):
            self.loop_increment(node)

    # -- swapped operands ----------------------------------------------------------------------------
    def swap_operands(self, node: ast.BinOp) -> None:
        if not isinstance(node.op, _NON_COMMUTATIVE):
            return
        if any(isinstance(o, ast.Constant) and isinstance(o.value, (str, bytes)) for o in (node.left, node.right)):
            return
        left, right = self.p.text(node.left), self.p.text(node.right)
        if left == right:
            return
        text = f"{_wrapped(right, node.right)} {BIN_SYMBOLS[type(node.op)]} {_wrapped(left, node.left)}"
        self.replace(node, text, "OPERANDS", PRIORS["operands"], f"swapped the operands of `{BIN_SYMBOLS[type(node.op)]}`")

    # -- literals --------------------------------------------------------------------------------------
    def literal(self, node: ast.Constant) -> None:
        parent = self.p.parent.get(id(node))
        if isinstance(parent, (ast.JoinedStr, ast.Expr)):
            return
        spelled = self.p.text(node)
        value = node.value
        if isinstance(value, float):
            for new in (value * 10, value / 10):
                self.replace(node, repr(float(f"{new:.12g}")), "LITERAL", PRIORS["float_scale"], f"{value!r} -> {new:.12g}")
            return
        if spelled[:1] not in ("'", '"') or spelled[:3] in ("'" * 3, '"' * 3):
            return
        quote = spelled[0]
        options: list[tuple[str, str]] = []
        if value in _SEPARATORS:
            options.append((_SEPARATORS[value], "separator"))
            if value.endswith(" ") or value.startswith(" "):
                options.append((value.strip(), "separator"))
        elif value[:1].isalpha() and len(value) <= 24 and value.replace("_", "").replace(" ", "").replace("-", "").isalnum():
            first = value[0]
            options.append(((first.lower() if first.isupper() else first.upper()) + value[1:], "word_case"))
        for new, kind in options:
            if new == value:
                continue
            text = json.dumps(new, ensure_ascii=False) if quote == '"' else repr(new)
            self.replace(node, text, "LITERAL", PRIORS[kind], f"{value!r} -> {new!r}")

    # -- swallowed exceptions --------------------------------------------------------------------------
    def swallowed(self, node: ast.Try) -> None:
        if node.orelse or node.finalbody or len(node.handlers) != 1:
            return
        handler = node.handlers[0]
        silent = all(isinstance(s, ast.Pass) for s in handler.body)
        region = self.p.line_span(node)
        if silent and region is not None and all(s.lineno == s.end_lineno for s in node.body):
            indent = self.p.indent(node.lineno)
            inner = "".join(f"{indent}{self.p.line_text(s.lineno).strip()}\n" for s in node.body)
            prior = PRIORS["unwrap_try"] * (1.3 if self.expected_exceptions else 1.0)
            self.add([(region[0], region[1], inner)], "EXC", node.lineno, prior, "removed a `try/except: pass` that hides errors",
                     floor=0.6 if self.expected_exceptions else 0.0)
        if silent and len(handler.body) == 1:
            a, b = self.p.span(handler.body[0])
            self.add([(a, b, "raise")], "EXC", handler.lineno, PRIORS["reraise"], "`pass` -> `raise` in the except clause")
        if isinstance(handler.type, ast.Name) and handler.type.id == "Exception":
            for raised in sorted(self.raised | {"KeyError", "ValueError", "IndexError"}):
                self.replace(handler.type, raised, "EXC", PRIORS["narrow_except"], f"`except Exception` -> `except {raised}`")

    def return_value(self, node: ast.Return) -> None:
        value = node.value
        if value is None or (isinstance(value, ast.Constant) and value.value is None):
            # an error that should surface was turned into ``return None``
            for expected in sorted(self.expected_exceptions):
                self.replace(node, f"raise {expected}()", "EXC", PRIORS["raise_instead"], f"`return None` -> `raise {expected}`", floor=0.8)
            return
        if isinstance(value, ast.List) and not value.elts:
            self.replace(value, "[[]]", "BASE", PRIORS["empty_base"], "`[]` -> `[[]]`")
        elif isinstance(value, ast.List) and len(value.elts) == 1 and isinstance(value.elts[0], ast.List) and not value.elts[0].elts:
            self.replace(value, "[]", "BASE", PRIORS["empty_base"], "`[[]]` -> `[]`")
        if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == "self":
            # an internal list handed out: the caller's changes would reach the object
            self.replace(value, f"list({self.p.text(value)})", "ALIAS", PRIORS["copy"] * 0.7, "return a copy")

    # -- missing returns --------------------------------------------------------------------------------
    def lone_pass(self, node: ast.Pass) -> None:
        """``if cond: pass`` is what a deleted ``return`` leaves: put a ``return`` back."""
        parent = self.p.parent.get(id(node))
        if not isinstance(parent, (ast.If, ast.For, ast.While)) or len(parent.body) != 1 or parent.body[0] is not node:
            return
        info = self.p.function_at(node.lineno)
        if info is None:
            return
        options = ["None"] + sorted(v for v in info.variables if v not in ("self", "cls") and info.bound_at.get(v, 10**9) <= node.lineno)
        prior = PRIORS["pass_return"] * (1.4 if self.got_none else 1.0)
        for option in options[:8]:
            self.replace(node, f"return {option}" if option != "None" else "return", "RETURN", prior, f"`pass` -> `return {option}`")

    def final_returns(self) -> None:
        """A function that falls off its end after computing something, when a test got ``None``."""
        if not self.got_none:
            return
        for info in self.p.functions:
            body = info.node.body  # type: ignore[attr-defined]
            if not body or isinstance(body[-1], (ast.Return, ast.Raise)) or info.name == "__init__":
                continue
            if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(info.node)):
                continue
            last = body[-1]
            end = self.p.line_end(last.end_lineno)
            indent = self.p.indent(body[0].lineno)
            candidates = [v for v in sorted(info.variables) if v not in info.params and v not in ("self", "cls")]
            for name in candidates[:6]:
                self.add([(end, end, f"{indent}return {name}\n")], "RETURN", info.start, PRIORS["final_return"],
                         f"added `return {name}` at the end of {info.name}()", floor=0.4)

    # -- aliasing -----------------------------------------------------------------------------------------
    def repeated_rows(self, node: ast.BinOp) -> None:
        """``[[0] * n] * m`` -> ``[[0] * n for _ in range(m)]``: one row repeated m times."""
        if not isinstance(node.op, ast.Mult) or not isinstance(node.left, ast.List) or len(node.left.elts) != 1:
            return
        element = node.left.elts[0]
        if not (isinstance(element, _MUTABLE) or (isinstance(element, ast.BinOp) and isinstance(element.left, ast.List))
                or (isinstance(element, ast.Call) and isinstance(element.func, ast.Name) and element.func.id in ("list", "dict", "set"))):
            return
        text = f"[{self.p.text(element)} for _ in range({self.p.text(node.right)})]"
        self.replace(node, text, "ALIAS", PRIORS["rows"], "rows built once each instead of one row repeated", floor=0.3)

    def copy_on_store(self, node: ast.Assign) -> None:
        """``x = param`` / ``self.items = items``: keep a copy, not the caller's object."""
        if len(node.targets) != 1 or not isinstance(node.value, (ast.Name, ast.Attribute)):
            return
        info = self.p.function_at(node.lineno)
        if info is None:
            return
        value = node.value
        name = value.id if isinstance(value, ast.Name) else None
        kind = info.kinds.get(name) if name else None
        if name is not None and name not in info.params and kind not in ("list", "dict", "set"):
            return
        if isinstance(value, ast.Attribute) and not (isinstance(value.value, ast.Name) and value.value.id in info.params):
            return
        builder = kind if kind in ("list", "dict", "set") else "list"
        for wrapper in dict.fromkeys([builder, "list", "dict"]):
            self.replace(value, f"{wrapper}({self.p.text(value)})", "ALIAS", PRIORS["copy"], f"a copy: `{wrapper}(...)`")
        self.replace(value, f"{self.p.text(value)}.copy()", "ALIAS", PRIORS["copy"] * 0.9, "a copy: `.copy()`")

    # -- wrong attribute of another object -----------------------------------------------------------------
    def other_attribute(self, node: ast.Attribute) -> None:
        if not isinstance(node.value, ast.Name) or node.value.id in ("self", "cls"):
            return
        parent = self.p.parent.get(id(node))
        if isinstance(parent, ast.Call) and parent.func is node:
            return
        owners = [f.cls for f in self.p.functions if f.cls is not None and node.attr in f.self_attrs]
        if len(set(owners)) != 1:
            return
        cls = owners[0]
        methods = {f.name for f in self.p.functions if f.cls == cls}
        attrs = set().union(*[f.self_attrs for f in self.p.functions if f.cls == cls]) - methods - {node.attr}
        _, end = self.p.span(node)
        for other in sorted(attrs):
            self.add([(end - len(node.attr), end, other)], "ATTR", node.lineno, PRIORS["other_attr"], f"`.{node.attr}` -> `.{other}`")

    # -- missing updates -----------------------------------------------------------------------------------
    def loop_increment(self, node: ast.While) -> None:
        """``while i < n:`` whose body never changes ``i``: the increment is missing."""
        names = {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
        changed = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        info = self.p.function_at(node.lineno)
        if info is None or not node.body:
            return
        last = node.body[-1]
        end = self.p.line_end(last.end_lineno)
        indent = self.p.indent(node.body[0].lineno)
        timed_out = any(f.timed_out for f in self.failures)
        for name in sorted(names - changed):
            if info.kinds.get(name) not in (None, "int", "num") or name not in info.variables:
                continue
            for step in ("+= 1", "-= 1"):
                self.add([(end, end, f"{indent}{name} {step}\n")], "UPDATE", node.lineno,
                         PRIORS["increment"] * (1.5 if timed_out else 1.0), f"added `{name} {step}` to the loop", floor=0.5 if timed_out else 0.0)

    def missing_updates(self) -> None:
        """A counter bound to ``0`` (or a list to ``[]``) and never updated, though read later: put the
        update back at the end of the loop that should make it."""
        for info in self.p.functions:
            stores: dict[str, list[ast.AST]] = {}
            for n in ast.walk(info.node):
                if isinstance(n, ast.Assign):
                    for t in n.targets:
                        if isinstance(t, ast.Name):
                            stores.setdefault(t.id, []).append(n)
                elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
                    stores.setdefault(n.target.id, []).append(n)
            mutated = {n.func.value.id for n in ast.walk(info.node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                       and isinstance(n.func.value, ast.Name)}
            loops = [n for n in ast.walk(info.node) if isinstance(n, (ast.For, ast.While))]
            for name, assigned in stores.items():
                if len(assigned) != 1 or not isinstance(assigned[0], ast.Assign) or name not in info.reads:
                    continue
                value = assigned[0].value
                counter = isinstance(value, ast.Constant) and type(value.value) is int
                collector = isinstance(value, ast.List) and not value.elts and name not in mutated
                if not (counter or collector):
                    continue
                for loop in loops:
                    if loop.lineno <= assigned[0].lineno:
                        continue
                    last = loop.body[-1]
                    end = self.p.line_end(last.end_lineno)
                    indent = self.p.indent(loop.body[0].lineno)
                    if counter:
                        self.add([(end, end, f"{indent}{name} += 1\n")], "UPDATE", loop.lineno, PRIORS["increment"],
                                 f"added `{name} += 1` to the loop")
                    elif isinstance(loop, ast.For) and isinstance(loop.target, ast.Name):
                        self.add([(end, end, f"{indent}{name}.append({loop.target.id})\n")], "UPDATE", loop.lineno,
                                 PRIORS["append"], f"added `{name}.append({loop.target.id})` to the loop")

