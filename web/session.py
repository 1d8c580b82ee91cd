"""What the web page keeps per visitor: a live episode (:class:`PlaySession`) and a loaded
trajectory (:class:`TrajectoryView`).  Plain Python, no Gradio, so it is tested without a browser.

A visitor's episode runs on its own :class:`~tracefix.server.tracefix_rl_environment.TraceFixRLEnvironment`
(the same adapter WebSocket sessions use), so ``tracefix serve --web --record DIR`` records the
page's episodes too, with ``source = "web"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from pydantic import ValidationError

from tracefix.core.actions import action_from_tool_call
from tracefix.core.context import lines_to_block, split_lines
from tracefix.models import CodeAction, CodeObservation
from tracefix.trajectory.program import ProgramTracker, ProgramVersion, program_versions
from tracefix.trajectory.reader import read_trajectory
from tracefix.trajectory.schema import Trajectory


WEB_PLAYER = "person"
"""The ``agent`` recorded for episodes played on the page."""


class PageError(ValueError):
    """Something the visitor asked for cannot be done; the message is shown on the page."""


def carried_edits(versions: list[ProgramVersion]) -> list[Optional[tuple[int, int]]]:
    """For each version, the lines written by the most recent edit still in place.

    An edit's highlight stays through steps that do not touch the program (RUN_TESTS, VIEW_CODE)
    and disappears when the program changes otherwise (UNDO_EDIT, RESET_TO_ORIGINAL).
    """
    carried: list[Optional[tuple[int, int]]] = []
    current: Optional[tuple[int, int]] = None
    for version in versions:
        if version.edited is not None:
            current = version.edited
        elif version.changed or version.resynced:
            current = None
        carried.append(current)
    return carried


def _default_env() -> Any:
    from tracefix.server.tracefix_rl_environment import TraceFixRLEnvironment

    return TraceFixRLEnvironment(recording_source="web", recording_agent=WEB_PLAYER)


@dataclass
class PlaySession:
    """One visitor's episode."""

    make_env: Callable[[], Any] = _default_env
    env: Any = None
    observation: Optional[CodeObservation] = None
    title: str = ""
    tracker: Optional[ProgramTracker] = None
    rewards: list[float] = field(default_factory=list)
    entries: list[tuple[str, float, str, Optional[str]]] = field(default_factory=list)
    notice: Optional[str] = None
    """A problem with the visitor's last request (nothing was sent to the environment)."""
    last_tested: Optional[CodeObservation] = None
    """The latest observation with test results (RUN_TESTS or SUBMIT), shown until the next run."""
    last_tested_step: int = 0

    # -- episode control -----------------------------------------------------------------------------
    def reset(self, task_id: str, seed: Optional[int] = None, title: str = "") -> CodeObservation:
        from tracefix.core.environment import ResetError

        if not task_id:
            raise PageError("choose a task first")
        if self.env is None:
            self.env = self.make_env()
        try:
            observation = self.env.reset(seed=seed, task_id=task_id)
        except ResetError as exc:
            raise PageError(str(exc)) from None
        self.observation = observation
        self.title = title
        self.tracker = ProgramTracker.start(observation)
        self.rewards, self.entries, self.notice = [], [], None
        self.last_tested, self.last_tested_step = None, 0
        return observation

    def act(self, tool: str, **arguments: Any) -> CodeObservation:
        """Take the action called ``tool`` (``run_tests``, ``replace_lines``...) with tool-call arguments."""
        if self.observation is None or self.env is None:
            raise PageError("start an episode first")
        if self.observation.done:
            raise PageError("the episode is over: start a new one")
        try:
            action = action_from_tool_call(tool, arguments)
        except (ValueError, ValidationError) as exc:
            raise PageError(_first_error(exc)) from None
        return self.step(action)

    def step(self, action: CodeAction) -> CodeObservation:
        observation = self.env.step(action)
        self.observation = observation
        self.notice = None
        assert self.tracker is not None
        self.tracker.step(action, observation)
        reward = float(observation.reward or 0.0)
        self.rewards.append(reward)
        self.entries.append((action.short(), reward, observation.message, observation.error))
        if observation.test_results:
            self.last_tested, self.last_tested_step = observation, len(self.entries)
        return observation

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env = None

    # -- what the page shows --------------------------------------------------------------------------
    @property
    def lines(self) -> list[str]:
        """The whole current program (from the environment's state, the authority)."""
        if self.env is None or self.observation is None:
            return []
        return split_lines(self.env.state.code)

    @property
    def edited(self) -> Optional[tuple[int, int]]:
        if self.tracker is None or list(self.tracker.lines) != self.lines:
            return None
        return carried_edits(self.tracker.versions)[-1]

    @property
    def max_steps(self) -> Optional[int]:
        if self.observation is None:
            return None
        return self.observation.steps_used + self.observation.steps_remaining

    def lines_block(self, start: int, end: int) -> str:
        """Lines ``start..end`` of the current program, as the text to edit in the line-range editor."""
        lines = self.lines
        if not lines:
            raise PageError("start an episode first")
        if not 1 <= start <= end <= len(lines):
            raise PageError(f"choose lines between 1 and {len(lines)} (start <= end)")
        return lines_to_block(lines[start - 1 : end]).rstrip("\n")


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return str(first.get("msg", exc)).removeprefix("Value error, ")
    return str(exc)


@dataclass
class TrajectoryView:
    """A loaded trajectory with the program rebuilt after every step."""

    trajectory: Trajectory
    versions: list[ProgramVersion]
    edits: list[Optional[tuple[int, int]]]

    @classmethod
    def load(cls, path: Path | str) -> "TrajectoryView":
        trajectory = read_trajectory(path)
        versions = program_versions(trajectory.header.observation, [(s.action, s.observation) for s in trajectory.steps])
        return cls(trajectory, versions, carried_edits(versions))

    @property
    def last(self) -> int:
        return len(self.trajectory.steps)

    def clamp(self, index: Any) -> int:
        try:
            value = int(index)
        except (TypeError, ValueError):
            value = 0
        return max(0, min(self.last, value))

    def observation(self, index: int) -> CodeObservation:
        return self.trajectory.observations()[index]

    def latest_tests(self, index: int) -> tuple[CodeObservation, str]:
        """The most recent observation up to ``index`` with test results, and a note when it is older."""
        observations = self.trajectory.observations()
        for position in range(index, -1, -1):
            if observations[position].test_results:
                return observations[position], ("" if position == index else f"from step {position}")
        return observations[index], ""


def recorded_files(directory: Optional[Path], limit: int = 200) -> list[Path]:
    """The newest trajectory files of the server's recording directory."""
    if directory is None or not directory.is_dir():
        return []
    files = [p for p in directory.rglob("*.jsonl") if p.is_file()]
    files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return files[:limit]


def resolve_recorded(directory: Optional[Path], name: str) -> Path:
    """``name`` inside the recording directory, refusing anything that escapes it."""
    if directory is None:
        raise PageError("this server does not record trajectories (start it with --record DIR)")
    root = directory.resolve()
    path = (root / name).resolve()
    if root not in path.parents or not path.is_file():
        raise PageError(f"no recorded trajectory named {name!r}")
    return path


__all__ = [
    "PageError",
    "PlaySession",
    "TrajectoryView",
    "carried_edits",
    "recorded_files",
    "resolve_recorded",
]
