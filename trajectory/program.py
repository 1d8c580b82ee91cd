"""The program text after every step of a trajectory, rebuilt from the actions and observations.

Observations show the code as a numbered view that is often only a window around the last edit, so
the full program after each step is rebuilt here: edits are applied with the same line rules the
environment uses (1-indexed inclusive ranges, ``""`` deletes, an empty program is one empty line),
and every observation is used as a check.  An edit counts as applied only when the observation
agrees with the edited program (total lines and the lines it shows); whenever an observation shows
the whole program, the rebuilt text is compared with it and replaced by it on any disagreement
(``resynced``), so a rebuilt program is never silently wrong for long.

``tracefix show``, the web page's trajectory viewer and the live web episode use this to show the
diff of each edit and to highlight the lines it wrote.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Optional

from tracefix.agents.random_agent import parse_code_view
from tracefix.core.constants import MAX_EDIT_HISTORY
from tracefix.core.context import block_lines, join_lines
from tracefix.models import ActionType, CodeAction, CodeObservation


@dataclass(frozen=True)
class ProgramVersion:
    """The program after one step (or after reset)."""

    lines: tuple[str, ...]
    edited: Optional[tuple[int, int]] = None
    """Lines (1-indexed, inclusive) written by this step's edit, in the new program."""
    changed: bool = False
    """The program differs from the one before the step."""
    resynced: bool = False
    """The observation disagreed with the rebuilt program and was taken as the truth."""
    diff: str = ""
    """Unified diff from the previous version ('' when unchanged)."""

    @property
    def code(self) -> str:
        return join_lines(list(self.lines))


def unified_diff(before: tuple[str, ...] | list[str], after: tuple[str, ...] | list[str], context: int = 2) -> str:
    lines = difflib.unified_diff(list(before), list(after), "before", "after", n=context, lineterm="")
    return "\n".join(lines)


def _shows_everything(observation: CodeObservation) -> bool:
    return bool(observation.code_view) and observation.view_start <= 1 and observation.view_end >= observation.total_lines > 0


def _agrees(observation: CodeObservation, lines: list[str]) -> bool:
    if observation.total_lines and observation.total_lines != len(lines):
        return False
    shown = parse_code_view(observation.code_view)
    return all(0 < number <= len(lines) and lines[number - 1] == text for number, text in shown.items())


@dataclass
class ProgramTracker:
    """Feed it the reset observation, then each (action, observation); it keeps the program text."""

    lines: list[str] = field(default_factory=list)
    original: list[str] = field(default_factory=list)
    history: list[list[str]] = field(default_factory=list)
    versions: list[ProgramVersion] = field(default_factory=list)

    @classmethod
    def start(cls, observation: CodeObservation) -> "ProgramTracker":
        shown = parse_code_view(observation.code_view)
        total = observation.total_lines or (max(shown) if shown else 1)
        lines = [shown.get(number, "") for number in range(1, total + 1)]
        tracker = cls(lines=list(lines), original=list(lines))
        tracker.versions.append(ProgramVersion(tuple(lines)))
        return tracker

    def step(self, action: CodeAction, observation: CodeObservation) -> ProgramVersion:
        before = list(self.lines)
        edited: Optional[tuple[int, int]] = None
        kind = action.action_type
        if kind is ActionType.REPLACE_LINES:
            edited = self._replace(action, observation)
        elif kind is ActionType.UNDO_EDIT and self.history:
            self.lines = self.history.pop()
        elif kind is ActionType.RESET_TO_ORIGINAL and self.lines != self.original:
            self._push()
            self.lines = list(self.original)
        resynced = False
        if _shows_everything(observation) and not _agrees(observation, self.lines):
            shown = parse_code_view(observation.code_view)
            self.lines = [shown.get(number, "") for number in range(1, observation.total_lines + 1)]
            resynced = True
        version = ProgramVersion(
            tuple(self.lines), edited=edited, changed=self.lines != before, resynced=resynced,
            diff=unified_diff(before, self.lines) if self.lines != before else "",
        )
        self.versions.append(version)
        return version

    def _push(self) -> None:
        self.history.append(list(self.lines))
        if len(self.history) > MAX_EDIT_HISTORY:
            del self.history[0]

    def _replace(self, action: CodeAction, observation: CodeObservation) -> Optional[tuple[int, int]]:
        start, end = action.start_line or 1, action.end_line or 1
        if start > len(self.lines) or end > len(self.lines):
            return None  # outside the program: the environment changes nothing
        new_lines = block_lines(action.new_code_block or "")
        candidate = self.lines[: start - 1] + new_lines + self.lines[end:]
        if not candidate:
            candidate = [""]
        if not _agrees(observation, candidate) or (not observation.code_view and candidate != self.lines):
            return None  # rejected (too large) or not what the environment did
        self._push()
        self.lines = candidate
        return (start, start + max(len(new_lines), 1) - 1)


def program_versions(header_observation: CodeObservation, steps: list[tuple[CodeAction, CodeObservation]]) -> list[ProgramVersion]:
    """Version 0 is the program after reset; version ``i`` the program after step ``i``."""
    tracker = ProgramTracker.start(header_observation)
    for action, observation in steps:
        tracker.step(action, observation)
    return tracker.versions


__all__ = ["ProgramTracker", "ProgramVersion", "program_versions", "unified_diff"]
