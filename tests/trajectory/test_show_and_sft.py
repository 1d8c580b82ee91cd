"""`tracefix show` (terminal rendering) and `tracefix export sft` (chat-format training examples)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import EASY_FIX, EASY_TASK, RUN, SUBMIT, VIEW, replace
from tracefix.agents.parsing import parse_action
from tracefix.agents.prompting import render_observation
from tracefix.cli.main import app
from tracefix.core.prompts import SYSTEM_PROMPT
from tracefix.trajectory import EpisodeRecorder, RecordingSession, read_trajectory

runner = CliRunner()
MARKUP_LINE = '    return chunks  # [bold]not markup[/bold] items[0] [red]'


def record(gym, directory: Path, actions, *, agent: str = "scripted", seed: int = 0) -> Path:
    with RecordingSession(gym, EpisodeRecorder(directory, agent=agent)) as env:
        env.reset(task_id=EASY_TASK, seed=seed)
        for action in actions:
            env.step(action)
    assert env.path is not None
    return env.path


@pytest.fixture()
def runs(gym, tmp_path) -> Path:
    """Three episodes: solved (with a bracket-laden comment), unsolved, unfinished."""
    directory = tmp_path / "runs"
    record(gym, directory, [RUN, replace(11, 11, MARKUP_LINE), EASY_FIX, RUN, SUBMIT], agent="solver")
    record(gym, directory, [VIEW, SUBMIT], agent="giver-up", seed=1)
    record(gym, directory, [RUN], agent="quitter", seed=2)
    return directory


def test_show_prints_actions_diffs_tests_and_rewards_literally(runs):
    path = next(runs.glob("solver-*.jsonl"))
    result = runner.invoke(app, ["show", str(path)])
    assert result.exit_code == 0, result.output
    output = result.output
    assert EASY_TASK in output and "agent" in output and "solver" in output
    assert "REPLACE_LINES(9-9)" in output and "RUN_TESTS" in output and "SUBMIT" in output
    assert "-    for start in range(0, len(items) - 1, size):" in output  # the diff of the fix
    assert "+    for start in range(0, len(items), size):" in output
    assert "[bold]not markup[/bold] items[0] [red]" in output  # code is never read as Rich markup
    assert "uneven_split" in output and "FAIL" in output and "PASS" in output  # the visible test table
    trajectory = read_trajectory(path)
    assert "rewards: " + " ".join(f"{r:+.2f}" for r in trajectory.rewards) in output
    assert f"success · score {trajectory.score:.2f}" in output


def test_show_one_step_and_bad_input(runs, tmp_path):
    path = next(runs.glob("solver-*.jsonl"))
    one = runner.invoke(app, ["show", str(path), "--step", "3"])
    assert one.exit_code == 0 and "program before step 3" in one.output and "step  1" not in one.output
    assert runner.invoke(app, ["show", str(path), "--step", "99"]).exit_code == 2
    # A long path in a narrow terminal: the error stays one line, path and reason intact.
    nowhere = tmp_path / ("d" * 120) / "[nope].jsonl"
    missing = runner.invoke(app, ["show", str(nowhere)], terminal_width=60)
    assert missing.exit_code == 2
    assert missing.output.strip() == f"error: {nowhere}: No such file or directory"


def test_show_marks_an_unfinished_episode(runs):
    result = runner.invoke(app, ["show", str(next(runs.glob("quitter-*.jsonl")))])
    assert result.exit_code == 0 and "unfinished" in result.output


def test_export_sft_keeps_only_successful_episodes_as_chat_examples(runs, tmp_path):
    out = tmp_path / "sft" / "results.jsonl"
    result = runner.invoke(app, ["export", "sft", "--from", str(runs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 example(s) written" in result.output and "2 not successful" in result.output
    examples = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(examples) == 1
    example = examples[0]
    trajectory = read_trajectory(next(runs.glob("solver-*.jsonl")))

    # OpenEnv's collected-episode record (openenv.core.harness.collect.EpisodeRecord)
    from dataclasses import fields

    from openenv.core.harness.collect import EpisodeRecord

    assert set(example) == {f.name for f in fields(EpisodeRecord)}
    assert example["reward"] == pytest.approx(trajectory.score) and example["done"] is True
    assert example["metrics"]["success"] is True and example["task"]["task_id"] == EASY_TASK

    messages = example["messages"]
    assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert [m["role"] for m in messages[1:]] == ["user", "assistant"] * len(trajectory.steps)
    observations = trajectory.observations()
    for index, step in enumerate(trajectory.steps):
        user, assistant = messages[1 + 2 * index], messages[2 + 2 * index]
        assert user["content"] == render_observation(observations[index])  # what the llm agent is shown
        assert parse_action(assistant["content"]) == step.action  # what the llm agent replies
        assert json.loads(assistant["content"])["action_type"] == step.action.action_type.value
    trace = example["tool_trace"]
    assert [t["tool_name"] for t in trace] == ["run_tests", "replace_lines", "replace_lines", "run_tests", "submit"]
    assert trace[2]["arguments"] == {"start_line": 9, "end_line": 9, "new_code": EASY_FIX.new_code_block}


def test_export_sft_filters_by_score_and_agent(runs, tmp_path):
    out = tmp_path / "out.jsonl"
    high = runner.invoke(app, ["export", "sft", "--from", str(runs), "--out", str(out), "--min-score", "0.99"])
    assert high.exit_code == 1 and "0 example(s)" in high.output and "1 below score" in high.output
    other = runner.invoke(app, ["export", "sft", "--from", str(runs), "--out", str(out), "--agent", "giver-up"])
    assert other.exit_code == 1 and "2 other agents" in other.output


def test_export_sft_reports_bad_input_clearly(runs, tmp_path):
    missing = runner.invoke(app, ["export", "sft", "--from", str(tmp_path / "nope"), "--out", str(tmp_path / "x.jsonl")])
    assert missing.exit_code == 2 and "no such file or directory" in missing.output
    (runs / "broken.jsonl").write_text("{}\n")
    result = runner.invoke(app, ["export", "sft", "--from", str(runs), "--out", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 0 and "skipped" in result.output and "1 unreadable" in result.output
