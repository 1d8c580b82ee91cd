"""`tracefix export dataset`: the GRPO prompt dataset, written with `datasets` and as JSONL."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tracefix.adapters.dataset import dataset_rows
from tracefix.adapters.trl_env import TraceFixToolEnv
from tracefix.cli.main import app
from tracefix.core.prompts import TOOL_SYSTEM_PROMPT

runner = CliRunner()


def test_rows_are_prompts_and_selectors_without_solutions(registry):
    rows = dataset_rows(registry, "validation")
    tasks = registry.tasks("validation")
    assert len(rows) == len(tasks)
    for index, (row, task) in enumerate(zip(rows, tasks)):
        assert set(row) == {"prompt", "task_id", "split", "index", "difficulty"}
        assert (row["task_id"], row["split"], row["index"], row["difficulty"]) == (task.id, "validation", index, task.difficulty)
        assert registry.at(row["split"], row["index"]).id == task.id
        system, user = row["prompt"]
        assert system == {"role": "system", "content": TOOL_SYSTEM_PROMPT}
        assert user["role"] == "user" and task.description.strip() in user["content"]
        text = json.dumps(row)
        assert task.reference_code not in text and "hidden" not in json.dumps(row["prompt"][1])


def test_reward_mode_column_is_optional_and_checked(registry):
    assert dataset_rows(registry, "curated", limit=2, reward_mode="binary")[1]["reward_mode"] == "binary"
    with pytest.raises(ValueError, match="unknown reward_mode"):
        dataset_rows(registry, "curated", reward_mode="dense")


def test_every_exported_row_resets_the_tool_environment(registry):
    env = TraceFixToolEnv()
    for row in dataset_rows(registry, "curated", reward_mode="score"):
        appended = env.reset(**row)
        assert env.observation.task_id == row["task_id"] and env.observation.metadata["reward_mode"] == "score"
        assert "Code (all" in appended


def test_cli_writes_a_dataset_that_load_from_disk_reads(tmp_path, registry):
    datasets = pytest.importorskip("datasets", reason="needs the train extra (uv sync --extra train)")
    out = tmp_path / "curated-ds"
    result = runner.invoke(app, ["export", "dataset", "--split", "curated", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 16 rows (curated)" in result.output
    loaded = datasets.load_from_disk(str(out))
    expected = dataset_rows(registry, "curated")
    assert loaded.num_rows == 16 and loaded.column_names == ["prompt", "task_id", "split", "index", "difficulty"]
    assert [dict(row) for row in loaded] == expected
    lines = (out / "curated.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == expected


def test_cli_errors_are_clear(tmp_path):
    pytest.importorskip("datasets", reason="needs the train extra (uv sync --extra train)")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["export", "dataset", "--split", "curated", "--out", str(taken)])
    assert result.exit_code == 2 and "not an empty directory" in result.output
    assert (taken / "keep.txt").read_text() == "mine"
    unknown = runner.invoke(app, ["export", "dataset", "--split", "nope", "--out", str(tmp_path / "x")])
    assert unknown.exit_code == 2 and "unknown split 'nope'" in unknown.output
    mode = runner.invoke(app, ["export", "dataset", "--split", "curated", "--reward-mode", "dense", "--out", str(tmp_path / "y")])
    assert mode.exit_code == 2 and "unknown reward_mode" in mode.output
