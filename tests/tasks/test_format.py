"""The task format: value decoding, schema validation with line/field errors."""

from __future__ import annotations

import json
import math

import pytest

from tracefix.tasks.codec import ValueDecodeError, decode_value, find_unsupported, values_equal
from tracefix.tasks.schema import TaskFileError, load_task_file, parse_task


@pytest.mark.parametrize(
    "encoded, value",
    [
        (None, None),
        (7, 7),
        (10**40, 10**40),
        ("x", "x"),
        ([1, [2]], [1, [2]]),
        ({"$tuple": [1, 2]}, (1, 2)),
        ({"$set": [1, 2]}, {1, 2}),
        ({"$frozenset": []}, frozenset()),
        ({"$dict": [[1, "a"], [{"$tuple": [1, 2]}, None]]}, {1: "a", (1, 2): None}),
        ({"$bytes": "aGk="}, b"hi"),
        ({"a": {"$tuple": []}}, {"a": ()}),
    ],
)
def test_decode(encoded, value):
    assert decode_value(encoded) == value


def test_decode_special_floats():
    assert decode_value({"$float": "inf"}) == math.inf
    assert math.isnan(decode_value({"$float": "nan"}))


@pytest.mark.parametrize(
    "encoded, fragment",
    [
        ({"$tuple": 1}, "expected a list"),
        ({"$float": "big"}, "expected 'inf'"),
        ({"$what": []}, "unknown tag"),
        ({"$set": [[1]]}, "unhashable"),
        ({"$tuple": [], "x": 1}, "exactly one key"),
        ({"$bytes": "%%"}, "invalid base64"),
        ({"$unsupported": "Weird"}, "unsupported type"),
    ],
)
def test_decode_errors_name_the_problem(encoded, fragment):
    with pytest.raises(ValueDecodeError, match=fragment):
        decode_value(encoded)


def test_find_unsupported_anywhere():
    assert find_unsupported([1, {"a": [{"$unsupported": "AlwaysEqual"}]}]) == "AlwaysEqual"
    assert find_unsupported({"$tuple": [1, 2]}) is None


def test_values_equal_with_approx_is_type_strict_for_containers():
    assert values_equal([1.0, (2.0000000001,)], [1.0, (2.0,)], approx=1e-9)
    assert not values_equal([1.0], (1.0,), approx=1e-9)
    assert values_equal(math.nan, math.nan, approx=1e-9)
    assert not values_equal(True, 1.0, approx=1e-9)
    assert values_equal({"a": 0.1 + 0.2}, {"a": 0.3}, approx=1e-12)


GOOD = {
    "id": "t/one",
    "difficulty": "easy",
    "description": "add two numbers",
    "buggy_code": "def add(a, b):\n    return a - b\n",
    "reference_code": "def add(a, b):\n    return a + b\n",
    "tests": [{"name": "small", "steps": [{"eval": "add(1, 2)", "expect": 3}]}],
}


def _write(tmp_path, lines):
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def test_good_task_parses_with_defaults():
    task = parse_task(GOOD)
    assert task.tests[0].visible is True and task.setup_code == "" and task.timeout_s is None


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"id": "Bad ID"}, "id: String should match pattern"),
        ({"difficulty": "trivial"}, "difficulty"),
        ({"tests": []}, "tests: List should have at least 1 item"),
        ({"tests": [{"name": "a", "steps": [{"eval": "1"}]}]}, "exactly one of 'expect' or 'raises'"),
        ({"tests": [{"name": "a", "steps": [{"eval": "1", "expect": {"$tuple": 3}}]}]}, "tests[0].steps[0].expect"),
        ({"tests": [{"name": "a", "steps": [{"run": "1"}]}]}, "exactly one of 'exec' or 'eval'"),
        ({"tests": [GOOD["tests"][0], GOOD["tests"][0]]}, "duplicate test name"),
        ({"timeout_s": -1}, "timeout_s"),
        ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
        ({"visible": "yes"}, "visible"),
    ],
)
def test_bad_task_lines_name_line_and_field(tmp_path, change, fragment):
    path = _write(tmp_path, [GOOD, {**GOOD, "id": "t/two", **change}])
    with pytest.raises(TaskFileError) as info:
        load_task_file(path)
    assert info.value.line == 2
    assert f"{path}:2:" in str(info.value) and fragment in str(info.value)


def test_invalid_json_and_duplicate_ids_are_reported_per_line(tmp_path):
    path = _write(tmp_path, [GOOD, "{not json", GOOD])
    tasks, errors = load_task_file(path, collect_errors=True)
    assert len(tasks) == 1
    assert [e.line for e in errors] == [2, 3]
    assert "invalid JSON" in str(errors[0]) and "duplicate id" in str(errors[1])


def test_public_view_hides_reference_and_hidden_tests():
    task = parse_task({**GOOD, "tests": GOOD["tests"] + [{"name": "secret", "visible": False, "steps": [{"eval": "add(40, 2)", "expect": 42}]}]})
    text = json.dumps(task.public_view())
    assert "a + b" not in text and "secret" not in text and "add(40, 2)" not in text
    assert task.public_view()["num_hidden_tests"] == 1


@pytest.mark.parametrize(
    "line, fragment",
    [
        ('{"id": "a", "difficulty": "easy",\n', "the line ends before the JSON value is complete"),
        ('{"id": "a", "descr\n', "the line ends inside the string that opens at column 13"),
        ('{"id": "a",, "b": 1}\n', "Expecting property name enclosed in double quotes at column 12"),
    ],
)
def test_bad_json_lines_are_located_on_the_line_itself(line, fragment):
    from tracefix.tasks.schema import parse_task_line

    with pytest.raises(TaskFileError) as caught:
        parse_task_line(line, path="t.jsonl", line=4)
    message = str(caught.value)
    assert message.startswith("t.jsonl:4: (task): invalid JSON") and fragment in message
    assert "column 1)" not in message and "at at" not in message
