"""Recording episodes and reading them back: the file layout, the edge cases, the reader's errors.

Everything runs on the real in-process core with the real sandbox.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import EASY_FIX, EASY_TASK, RUN, SUBMIT, VIEW, replace
from tracefix.core.environment import TraceFixRLGym
from tracefix.trajectory import (
    EpisodeRecorder,
    RecordingSession,
    TrajectoryFormatError,
    read_trajectory,
    trajectory_files,
)
from tracefix.trajectory.schema import SCHEMA_VERSION


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture()
def recorded(gym, tmp_path) -> Path:
    """A solved episode of the easy task: run tests, fix, run tests, submit."""
    with RecordingSession(gym, EpisodeRecorder(tmp_path, source="python", agent="scripted")) as env:
        env.reset(task_id=EASY_TASK, seed=3)
        for action in (RUN, EASY_FIX, RUN, SUBMIT):
            env.step(action)
    assert env.path is not None
    return env.path


def test_a_file_is_a_header_one_line_per_step_and_a_footer(recorded):
    rows = lines_of(recorded)
    assert [row["kind"] for row in rows] == ["header", "step", "step", "step", "step", "footer"]
    header, steps, footer = rows[0], rows[1:-1], rows[-1]
    assert header["format"] == "tracefix-trajectory" and header["schema_version"] == SCHEMA_VERSION
    assert header["task_id"] == EASY_TASK and header["split"] == "curated" and header["difficulty"] == "easy"
    assert header["seed"] == 3 and header["reward_mode"] == "shaped" and header["max_steps"] == 50
    assert header["agent"] == "scripted" and header["reset_args"] == {"task_id": EASY_TASK, "seed": 3}
    assert header["observation"]["code_view"].startswith(" 1 | ")
    assert [s["step"] for s in steps] == [1, 2, 3, 4]
    assert steps[1]["action"] == {"action_type": "REPLACE_LINES", "start_line": 9, "end_line": 9,
                                  "new_code_block": EASY_FIX.new_code_block}
    assert steps[0]["action"] == {"action_type": "RUN_TESTS"}
    for step in steps:  # the full observation, reward and done included
        assert step["observation"]["reward"] == step["reward"]
        assert step["observation"]["done"] == step["done"]
        assert "system_prompt" in step["observation"]["metadata"]
    assert steps[-1]["done"] and not any(s["done"] for s in steps[:-1])
    assert footer["done"] and footer["success"] is True and footer["ended"] == "done"
    assert footer["score"] == steps[-1]["observation"]["score"] > 0.9
    assert footer["return"] == pytest.approx(sum(s["reward"] for s in steps))


def test_the_reader_gives_back_what_was_written(recorded):
    trajectory = read_trajectory(recorded)
    assert trajectory.header.task_id == EASY_TASK and len(trajectory.steps) == 4
    assert trajectory.success and trajectory.score == trajectory.footer.score
    assert trajectory.episode_return == trajectory.footer.episode_return
    assert trajectory.steps[1].action == EASY_FIX
    assert trajectory.observations()[0].task_id == EASY_TASK


def test_names_say_agent_task_and_seed_and_never_collide(gym, tmp_path):
    paths = []
    for _ in range(2):  # same agent, task and seed: the same episode id, so the second file gets a suffix
        with RecordingSession(gym, EpisodeRecorder(tmp_path, agent="scripted")) as env:
            env.reset(task_id=EASY_TASK, seed=0)
            env.step(SUBMIT)
        paths.append(env.path)
    assert paths[0].name.startswith("scripted-curated__chunk_off_by_one-seed0-")
    assert paths[1].name == paths[0].name.replace(".jsonl", "-2.jsonl")
    assert sorted(trajectory_files([tmp_path])) == sorted(paths)


def test_an_episode_without_a_step_leaves_no_file(gym, tmp_path):
    recorder = EpisodeRecorder(tmp_path)
    env = RecordingSession(gym, recorder)
    env.reset(task_id=EASY_TASK)
    assert env.close() is None and list(tmp_path.iterdir()) == []


def test_an_unfinished_episode_is_closed_with_a_footer_saying_so(gym, tmp_path):
    recorder = EpisodeRecorder(tmp_path)
    env = RecordingSession(gym, recorder)
    env.reset(task_id=EASY_TASK, seed=1)
    env.step(VIEW)
    env.reset(task_id=EASY_TASK, seed=2)  # a new episode before the first ended
    env.step(RUN)
    second = env.close(error="the player crashed")
    first_rows, second_rows = lines_of(recorder.paths[0]), lines_of(second)
    assert first_rows[-1]["kind"] == "footer" and first_rows[-1]["ended"] == "closed" and not first_rows[-1]["done"]
    assert second_rows[-1]["ended"] == "error" and second_rows[-1]["error"] == "the player crashed"
    assert second_rows[-1]["score"] is None and second_rows[-1]["steps"] == 1


def test_steps_outside_an_episode_are_not_recorded(gym, tmp_path):
    recorder = EpisodeRecorder(tmp_path)
    env = RecordingSession(gym, recorder)
    env.reset(task_id=EASY_TASK)
    env.step(SUBMIT)
    env.step(RUN)  # after done: the environment refuses it, the file is already complete
    rows = lines_of(recorder.paths[0])
    assert [row["kind"] for row in rows] == ["header", "step", "footer"]


def test_a_file_cut_short_is_still_readable(recorded, tmp_path):
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(recorded.read_text().splitlines()[:3]) + "\n")
    trajectory = read_trajectory(cut)
    assert trajectory.footer is None and len(trajectory.steps) == 2 and not trajectory.done


def test_the_reward_mode_comes_from_the_reset_arguments(tmp_path):
    class ModeAwareGym(TraceFixRLGym):
        """The core of a branch with reward modes: it accepts reward_mode (and ignores it here)."""

        def reset(self, *args, reward_mode="shaped", **kwargs):
            return super().reset(*args, **kwargs)

    with RecordingSession(ModeAwareGym(), EpisodeRecorder(tmp_path)) as env:
        env.reset(task_id=EASY_TASK, reward_mode="binary")
        env.step(SUBMIT)
    header = lines_of(env.path)[0]
    assert header["reward_mode"] == "binary" and header["reset_args"]["reward_mode"] == "binary"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda rows: rows[1:], "the first line must be the header"),
        (lambda rows: [rows[0], rows[2]], "step 2 where step 1 was expected"),
        (lambda rows: rows + [rows[1]], "after the footer"),
        (lambda rows: [{**rows[0], "schema_version": 99}] + rows[1:], "schema version 99"),
        (lambda rows: [rows[0], {**rows[1], "action": {"action_type": "FLY"}}], "invalid step: action.action_type"),
        (lambda rows: [rows[0], {**rows[1], "kind": "note"}], "unknown line kind 'note'"),
        (lambda rows: [], "empty file"),
    ],
)
def test_a_broken_file_is_refused_with_its_line_and_reason(recorded, tmp_path, mutate, message):
    broken = tmp_path / "broken.jsonl"
    broken.write_text("".join(json.dumps(row) + "\n" for row in mutate(lines_of(recorded))))
    with pytest.raises(TrajectoryFormatError, match=message):
        read_trajectory(broken)


def test_not_json_and_missing_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "header"\n')
    with pytest.raises(TrajectoryFormatError, match=r"bad.jsonl:1: not JSON"):
        read_trajectory(bad)
    with pytest.raises(TrajectoryFormatError, match="No such file"):
        read_trajectory(tmp_path / "missing.jsonl")


def test_a_recorder_that_cannot_write_does_not_break_the_episode(gym, tmp_path):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    env = RecordingSession(gym, EpisodeRecorder(blocked / "sub"))
    env.reset(task_id=EASY_TASK)
    observation = env.step(replace(9, 9, "    for start in range(0, len(items), size):"))
    assert observation.error is None and env.close() is None
