"""Every bug family, on a small program of its own: its operators find the site, make the documented
mutant (text spliced, tree checked), and the mutant really behaves differently.

The programs are trusted test fixtures, so both versions are executed in-process to compare them.
"""

from __future__ import annotations

import ast
import textwrap
from typing import Any, Callable

import pytest

from tracefix.corpus.families import FAMILIES, FAMILY_BY_NAME, FAMILY_OF, families_of, family_of
from tracefix.corpus.mutators import OPERATORS, apply_sites, find_sites


def run(source: str, expression: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(source, "solution.py", "exec"), namespace)  # noqa: S102 - trusted fixture
    try:
        return eval(expression, namespace)  # noqa: S307 - trusted fixture
    except Exception as exc:  # noqa: BLE001 - the behaviour we compare
        return f"raised {type(exc).__name__}"


def mutants(source: str, op: str) -> dict[str, str]:
    """note -> mutant source, for every site of ``op``."""
    found = {}
    for site in find_sites(source, [op])[op]:
        code = apply_sites(source, [site])
        assert ast.dump(ast.parse(code)) != ast.dump(ast.parse(source)), site.note
        found[site.note] = code
    return found


def program(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# (family, operator, program, (before, after) the documented mutant, expression whose value changes)
CASES: list[tuple[str, str, str, tuple[str, str], str]] = [
    ("comparison", "ROR", program("""
        def count_below(xs, limit):
            return sum(1 for x in xs if x < limit)
        """), ("x < limit", "x <= limit"), "count_below([1, 2, 3], 2)"),
    ("wrong-name", "VAR_SWAP", program("""
        def scaled(values, factor, offset):
            result = []
            for v in values:
                result.append(v * factor + offset)
            return result
        """), ("v * factor + offset", "v * offset + offset"), "scaled([1, 2], 3, 1)"),
    ("wrong-name", "ATTR_SWAP", program("""
        class Node:
            def __init__(self, value):
                self.value = value
                self.left = None
                self.right = None

        def leftmost(node):
            while node.left is not None:
                node = node.left
            return node.value

        def tree():
            root = Node(2)
            root.right = Node(3)
            return root
        """), ("while node.left is not None", "while node.right is not None"), "leftmost(tree())"),
    ("condition-clause", "COND_DROP", program("""
        def in_range(x, lo, hi):
            return lo <= x and x <= hi
        """), ("lo <= x and x <= hi", "lo <= x"), "in_range(9, 1, 5)"),
    ("condition-clause", "COND_ADD", program("""
        def clamp_count(values, limit):
            count = 0
            for v in values:
                if v > 0:
                    count += 1
                if count > limit:
                    break
            return count
        """), ("if v > 0:", "if v > 0 and count > limit:"), "clamp_count([1, 2, 3], 5)"),
    ("condition-clause", "GUARD_DEL", program("""
        def ratio(a, b):
            if b == 0:
                return None
            return a / b
        """), ("    if b == 0:\n        return None\n", ""), "ratio(1, 0)"),
    ("off-by-one", "RANGE_OBO", program("""
        def squares(n):
            return [i * i for i in range(1, n)]
        """), ("range(1, n)", "range(1, n + 1)"), "squares(3)"),
    ("off-by-one", "SLICE_OBO", program("""
        def head(items, k):
            return items[:k]
        """), ("items[:k]", "items[:k + 1]"), "head([1, 2, 3], 2)"),
    ("off-by-one", "CONST_OBO", program("""
        def is_teen(age):
            return 13 <= age <= 19
        """), ("age <= 19", "age <= 20"), "is_teen(20)"),
    ("base-case", "BASE_CASE", program("""
        def factorial(n):
            if n <= 1:
                return 1
            return n * factorial(n - 1)

        def ways(amount, coins):
            table = [1] + [0] * amount
            for c in coins:
                for v in range(c, amount + 1):
                    table[v] += table[v - c]
            return table[amount]
        """), ("return 1\n", "return 0\n"), "factorial(4)"),
    ("missing-update", "UPDATE_DEL", program("""
        def count_words(text):
            count = 0
            for word in text.split():
                count += 1
            return count
        """), ("        count += 1\n", "        pass\n"), "count_words('a b c')"),
    ("missing-update", "SELF_STATE", program("""
        class Tally:
            def __init__(self):
                self.total = 0

            def add(self, n):
                self.total += n
                return self.total

        def tally():
            t = Tally()
            t.add(2)
            return t.add(3)
        """), ("self.total += n", "total = self.total + n"), "tally()"),
    ("swapped-arguments", "ARG_SWAP", program("""
        def power_of(base, exponent):
            return pow(base, exponent)
        """), ("pow(base, exponent)", "pow(exponent, base)"), "power_of(2, 3)"),
    ("swapped-arguments", "OPERAND_SWAP", program("""
        def cell(grid, r, c):
            return grid[r][c]

        def gap(a, b):
            return a - b
        """), ("grid[r][c]", "grid[c][r]"), "cell([[1, 2], [3, 4]], 0, 1)"),
    ("wrong-function", "CALL_SWAP", program("""
        def largest(values):
            return max(values)
        """), ("max(values)", "min(values)"), "largest([3, 9, 1])"),
    ("wrong-literal", "LITERAL", program("""
        def csv_row(cells):
            return ", ".join(str(c) for c in cells)
        """), ('", ".join', '",".join'), "csv_row([1, 2])"),
    ("wrong-literal", "DEFAULT_ARG", program("""
        def repeat(text, times=2):
            return text * times
        """), ("times=2", "times=3"), "repeat('ab')"),
    ("missing-return", "RETURN_DEL", program("""
        def _double(x):
            return 2 * x

        def double_all(values):
            return [_double(v) for v in values]
        """), ("    return 2 * x\n", "    pass\n"), "double_all([1, 2])"),
    ("aliasing", "ALIAS", program("""
        def sorted_copy(items):
            result = list(items)
            result.sort()
            return result

        def grid(rows, cols):
            cells = [[0] * cols for _ in range(rows)]
            cells[0][0] = 1
            return cells

        def check():
            data = [3, 1, 2]
            sorted_copy(data)
            return data
        """), ("result = list(items)", "result = items"), "check()"),
    ("mutable-default", "MUT_DEFAULT", program("""
        def collect(item, bucket=None):
            if bucket is None:
                bucket = []
            bucket.append(item)
            return bucket

        def twice():
            collect(1)
            return collect(2)
        """), ("def collect(item, bucket=None):\n    if bucket is None:\n        bucket = []\n", "def collect(item, bucket=[]):\n"), "twice()"),
    ("swallowed-exception", "EXC_SWALLOW", program("""
        def parse_port(text):
            port = int(text)
            if not 0 < port < 65536:
                raise ValueError("port out of range")
            return port
        """), ('raise ValueError("port out of range")', "return None"), "parse_port('70000')"),
    ("missing-line", "STMT_DEL", program("""
        def describe(first, last):
            full = first + " " + last
            label = full.title()
            return label
        """), ('    label = full.title()\n', ''), "describe('ada', 'lovelace')"),
    ("loop-exit", "LOOP_EXIT", program("""
        def first_even(values):
            found = None
            for v in values:
                if v % 2 == 0:
                    found = v
                    break
            return found
        """), ("            break\n", "            continue\n"), "first_even([1, 2, 4])"),
    ("arithmetic", "AOR", program("""
        def mean(values):
            return sum(values) / len(values)
        """), ("sum(values) / len(values)", "sum(values) // len(values)"), "mean([1, 2])"),
    ("boolean-logic", "NEG_COND", program("""
        def evens(values):
            return [v for v in values if not v % 2]
        """), ("if not v % 2", "if v % 2"), "evens([1, 2, 3])"),
    ("boolean-logic", "LOR", program("""
        def outside(x, lo, hi):
            return x < lo or x > hi
        """), ("x < lo or x > hi", "x < lo and x > hi"), "outside(0, 1, 5)"),
    ("wrong-return", "RET", program("""
        def min_max(values):
            lo, hi = min(values), max(values)
            return lo, hi
        """), ("return lo, hi", "return hi, lo"), "min_max([2, 5])"),
    ("exception-type", "EXC_TYPE", program("""
        def checked(x):
            if x < 0:
                raise ValueError("negative")
            return x

        def safe(x):
            try:
                return checked(x)
            except ValueError:
                return 0
        """), ("except ValueError:", "except TypeError:"), "safe(-1)"),
    ("statement-order", "STMT_SWAP", program("""
        def running(values):
            out = []
            total = 0
            for v in values:
                total += v
                out.append(total)
            return out
        """), ("        total += v\n        out.append(total)\n", "        out.append(total)\n        total += v\n"), "running([1, 2])"),
]


def test_every_family_and_operator_is_covered_here():
    assert {case[0] for case in CASES} == {f.name for f in FAMILIES}
    assert {case[1] for case in CASES} == set(OPERATORS)
    assert set(FAMILY_OF) == set(OPERATORS)


def test_families_partition_the_operators():
    listed = [op for family in FAMILIES for op in family.operators]
    assert sorted(listed) == sorted(OPERATORS) and len(listed) == len(set(listed))
    assert len(FAMILIES) >= 15
    required = {"comparison", "wrong-name", "condition-clause", "off-by-one", "base-case", "missing-update",
                "swapped-arguments", "wrong-function", "wrong-literal", "missing-return", "aliasing",
                "mutable-default", "swallowed-exception", "missing-line", "loop-exit"}
    assert required <= set(FAMILY_BY_NAME)
    assert families_of(["ROR", "CONST_OBO", "RANGE_OBO", "ROR"]) == ["comparison", "off-by-one"]
    with pytest.raises(KeyError):
        family_of("NOPE")


@pytest.mark.parametrize("family, op, source, change, expression", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_family_operator_makes_the_documented_bug(family: str, op: str, source: str, change: tuple[str, str], expression: str):
    assert family_of(op) == family
    found = mutants(source, op)
    before, after = change
    assert before in source
    wanted = source.replace(before, after, 1)
    assert wanted in found.values(), f"{op} never made {before!r} -> {after!r}; it made: {list(found)}"
    assert run(wanted, expression) != run(source, expression), "the documented mutant behaves like the original"
    for code in found.values():
        compile(code, "solution.py", "exec")


def _other_variants() -> list[tuple[str, str, Callable[[str], bool]]]:
    """Further documented variants of the new operators (program, operator, what the mutant must contain)."""
    return [
        ("def f(items):\n    grid = [[0] * 3 for _ in range(2)]\n    return grid\n", "ALIAS", lambda c: "grid = [[0] * 3] * 2" in c),
        ("def f(rows):\n    return [r[:] for r in rows]\n", "ALIAS", lambda c: "return list(rows)" in c),
        ("def f(x):\n    seen = set()\n    seen.add(x)\n    return len(seen)\n", "MUT_DEFAULT", lambda c: "def f(x, seen=set()):" in c),
        ("class Bag:\n    def __init__(self):\n        self.items = []\n\n    def add(self, x):\n        self.items.append(x)\n",
         "MUT_DEFAULT", lambda c: "class Bag:\n    items = []\n    def __init__(self):\n        pass\n" in c),
        ("def f(d, k):\n    try:\n        return d[k]\n    except KeyError:\n        raise ValueError(k)\n", "EXC_SWALLOW",
         lambda c: "    except KeyError:\n        pass\n" in c),
        ("def f(text):\n    value = int(text)\n    return value\n", "EXC_SWALLOW",
         lambda c: "    try:\n        value = int(text)\n    except Exception:\n        pass\n" in c),
        ("def f(d, k):\n    try:\n        return d[k]\n    except KeyError:\n        return None\n", "EXC_SWALLOW", lambda c: "except Exception:" in c),
        ("def f(xs):\n    return helper(xs)\n\ndef helper(xs):\n    return sorted(xs)\n", "RETURN_DEL", lambda c: "    helper(xs)\n" in c),
        ("def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n", "BASE_CASE", lambda c: "if n <= 2:" in c),
        ("def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n", "BASE_CASE", lambda c: "if n < 1:" in c),
        ("def subsets(xs):\n    if not xs:\n        return [[]]\n    rest = subsets(xs[1:])\n    return rest + [[xs[0]] + r for r in rest]\n",
         "BASE_CASE", lambda c: "return []" in c),
        ("def f(words):\n    return ' '.join(w.rstrip() for w in words)\n", "CALL_SWAP", lambda c: "w.lstrip()" in c),
        ("class Q:\n    def _left(self, i):\n        return 2 * i\n\n    def _right(self, i):\n        return 2 * i + 1\n\n    def kids(self, i):\n        return self._left(i)\n",
         "CALL_SWAP", lambda c: "return self._right(i)" in c),
        ("def f(a, b):\n    return 1 - a / b\n", "OPERAND_SWAP", lambda c: "return 1 - b / a" in c),
        ("def f():\n    found = False\n    return found\n", "LITERAL", lambda c: "found = True" in c),
        ("def f(a, b):\n    if a > 0 and b > 0:\n        return 1\n    return 0\n", "COND_DROP", lambda c: "if b > 0:" in c),
    ]


@pytest.mark.parametrize("source, op, check", _other_variants(), ids=[f"{v[1]}-{i}" for i, v in enumerate(_other_variants())])
def test_further_variants(source: str, op: str, check: Callable[[str], bool]):
    found = mutants(source, op)
    assert any(check(code) for code in found.values()), f"{op} made: {list(found.values())}"


def test_base_case_sites_belong_to_base_case_only():
    source = "def fact(n):\n    if n <= 1:\n        return 1\n    return n * fact(n - 1)\n"
    sites = find_sites(source)
    lines = {op: {s.line for s in found} for op, found in sites.items()}
    assert 2 in lines["BASE_CASE"] and 3 in lines["BASE_CASE"]
    assert 2 not in lines["ROR"] and 2 not in lines["CONST_OBO"] and 3 not in lines["LITERAL"]


def test_independent_statements_are_not_swapped():
    source = "def f(a, b):\n    x = a + 1\n    y = b + 2\n    z = x + y\n    return z\n"
    notes = [s.note for s in find_sites(source, ["STMT_SWAP"])["STMT_SWAP"]]
    assert notes == ["line 3: swapped lines 3 and 4"]  # x/y are independent; y/z are not
