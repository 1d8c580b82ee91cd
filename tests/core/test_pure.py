"""Pure parts of the core: scoring, line handling, curriculum, and the undo invariant (property-based)."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import EASY_TASK, UNDO, replace
from tracefix.core.context import block_lines, join_lines, lines_to_block, render, split_lines, window
from tracefix.core.curriculum import difficulty_for_step, sample_task
from tracefix.core.scoring import evaluate_submission


def test_score_formula_counts_step_cost_once():
    result = evaluate_submission(
        passed=8, total=8, syntax_error=False, original_passed=5, accumulated_step_cost=0.04, shaping_advances=0.3
    )
    assert result.score == pytest.approx(0.96) and result.success
    assert result.terminal_reward == pytest.approx(1.0 - 0.3)


def test_score_is_zero_without_improvement_or_with_syntax_error():
    same = evaluate_submission(passed=5, total=8, syntax_error=False, original_passed=5, accumulated_step_cost=0.01, shaping_advances=0.1)
    assert same.score == 0 and not same.success and same.terminal_reward == pytest.approx(-0.1)
    broken = evaluate_submission(passed=0, total=8, syntax_error=True, original_passed=0, accumulated_step_cost=0.0, shaping_advances=0.0)
    assert broken.score == 0 and broken.pass_fraction == 0


def test_score_is_clamped():
    low = evaluate_submission(passed=6, total=8, syntax_error=False, original_passed=5, accumulated_step_cost=0.9, shaping_advances=0)
    assert low.score == 0


@given(st.text(alphabet="ab \t\n\r#", max_size=40))
def test_split_and_join_round_trip(code):
    lines = split_lines(code)
    assert lines and split_lines(join_lines(lines)) == lines


@given(st.lists(st.text(alphabet="ab #\t", max_size=6), max_size=6))
def test_block_round_trip(lines):
    assert block_lines(lines_to_block(lines)) == lines


def test_render_and_window_numbering():
    lines = [f"line{i}" for i in range(1, 31)]
    view = window(lines, 20, radius=2)
    assert (view.start, view.end) == (18, 22)
    assert view.text.splitlines()[0] == "18 | line18"
    assert render(lines, 29, 99).end == 30


def test_curriculum_thresholds():
    assert [difficulty_for_step(s) for s in (0, 1, 999, 1000, 4999, 5000)] == [None, "easy", "easy", "medium", "medium", "hard"]


def test_sample_task_falls_back_to_first_non_empty_bucket(curated):
    medium_only = [t for t in curated if t.difficulty == "medium"]
    assert sample_task(medium_only, random.Random(0), "hard").difficulty == "medium"


edit_strategy = st.tuples(
    st.integers(min_value=1, max_value=14),
    st.integers(min_value=0, max_value=3),
    st.lists(st.sampled_from(["x = 1", "", "    pass", "def f(:", "# note", "\t"]), max_size=3),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(edit_strategy, min_size=1, max_size=6))
def test_k_edits_then_k_undos_restore_the_original(gym, edits):
    gym.reset(task_id=EASY_TASK)
    original = gym.state.code
    applied = 0
    for start, length, block in edits:
        total = gym.state.code.count("\n")
        start = min(start, total)
        obs = gym.step(replace(start, min(total, start + length), lines_to_block(block)))
        assert obs.error is None or "compile" in obs.error
        applied += 1
    for _ in range(applied):
        assert gym.step(UNDO).error is None
    assert gym.state.code == original
    assert gym.step(UNDO).error == "nothing to undo: the program has no edits"
