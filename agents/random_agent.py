"""The ``random`` agent: uniformly random valid actions, seeded (a floor for every other agent).

Each step it picks one of the six action types uniformly.  An edit replaces a random line range
(within ``total_lines``) with a small block: a copy of an existing line, ``pass`` at that line's
indentation, or nothing (a deletion).  It reads nothing but the observations.
"""

from __future__ import annotations

import random
import re
from typing import Optional

from tracefix.agents.base import Agent
from tracefix.models import ActionType, CodeAction, CodeObservation

_NUMBERED = re.compile(r"^\s*(\d+) \|(?: (.*))?$")


def parse_code_view(code_view: str) -> dict[int, str]:
    """``{line number: text}`` of a numbered code view (``"  3 | code"``)."""
    lines: dict[int, str] = {}
    for raw in code_view.split("\n"):
        match = _NUMBERED.match(raw)
        if match:
            lines[int(match.group(1))] = match.group(2) or ""
    return lines


class RandomAgent(Agent):
    """Uniformly random valid actions.  Deterministic for a given ``seed`` and sequence of episodes."""

    name = "random"

    def __init__(self, seed: int = 0, max_block_lines: int = 2) -> None:
        self.seed = seed
        self.max_block_lines = max(1, max_block_lines)
        self._episode = 0
        self._rng = random.Random(seed)
        self._known: dict[int, str] = {}
        self.last_error: Optional[str] = None

    def reset(self, observation: CodeObservation) -> None:
        self._rng = random.Random(f"{self.seed}:{observation.task_id}:{self._episode}")
        self._episode += 1
        self._known = parse_code_view(observation.code_view)

    def _block(self, total_lines: int) -> str:
        choice = self._rng.randrange(3)
        if choice == 2:
            return ""
        sample = [text for text in self._known.values()] or [""]
        lines = []
        for _ in range(self._rng.randint(1, self.max_block_lines)):
            source = self._rng.choice(sample)
            if choice == 0:
                lines.append(source)
            else:
                indent = source[: len(source) - len(source.lstrip())]
                lines.append(f"{indent}pass")
        return "\n".join(lines) + "\n"

    def act(self, observation: CodeObservation) -> CodeAction:
        self._known.update(parse_code_view(observation.code_view))
        kind = self._rng.choice(list(ActionType))
        if kind is not ActionType.REPLACE_LINES:
            return CodeAction(action_type=kind)
        total = max(1, observation.total_lines)
        start = self._rng.randint(1, total)
        end = min(total, start + self._rng.randrange(3))
        return CodeAction(
            action_type=ActionType.REPLACE_LINES, start_line=start, end_line=end, new_code_block=self._block(total)
        )


__all__ = ["RandomAgent", "parse_code_view"]
