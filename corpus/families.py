"""Bug families: the mutation operators grouped by the kind of mistake a person makes.

Studies of small one-statement bugs in real projects ("simple stupid bugs": ManySStuBs4J for Java,
PySStuBs and TSSB-3M for Python) sort them into a handful of recurring patterns -- a wrong
comparison, the wrong identifier, a condition with a clause too many or too few, an off-by-one, a
wrong literal, swapped arguments, the wrong function, a missing ``return`` or update, an exception
swallowed or thrown away.  Each family below is one such pattern; every operator belongs to exactly
one family, and a generated task records both (``mutation:<CODE>`` and ``family:<name>`` tags).

The generator picks a family first (uniformly among the families that have a site in the seed) and
then an operator of it, so a family with many operators is not over-represented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

FAMILY_TAG = "family:"


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    operators: tuple[str, ...]
    example: str
    """A before -> after example of the mistake."""
    taxonomy: str
    """Where the pattern comes from (ManySStuBs4J / PySStuBs pattern names, or a common Python pitfall)."""


FAMILIES: tuple[Family, ...] = (
    Family("comparison", "wrong comparison operator", ("ROR",),
           "`if i < n` -> `if i <= n`", "SStuB 'change binary operator' (relational)"),
    Family("wrong-name", "wrong variable or attribute", ("VAR_SWAP", "ATTR_SWAP"),
           "`total += price` -> `total += cost`; `node.left` -> `node.right`", "SStuB 'change identifier used'"),
    Family("condition-clause", "missing or extra condition clause", ("COND_DROP", "COND_ADD", "GUARD_DEL"),
           "`if a and b` -> `if a`; `if a` -> `if a and b`; a guard `if x < 0: raise ...` missing",
           "SStuB 'more specific if' / 'less specific if'"),
    Family("off-by-one", "off-by-one in bounds and slices", ("CONST_OBO", "RANGE_OBO", "SLICE_OBO"),
           "`range(1, n)` -> `range(1, n - 1)`; `s[:k]` -> `s[:k + 1]`", "SStuB 'change numeric literal' (boundaries)"),
    Family("base-case", "wrong base case", ("BASE_CASE",),
           "`if n <= 1: return 1` -> `if n <= 0: return 1`; `dp[0] = 1` -> `dp[0] = 0`",
           "recursion and dynamic-programming boundary mistakes"),
    Family("missing-update", "missing increment or update", ("UPDATE_DEL", "SELF_STATE"),
           "`count += 1` missing; `self.size += 1` -> `size = self.size + 1`", "missing state change (a deleted update)"),
    Family("swapped-arguments", "swapped arguments or operands", ("ARG_SWAP", "OPERAND_SWAP"),
           "`pow(base, exp)` -> `pow(exp, base)`; `a - b` -> `b - a`; `grid[r][c]` -> `grid[c][r]`",
           "SStuB 'same function swap args', 'change operand'"),
    Family("wrong-function", "wrong function called", ("CALL_SWAP",),
           "`max(xs)` -> `min(xs)`; `s.rstrip()` -> `s.lstrip()`; `self._left(i)` -> `self._right(i)`",
           "SStuB 'wrong function name'"),
    Family("wrong-literal", "wrong literal", ("LITERAL", "DEFAULT_ARG"),
           "`sep=', '` -> `sep=','`; `found = False` -> `found = True`; `def f(limit=3)` -> `def f(limit=4)`",
           "SStuB 'change numeric literal', 'change boolean literal'"),
    Family("missing-return", "missing return", ("RETURN_DEL",),
           "`return helper(x)` -> `helper(x)`; the final `return result` missing",
           "missing return (the function gives None)"),
    Family("aliasing", "aliasing / shallow copy", ("ALIAS",),
           "`list(items)` -> `items`; `[[0] * n for _ in range(m)]` -> `[[0] * n] * m`",
           "Python pitfall: two names for one mutable object"),
    Family("mutable-default", "mutable default (state shared across calls or instances)", ("MUT_DEFAULT",),
           "`def f(x, acc=None): if acc is None: acc = []` -> `def f(x, acc=[])`",
           "Python pitfall: a default or class attribute evaluated once and shared"),
    Family("swallowed-exception", "swallowed exception", ("EXC_SWALLOW",),
           "`except KeyError: raise ValueError(...)` -> `except KeyError: pass`; `raise ...` -> `return None`",
           "SStuB 'delete throw exception'; over-broad `except`"),
    Family("missing-line", "missing line", ("STMT_DEL",),
           "`start = parts[0]` deleted", "a forgotten statement"),
    Family("loop-exit", "wrong loop exit", ("LOOP_EXIT",),
           "`break` -> `continue`; a `break` added after the first match", "early or late loop exit"),
    Family("arithmetic", "wrong arithmetic operator", ("AOR",),
           "`a / b` -> `a // b`; `x * 2` -> `x + 2`", "SStuB 'change binary operator' (arithmetic)"),
    Family("boolean-logic", "negated condition or and/or swapped", ("NEG_COND", "LOR"),
           "`if not done` -> `if done`; `a and b` -> `a or b`", "SStuB 'change unary operator', 'change binary operator' (logical)"),
    Family("wrong-return", "wrong return value", ("RET",),
           "`return lo, hi` -> `return hi, lo`; `return True` -> `return False`", "a wrong value returned"),
    Family("exception-type", "wrong exception type raised or caught", ("EXC_TYPE",),
           "`raise ValueError` -> `raise TypeError`; `except KeyError` -> `except IndexError`", "wrong exception class"),
    Family("statement-order", "statements in the wrong order", ("STMT_SWAP",),
           "`total += x` and `seen.append(total)` swapped", "a use before the update it needs"),
)
"""Every family, in report order (the fifteen named in the corpus issue first)."""

FAMILY_BY_NAME: dict[str, Family] = {family.name: family for family in FAMILIES}
FAMILY_OF: dict[str, str] = {op: family.name for family in FAMILIES for op in family.operators}
"""Operator code -> family name."""


def family_of(operator: str) -> str:
    try:
        return FAMILY_OF[operator]
    except KeyError:
        raise KeyError(f"operator {operator!r} belongs to no bug family") from None


def families_of(operators: Iterable[str]) -> list[str]:
    """The families of ``operators``, each once, in the order first seen."""
    seen: list[str] = []
    for op in operators:
        name = family_of(op)
        if name not in seen:
            seen.append(name)
    return seen


def family_tag(name: str) -> str:
    return f"{FAMILY_TAG}{name}"
