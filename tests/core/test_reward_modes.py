"""Reward modes: the same episode paid three ways, and none pays without a more correct program.

shaped  every reward as it happens; the return is score + penalties
score   0 per step, the final score on the terminal step
binary  0 per step, 1.0 on the terminal step iff success
"""

from __future__ import annotations

import pytest

from tests.helpers import EASY_TASK, SUBMIT, VIEW
from tracefix.agents.episode import play_episode
from tracefix.agents.oracle import OracleAgent
from tracefix.agents.random_agent import RandomAgent
from tracefix.core import constants as C
from tracefix.core.environment import ResetError, TraceFixRLGym
from tracefix.core.scoring import check_reward_mode, mode_reward

MODES = C.REWARD_MODES


def play_in_every_mode(registry, make_agent, **reset_kwargs):
    """Play the same episode (same agent seed, same task) once per mode; {mode: EpisodeResult}."""
    results = {}
    for mode in MODES:
        gym = TraceFixRLGym(registry=registry)
        results[mode] = play_episode(gym, make_agent(), {**reset_kwargs, "reward_mode": mode})
    return results


def assert_same_trajectory(results) -> None:
    """The mode changes the rewards and nothing else."""
    trajectories = {
        mode: [(r.action, r.observation.message, r.observation.code_view, r.observation.error) for r in result.steps]
        for mode, result in results.items()
    }
    first = trajectories[MODES[0]]
    assert all(trajectory == first for trajectory in trajectories.values())
    assert len({(r.score, r.success) for r in results.values()}) == 1


def assert_sparse_modes_pay_only_at_the_end(results) -> None:
    for mode in (C.REWARD_SCORE, C.REWARD_BINARY):
        assert all(reward == 0.0 for reward in results[mode].rewards[:-1])
    final = results[C.REWARD_SCORE]
    assert final.total_reward == pytest.approx(final.score)
    binary = results[C.REWARD_BINARY]
    assert binary.total_reward == (1.0 if binary.success else 0.0)


def test_the_default_mode_is_shaped_and_modes_are_named_in_constants(gym):
    assert C.DEFAULT_REWARD_MODE == C.REWARD_SHAPED == "shaped"
    assert gym.reset(task_id=EASY_TASK).metadata["reward_mode"] == "shaped"
    assert check_reward_mode(" Binary ") == "binary"


@pytest.mark.parametrize("task_id", [EASY_TASK, "curated/lru_cache_class", "curated/edit_distance_memo"])
def test_oracle_returns(registry, task_id):
    results = play_in_every_mode(registry, lambda: OracleAgent(registry), task_id=task_id)
    assert_same_trajectory(results)
    assert_sparse_modes_pay_only_at_the_end(results)
    shaped = results[C.REWARD_SHAPED]
    assert shaped.success
    assert shaped.total_reward == pytest.approx(shaped.score)  # no penalties: the return is the score
    assert results[C.REWARD_BINARY].total_reward == 1.0


@pytest.mark.parametrize("seed", range(4))
def test_random_agent_returns(registry, seed):
    results = play_in_every_mode(registry, lambda: RandomAgent(seed=seed), seed=seed, max_steps=15)
    assert_same_trajectory(results)
    assert_sparse_modes_pay_only_at_the_end(results)
    shaped = results[C.REWARD_SHAPED]
    assert shaped.done
    assert shaped.total_reward <= shaped.score + 1e-9  # score + penalties, penalties <= 0
    if shaped.score == 0:
        assert all(result.total_reward <= 0 for result in results.values())


class DoNothing:
    """Looks at the code until the budget runs out (or submits at once): never edits."""

    name = "do-nothing"

    def __init__(self, action):
        self.action = action

    def reset(self, observation) -> None:
        pass

    def act(self, observation):
        return self.action


def test_do_nothing_returns(registry):
    budget = 5
    viewing = play_in_every_mode(registry, lambda: DoNothing(VIEW), task_id=EASY_TASK, max_steps=budget)
    assert_same_trajectory(viewing)
    repeats = budget - (C.ANTI_LOOP_WINDOW - 1)
    expected = budget * C.R_STEP_COST + repeats * C.R_REPEAT_ACTION
    assert viewing[C.REWARD_SHAPED].total_reward == pytest.approx(expected)
    assert viewing[C.REWARD_SCORE].total_reward == 0.0 and viewing[C.REWARD_BINARY].total_reward == 0.0

    submitting = play_in_every_mode(registry, lambda: DoNothing(SUBMIT), task_id=EASY_TASK)
    assert submitting[C.REWARD_SHAPED].total_reward == pytest.approx(C.R_STEP_COST)
    assert submitting[C.REWARD_SCORE].total_reward == 0.0 and submitting[C.REWARD_BINARY].total_reward == 0.0


def test_sparse_modes_owe_nothing_when_cut_off(gym):
    from tests.helpers import RUN

    gym.reset(task_id=EASY_TASK, reward_mode="score")
    observation = gym.step(RUN)
    assert observation.reward == 0.0 and observation.metadata["shaping_outstanding"] == 0.0
    gym.reset(task_id=EASY_TASK)
    assert gym.step(RUN).metadata["shaping_outstanding"] > 0


def test_unknown_mode_is_refused_and_the_episode_kept(gym):
    gym.reset(task_id=EASY_TASK, reward_mode="binary")
    gym.step(VIEW)
    with pytest.raises(ResetError, match="unknown reward_mode 'dense'; use one of shaped, score, binary"):
        gym.reset(task_id=EASY_TASK, reward_mode="dense")
    assert gym.state.step_count == 1 and gym.state.task_id == EASY_TASK


def test_mode_reward_is_a_pure_function():
    assert mode_reward("shaped", -0.07, done=False, score=None, success=None) == -0.07
    assert mode_reward("score", 0.4, done=False, score=None, success=None) == 0.0
    assert mode_reward("score", 0.4, done=True, score=0.75, success=False) == 0.75
    assert mode_reward("binary", -0.2, done=True, score=0.97, success=True) == 1.0
    assert mode_reward("binary", 0.3, done=True, score=0.5, success=False) == 0.0
    with pytest.raises(ValueError):
        mode_reward("dense", 0.0, done=True, score=0.0, success=False)
