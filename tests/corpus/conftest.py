"""Fixtures of the corpus tests: a small seed program that hosts every mutation operator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TOY_REFERENCE = '''\
class Counter:
    """Counts events up to a limit."""

    def __init__(self, limit=3):
        if limit < 1:
            raise ValueError("limit must be positive")
        self.limit = limit
        self.count = 0
        self.total = 0

    def add(self, amount):
        if amount <= 0:
            raise ValueError("amount must be positive")
        self.count += 1
        self.total = self.total + amount
        return self.count >= self.limit


def first_index(items, target, start=0):
    for i in range(start, len(items)):
        if items[i] == target:
            return i
    return -1


def clipped_sum(values, low, high):
    total = 0
    for value in values:
        if value < low or value > high:
            continue
        total += value
    return total


def first_negative(values):
    found = None
    for value in values:
        if value < 0:
            found = value
            break
    return found


def running_totals(values):
    totals = []
    total = 0
    for value in values:
        if value:
            total += value
        totals.append(total)
    return totals


def middle(items):
    return items[1:-1]


def safe_ratio(a, b):
    if not b:
        return None
    return a / b


def span(values):
    lo = min(values)
    hi = max(values)
    return hi - lo, lo


def power(base, exp):
    if exp == 0:
        return 1
    return base * power(base, exp - 1)


def sorted_copy(items):
    result = list(items)
    result.sort()
    return result


def count_in_window(values, low, high):
    count = 0
    for value in values:
        if value >= low:
            if value <= high:
                count += 1
    return count
'''


def _test(name: str, *steps: dict, visible: bool = True) -> dict:
    return {"name": name, "visible": visible, "steps": list(steps)}


def _eval(expr: str, expect=None, **extra) -> dict:
    step = {"eval": expr}
    if "raises" in extra:
        step["raises"] = extra["raises"]
    else:
        step["expect"] = expect
    return step


TOY_TESTS = [
    _test(
        "counter_counts",
        {"exec": "c = Counter(2)"},
        _eval("c.add(5)", False),
        _eval("c.add(1)", True),
        _eval("c.count", 2),
        _eval("c.total", 6),
    ),
    _test("counter_default_limit", {"exec": "c = Counter()"}, _eval("c.limit", 3), _eval("[c.add(1) for _ in range(3)]", [False, False, True])),
    _test("counter_errors", _eval("Counter(0)", raises="ValueError"), {"exec": "c = Counter(1)"}, _eval("c.add(0)", raises="ValueError")),
    _test("first_index", _eval("first_index([1, 2, 3, 2], 2)", 1), _eval("first_index([1, 2, 3, 2], 2, 2)", 3),
          _eval("first_index([4, 5], 4)", 0), _eval("first_index([1], 5)", -1)),
    _test("clipped_sum", _eval("clipped_sum([1, 5, 10, -3], 0, 6)", 6), _eval("clipped_sum([0, 6, 7], 0, 6)", 6)),
    _test("first_negative", _eval("first_negative([3, -1, -2])", -1), _eval("first_negative([1, 2])", None)),
    _test("running_totals", _eval("running_totals([1, 2, 0, 3])", [1, 3, 3, 6]), _eval("running_totals([4])", [4])),
    _test("middle", _eval("middle([1, 2, 3, 4])", [2, 3])),
    _test("safe_ratio", _eval("safe_ratio(6, 3)", 2.0), _eval("safe_ratio(1, 0)", None)),
    _test("span", _eval("span([3, 1, 4])", {"$tuple": [3, 1]})),
    _test("span_single_hidden", _eval("span([5])", {"$tuple": [0, 5]}), visible=False),
    _test("power", _eval("power(2, 3)", 8), _eval("power(5, 0)", 1)),
    _test("sorted_copy", {"exec": "data = [3, 1, 2]"}, _eval("sorted_copy(data)", [1, 2, 3]), _eval("data", [3, 1, 2])),
    _test("count_in_window", _eval("count_in_window([1, 5, 9], 2, 8)", 1), _eval("count_in_window([2, 8], 2, 8)", 2)),
    # Hidden tests that check computed values of every function: each mutant must fail one of them
    # (a *decisive* hidden test), or hard-coded visible answers could not be told from a fix.
    _test("counter_hidden", {"exec": "c = Counter(3)"}, _eval("[c.add(2), c.add(2), c.add(2)]", [False, False, True]),
          _eval("(c.count, c.total)", {"$tuple": [3, 6]}), visible=False),
    _test("counter_limit_one_hidden", {"exec": "c = Counter(1)"}, _eval("(c.limit, c.add(7), c.total)", {"$tuple": [1, True, 7]}),
          visible=False),
    _test("counter_refuses_zero_hidden", {"exec": "c = Counter(5)"},
          {"exec": "try:\n    c.add(0)\n    outcome = 'accepted'\nexcept ValueError:\n    outcome = 'refused'"},
          _eval("(outcome, c.count, Counter().limit)", {"$tuple": ["refused", 0, 3]}), visible=False),
    _test("first_index_hidden", _eval("[first_index([7, 8, 7], 7, 1), first_index([], 1), first_index([2, 2], 2)]", [2, -1, 0]),
          visible=False),
    _test("clipped_sum_hidden", _eval("clipped_sum([-1, 0, 3, 9, 4], 0, 4)", 7), visible=False),
    _test("first_negative_hidden", _eval("[first_negative([0, -5, -6]), first_negative([])]", [-5, None]), visible=False),
    _test("running_totals_hidden", _eval("running_totals([0, 2, 5])", [0, 2, 7]),
          _eval("[running_totals([3]), running_totals([2, 2])]", [[3], [2, 4]]), visible=False),
    _test("middle_hidden", _eval("middle([9, 8, 7, 6, 5])", [8, 7, 6]), visible=False),
    _test("safe_ratio_hidden", _eval("[safe_ratio(7, 2), safe_ratio(0, 0)]", [3.5, None]), visible=False),
    _test("span_hidden", _eval("span([2, 9, 4])", {"$tuple": [7, 2]}), visible=False),
    _test("power_hidden", _eval("[power(3, 4), power(7, 1)]", [81, 7]), visible=False),
    _test("sorted_copy_hidden", {"exec": "data = [9, 4, 6]"}, _eval("(sorted_copy(data), data)", {"$tuple": [[4, 6, 9], [9, 4, 6]]}),
          visible=False),
    _test("count_in_window_hidden", _eval("count_in_window([2, 3, 7, 8, 9, 12], 3, 9)", 4), visible=False),
]

TOY_SEED = {
    "id": "seed/toy",
    "title": "Toy helpers",
    "description": "A counter with a limit and small list helpers (see the docstrings).",
    "reference_code": TOY_REFERENCE,
    "tests": TOY_TESTS,
    "tags": ["test"],
    "source": "tests",
    "license": "MIT",
}


def seed_line(seed_id: str, reference: str, tests: list[dict], **extra) -> dict:
    return {"id": seed_id, "title": seed_id, "description": f"{seed_id} (test seed)", "reference_code": reference, "tests": tests, **extra}


ABS_REFERENCE = "def magnitude(x):\n    if x < 0:\n        return -x\n    return x\n"
ABS_TESTS = [
    _test("negative", _eval("magnitude(-3)", 3)),
    _test("positive", _eval("magnitude(4)", 4)),
    _test("zero", _eval("magnitude(0)", 0), visible=False),
    _test("mixed", _eval("[magnitude(-7), magnitude(5), magnitude(-2)]", [7, 5, 2]), visible=False),
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture()
def toy_seed_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "toy_seeds.jsonl", [TOY_SEED])


@pytest.fixture(scope="session")
def sandbox():
    from tracefix.sandbox import get_sandbox

    return get_sandbox()
