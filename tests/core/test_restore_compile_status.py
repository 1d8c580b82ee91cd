"""UNDO_EDIT and RESET_TO_ORIGINAL restore a program whose compile status is already known.

They used to compile the restored program again in the sandbox, waiting behind every queued test
run for an answer the episode already had.  The status now travels with the snapshot.
"""

from __future__ import annotations

from tracefix.core import constants as C
from tracefix.core.environment import TraceFixRLGym
from tracefix.tasks.grading import SandboxRunner
from tests.helpers import EASY_TASK, RESET, RUN, UNDO, replace

BROKEN = replace(9, 9, "    for start in range(0, len(items), size)")  # the colon is missing


class CountingRunner(SandboxRunner):
    """The real sandbox runner, counting the compile checks it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.compile_checks = 0

    def syntax_error(self, code: str):
        self.compile_checks += 1
        return super().syntax_error(code)


def test_undo_and_reset_need_no_compile_check_and_keep_the_status_right(registry):
    runner = CountingRunner()
    gym = TraceFixRLGym(registry=registry, runner=runner)
    gym.reset(task_id=EASY_TASK)

    broken = gym.step(BROKEN)
    assert "unable to compile" in broken.error and runner.compile_checks == 1
    gym.step(UNDO)
    assert runner.compile_checks == 1  # restored without a sandbox run...
    again = gym.step(BROKEN)
    assert runner.compile_checks == 2
    # ...and as compiling: breaking it again costs the syntax penalty again
    assert "unable to compile" in again.error
    assert again.reward == broken.reward

    gym.step(RESET)
    assert runner.compile_checks == 2
    ran = gym.step(RUN)  # the original program compiles, as the restored status says
    assert "does not compile" not in ran.message
    gym.step(UNDO)  # back to the broken version: it does not compile, so breaking it again is free
    still_broken = gym.step(replace(9, 9, "    for start in range(0, len(items) size)"))
    assert "unable to compile" in still_broken.error
    assert round(still_broken.reward, 6) == round(again.reward - C.R_SYNTAX_ERROR, 6)

