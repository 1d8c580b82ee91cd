"""The `tracefix` command line, run in-process with typer's runner against the real registry/sandbox."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tracefix.cli.main import app

runner = CliRunner()


def test_doctor_names_the_tier():
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0 and "best tier" in result.output


def test_tasks_list_json_has_every_curated_task():
    result = runner.invoke(app, ["tasks", "list", "--json"])
    rows = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert result.exit_code == 0 and len(rows) == 16


def test_tasks_show_hides_the_reference_unless_revealed(registry):
    task = registry.get("curated/lru_cache_class")
    shown = runner.invoke(app, ["tasks", "show", task.id, "--json"])
    assert shown.exit_code == 0 and "reference_code" not in shown.output
    revealed = runner.invoke(app, ["tasks", "show", task.id, "--json", "--reveal"])
    assert "reference_code" in revealed.output


def test_unknown_task_and_split_are_clear_errors():
    missing = runner.invoke(app, ["tasks", "show", "curated/nope"])
    assert missing.exit_code == 2 and "unknown task id" in missing.output
    split = runner.invoke(app, ["tasks", "list", "--split", "nope"])
    assert split.exit_code == 2 and "unknown split" in split.output


def test_play_against_an_unreachable_server_is_a_clear_error():
    result = runner.invoke(app, ["play", "--url", "http://127.0.0.1:9", "--quiet"])
    assert result.exit_code == 2 and "could not play against http://127.0.0.1:9" in result.output


def test_play_oracle_on_the_embedded_server_succeeds():
    result = runner.invoke(app, ["play", "--task", "curated/chunk_off_by_one"])
    assert result.exit_code == 0, result.output
    assert "success" in result.output and "RUN_TESTS" in result.output
