"""What every mutation operator works with: sites and edits, the analysed module, tree surgery.

:class:`ModuleContext` is the parsed program (positions come from :class:`tracefix.pysource.SourceIndex`,
shared with the ``search`` agent), with node order, parents, scopes and a per-function analysis
(:class:`FunctionInfo`: parameters, locals, their coarse kinds).  :class:`Operator` is the base class of
the operators in :mod:`.mutators_expressions` and :mod:`.mutators_statements`; the registry and the
splicing driver are in :mod:`tracefix.corpus.mutators`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterator, Optional

from tracefix.pysource import FUNCTION_NODES, SourceIndex, display_kind, is_docstring


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

_FUNCS = FUNCTION_NODES
_SCOPES = (*FUNCTION_NODES, ast.ClassDef)
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
    display = display_kind(node)
    if display is not None:
        return display
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


class ModuleContext(SourceIndex):
    """A parsed program with everything the operators need: positions (:class:`~tracefix.pysource.SourceIndex`),
    node order, parents, scopes, functions."""

    def __init__(self, source: str) -> None:
        super().__init__(source)
        self.tree = ast.parse(source)
        self.nodes: list[ast.AST] = list(ast.walk(self.tree))
        self.index: dict[int, int] = {id(node): i for i, node in enumerate(self.nodes)}
        self.parent: dict[int, ast.AST] = {}
        self.scope: dict[int, str] = {}
        self.function: dict[int, Optional[ast.AST]] = {}
        self.excluded: set[int] = set()
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
                if name == "body" and isinstance(value, list) and child is value[0] and is_docstring(child):
                    child_excluded = True
                self._walk(child, node, scope, func, child_excluded)

    # -- queries ------------------------------------------------------------------------------------
    def eligible(self, node: ast.AST) -> bool:
        return id(node) not in self.excluded and hasattr(node, "lineno")

    def in_functions(self) -> Iterator[ast.AST]:
        """The eligible nodes that lie inside a function, in walk order (the sites most operators consider)."""
        return (node for node in self.nodes if self.eligible(node) and self.function.get(id(node)) is not None)

    def condition_tests(self, *, asserts: bool = False, functions_only: bool = False) -> Iterator[ast.AST]:
        """The tests of eligible ``if`` / ``while`` / conditional expressions (and ``assert`` statements
        with ``asserts``) and the filters of comprehensions, optionally only inside functions."""
        kinds = (ast.If, ast.While, ast.IfExp, ast.Assert) if asserts else (ast.If, ast.While, ast.IfExp)
        for node in self.nodes:
            if functions_only and self.function.get(id(node)) is None:
                continue
            if isinstance(node, kinds) and self.eligible(node):
                yield node.test  # type: ignore[attr-defined]
            elif isinstance(node, ast.comprehension) and self.eligible(node.iter):
                yield from node.ifs

    def function_info(self, node: ast.AST) -> Optional[FunctionInfo]:
        func = self.function.get(id(node))
        if func is None:
            return None
        info = self._functions.get(id(func))
        if info is None:
            info = self._functions[id(func)] = _analyse_function(func)
        return info

    # -- whole-module analyses (computed on first use) ---------------------------------------------
    @cached_property
    def functions(self) -> list[ast.AST]:
        return [node for node in self.nodes if isinstance(node, _FUNCS)]

    def is_method(self, func: ast.AST) -> bool:
        return id(func) in self.class_of

    @cached_property
    def recursive_functions(self) -> set[int]:
        """``id`` of every function that calls itself (``f(...)``, or ``self.f(...)`` in a method)."""
        found = set()
        for func in self.functions:
            if recursive_calls(func, self.is_method(func)):
                found.add(id(func))
        return found

    @cached_property
    def base_cases(self) -> "BaseCases":
        return find_base_cases(self)

    def in_base_case(self, node: ast.AST) -> bool:
        """Is ``node`` part of a base case (its guard, its returned value, a DP table's first cells)?
        Those sites belong to the ``BASE_CASE`` operator, not to the generic ones."""
        return id(node) in self.base_cases.nodes

    @cached_property
    def class_attributes(self) -> dict[str, dict[str, Optional[str]]]:
        """Class name -> {attribute assigned as ``self.attr = ...`` in its methods: coarse kind}."""
        result: dict[str, dict[str, Optional[str]]] = {}
        for node in self.tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            kinds: dict[str, list[Optional[str]]] = {}
            methods = {m.name for m in node.body if isinstance(m, _FUNCS)}
            for method in (m for m in node.body if isinstance(m, _FUNCS)):
                positional = method.args.posonlyargs + method.args.args
                if not positional:
                    continue
                owner = positional[0].arg
                for sub in ast.walk(method):
                    targets: list[ast.AST] = []
                    value: Optional[ast.AST] = None
                    if isinstance(sub, ast.Assign):
                        targets, value = list(sub.targets), sub.value
                    elif isinstance(sub, (ast.AnnAssign, ast.AugAssign)):
                        targets, value = [sub.target], sub.value
                    for target in targets:
                        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == owner:
                            if target.attr not in methods:
                                kinds.setdefault(target.attr, []).append(expr_kind(value))
            result[node.name] = {name: _merge(values) for name, values in sorted(kinds.items())}
        return result

    @cached_property
    def scope_links(self) -> dict[str, set[str]]:
        """Scope -> the scopes it calls or is called by, and its sibling methods: where a bug in one
        function shows up through another (used to place interacting bugs)."""
        by_name: dict[str, list[str]] = {}
        method_scope: dict[tuple[str, str], str] = {}
        for func in self.functions:
            scope = self.scope_name(func)
            if self.is_method(func):
                method_scope[(self.class_of[id(func)].name, func.name)] = scope  # type: ignore[attr-defined]
            elif self.function.get(id(func)) is None:
                by_name.setdefault(func.name, []).append(scope)  # type: ignore[attr-defined]
        links: dict[str, set[str]] = {}

        def link(a: str, b: str) -> None:
            if a != b:
                links.setdefault(a, set()).add(b)
                links.setdefault(b, set()).add(a)

        for func in self.functions:
            scope = self.scope_name(func)
            cls = self.class_of.get(id(func))
            for call in (n for n in ast.walk(func) if isinstance(n, ast.Call)):
                target = call.func
                if isinstance(target, ast.Name):
                    for other in by_name.get(target.id, []):
                        link(scope, other)
                    for (cls_name, name), other in method_scope.items():
                        if cls_name == target.id and name == "__init__":
                            link(scope, other)
                elif isinstance(target, ast.Attribute) and cls is not None and isinstance(target.value, ast.Name) and target.value.id in ("self", "cls"):
                    other = method_scope.get((cls.name, target.attr))
                    if other is not None:
                        link(scope, other)
            if cls is not None:
                for (cls_name, _), other in method_scope.items():
                    if cls_name == cls.name:
                        link(scope, other)
        return links

    def scope_name(self, func: ast.AST) -> str:
        """The qualified name sites use for code inside ``func`` (``Class.method``, ``function``)."""
        outer = self.scope[id(func)]
        return func.name if outer == "<module>" else f"{outer}.{func.name}"  # type: ignore[attr-defined]

    def site(self, op: str, node: ast.AST, arg: Any, note: str, region: Optional[tuple[int, int]] = None) -> Site:
        start, end = region or self.span(node)
        line = node.lineno  # type: ignore[attr-defined]
        return Site(op, self.index[id(node)], arg, line, start, end, self.scope[id(node)], f"line {line}: {note}")


# ------------------------------------------------------------------------------------------------
# Recursion and base cases
# ------------------------------------------------------------------------------------------------


def _own_nodes(func: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``func``'s body, not descending into nested functions, classes or lambdas."""
    stack = list(ast.iter_child_nodes(func))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (*_SCOPES, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def recursive_calls(func: ast.AST, method: bool) -> list[ast.Call]:
    name = func.name  # type: ignore[attr-defined]
    calls = []
    for node in _own_nodes(func):
        if not isinstance(node, ast.Call):
            continue
        target = node.func
        if not method and isinstance(target, ast.Name) and target.id == name:
            calls.append(node)
        elif method and isinstance(target, ast.Attribute) and target.attr == name and isinstance(target.value, ast.Name) and target.value.id in ("self", "cls"):
            calls.append(node)
    return calls


@dataclass
class BaseCases:
    guards: list[ast.If] = field(default_factory=list)
    """``if``s before the first recursive call of a recursive function whose body ends in ``return``."""
    table_cells: list[ast.AST] = field(default_factory=list)
    """Literal first values of a dynamic-programming table: ``dp[0] = 1``, ``dp[0][0] = 0``, the ``1``
    of ``ways = [1] + [0] * n``, the values of ``memo = {0: 0, 1: 1}``."""
    nodes: set[int] = field(default_factory=set)
    """``id`` of every node of the guards' tests, of their returned values and of the cells' values."""


def _constant_index(node: ast.AST) -> bool:
    """``name[0]``, ``name[1][0]``: subscripts by integer constants only."""
    if not isinstance(node, ast.Subscript):
        return False
    if _int_value(node.slice) is None:
        return False
    return isinstance(node.value, ast.Name) or _constant_index(node.value)


def find_base_cases(ctx: "ModuleContext") -> BaseCases:
    found = BaseCases()
    for func in ctx.functions:
        if id(func) not in ctx.recursive_functions:
            continue
        body = func.body  # type: ignore[attr-defined]
        calls = recursive_calls(func, ctx.is_method(func))
        for stmt in body:
            if is_docstring(stmt):
                continue
            if not isinstance(stmt, ast.If):
                if any(call in calls for call in ast.walk(stmt)):
                    break
                continue
            branch: Optional[ast.If] = stmt
            while branch is not None:
                if branch.body and isinstance(branch.body[-1], ast.Return) and not any(c in calls for c in ast.walk(branch.test)):
                    if not any(c in calls for b in branch.body for c in ast.walk(b)):
                        found.guards.append(branch)
                orelse = branch.orelse
                branch = orelse[0] if len(orelse) == 1 and isinstance(orelse[0], ast.If) else None
            if any(call in calls for call in ast.walk(stmt)):
                break
    for node in ctx.nodes:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1) or ctx.function.get(id(node)) is None:
            continue
        value = node.value
        if _constant_index(node.targets[0]) and _literal_number(value):
            found.table_cells.append(value)
        elif isinstance(node.targets[0], ast.Name):
            if (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add) and isinstance(value.left, ast.List)
                    and isinstance(value.right, ast.BinOp) and isinstance(value.right.op, ast.Mult)):
                found.table_cells.extend(e for e in value.left.elts if _literal_number(e))  # [1] + [0] * n
            elif isinstance(value, ast.Dict) and value.keys and all(k is not None and _int_value(k) is not None for k in value.keys):
                found.table_cells.extend(v for v in value.values if _literal_number(v))  # {0: 0, 1: 1}
    for guard in found.guards:
        found.nodes.update(id(n) for n in ast.walk(guard.test))
        value = guard.body[-1].value  # type: ignore[attr-defined]
        if value is not None:
            found.nodes.update(id(n) for n in ast.walk(value))
    for cell in found.table_cells:
        found.nodes.update(id(n) for n in ast.walk(cell))
    return found


def _literal_number(node: ast.AST) -> bool:
    return _int_value(node) is not None or (isinstance(node, ast.Constant) and isinstance(node.value, bool))


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


def delete_statement(ctx: "ModuleContext", node: ast.AST) -> list[TextEdit]:
    """Delete statement ``node`` (its whole lines) from the tree and the text; an emptied block gets ``pass``."""
    region = ctx.line_span(node)
    if region is None:
        raise MutationError("statement does not own its lines")
    body = _body_containing(ctx.parent[id(node)], node)
    body.remove(node)
    if not body:
        body.append(ast.Pass())
        return [TextEdit(region[0], region[1], f"{ctx.indent(node.lineno)}pass\n")]  # type: ignore[attr-defined]
    return [TextEdit(region[0], region[1], "")]


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
