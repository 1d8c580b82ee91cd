"""AST mutation operators: each one finds *sites* in a correct program and turns one site into a bug.

Mutations are found and described on the ``ast`` of the program; the new source is produced by
splicing the changed node's text into the original at the node's exact position (so comments,
docstrings and formatting elsewhere survive), and then checked: the spliced program must parse to
exactly the mutated tree (``ast.dump`` equal) and compile.  A splice that does not reproduce the
intended tree is rejected (:class:`MutationError`), never written out.

Sites are plain picklable data (:class:`Site`): the operator code, the index of the target node in
``ast.walk`` order, and the operator's argument (the new operator, name, value, ...).  Applying the
same sites to the same source therefore always yields the same program, in any process.

Operators (``mutation:<CODE>`` in a generated task's tags), grouped by bug family
(``family:<name>``, see :mod:`tracefix.corpus.families`):

==============  ====================  ==========================================================
ROR             comparison            relational operator swap (``<`` / ``<=``, ``==`` / ``!=``, ``in``, ``is``)
VAR_SWAP        wrong-name            wrong variable of the same (inferred) type in scope
ATTR_SWAP       wrong-name            wrong attribute of the same class (``self.head`` -> ``self.tail``)
COND_DROP       condition-clause      a clause dropped from ``and`` / ``or``
COND_ADD        condition-clause      an extra clause (one the function tests elsewhere) added with ``and`` / ``or``
GUARD_DEL       condition-clause      a whole guard clause (``if bad: return/raise/...``) deleted
CONST_OBO       off-by-one            off-by-one in an integer bound or offset (comparison or arithmetic)
RANGE_OBO       off-by-one            off-by-one in a ``range()`` bound
SLICE_OBO       off-by-one            off-by-one in a slice bound or an integer index
BASE_CASE       base-case             a recursion's base case or a DP table's first cells wrong
UPDATE_DEL      missing-update        a deleted increment or update (``i += 1``, ``seen.add(x)``, ``d[k] = v``)
SELF_STATE      missing-update        missing ``self.`` in a state update (the method updates a local)
ARG_SWAP        swapped-arguments     two positional arguments of a call swapped
OPERAND_SWAP    swapped-arguments     operands of a non-commutative operator or a double index swapped
CALL_SWAP       wrong-function        a confusable builtin / method, or another function of the program
LITERAL         wrong-literal         a wrong value literal (bool, int, float, separator, word case)
DEFAULT_ARG     wrong-literal         changed default argument
RETURN_DEL      missing-return        ``return f(x)`` -> ``f(x)``, or a ``return value`` deleted
ALIAS           aliasing              a copy dropped, a deep copy made shallow, rows repeated with ``*``
MUT_DEFAULT     mutable-default       ``None`` default made mutable, a local made a default, an attribute shared
EXC_SWALLOW     swallowed-exception   ``raise`` -> ``pass`` / ``return None``, ``try/except Exception: pass``, broad ``except``
STMT_DEL        missing-line          deleted statement (an assignment or call that is not an update)
LOOP_EXIT       loop-exit             early or late loop exit (``break`` added, removed, or swapped with ``continue``)
AOR             arithmetic            arithmetic operator swap (``+`` / ``-``, ``*``, ``/`` / ``//``, ``%``, shifts, bit ops)
NEG_COND        boolean-logic         boolean negation of a condition
LOR             boolean-logic         ``and`` / ``or`` swap
RET             wrong-return          wrong return value (other variable, flipped bool, one operand, swapped tuple)
EXC_TYPE        exception-type        exception type changed in a ``raise`` or an ``except`` clause
STMT_SWAP       statement-order       two adjacent, dependent statements swapped
==============  ====================  ==========================================================

Layout: :mod:`.mutators_base` (sites, edits, :class:`ModuleContext`, the :class:`Operator` base class),
:mod:`.mutators_expressions` (ROR ... VAR_SWAP), :mod:`.mutators_statements` (STMT_DEL ... EXC_TYPE),
:mod:`.mutators_conditions` (COND_DROP, COND_ADD, GUARD_DEL, BASE_CASE), :mod:`.mutators_calls`
(ATTR_SWAP, CALL_SWAP, OPERAND_SWAP, LITERAL) and :mod:`.mutators_state` (UPDATE_DEL, RETURN_DEL,
ALIAS, MUT_DEFAULT, EXC_SWALLOW); this module holds the registry (:data:`OPERATORS`) and finding / applying sites, and re-exports the
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
from tracefix.corpus.mutators_calls import SwapOperands, WrongAttribute, WrongFunction, WrongLiteral  # noqa: F401
from tracefix.corpus.mutators_conditions import AddClause, DeleteGuard, DropClause, WrongBaseCase  # noqa: F401
from tracefix.corpus.mutators_state import Aliasing, DeleteUpdate, MissingReturn, MutableDefault, SwallowedException  # noqa: F401
from tracefix.pysource import is_docstring, splice as _splice

OPERATORS: dict[str, Operator] = {
    op.code: op
    for op in (
        RelationalOperator(), ArithmeticOperator(), ConstantOffByOne(), RangeOffByOne(), SliceOffByOne(),
        NegateCondition(), LogicalOperator(), WrongVariable(), DeleteStatement(), SwapStatements(), WrongReturn(),
        ChangedDefault(), MissingSelfUpdate(), SwapArguments(), LoopExit(), ExceptionType(),
        WrongAttribute(), DropClause(), AddClause(), DeleteGuard(), WrongBaseCase(), DeleteUpdate(), SwapOperands(),
        WrongFunction(), WrongLiteral(), MissingReturn(), Aliasing(), MutableDefault(), SwallowedException(),
    )
}
"""Every operator by code, in a fixed order."""


# ------------------------------------------------------------------------------------------------
# Finding and applying
# ------------------------------------------------------------------------------------------------


def find_sites(source: str, operators: Optional[Iterable[str]] = None, *, ctx: Optional[ModuleContext] = None) -> dict[str, list[Site]]:
    """Every site of every (chosen) operator in ``source``, by operator code, in a stable order."""
    ctx = ctx if ctx is not None else ModuleContext(source)
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
    "AddClause",
    "Aliasing",
    "DeleteGuard",
    "DeleteUpdate",
    "DropClause",
    "MissingReturn",
    "MutableDefault",
    "SwallowedException",
    "SwapOperands",
    "WrongAttribute",
    "WrongBaseCase",
    "WrongFunction",
    "WrongLiteral",
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
