"""The Gymnasium adapter: a thin layer over the real core, sandbox and tasks."""

from __future__ import annotations

import json

import pytest

gymnasium = pytest.importorskip("gymnasium")

from tests.helpers import EASY_TASK  # noqa: E402
from tracefix.adapters.gymnasium_env import TraceFixGymnasiumEnv  # noqa: E402
from tracefix.agents.oracle import fix_actions  # noqa: E402


def test_oracle_episode_through_gymnasium(registry):
    env = TraceFixGymnasiumEnv(task_id=EASY_TASK)
    text, info = env.reset(seed=0)
    assert info["task_id"] == EASY_TASK and "9 |     for start in range(0, len(items) - 1, size):" in text
    assert env.observation_space.contains(text)
    task = registry.get(EASY_TASK)
    returns = 0.0
    for action in fix_actions(task.buggy_code, task.reference_code):
        text, reward, terminated, truncated, info = env.step(action.model_dump_json(exclude_none=True))
        returns += reward
        assert info["error"] is None and not terminated and not truncated
    text, reward, terminated, truncated, info = env.step('{"action_type": "SUBMIT"}')
    returns += reward
    assert terminated and not truncated and info["success"] is True
    assert returns == pytest.approx(info["score"])


def test_unparsable_action_changes_nothing():
    env = TraceFixGymnasiumEnv(task_id=EASY_TASK)
    env.reset(seed=1)
    before = env.env.state
    _, reward, terminated, truncated, info = env.step("please fix it")
    assert reward == 0 and not terminated and not truncated and "unparsable action" in info["error"]
    assert env.env.state == before


def test_step_budget_is_truncation_and_still_scored():
    env = TraceFixGymnasiumEnv(task_id=EASY_TASK, max_steps=2)
    env.reset()
    env.step(json.dumps({"action_type": "VIEW_CODE"}))
    _, _, terminated, truncated, info = env.step(json.dumps({"action_type": "RUN_TESTS"}))
    assert truncated and not terminated and info["score"] == 0


def test_step_before_reset_is_refused():
    with pytest.raises(gymnasium.error.ResetNeeded):
        TraceFixGymnasiumEnv().step('{"action_type": "VIEW_CODE"}')


def test_passes_gymnasiums_env_checker():
    from gymnasium.utils.env_checker import check_env

    check_env(TraceFixGymnasiumEnv(task_id=EASY_TASK), skip_render_check=True)
