"""Every action of the environment core, against the real sandbox."""

from __future__ import annotations

import pytest

from tests.helpers import EASY_FIX, EASY_TASK, LRU_TASK, RESET, RUN, SUBMIT, UNDO, VIEW, act, replace
from tracefix.agents.oracle import fix_actions
from tracefix.core import constants as C
from tracefix.core.environment import ResetError, TraceFixRLGym


def test_reset_shows_numbered_code_and_task(gym, registry):
    obs = gym.reset(task_id=EASY_TASK)
    task = registry.get(EASY_TASK)
    assert obs.task_id == EASY_TASK and obs.difficulty == "easy"
    assert obs.description == task.description
    assert obs.code_view.splitlines()[8] == " 9 |     for start in range(0, len(items) - 1, size):"
    assert obs.total_lines == len(task.buggy_code.splitlines())
    assert obs.tests_total == len(task.visible_tests)
    assert obs.steps_used == 0 and obs.steps_remaining == C.MAX_STEPS
    assert not obs.done and obs.score is None
    assert "REPLACE_LINES" in obs.metadata["system_prompt"]
    assert task.reference_code not in obs.model_dump_json()


def test_view_code_shows_every_line(gym):
    gym.reset(task_id=EASY_TASK)
    gym.step(EASY_FIX)
    obs = gym.step(VIEW)
    assert obs.view_start == 1 and obs.view_end == obs.total_lines
    assert "range(0, len(items), size)" in obs.code_view
    assert obs.reward == pytest.approx(C.R_STEP_COST)


def test_run_tests_reports_visible_results_only(gym, registry):
    gym.reset(task_id=EASY_TASK)
    obs = gym.step(RUN)
    task = registry.get(EASY_TASK)
    assert [r.name for r in obs.test_results] == [t.name for t in task.visible_tests]
    assert obs.tests_passed is not None and obs.tests_passed < obs.tests_total
    failing = [r for r in obs.test_results if not r.passed]
    assert failing and "expected" in failing[0].message
    for hidden in task.hidden_tests:
        assert hidden.name not in obs.model_dump_json()


def test_replace_lines_edits_and_shows_context_window(gym):
    gym.reset(task_id=EASY_TASK)
    obs = gym.step(EASY_FIX)
    assert obs.error is None
    assert gym.state.code.splitlines()[8] == "    for start in range(0, len(items), size):"
    assert obs.view_start == 9 - C.CONTEXT_RADIUS and obs.view_end == min(obs.total_lines, 9 + C.CONTEXT_RADIUS)
    assert gym.state.last_edited_line == 9
    run = gym.step(RUN)
    assert run.tests_passed == run.tests_total


def test_replace_lines_can_insert_and_delete(gym):
    gym.reset(task_id=EASY_TASK)
    before = gym.state.code.splitlines()
    gym.step(replace(1, 1, before[0] + "\n    # a comment line\n"))
    assert gym.state.code.splitlines()[1] == "    # a comment line"
    gym.step(replace(2, 2, ""))
    assert gym.state.code.splitlines() == before


def test_undo_restores_previous_code(gym):
    gym.reset(task_id=EASY_TASK)
    original = gym.state.code
    gym.step(EASY_FIX)
    obs = gym.step(UNDO)
    assert obs.error is None and gym.state.code == original
    assert obs.reward == pytest.approx(C.R_STEP_COST + C.R_UNDO_RESET)


def test_undo_with_nothing_to_undo_is_an_error_and_changes_nothing(gym):
    gym.reset(task_id=EASY_TASK)
    original = gym.state.code
    obs = gym.step(UNDO)
    assert "nothing to undo" in obs.error
    assert gym.state.code == original


def test_reset_to_original_and_undo_it(gym):
    gym.reset(task_id=EASY_TASK)
    original = gym.state.code
    gym.step(EASY_FIX)
    fixed = gym.state.code
    obs = gym.step(RESET)
    assert gym.state.code == original and obs.reward == pytest.approx(C.R_STEP_COST + C.R_UNDO_RESET)
    gym.step(UNDO)
    assert gym.state.code == fixed


def test_submit_ends_the_episode_with_score_and_success(gym, registry):
    gym.reset(task_id=EASY_TASK)
    gym.step(EASY_FIX)
    obs = gym.step(SUBMIT)
    task = registry.get(EASY_TASK)
    assert obs.done and obs.success is True
    assert obs.hidden_total == len(task.hidden_tests) and obs.hidden_passed == obs.hidden_total
    assert obs.score == pytest.approx(1.0 - 2 * -C.R_STEP_COST)


def test_class_based_task_is_solvable(gym, registry):
    """Defect: classes used to be unsolvable (no __build_class__ in restricted builtins)."""
    gym.reset(task_id=LRU_TASK)
    task = registry.get(LRU_TASK)
    for action in fix_actions(task.buggy_code, task.reference_code):
        assert gym.step(action).error is None
    obs = gym.step(SUBMIT)
    assert obs.success is True and obs.score > 0.9


def test_actions_after_done_are_rejected_without_changes(gym):
    gym.reset(task_id=EASY_TASK)
    gym.step(SUBMIT)
    state = gym.state
    obs = gym.step(EASY_FIX)
    assert obs.done and "episode is over" in obs.error and obs.reward == 0
    assert gym.state == state


def test_step_before_reset_is_an_error():
    obs = TraceFixRLGym().step(VIEW)
    assert "reset" in obs.error and obs.reward == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"task_id": "curated/does-not-exist"}, "unknown task id"),
        ({"difficulty": "impossible"}, "unknown difficulty"),
        ({"split": "nope"}, "unknown split"),
        ({"split": "curated", "index": 999}, "out of range"),
        ({"max_steps": 0}, "max_steps"),
    ],
)
def test_bad_reset_raises_and_keeps_the_episode(gym, kwargs, message):
    gym.reset(task_id=EASY_TASK)
    gym.step(EASY_FIX)
    state = gym.state
    with pytest.raises(ResetError, match=message):
        gym.reset(**kwargs)
    assert gym.state == state


def test_step_accepts_dicts_and_reports_invalid_ones(gym):
    gym.reset(task_id=EASY_TASK)
    assert gym.step({"action_type": "view_code"}).error is None
    obs = gym.step({"action_type": "REPLACE_LINES", "start_line": 3})
    assert "requires" in obs.error and obs.reward == 0
    assert gym.state.step_count == 1


def test_out_of_range_lines_are_rejected(gym):
    gym.reset(task_id=EASY_TASK)
    original = gym.state.code
    obs = gym.step(replace(5, 500, "x = 1"))
    assert "outside the program" in obs.error
    assert obs.reward == pytest.approx(C.R_STEP_COST + C.R_INVALID_LINE)
    assert gym.state.code == original


def test_oversized_program_is_rejected(gym):
    gym.reset(task_id=EASY_TASK)
    original = gym.state.code
    block = "x = 1\n" * (C.MAX_CODE_LINES + 1)
    assert len(block) <= C.MAX_NEW_CODE_CHARS
    obs = gym.step(replace(1, 1, block))
    assert "edit rejected" in obs.error and gym.state.code == original


def test_step_limit_evaluates_as_submit(registry):
    gym = TraceFixRLGym(registry=registry, max_steps=3)
    gym.reset(task_id=EASY_TASK)
    gym.step(EASY_FIX)
    gym.step(VIEW)
    obs = gym.step(act("RUN_TESTS"))
    assert obs.done and obs.success is True
    assert "step limit" in obs.message
    assert obs.score == pytest.approx(1.0 - 3 * -C.R_STEP_COST)


def test_reset_is_deterministic_for_a_seed(registry):
    first = TraceFixRLGym(registry=registry).reset(seed=123)
    second = TraceFixRLGym(registry=registry).reset(seed=123)
    assert first == second
    tasks = {TraceFixRLGym(registry=registry).reset(seed=s).task_id for s in range(40)}
    assert len(tasks) > 5


def test_curriculum_by_training_step(registry):
    gym = TraceFixRLGym(registry=registry)
    for step, difficulty in ((1, "easy"), (999, "easy"), (1000, "medium"), (4999, "medium"), (5000, "hard")):
        for seed in range(5):
            assert gym.reset(seed=seed, training_step=step).difficulty == difficulty
    assert {gym.reset(seed=s, training_step=0).difficulty for s in range(60)} == {"easy", "medium", "hard"}


class _ExplodingRunner:
    """A runner whose infrastructure fails, to check what a failed step leaves behind."""

    def run(self, code, task):
        raise OSError("sandbox unavailable")

    def evaluate(self, code, task):
        raise OSError("sandbox unavailable")

    def syntax_error(self, code):
        raise OSError("sandbox unavailable")


def test_internal_failure_is_reported_and_leaves_the_episode_unchanged(registry):
    gym = TraceFixRLGym(registry=registry, runner=_ExplodingRunner())
    gym.reset(task_id=EASY_TASK)
    state = gym.state
    for action in (RUN, EASY_FIX):
        obs = gym.step(action)
        assert "internal error" in obs.error and "sandbox unavailable" in obs.error
        assert obs.reward == 0 and not obs.done
        assert gym.state == state


def test_internal_failure_during_submit_ends_the_episode_without_a_retry(registry):
    gym = TraceFixRLGym(registry=registry, runner=_ExplodingRunner())
    gym.reset(task_id=EASY_TASK)
    obs = gym.step(SUBMIT)
    assert obs.done and obs.score == 0 and obs.success is False
    assert "internal error while evaluating the submission" in obs.error and "sandbox unavailable" in obs.error
    assert obs.reward <= 0
    again = gym.step(SUBMIT)
    assert "episode is over" in again.error and again.reward == 0


def test_internal_failure_in_the_automatic_submit_is_reported_not_raised(registry):
    gym = TraceFixRLGym(registry=registry, runner=_ExplodingRunner())
    gym.reset(task_id=EASY_TASK, max_steps=1)
    obs = gym.step(VIEW)  # the step limit: the code is evaluated as if submitted, and that fails
    assert obs.done and obs.score == 0 and obs.success is False
    assert "internal error while evaluating the submission" in obs.error
