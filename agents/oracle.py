"""The oracle agent (privileged, for validation only): replays the reference fix with REPLACE_LINES.

It diffs the task's buggy code against its reference and turns every changed hunk into one
REPLACE_LINES action, bottom-up so earlier line numbers stay valid, then runs the tests and submits.
If it reaches ``success`` on a task, the task is solvable through the action space as designed.
"""

from __future__ import annotations

import difflib
from typing import Optional

from tracefix.agents.base import Agent
from tracefix.core.context import lines_to_block, split_lines
from tracefix.models import ActionType, CodeAction, CodeObservation
from tracefix.tasks.registry import TaskRegistry, default_registry


def fix_actions(buggy_code: str, reference_code: str) -> list[CodeAction]:
    """REPLACE_LINES actions that turn ``buggy_code`` into ``reference_code`` when applied in order."""
    old, new = split_lines(buggy_code), split_lines(reference_code)
    actions: list[CodeAction] = []
    opcodes = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in reversed(opcodes):
        if tag == "equal":
            continue
        replacement = new[j1:j2]
        if i1 == i2:  # pure insertion: fold into a neighbouring line, which is rewritten unchanged
            if i1 < len(old):
                start = end = i1 + 1
                replacement = replacement + [old[i1]]
            else:
                start = end = i1
                replacement = [old[i1 - 1]] + replacement
        else:
            start, end = i1 + 1, i2
        block = lines_to_block(replacement)
        actions.append(
            CodeAction(action_type=ActionType.REPLACE_LINES, start_line=start, end_line=end, new_code_block=block)
        )
    return actions


class OracleAgent(Agent):
    """Replays the reference fix.  Privileged: never use it as a baseline for learning agents."""

    name = "oracle"
    privileged = True

    def __init__(self, registry: Optional[TaskRegistry] = None) -> None:
        self._registry = registry
        self._plan: list[CodeAction] = []

    def reset(self, observation: CodeObservation) -> None:
        registry = self._registry or default_registry()
        task = registry.get(observation.task_id)
        self._plan = fix_actions(task.buggy_code, task.reference_code)
        self._plan += [CodeAction(action_type=ActionType.RUN_TESTS), CodeAction(action_type=ActionType.SUBMIT)]

    def act(self, observation: CodeObservation) -> CodeAction:
        if self._plan:
            return self._plan.pop(0)
        return CodeAction(action_type=ActionType.SUBMIT)
