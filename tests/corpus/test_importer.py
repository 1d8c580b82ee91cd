"""``tracefix tasks import``: every bad line is reported with its line number and field."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.corpus.conftest import ABS_REFERENCE, ABS_TESTS
from tracefix.cli.main import app
from tracefix.corpus.importer import import_tasks, split_name_for
from tracefix.tasks.registry import TaskRegistry, default_registry

runner = CliRunner()
BUGGY = ABS_REFERENCE.replace("x < 0", "x > 0")


def task(task_id: str, **overrides) -> dict:
    row = {
        "id": task_id, "difficulty": "easy", "description": "absolute value", "buggy_code": BUGGY,
        "reference_code": ABS_REFERENCE, "tests": ABS_TESTS, "tags": ["imported"],
    }
    row.update(overrides)
    return {k: v for k, v in row.items() if v is not None}


def write_lines(path: Path, lines: list) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def mixed_file(tmp_path: Path) -> Path:
    return write_lines(
        tmp_path / "outside.jsonl",
        [
            task("ext/good"),  # 1
            '{"id": "ext/broken", ',  # 2: not JSON
            task("ext/no-buggy", buggy_code=None),  # 3: missing field
            task("ext/bad-expect", tests=[{"name": "t", "steps": [{"eval": "magnitude(1)", "expect": {"$tuple": 3}}]}]),  # 4
            task("ext/good"),  # 5: duplicate id
            task("ext/ref-fails", reference_code=ABS_REFERENCE.replace("return -x", "return x")),  # 6
            task("ext/not-a-bug", buggy_code="def magnitude(x):\n    return abs(x)\n"),  # 7
            task("Bad Id", difficulty="extreme"),  # 8: two field errors
            "",  # blank lines are fine
            task("curated/chunk_off_by_one"),  # 10: id already served
            task("ext/good2", buggy_code=BUGGY.replace("return x\n", "return x +\n")),  # 11: does not compile
        ],
    )


def test_every_problem_names_its_line_and_field(tmp_path, sandbox):
    path = mixed_file(tmp_path)
    result = import_tasks(path, registry=default_registry(), sandbox=sandbox, workers=2)
    text = "\n".join(result.messages())
    p = str(path)
    assert f"{p}:2: (task): invalid JSON" in text
    assert f"{p}:3: buggy_code: Field required" in text
    assert f"{p}:4: tests[0].steps[0].expect: $.$tuple: expected a list" in text
    assert f"{p}:5: ext/good: id: duplicate id 'ext/good' (first on line 1)" in text
    assert f"{p}:6: ext/ref-fails: reference fails visible test 'negative'" in text
    assert f"{p}:7: ext/not-a-bug: buggy_code passes every visible test" in text
    assert f"{p}:8: id: String should match pattern" in text and f"{p}:8: difficulty: Input should be" in text
    assert f"{p}:10: curated/chunk_off_by_one: id: 'curated/chunk_off_by_one' is already a task of split 'curated'" in text
    assert f"{p}:11: ext/good2: buggy_code does not compile" in text
    assert ":1:" not in text and ":9:" not in text
    assert [t.id for t in result.tasks] == ["ext/good"] and not result.ok
    assert result.lines == {"ext/good": 1} and result.total_lines == 10


def test_cli_import_reports_lines_and_fails(tmp_path):
    path = mixed_file(tmp_path)
    out = tmp_path / "kept.jsonl"
    result = runner.invoke(app, ["tasks", "import", str(path), "--out", str(out)])
    assert result.exit_code == 1
    assert f"{path}:3: buggy_code: Field required" in result.output
    assert "1 valid, 9 invalid of 10 lines" in result.output
    assert not out.exists()  # nothing written unless --keep-valid
    result = runner.invoke(app, ["tasks", "import", str(path), "--out", str(out), "--keep-valid"])
    assert result.exit_code == 1 and out.exists()
    assert out.read_text().splitlines() == [path.read_text().splitlines()[0]]


def test_cli_import_of_a_good_file_makes_a_split(tmp_path):
    path = write_lines(tmp_path / "my_bugs.jsonl", [task("ext/one"), task("ext/two", buggy_code=BUGGY.replace("-x", "x"))])
    result = runner.invoke(app, ["tasks", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 valid, 0 invalid of 2 lines" in result.output and "selectable as split 'my_bugs'" in result.output
    assert split_name_for(path) == "my_bugs"
    registry = TaskRegistry()
    assert registry.add_file(path) == "my_bugs" and len(registry.tasks("my_bugs")) == 2
    listed = runner.invoke(app, ["tasks", "list", "--split", "my_bugs", "--tasks-file", str(path), "--json"])
    assert listed.exit_code == 0 and [json.loads(x)["id"] for x in listed.output.splitlines()] == ["ext/one", "ext/two"]


def test_import_refuses_a_split_name_already_taken(tmp_path):
    path = write_lines(tmp_path / "curated.jsonl", [task("ext/one")])
    result = import_tasks(path, registry=default_registry(), verify=False)
    assert any("split name 'curated' is already taken" in m for m in result.messages())
