"""Grading outside the sandbox: the defects of the earlier implementation stay fixed."""

from __future__ import annotations

import pytest

from tracefix.tasks.grading import run_tests
from tracefix.tasks.schema import parse_task
from tracefix.tasks.verify import verify_task, verify_tasks

TASK = parse_task(
    {
        "id": "t/grading",
        "difficulty": "easy",
        "description": "add numbers; Box holds a value",
        "buggy_code": "def add(a, b):\n    return a - b\n",
        "reference_code": "import math\n\ndef add(a, b):\n    return a + b\n",
        "tests": [
            {"name": "small", "steps": [{"eval": "add(1, 2)", "expect": 3}]},
            {"name": "tuple", "steps": [{"exec": "pair = (add(1, 1), add(2, 2))"}, {"eval": "pair", "expect": {"$tuple": [2, 4]}}]},
            {"name": "float", "steps": [{"eval": "add(0.1, 0.2)", "expect": 0.3, "approx": 1e-9}]},
            {"name": "raises", "steps": [{"eval": "add(1, None)", "raises": "TypeError"}]},
            {"name": "hidden", "visible": False, "steps": [{"eval": "add(-5, 5)", "expect": 0}]},
            {"name": "hidden_value", "visible": False, "steps": [{"eval": "add(-5, 12)", "expect": 7}]},
        ],
    }
)


def test_reference_passes_and_buggy_fails():
    assert run_tests(TASK.reference_code, TASK, include_hidden=True).all_passed
    report = run_tests(TASK.buggy_code, TASK)
    assert report.visible_total == 4 and report.hidden_total == 0
    assert not report.all_passed


def test_always_equal_object_does_not_pass():
    """Defect: an object whose __eq__ always returns True passed every test."""
    cheat = (
        "class Anything:\n"
        "    def __eq__(self, other):\n"
        "        return True\n"
        "    __hash__ = object.__hash__\n"
        "def add(a, b):\n"
        "    return Anything()\n"
    )
    report = run_tests(cheat, TASK, include_hidden=True)
    small = next(v for v in report.verdicts if v.name == "small")
    assert not small.passed and "Anything" in small.message
    assert report.passed == 0


def test_subclass_of_int_is_not_a_plain_value():
    cheat = "class Sneaky(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n\ndef add(a, b):\n    return Sneaky(0)\n"
    report = run_tests(cheat, TASK)
    assert not next(v for v in report.verdicts if v.name == "small").passed


def test_traceback_line_numbers_match_the_agents_view():
    """Defect: imports were stripped before exec, shifting traceback line numbers."""
    code = "import math\nimport os\n\n\ndef add(a, b):\n    x = a + b\n    raise RuntimeError('boom')\n"
    report = run_tests(code, TASK)
    message = next(v for v in report.verdicts if v.name == "small").message
    assert 'solution.py", line 7' in message and "RuntimeError: boom" in message


def test_syntax_error_names_the_line():
    report = run_tests("def add(a, b):\n    return a +\n", TASK, include_hidden=True)
    assert report.had_syntax_error and "line 2" in report.syntax_error
    assert report.pass_fraction == 0 and report.passed == 0


def test_printing_a_fake_report_or_exiting_early_gains_nothing():
    fake = (
        "import sys\n"
        "print('5 passed, 0 failed')\n"
        "print('{\"ok\": true, \"value\": 3}')\n"
        "def add(a, b):\n"
        "    sys.exit(0)\n"
    )
    report = run_tests(fake, TASK, include_hidden=True)
    assert report.passed == 0
    assert "5 passed" in report.output


def test_missing_module_level_name_fails_clearly():
    report = run_tests("def plus(a, b):\n    return a + b\n", TASK)
    assert "NameError" in report.verdicts[0].message


def test_verifier_flags_each_rule():
    assert verify_task(TASK).valid
    same = TASK.model_copy(update={"buggy_code": TASK.reference_code.replace("\n\n", "\n")})
    assert any("is the reference" in p for p in verify_task(same).problems)
    broken_ref = TASK.model_copy(update={"reference_code": "def add(a, b):\n    return 3\n"})
    assert any("reference fails" in p for p in verify_task(broken_ref).problems)
    passes = TASK.model_copy(update={"buggy_code": "def add(a, b):\n    return b + a\n"})
    assert any("passes every visible test" in p for p in verify_task(passes).problems)
    no_compile = TASK.model_copy(update={"buggy_code": "def add(a, b)\n    return a + b\n"})
    assert any("does not compile" in p for p in verify_task(no_compile).problems)
    tagged = no_compile.model_copy(update={"tags": ["syntax-error"]})
    assert verify_task(tagged).valid
    # the buggy code fails hidden tests only where the expected value is guessable (0 here)
    guessable_only = parse_task({**TASK.model_dump(exclude={"tests"}), "tests": [
        t.model_dump(exclude_unset=True) for t in TASK.tests if t.name != "hidden_value"]})
    problems = verify_task(guessable_only).problems
    assert any("no decisive hidden test" in p for p in problems), problems


def test_all_curated_tasks_are_valid(curated):
    """Defect: 5 of the 16 earlier tasks already passed with the buggy code."""
    verdicts = verify_tasks(curated, workers=2)
    assert {v.task_id: v.problems for v in verdicts if not v.valid} == {}
    assert len(verdicts) == 16
    assert sorted(v.difficulty for v in verdicts).count("easy") == 4
    assert all(v.buggy_visible_failures >= 1 for v in verdicts)


@pytest.mark.parametrize("value, expect", [("{1, 2}", {"$set": [1, 2]}), ("b'hi'", {"$bytes": "aGk="}), ("float('inf')", {"$float": "inf"}), ("{(1, 2): 'x'}", {"$dict": [[{"$tuple": [1, 2]}, "x"]]})])
def test_encoded_values_round_trip_through_the_sandbox(value, expect):
    task = parse_task({**TASK.model_dump(exclude={"tests"}), "tests": [{"name": "v", "steps": [{"eval": value, "expect": expect}]}]})
    assert run_tests("", task).all_passed
