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


def test_registered_as_tracefix_v0(registry):
    import tracefix.adapters  # noqa: F401 - importing the package registers the id

    env = gymnasium.make("TraceFix-v0", task_id=EASY_TASK)
    text, info = env.reset(seed=0)
    assert info["task_id"] == EASY_TASK and env.spec.id == "TraceFix-v0"
    assert isinstance(env.unwrapped, TraceFixGymnasiumEnv)
    env.close()


def test_make_with_the_module_prefix_needs_no_import():
    code = (
        "import gymnasium; env = gymnasium.make('tracefix.adapters:TraceFix-v0', task_id='curated/chunk_off_by_one'); "
        "print(env.reset(seed=0)[1]['task_id'])"
    )
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == EASY_TASK


def test_env_checker_through_make_has_a_spec_to_check():
    """Without a registration the checker warns that it cannot test render modes without a spec."""
    import warnings

    import tracefix.adapters  # noqa: F401
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(gymnasium.make("TraceFix-v0", task_id=EASY_TASK).unwrapped)
    about_spec = [str(w.message) for w in caught if "spec" in str(w.message) or "gymnasium.make" in str(w.message)]
    assert about_spec == []


def test_sync_vector_env_of_four_runs_whole_episodes(registry):
    """Four environments step in lockstep; each ends episodes (a SUBMIT or the budget) and is reset
    automatically, and every finished episode reports its score."""
    import tracefix.adapters  # noqa: F401

    task_ids = [t.id for t in registry.tasks("curated")[:4]]
    envs = gymnasium.vector.SyncVectorEnv(
        [lambda task_id=task_id: gymnasium.make("TraceFix-v0", task_id=task_id, max_steps=3) for task_id in task_ids]
    )
    observations, infos = envs.reset(seed=[0, 1, 2, 3])
    assert len(observations) == 4 and list(infos["task_id"]) == task_ids
    finished = {i: 0 for i in range(4)}
    plan = ['{"action_type": "RUN_TESTS"}', '{"action_type": "VIEW_CODE"}', '{"action_type": "SUBMIT"}']
    for step in range(8):  # two episodes each: 3 steps, one autoreset step, 3 steps, ...
        actions = [plan[step % 4] if step % 4 < 3 else plan[0]] * 4
        observations, rewards, terminated, truncated, infos = envs.step(actions)
        assert len(rewards) == 4
        for i in range(4):
            if terminated[i] or truncated[i]:
                finished[i] += 1
                assert infos["score"][i] is not None and 0.0 <= infos["score"][i] <= 1.0
                assert infos["task_id"][i] == task_ids[i]
    assert finished == {0: 2, 1: 2, 2: 2, 3: 2}
    envs.close()
