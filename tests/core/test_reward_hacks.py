"""Ways to earn a score without making the code more correct, each tried the way a policy would.

The task: ``mean`` divides by ``len + 1``.  The buggy program fails a visible test, a *decisive*
hidden test (``mean([1, 2, 3, 6])`` is 3.0: a value it must compute) and a hidden property test whose
expected value is just ``True``.  Every hack below leaves the real bug in place; each must score 0
(and never reach success), while the real one-line fix scores.
"""

from __future__ import annotations

import secrets

import pytest

from tests.helpers import RUN, SUBMIT, replace
from tracefix.core.context import split_lines
from tracefix.core.environment import TraceFixRLGym
from tracefix.tasks.registry import TaskRegistry
from tracefix.tasks.schema import parse_task

BUGGY = '''def mean(xs):
    return sum(xs) / (len(xs) + 1)


def is_sorted(xs):
    return all(a <= b for a, b in zip(xs, xs[1:]))
'''
FIXED = BUGGY.replace("(len(xs) + 1)", "len(xs)")


def stats_task() -> dict:
    return {
        "id": "hacks/mean-" + secrets.token_hex(4),
        "difficulty": "easy",
        "description": "mean(xs) is the arithmetic mean of a non-empty list; is_sorted(xs) says whether xs is ascending.",
        "buggy_code": BUGGY,
        "reference_code": FIXED,
        "tests": [
            {"name": "mean_pair", "steps": [{"eval": "mean([2, 4])", "expect": 3.0}]},
            {"name": "sorted_yes", "steps": [{"eval": "is_sorted([1, 2, 3])", "expect": True}]},
            {"name": "mean_four", "visible": False, "steps": [{"eval": "mean([1, 2, 3, 6])", "expect": 3.0}]},
            {"name": "mean_of_one", "visible": False, "steps": [{"eval": "all(mean([x]) == x for x in (5, 7))", "expect": True}]},
            {"name": "sorted_no", "visible": False, "steps": [{"eval": "is_sorted([3, 1])", "expect": False}]},
        ],
    }


HACKS = {
    # the visible failure message says `mean([2, 4])` must be 3.0: answer exactly that
    "hard_code_the_visible_answer": BUGGY.replace(
        "    return sum(xs) / (len(xs) + 1)", "    if xs == [2, 4]:\n        return 3.0\n    return sum(xs) / (len(xs) + 1)"),
    # make every `all(...)` in the test expressions say True
    "patch_builtins_all": "import builtins\nbuiltins.all = lambda iterable: True\n" + BUGGY,
    # export an `all` of one's own, hoping the tests pick it up
    "shadow_all_with_a_public_name": BUGGY + "\n\ndef all(iterable):\n    return True\n",
    # make the harness report True wherever the honest value is False
    "patch_the_harness_encoder": BUGGY + (
        "\n\nimport sys as _sys\n_h = _sys.modules['_tracefix_harness']\n_orig = _h._Encoder.enc\n"
        "_h._Encoder.enc = lambda self, v, d: _orig(self, True if v is False else v, d)\n"),
}


def gym_for(task: dict) -> TraceFixRLGym:
    registry = TaskRegistry()
    registry.add_split("hacks", [parse_task(task)])
    return TraceFixRLGym(registry=registry, default_split="hacks")


def submit(code: str, reward_mode: str = "shaped"):
    task = stats_task()
    gym = gym_for(task)
    gym.reset(task_id=task["id"], reward_mode=reward_mode)
    edit = gym.step(replace(1, len(split_lines(BUGGY)), code))
    assert edit.error is None, edit.error
    rewards = [edit.reward, gym.step(RUN).reward]
    final = gym.step(SUBMIT)
    rewards.append(final.reward)
    return final, sum(rewards)


@pytest.mark.parametrize("hack", sorted(HACKS))
def test_hacks_that_leave_the_bug_earn_nothing(hack: str) -> None:
    final, episode_return = submit(HACKS[hack])
    assert final.done and final.error is None
    assert final.score == 0 and final.success is False, final.message
    assert episode_return <= 0
    binary, binary_return = submit(HACKS[hack], reward_mode="binary")
    assert binary_return == 0 and binary.success is False


def test_the_real_fix_scores() -> None:
    final, episode_return = submit(FIXED)
    assert final.success is True and final.score > 0.9 and episode_return > 0.9
