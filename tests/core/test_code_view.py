"""Every observation shows some of the program: never an empty ``code_view`` with view 0-0."""

from __future__ import annotations

from tests.helpers import EASY_TASK, RUN, replace
from tracefix.core import constants as C


def numbered(task, first: int, last: int) -> str:
    lines = task.buggy_code.splitlines()
    width = len(str(len(lines)))
    return "\n".join(f"{n:>{width}} | {lines[n - 1]}" for n in range(first, last + 1))


def test_run_tests_before_any_edit_shows_the_whole_program(gym, registry):
    task = registry.get(EASY_TASK)
    gym.reset(task_id=EASY_TASK)
    obs = gym.step(RUN)
    total = len(task.buggy_code.splitlines())
    assert (obs.view_start, obs.view_end) == (1, total)
    assert obs.code_view == numbered(task, 1, total)


def test_rejected_oversized_edit_shows_the_lines_it_aimed_at(gym, registry):
    task = registry.get(EASY_TASK)
    gym.reset(task_id=EASY_TASK)
    obs = gym.step(replace(9, 10, "x = 1\n" * (C.MAX_CODE_LINES + 1)))
    assert "edit rejected" in obs.error
    total = len(task.buggy_code.splitlines())
    first, last = max(1, 9 - C.CONTEXT_RADIUS), min(total, 10 + C.CONTEXT_RADIUS)
    assert (obs.view_start, obs.view_end) == (first, last)
    assert obs.code_view == numbered(task, first, last)
