"""Every reward path, and the guarantee that rewards pay for progress, never for activity."""

from __future__ import annotations

import random

import pytest

from tests.helpers import EASY_FIX, EASY_TASK, RUN, SUBMIT, UNDO, VIEW, replace
from tracefix.core import constants as C
from tracefix.core.environment import TraceFixRLGym
from tracefix.models import ActionType, CodeAction


def total(observations) -> float:
    return round(sum(o.reward for o in observations), 6)


def test_step_cost_on_every_step(gym):
    gym.reset(task_id=EASY_TASK)
    assert gym.step(VIEW).reward == pytest.approx(C.R_STEP_COST)
    assert gym.state.accumulated_step_cost == pytest.approx(-C.R_STEP_COST)


def test_run_tests_bonus_only_for_first_run_of_a_new_version(gym):
    gym.reset(task_id=EASY_TASK)
    first = gym.step(RUN)
    assert first.reward == pytest.approx(C.R_STEP_COST + C.R_RUN_TESTS + C.R_PER_NEW_PASS * first.tests_passed)
    again = gym.step(RUN)
    assert again.reward == pytest.approx(C.R_STEP_COST)


def test_new_passes_pay_once_per_high_water_mark(gym):
    gym.reset(task_id=EASY_TASK)
    base = gym.step(RUN).tests_passed
    gym.step(EASY_FIX)
    fixed = gym.step(RUN)
    gained = fixed.tests_passed - base
    assert gained > 0
    assert fixed.reward == pytest.approx(C.R_STEP_COST + C.R_RUN_TESTS + C.R_PER_NEW_PASS * gained)
    gym.step(UNDO)
    gym.step(RUN)  # an already tested version: no bonus
    gym.step(replace(9, 9, "    for start in range(0, len(items), size):"))
    rerun = gym.step(RUN)  # same code as the fix: already tested, no new passes
    assert rerun.reward == pytest.approx(C.R_STEP_COST)


def test_syntax_error_penalty_and_recovery(gym):
    gym.reset(task_id=EASY_TASK)
    broken = gym.step(replace(9, 9, "    for start in range(0, len(items), size)"))
    assert "SyntaxError at line 9" in broken.error
    assert broken.reward == pytest.approx(C.R_STEP_COST + C.R_SYNTAX_ERROR)
    still = gym.step(replace(10, 10, "        chunks.append(("))
    assert still.reward == pytest.approx(C.R_STEP_COST)  # already broken: no second penalty
    run = gym.step(RUN)
    assert run.tests_passed == 0 and "does not compile" in run.message


def test_destructive_edit_penalty(gym):
    gym.reset(task_id=EASY_TASK)
    total_lines = gym.state.code.count("\n")
    obs = gym.step(replace(1, total_lines, "def chunk(items, size):\n    return []\n"))
    assert obs.reward == pytest.approx(C.R_STEP_COST + C.R_DESTRUCTIVE_PENALTY)
    assert "deleted" in obs.message


def test_repeat_penalty_for_loops(gym):
    gym.reset(task_id=EASY_TASK)
    rewards = [gym.step(VIEW).reward for _ in range(C.ANTI_LOOP_WINDOW + 1)]
    assert rewards[: C.ANTI_LOOP_WINDOW - 1] == [pytest.approx(C.R_STEP_COST)] * (C.ANTI_LOOP_WINDOW - 1)
    assert rewards[-1] == pytest.approx(C.R_STEP_COST + C.R_REPEAT_ACTION)
    gym.step(EASY_FIX)
    assert gym.step(EASY_FIX).reward == pytest.approx(C.R_STEP_COST + C.R_REPEAT_ACTION)


def test_return_equals_score_plus_penalties_and_advances_are_taken_back(gym):
    gym.reset(task_id=EASY_TASK)
    observations = [gym.step(RUN), gym.step(EASY_FIX), gym.step(RUN), gym.step(SUBMIT)]
    final = observations[-1]
    assert final.success and final.metadata["total_reward"] == pytest.approx(final.score)
    assert total(observations) == pytest.approx(final.score)


def test_submitting_the_original_scores_zero(gym):
    gym.reset(task_id=EASY_TASK)
    obs = gym.step(SUBMIT)
    assert obs.done and obs.score == 0 and obs.success is False
    assert obs.reward <= 0
    assert "does not do better than the original" in obs.message


def test_cosmetic_edits_cannot_farm_the_run_bonus(gym):
    """A version-changing but meaningless edit + RUN_TESTS is paid in advance, then taken back."""
    gym.reset(task_id=EASY_TASK)
    observations = []
    for i in range(10):
        observations.append(gym.step(replace(1, 1, f"def chunk(items, size):  # v{i}")))
        observations.append(gym.step(RUN))
    observations.append(gym.step(SUBMIT))
    assert observations[-1].score == 0
    assert total(observations) < 0


def _play(gym, policy, seed: int) -> float:
    gym.reset(seed=seed)
    rewards = []
    obs = None
    while obs is None or not obs.done:
        obs = gym.step(policy(obs))
        rewards.append(obs.reward)
    return round(sum(rewards), 6)


NON_EDIT = [ActionType.VIEW_CODE, ActionType.RUN_TESTS, ActionType.UNDO_EDIT, ActionType.RESET_TO_ORIGINAL, ActionType.SUBMIT]


@pytest.mark.parametrize("seed", range(6))
def test_random_policy_that_never_edits_earns_nothing(registry, seed):
    rng = random.Random(seed)
    gym = TraceFixRLGym(registry=registry)
    weights = [5, 5, 2, 2, 1]
    policy = lambda _obs: CodeAction(action_type=rng.choices(NON_EDIT, weights)[0])  # noqa: E731
    assert _play(gym, policy, seed) <= 0


@pytest.mark.parametrize("kind", [ActionType.VIEW_CODE, ActionType.RUN_TESTS, ActionType.UNDO_EDIT, ActionType.RESET_TO_ORIGINAL, ActionType.SUBMIT])
def test_repeat_one_action_policy_earns_nothing(registry, kind):
    gym = TraceFixRLGym(registry=registry)
    assert _play(gym, lambda _obs: CodeAction(action_type=kind), seed=3) <= 0


@pytest.mark.parametrize("seed", range(4))
def test_random_editing_policy_cannot_score_without_improving(registry, seed):
    """Random edits almost never fix a bug; whenever the score is 0 the return must be <= 0."""
    rng = random.Random(seed)
    gym = TraceFixRLGym(registry=registry, max_steps=20)
    first = gym.reset(seed=seed)
    lines = first.total_lines

    def policy(obs):
        if rng.random() < 0.5:
            start = rng.randint(1, max(1, lines - 1))
            return CodeAction(action_type="REPLACE_LINES", start_line=start, end_line=start, new_code_block="    pass")
        return CodeAction(action_type=rng.choice(NON_EDIT[:2]))

    rewards = []
    obs = None
    while obs is None or not obs.done:
        obs = gym.step(policy(obs))
        rewards.append(obs.reward)
    if not obs.score:
        assert sum(rewards) <= 0


def test_rewards_stay_inside_the_range_declared_in_openenv_yaml(registry):
    """Validators check step rewards against the manifest's declared range."""
    import pathlib

    import yaml

    manifest = yaml.safe_load((pathlib.Path(__file__).resolve().parents[2] / "openenv.yaml").read_text())
    low, high = manifest["validation"]["reward"]["range"]
    rng = random.Random(7)
    gym = TraceFixRLGym(registry=registry)
    for seed in range(6):
        obs = gym.reset(seed=seed)
        while not obs.done:
            if rng.random() < 0.5:
                start = rng.randint(1, obs.total_lines)
                action = CodeAction(action_type="REPLACE_LINES", start_line=start, end_line=start, new_code_block=f"x{seed} = 1")
            else:
                action = CodeAction(action_type=ActionType.RUN_TESTS)
            obs = gym.step(action)
            assert low <= obs.reward <= high
