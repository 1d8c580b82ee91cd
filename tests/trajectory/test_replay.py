"""Deterministic replay: an `eval` run of the curated split replays with zero divergences, and a
tampered file is caught.  `tracefix eval` and `tracefix replay` run for real (embedded server on
127.0.0.1, real sandbox); the tampering is done on copies of the recorded files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracefix.cli.main import app
from tracefix.core.context import split_lines
from tracefix.core.environment import TraceFixRLGym
from tracefix.models import ActionType
from tracefix.trajectory import read_trajectory, replay_trajectory, trajectory_files
from tracefix.trajectory.program import program_versions
from tracefix.trajectory.replay import replay_reset_args

runner = CliRunner()
AGENTS = ("search", "random", "oracle")


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory) -> tuple[Path, list[dict]]:
    """`tracefix eval --record` over the 16 curated tasks with three agents (48 episodes)."""
    root = tmp_path_factory.mktemp("eval")
    out, record = root / "eval.jsonl", root / "trajectories"
    result = runner.invoke(app, ["eval", "--agent", ",".join(AGENTS), "--split", "curated", "--workers", "2",
                                 "--out", str(out), "--record", str(record)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return record, rows


def test_every_eval_result_links_to_its_trajectory(eval_run):
    record, rows = eval_run
    assert len(rows) == 16 * len(AGENTS)
    files = set(trajectory_files([record]))
    assert {Path(row["trajectory"]) for row in rows} == files
    for row in rows:
        trajectory = read_trajectory(row["trajectory"])
        assert trajectory.header.task_id == row["task"] and trajectory.header.agent == row["agent"]
        assert trajectory.header.seed == row["seed"] and trajectory.header.source == "eval"
        assert trajectory.rewards == pytest.approx(row["rewards"])
        assert (trajectory.score or 0.0) == pytest.approx(row["score"]) and trajectory.success == row["success"]


def test_replaying_the_whole_eval_run_finds_no_divergence(eval_run):
    record, rows = eval_run
    result = runner.invoke(app, ["replay", str(record)])
    assert result.exit_code == 0, result.output
    assert f"{len(rows)} of {len(rows)} trajectories replayed identically; 0 diverged" in result.output
    assert result.output.count("identical ") == len(rows)


def test_the_rebuilt_program_matches_the_environment_after_every_step(eval_run):
    """`show` and the web viewer rebuild each version of the program from the file: check it
    against the environment's own state while replaying."""
    record, _ = eval_run
    for path in trajectory_files([record]):
        trajectory = read_trajectory(path)
        versions = program_versions(trajectory.header.observation, [(s.action, s.observation) for s in trajectory.steps])
        env = TraceFixRLGym()
        env.reset(**replay_reset_args(trajectory))
        assert list(versions[0].lines) == split_lines(env.state.code)
        for step, version in zip(trajectory.steps, versions[1:]):
            env.step(step.action)
            assert list(version.lines) == split_lines(env.state.code), (path.name, step.step)
            assert not version.resynced, (path.name, step.step)


def _tamper(source: Path, target: Path, edit) -> Path:
    rows = [json.loads(line) for line in source.read_text().splitlines()]
    edit(rows)
    target.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return target


def _solved_search_file(rows: list[dict]) -> Path:
    return Path(next(r["trajectory"] for r in rows if r["agent"] == "search" and r["success"] and r["steps"] >= 4))


def _first(rows: list[dict], action_type: str) -> dict:
    return next(row for row in rows if row["kind"] == "step" and row["action"]["action_type"] == action_type)


def test_a_changed_reward_is_caught(eval_run, tmp_path):
    _, results = eval_run
    source = _solved_search_file(results)
    tampered = _tamper(source, tmp_path / "reward.jsonl", lambda rows: rows[2].update(reward=rows[2]["reward"] + 0.5))
    result = runner.invoke(app, ["replay", str(tampered)])
    assert result.exit_code == 1, result.output
    assert "DIVERGED" in result.output and "step 2: reward: recorded" in result.output


def test_a_changed_observation_text_is_caught(eval_run, tmp_path):
    _, results = eval_run
    source = _solved_search_file(results)

    def edit(rows):
        step = _first(rows, "RUN_TESTS")
        step["observation"]["message"] = step["observation"]["message"].replace("pass", "passed")
        step["observation"]["test_results"][0]["message"] += " (edited)"

    tampered = _tamper(source, tmp_path / "text.jsonl", edit)
    report = replay_trajectory(read_trajectory(tampered))
    assert not report.ok
    assert {d.field for d in report.divergences} == {"observation.message", "observation.test_results[0].message"}
    assert runner.invoke(app, ["replay", str(tampered)]).exit_code == 1


def test_a_changed_action_is_caught(eval_run, tmp_path):
    _, results = eval_run
    source = _solved_search_file(results)

    def edit(rows):
        step = _first(rows, "REPLACE_LINES")
        step["action"]["new_code_block"] = step["action"]["new_code_block"].rstrip("\n") + "  # tampered\n"

    tampered = _tamper(source, tmp_path / "action.jsonl", edit)
    report = replay_trajectory(read_trajectory(tampered))
    edited = next(s.step for s in read_trajectory(tampered).steps if s.action.action_type is ActionType.REPLACE_LINES)
    assert any(d.step == edited and d.field == "observation.code_view" for d in report.divergences)
    assert runner.invoke(app, ["replay", str(tampered)]).exit_code == 1


def test_a_changed_final_score_and_success_are_caught(eval_run, tmp_path):
    _, results = eval_run
    source = _solved_search_file(results)
    tampered = _tamper(source, tmp_path / "footer.jsonl", lambda rows: rows[-1].update(score=1.0, success=False))
    fields = {d.field for d in replay_trajectory(read_trajectory(tampered)).divergences}
    assert fields == {"footer.score", "footer.success"}


def test_files_that_cannot_be_replayed_are_errors_not_crashes(eval_run, tmp_path):
    _, results = eval_run
    source = _solved_search_file(results)
    unknown = _tamper(source, tmp_path / "unknown.jsonl", lambda rows: rows[0].update(task_id="curated/nope"))
    result = runner.invoke(app, ["replay", str(unknown)])
    assert result.exit_code == 2 and "cannot replay" in result.output and "unknown task" in result.output
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("not json\n")
    result = runner.invoke(app, ["replay", str(garbage)])
    assert result.exit_code == 2 and "unreadable" in result.output and "not JSON" in result.output
    assert runner.invoke(app, ["replay", str(tmp_path / "empty-dir-does-not-exist")]).exit_code == 2
