"""Every mutation operator: it finds sites, each site gives a different program that compiles, and
the change is the documented one (no sandbox needed: these are pure AST transformations)."""

from __future__ import annotations

import ast

import pytest

from tests.corpus.conftest import TOY_REFERENCE
from tracefix.corpus.mutators import (
    OPERATORS,
    ModuleContext,
    MutationError,
    apply_sites,
    find_sites,
    normalised_ast_hash,
)

# One concrete mutant each operator must be able to produce from TOY_REFERENCE: (before, after).
EXPECTED = {
    "ROR": ("if amount <= 0:", "if amount < 0:"),
    "AOR": ("self.total + amount", "self.total - amount"),
    "CONST_OBO": ("if limit < 1:", "if limit < 2:"),
    "RANGE_OBO": ("range(start, len(items))", "range(start, len(items) + 1)"),
    "SLICE_OBO": ("items[1:-1]", "items[2:-1]"),
    "NEG_COND": ("if not b:", "if b:"),
    "LOR": ("value < low or value > high", "value < low and value > high"),
    "VAR_SWAP": ("value < low or", "value < high or"),
    "STMT_DEL": ("    total = 0\n", ""),
    "STMT_SWAP": (
        "        if value:\n            total += value\n        totals.append(total)\n",
        "        totals.append(total)\n        if value:\n            total += value\n",
    ),
    "RET": ("return hi - lo, lo", "return lo, hi - lo"),
    "DEFAULT_ARG": ("def __init__(self, limit=3):", "def __init__(self, limit=4):"),
    "SELF_STATE": ("self.count += 1", "count = self.count + 1"),
    "ARG_SWAP": ("range(start, len(items))", "range(len(items), start)"),
    "LOOP_EXIT": ("            found = value\n            break\n", "            found = value\n            continue\n"),
    "EXC_TYPE": ('raise ValueError("limit must be positive")', 'raise TypeError("limit must be positive")'),
    "ATTR_SWAP": ("self.count += 1", "self.total += 1"),
    "COND_DROP": ("value < low or value > high", "value > high"),
    "COND_ADD": ("if value >= low:", "if value >= low or value <= high:"),
    "GUARD_DEL": ("    if not b:\n        return None\n", ""),
    "BASE_CASE": ("if exp == 0:", "if exp == 1:"),
    "UPDATE_DEL": ("        self.count += 1\n", ""),
    "OPERAND_SWAP": ("return hi - lo, lo", "return lo - hi, lo"),
    "CALL_SWAP": ("lo = min(values)", "lo = max(values)"),
    "LITERAL": ("    total = 0\n", "    total = 1\n"),
    "RETURN_DEL": ("    return total\n", ""),
    "ALIAS": ("result = list(items)", "result = items"),
    "MUT_DEFAULT": ("def running_totals(values):\n    totals = []\n", "def running_totals(values, totals=[]):\n"),
    "EXC_SWALLOW": ('raise ValueError("amount must be positive")', "return None"),
}


def test_every_operator_has_an_expectation():
    assert set(EXPECTED) == set(OPERATORS)
    assert len(OPERATORS) >= 29


@pytest.mark.parametrize("op", list(OPERATORS))
def test_operator(op: str):
    operator = OPERATORS[op]
    assert operator.tag == f"mutation:{op}"
    sites = find_sites(TOY_REFERENCE, [op])[op]
    assert sites, f"{op} found no site in the toy program"
    reference_dump = ast.dump(ast.parse(TOY_REFERENCE))
    mutants = set()
    for site in sites:
        assert site.op == op
        mutant = apply_sites(TOY_REFERENCE, [site])
        assert mutant != TOY_REFERENCE
        assert ast.dump(ast.parse(mutant)) != reference_dump, f"{site.note} did not change the program"
        compile(mutant, "solution.py", "exec")
        mutants.add(mutant)
    before, after = EXPECTED[op]
    assert before in TOY_REFERENCE
    wanted = TOY_REFERENCE.replace(before, after, 1)
    assert wanted in mutants, f"{op} never produced the documented change {before!r} -> {after!r}"


def test_sites_are_deterministic_and_picklable():
    import pickle

    first = find_sites(TOY_REFERENCE)
    second = find_sites(TOY_REFERENCE)
    assert first == second
    assert pickle.loads(pickle.dumps(first)) == first


def test_splice_keeps_comments_and_formatting():
    source = "def f(a, b):\n    # keep me\n    x = a  +  b   # and me\n    return x < 10\n"
    site = next(s for s in find_sites(source, ["ROR"])["ROR"] if "<=" in s.note)
    mutant = apply_sites(source, [site])
    assert mutant == source.replace("x < 10", "x <= 10")


def test_precedence_is_kept_with_parentheses():
    source = "def f(value, take, weight):\n    return value * take / weight\n"
    for site in find_sites(source, ["AOR"])["AOR"]:
        mutant = apply_sites(source, [site])  # verified against the mutated tree inside
        compile(mutant, "<m>", "exec")
    plus = [apply_sites(source, [s]) for s in find_sites(source, ["AOR"])["AOR"] if "* -> +" in s.note]
    assert plus == ["def f(value, take, weight):\n    return (value + take) / weight\n"]


def test_several_disjoint_sites_apply_together_and_overlaps_are_refused():
    sites = find_sites(TOY_REFERENCE)
    ror = sites["ROR"][0]
    exc = sites["EXC_TYPE"][-1]
    assert not ror.overlaps(exc)
    both = apply_sites(TOY_REFERENCE, [ror, exc])
    assert both != apply_sites(TOY_REFERENCE, [ror]) != TOY_REFERENCE
    twin = sites["ROR"][1]
    assert twin.overlaps(ror) or twin.node == ror.node
    with pytest.raises(MutationError):
        apply_sites(TOY_REFERENCE, [ror, ror])


def test_normalised_hash_ignores_comments_whitespace_and_docstrings():
    a = 'def f(x):\n    """Doc."""\n    return x + 1\n'
    b = "def f(x):\n    # a comment\n    return x+1\n"
    c = "def f(x):\n    return x + 2\n"
    assert normalised_ast_hash(a) == normalised_ast_hash(b) != normalised_ast_hash(c)


def test_non_ascii_source_positions():
    source = 'def f(s):\n    return "é" + s if len(s) < 3 else s\n'
    ctx = ModuleContext(source)
    site = next(s for s in find_sites(source, ["ROR"])["ROR"] if "<=" in s.note)
    assert apply_sites(source, [site]) == source.replace("< 3", "<= 3")
    assert ctx.text(ctx.nodes[site.node]) == "len(s) < 3"
