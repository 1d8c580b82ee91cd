"""AST mutation operators: each one finds *sites* in a correct program and turns one site into a bug.

Mutations are found and described on the ``ast`` of the program; the new source is produced by
splicing the changed node's text into the original at the node's exact position (so comments,
docstrings and formatting elsewhere survive), and then checked: the spliced program must parse to
exactly the mutated tree (``ast.dump`` equal) and compile.  A splice that does not reproduce the
intended tree is rejected (:class:`MutationError`), never written out.

Sites are plain picklable data (:class:`Site`): the operator code, the index of the target node in
``ast.walk`` order, and the operator's argument (the new operator, name, value, ...).  Applying the
same sites to the same source therefore always yields the same program, in any process.

Operators (``mutation:<CODE>`` in a generated task's tags):

==============  =================================================================================
ROR             relational operator swap (``<`` / ``<=`` / ``>`` / ``>=``, ``==`` / ``!=``, ``in``, ``is``)
AOR             arithmetic operator swap (``+`` / ``-``, ``*``, ``/`` / ``//``, ``%``, shifts, bit ops; also ``+=``)
CONST_OBO       off-by-one in an integer constant
RANGE_OBO       off-by-one in a ``range()`` bound
SLICE_OBO       off-by-one in a slice bound or an integer index
NEG_COND        boolean negation of a condition (``if``, ``while``, conditional expression, comprehension filter)
LOR             ``and`` / ``or`` swap
VAR_SWAP        wrong variable of the same (inferred) type in scope
STMT_DEL        deleted statement (assignment, call, update, or a whole guard clause)
STMT_SWAP       two adjacent statements swapped
RET             wrong return value
DEFAULT_ARG     changed default argument
SELF_STATE      missing ``self.`` in a state update (the method updates a local instead)
ARG_SWAP        two positional arguments of a call swapped
LOOP_EXIT       early or late loop exit (``break`` added, removed, or swapped with ``continue``)
EXC_TYPE        exception type changed in a ``raise`` or an ``except`` clause
==============  =================================================================================

Layout: :mod:`.mutators_base` (sites, edits, :class:`ModuleContext`, the :class:`Operator` base class),
:mod:`.mutators_expressions` (ROR ... VAR_SWAP), :mod:`.mutators_statements` (STMT_DEL ... EXC_TYPE);
this module holds the registry (:data:`OPERATORS`) and finding / applying sites, and re-exports the
public names.
"""

from __future__ import annotations

import ast
from typing import Iterable, Optional, Sequence

from tracefix.corpus.mutators_base import (  # noqa: F401  (re-exported)
    _SCOPES, FunctionInfo, ModuleContext, MutationError, Operator, Site, TextEdit, expr_kind,
)
from tracefix.corpus.mutators_expressions import (  # noqa: F401  (re-exported)
    ArithmeticOperator,
    ConstantOffByOne,
    LogicalOperator,
    NegateCondition,
    RangeOffByOne,
    RelationalOperator,
    SliceOffByOne,
    WrongVariable,
)
from tracefix.corpus.mutators_statements import (  # noqa: F401  (re-exported)
    ChangedDefault,
    DeleteStatement,
    ExceptionType,
    LoopExit,
    MissingSelfUpdate,
    SwapArguments,
    SwapStatements,
    WrongReturn,
)
from tracefix.pysource import is_docstring, splice as _splice

OPERATORS: dict[str, Operator] = {
    op.code: op
    for op in (
        RelationalOperator(), ArithmeticOperator(), ConstantOffByOne(), RangeOffByOne(), SliceOffByOne(),
        NegateCondition(), LogicalOperator(), WrongVariable(), DeleteStatement(), SwapStatements(), WrongReturn(),
        ChangedDefault(), MissingSelfUpdate(), SwapArguments(), LoopExit(), ExceptionType(),
    )
}
"""Every operator by code, in a fixed order."""


# ------------------------------------------------------------------------------------------------
# Finding and applying
# ------------------------------------------------------------------------------------------------


def find_sites(source: str, operators: Optional[Iterable[str]] = None) -> dict[str, list[Site]]:
    """Every site of every (chosen) operator in ``source``, by operator code, in a stable order."""
    ctx = ModuleContext(source)
    chosen = list(operators) if operators is not None else list(OPERATORS)
    return {code: OPERATORS[code].sites(ctx) for code in chosen}


def splice(source: str, edits: Sequence[TextEdit]) -> str:
    spliced = _splice(source, [(e.start, e.end, e.text) for e in edits])
    if spliced is None:
        raise MutationError("overlapping edits")
    return spliced


def apply_sites(source: str, sites: Sequence[Site]) -> str:
    """Apply one or more disjoint sites to ``source``; the result parses to exactly the mutated tree."""
    for i, a in enumerate(sites):
        for b in sites[i + 1 :]:
            if a.overlaps(b):
                raise MutationError(f"sites overlap: {a.note} / {b.note}")
    ctx = ModuleContext(source)
    targets = [ctx.nodes[site.node] for site in sites]
    edits: list[TextEdit] = []
    for site, node in zip(sites, targets):
        edits.extend(OPERATORS[site.op].apply(ctx, node, site.arg))
    mutated = splice(source, edits)
    try:
        tree = ast.parse(mutated)
    except SyntaxError as exc:
        raise MutationError(f"splice does not parse: {exc.msg} (line {exc.lineno})") from None
    if ast.dump(tree) != ast.dump(ctx.tree):
        raise MutationError("splice does not reproduce the mutated tree")
    try:
        compile(tree, "solution.py", "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise MutationError(f"mutant does not compile: {exc.msg}") from None
    return mutated


def normalised_ast_hash(source: str) -> str:
    """Hash of the program's tree (comments, whitespace and docstrings ignored): the dedup key."""
    import hashlib

    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, *_SCOPES)) and isinstance(body, list) and body and is_docstring(body[0]):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return hashlib.sha256(ast.dump(tree).encode("utf-8")).hexdigest()


__all__ = [
    "ArithmeticOperator",
    "ChangedDefault",
    "ConstantOffByOne",
    "DeleteStatement",
    "ExceptionType",
    "FunctionInfo",
    "LogicalOperator",
    "LoopExit",
    "MissingSelfUpdate",
    "ModuleContext",
    "MutationError",
    "NegateCondition",
    "OPERATORS",
    "Operator",
    "RangeOffByOne",
    "RelationalOperator",
    "Site",
    "SliceOffByOne",
    "SwapArguments",
    "SwapStatements",
    "TextEdit",
    "WrongReturn",
    "WrongVariable",
    "apply_sites",
    "expr_kind",
    "find_sites",
    "normalised_ast_hash",
    "splice",
]
