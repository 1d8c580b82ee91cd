"""What the `tracefix` command line prints: code and messages exactly as stored, one-line errors,
no tracebacks.  Width-sensitive checks run the real CLI in a subprocess with a fixed COLUMNS."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.helpers import EASY_TASK, RUN, replace
from tracefix.agents.episode import StepRecord
from tracefix.cli.main import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, columns: int = 80, timeout: float = 240, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "50", **(extra_env or {})}
    env.pop("FORCE_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "tracefix.cli.main", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


def numbered_lines(code: str) -> list[str]:
    lines = code.splitlines()
    width = len(str(len(lines)))
    return [f"{n:>{width}} | {line}".rstrip() for n, line in enumerate(lines, start=1)]


# -- items 1 and 2: play ------------------------------------------------------------------------------
def test_play_shows_every_code_line_exactly_as_stored(registry):
    task = registry.get(EASY_TASK)
    assert "items[start:start + size]" in task.buggy_code  # the bracketed text Rich markup used to eat
    result = cli("play", "--task", EASY_TASK, "--agent", "search")
    assert result.returncode == 0, result.stdout + result.stderr
    shown = [line.rstrip() for line in result.stdout.splitlines()]
    for line in numbered_lines(task.buggy_code):
        assert shown.count(line) == 1, (line, result.stdout)
    failing = [line for line in shown if line.lstrip().startswith("FAIL uneven_split")]
    assert failing and "expected [[1, 2], [3, 4], [5]], got [[1, 2], [3, 4]]" in failing[0]


def test_failing_test_shows_the_exception_and_the_solution_line(gym):
    from tracefix.cli.render import print_step

    gym.reset(task_id=EASY_TASK)
    gym.step(replace(10, 10, "        chunks.append(items[start + 10**9])"))
    observation = gym.step(RUN)
    assert observation.test_results[0].message.count("\n") > 2  # a real traceback from the sandbox
    out = io.StringIO()
    print_step(Console(file=out, width=80, color_system=None), StepRecord(step=2, action=RUN, observation=observation, reward=0.0))
    fail_lines = [line for line in out.getvalue().splitlines() if "FAIL" in line]
    assert fail_lines, out.getvalue()
    for line in fail_lines:
        assert "IndexError: list index out of range" in line and "(solution.py line 10)" in line
        assert "Traceback (most recent call last)" not in line


def test_errors_and_task_text_are_printed_verbatim(tmp_path, registry):
    """Rich markup is never applied to text from users or task files."""
    missing = runner.invoke(app, ["tasks", "show", "curated/[bold]x[/bold]"], env={"COLUMNS": "200"})
    assert missing.exit_code == 2 and "unknown task id 'curated/[bold]x[/bold]'" in missing.output
    task = registry.get(EASY_TASK).model_dump(exclude_defaults=True)
    task.update(id="brackets/one", title="Split [items] into [red]chunks[/red]", tags=["[dim]tag[/dim]"])
    path = tmp_path / "brackets.jsonl"
    path.write_text(json.dumps(task) + "\n")
    listed = runner.invoke(app, ["tasks", "list", "--split", "brackets", "--tasks-file", str(path)], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "Split [items] into [red]chunks[/red]" in listed.output and "[dim]tag[/dim]" in listed.output


def test_play_help_lists_every_agent():
    result = runner.invoke(app, ["play", "--help"], env={"COLUMNS": "200"})
    for name in ("oracle", "search", "random", "llm"):
        assert name in result.output


def test_inference_temperature_has_help_text():
    import contextlib

    import inference

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        inference.parse_args(["--help"])
    help_text = " ".join(out.getvalue().split())
    assert "--temperature TEMPERATURE sampling temperature" in help_text


# -- item 3: a missing API key stops play, eval and inference.py alike ---------------------------------
def test_missing_api_key_is_the_same_one_line_refusal_everywhere(monkeypatch, capsys):
    import inference
    from tracefix.agents.llm import NO_API_KEY_MESSAGE

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("API_KEY", raising=False)
    expected = f"error: {NO_API_KEY_MESSAGE}"
    assert inference.main(["--agent", "llm"], stdout=io.StringIO()) == 2
    assert capsys.readouterr().err.strip() == expected
    for command in (["play", "--agent", "llm"], ["eval", "--agent", "search,llm", "--url", "http://127.0.0.1:9"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert result.output.strip() == expected, command
        assert result.exception is None or isinstance(result.exception, SystemExit)


# -- smaller things: tasks list / show / import / verify ----------------------------------------------
@pytest.mark.parametrize("columns", [80, 120])
def test_tasks_list_never_cuts_ids(registry, columns):
    result = cli("tasks", "list", "--split", "all", columns=columns)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line.rstrip()) <= columns for line in lines)
    starts = {line.split(" ", 1)[0] for line in lines}
    shipped = [task.id for split in ("curated", "train", "validation", "test") for task in registry.tasks(split)]
    assert len(shipped) > 1000  # every shipped split is listed, not only curated
    missing = [task_id for task_id in shipped if task_id not in starts]
    assert missing == []


def test_tasks_show_prints_numbered_code_and_a_test_table(registry):
    task = registry.get(EASY_TASK)
    shown = runner.invoke(app, ["tasks", "show", EASY_TASK], env={"COLUMNS": "100"})
    assert shown.exit_code == 0, shown.output
    lines = [line.rstrip() for line in shown.output.splitlines()]
    for line in numbered_lines(task.buggy_code):
        assert line in lines
    for test in task.visible_tests:
        assert any(line.startswith(test.name) for line in lines)
    assert "chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]" in shown.output
    for test in task.hidden_tests:
        assert test.name not in shown.output
    assert "reference" not in shown.output.replace("--reveal shows them and the reference code", "")
    revealed = runner.invoke(app, ["tasks", "show", EASY_TASK, "--reveal"], env={"COLUMNS": "100"})
    for line in numbered_lines(task.reference_code):
        assert line in [l.rstrip() for l in revealed.output.splitlines()]
    assert all(test.name in revealed.output for test in task.hidden_tests)


def test_tasks_show_json_keeps_the_machine_readable_view(registry):
    task = registry.get(EASY_TASK)
    shown = runner.invoke(app, ["tasks", "show", EASY_TASK, "--json"])
    assert shown.exit_code == 0 and json.loads(shown.output) == json.loads(json.dumps(task.public_view()))
    revealed = runner.invoke(app, ["tasks", "show", EASY_TASK, "--json", "--reveal"])
    assert json.loads(revealed.output)["reference_code"] == task.reference_code


def test_tasks_import_of_an_empty_file_is_an_error(tmp_path):
    empty = tmp_path / "nothing.jsonl"
    empty.write_text("\n\n")
    result = runner.invoke(app, ["tasks", "import", str(empty), "--no-verify"])
    assert result.exit_code == 1
    assert "the file is empty" in result.output and "selectable as split" not in result.output


def _bad_file(tmp_path: Path, registry) -> Path:
    good = registry.get(EASY_TASK).model_dump(exclude_defaults=True)
    good["id"] = "mine/good"
    lines = [
        json.dumps(good),  # 1: fine
        json.dumps(good)[:120],  # 2: truncated
        json.dumps({**good, "id": "mine/nodiff", "difficulty": "extreme"}),  # 3: bad field
        "[1, 2]",  # 4: not an object
        json.dumps({**good, "id": "mine/good2"}),  # 5: fine
    ]
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_tasks_verify_file_reports_every_bad_line(tmp_path, registry):
    path = _bad_file(tmp_path, registry)
    result = runner.invoke(app, ["tasks", "verify", "--file", str(path), "--workers", "1"], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    for number in (2, 3, 4):
        assert f"{path}:{number}:" in result.output
    assert "line ends inside the string" in result.output and "column 1)" not in result.output
    assert "2 valid, 0 invalid, 3 line(s) not in the task format" in result.output


def test_tasks_list_with_a_bad_tasks_file_reports_every_bad_line(tmp_path, registry):
    path = _bad_file(tmp_path, registry)
    result = runner.invoke(app, ["tasks", "list", "--tasks-file", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    for number in (2, 3, 4):
        assert f"{path}:{number}:" in result.output
    assert "Traceback" not in result.output


def test_serve_with_a_bad_tasks_file_prints_the_report_not_a_traceback(tmp_path, registry):
    path = _bad_file(tmp_path, registry)
    result = cli("serve", "--host", "127.0.0.1", "--port", "0", "--tasks-file", str(path), timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for number in (2, 3, 4):
        assert f"{path}:{number}:" in result.stderr
    assert "not serving" in result.stderr


def test_serve_with_a_missing_tasks_file_is_a_clear_error(tmp_path, capsys):
    from tracefix.server.app import registry_with_file

    missing = tmp_path / "absent.jsonl"
    with pytest.raises(SystemExit) as stopped:
        registry_with_file(str(missing))
    assert stopped.value.code == 2
    assert f"{missing}:0: (file): cannot read" in capsys.readouterr().err


# -- smaller things: eval --out --------------------------------------------------------------------------
def test_eval_does_not_overwrite_earlier_results_without_force(tmp_path, server_url):
    out = tmp_path / "eval.jsonl"
    out.write_text('{"earlier": true}\n')
    args = ["eval", "--agent", "oracle", "--limit", "1", "--url", server_url, "--out", str(out)]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "already holds results" in refused.output and "--force" in refused.output
    assert out.read_text() == '{"earlier": true}\n'
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["agent"] == "oracle" and rows[0]["success"] is True
