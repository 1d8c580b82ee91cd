"""The grader never raises, whatever a candidate's run sends back (finding 3 of the isolation review).

Values reach the grader from an untrusted process: huge ints, NaN, deep nesting, malformed tags,
forged error reports.  Any of them must fail its step with a bounded message, never crash the
comparison, so that no value can turn a SUBMIT into an internal error (a free retry, or a yes/no
oracle on a hidden expectation).
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracefix.core.constants import MAX_MESSAGE_CHARS
from tracefix.sandbox.types import Execution, RunStatus, StepOutcome, TestOutcome
from tracefix.tasks.codec import MAX_DEPTH, decode_value, values_equal
from tracefix.tasks.grading import _check_step, grade
from tracefix.tasks.schema import EvalStep, parse_task

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
TAGS = st.sampled_from(["$tuple", "$set", "$frozenset", "$dict", "$float", "$bytes", "$unsupported", "$what"])


def _encoded(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=5), children, max_size=3),
        st.builds(lambda tag, body: {tag: body}, TAGS, st.one_of(children, st.lists(children, max_size=3))),
    )


ENCODED = st.recursive(SCALARS, _encoded, max_leaves=25)
DECODED = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=4), children, max_size=3),
    ),
    max_leaves=20,
)


def _deep(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def test_the_reported_crash_values() -> None:
    assert values_equal(10**400, 1.5, 1e-9) is False
    assert values_equal([10**400], [1.5], 1e-9) is False
    assert values_equal(-(10**400), float("-inf"), 1e-9) is False
    assert values_equal(10**400, 10**400, 1e-9) is True
    assert values_equal(float("nan"), float("nan"), 1e-9) is True
    assert values_equal(_deep(5000), _deep(5000)) is False  # too deep to compare: not equal, no crash
    assert values_equal(_deep(MAX_DEPTH + 5), _deep(MAX_DEPTH + 5), 1e-3) is False


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(got=ENCODED, expected=DECODED, approx=st.one_of(st.none(), st.floats(min_value=1e-12, max_value=0.5)))
def test_checking_any_encoded_value_against_any_expectation_never_raises(got, expected, approx) -> None:
    step = EvalStep.model_validate({"eval": "f()", "expect": _encode_expected(expected), "approx": approx}
                                   if approx else {"eval": "f()", "expect": _encode_expected(expected)})
    message = _check_step(step, StepOutcome(ok=True, value=got), "missing")
    assert message is None or (isinstance(message, str) and message)


@settings(max_examples=200, deadline=None)
@given(
    error_type=st.one_of(st.none(), st.text(max_size=20)),
    bases=st.lists(st.text(max_size=10), max_size=5),
    message=st.one_of(st.none(), st.text(max_size=2000)),
    raises=st.sampled_from(["ValueError", "OSError", "IOError", "KeyError"]),
)
def test_forged_error_reports_never_raise(error_type, bases, message, raises) -> None:
    outcome = StepOutcome(ok=False, error_type=error_type, error_bases=tuple(bases), error_message=message,
                          traceback=message)
    for step in (EvalStep.model_validate({"eval": "f()", "raises": raises}),
                 EvalStep.model_validate({"eval": "f()", "expect": 1})):
        result = _check_step(step, outcome, "missing")
        assert result is None or isinstance(result, str)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(ENCODED, min_size=0, max_size=6), names=st.lists(st.text(max_size=6), max_size=3))
def test_grading_any_execution_never_raises_and_messages_stay_small(values, names) -> None:
    task = parse_task({
        "id": "fuzz/t", "difficulty": "easy", "description": "d", "buggy_code": "x = 1", "reference_code": "x = 2",
        "tests": [{"name": "a", "steps": [{"eval": "f()", "expect": 1.5, "approx": 1e-9}, {"eval": "g()", "expect": [1, 2]}]},
                  {"name": "b", "visible": False, "steps": [{"exec": "h()"}]}],
    })
    outcomes = [TestOutcome(name=n, steps=[StepOutcome(ok=True, value=v) for v in values]) for n in names + ["a", "b"]]
    for status in (RunStatus.OK, RunStatus.CRASHED, RunStatus.SANDBOX_ERROR):
        report = grade(task, task.tests, Execution(status=status, tests=outcomes))
        assert [v.name for v in report.verdicts] == ["a", "b"]
        assert all(len(v.message) <= MAX_MESSAGE_CHARS for v in report.verdicts)


def test_undecodable_and_deep_values_decode_with_a_reason() -> None:
    for bad in ({"$float": [1]}, {"$set": [[1]]}, {"$dict": [[[1], 2]]}, {"$bytes": 5}, {"$x": 1, "$y": 2}):
        try:
            decode_value(bad)
        except ValueError as exc:
            assert str(exc)
        else:  # pragma: no cover
            raise AssertionError(bad)
    try:
        decode_value(_deep(MAX_DEPTH + 10))
    except ValueError as exc:
        assert "deeper than" in str(exc)


def _encode_expected(value):
    """Expected values as a task file would write them (the TASK_FORMAT encoding)."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": "nan" if value != value else ("inf" if value > 0 else "-inf")}
    if isinstance(value, tuple):
        return {"$tuple": [_encode_expected(v) for v in value]}
    if isinstance(value, list):
        return [_encode_expected(v) for v in value]
    if isinstance(value, dict):
        if any(k.startswith("$") for k in value):
            return {"$dict": [[k, _encode_expected(v)] for k, v in value.items()]}
        return {k: _encode_expected(v) for k, v in value.items()}
    return value


def test_long_failure_messages_keep_the_raised_exception() -> None:
    """A clipped message keeps its end: for a long traceback, the line that says what was raised."""
    from tracefix.tasks.grading import _clip

    traceback = "`f(1)` raised Traceback (most recent call last):\n" + '  File "solution.py", line 3, in f\n' * 40
    clipped = _clip(traceback + "ValueError: boom")
    assert len(clipped) <= MAX_MESSAGE_CHARS
    assert clipped.startswith("`f(1)` raised") and clipped.endswith("ValueError: boom")
