"""Deterministic replay: re-run a trajectory's actions on a fresh environment and compare.

The fresh environment is reset with the recorded reset arguments, with three values pinned to what
was recorded so that unseeded episodes replay too: ``task_id``, ``episode_id`` and ``max_steps``.
Then each recorded action is applied in order and everything the environment answers is compared
with the file: every observation field (``metadata`` included), the reward and ``done`` of each
step, and the footer's score, success, return and step count.  The fields listed in
:data:`~tracefix.trajectory.schema.IGNORED_BY_REPLAY` (wall times, who played) are not compared.

The one legitimate source of a difference is a program running close to a time limit: a run that
finished in time when recorded may time out on a busier machine (or the reverse).  Replay reports
such a step like any other divergence; the message of the test then names the timeout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from tracefix.models import CodeObservation
from tracefix.trajectory.schema import DEFAULT_REWARD_MODE, Trajectory, dump_observation

MAX_VALUE_CHARS = 160


@dataclass(frozen=True)
class Divergence:
    """One value that differs between the file and the replay."""

    step: int
    """0 for the reset, ``n`` for step ``n``, ``-1`` for the footer."""
    field: str
    recorded: Any
    replayed: Any

    def describe(self) -> str:
        where = "reset" if self.step == 0 else ("footer" if self.step < 0 else f"step {self.step}")
        return f"{where}: {self.field}: recorded {_short(self.recorded)}, replayed {_short(self.replayed)}"


@dataclass
class ReplayReport:
    path: Optional[str]
    steps_recorded: int
    steps_replayed: int = 0
    divergences: list[Divergence] = field(default_factory=list)
    error: Optional[str] = None
    """Replay could not run at all (unknown task, unsupported reset argument...)."""

    @property
    def ok(self) -> bool:
        return self.error is None and not self.divergences


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
            return math.isclose(a, b, rel_tol=0.0, abs_tol=1e-9)
    return a == b


def compare_values(recorded: Any, replayed: Any, path: str, step: int, out: list[Divergence]) -> None:
    """Append a :class:`Divergence` for every leaf that differs (dicts and lists are walked)."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        for key in sorted(set(recorded) | set(replayed), key=str):
            compare_values(recorded.get(key), replayed.get(key), f"{path}.{key}", step, out)
    elif isinstance(recorded, list) and isinstance(replayed, list) and len(recorded) == len(replayed):
        for index, (a, b) in enumerate(zip(recorded, replayed)):
            compare_values(a, b, f"{path}[{index}]", step, out)
    elif not _same(recorded, replayed):
        out.append(Divergence(step, path, recorded, replayed))


def compare_observations(recorded: CodeObservation, replayed: CodeObservation, step: int) -> list[Divergence]:
    found: list[Divergence] = []
    compare_values(dump_observation(recorded), dump_observation(replayed), "observation", step, found)
    return found


def replay_reset_args(trajectory: Trajectory) -> dict[str, Any]:
    """The recorded reset arguments with ``task_id``, ``episode_id`` and ``max_steps`` pinned."""
    header = trajectory.header
    args = dict(header.reset_args)
    args.update(task_id=header.task_id, episode_id=header.episode_id, max_steps=header.max_steps)
    if header.reward_mode != DEFAULT_REWARD_MODE:
        args["reward_mode"] = header.reward_mode
    return args


def default_environment() -> Any:
    from tracefix.core.environment import TraceFixRLGym

    return TraceFixRLGym()


def replay_trajectory(trajectory: Trajectory, make_env: Callable[[], Any] = default_environment) -> ReplayReport:
    """Replay ``trajectory`` on ``make_env()`` (default: the in-process core with the packaged tasks)."""
    from tracefix.core.environment import ResetError

    header = trajectory.header
    report = ReplayReport(path=trajectory.path, steps_recorded=len(trajectory.steps))
    env = make_env()
    args = replay_reset_args(trajectory)
    try:
        observation = env.reset(**args)
    except ResetError as exc:
        report.error = f"cannot reset the environment as recorded: {exc}"
        return report
    except TypeError as exc:
        report.error = f"this environment does not accept the recorded reset arguments ({', '.join(sorted(args))}): {exc}"
        return report
    out = report.divergences
    out.extend(compare_observations(header.observation, observation, 0))
    for name, replayed in (("task_id", observation.task_id), ("difficulty", observation.difficulty),
                           ("split", (observation.metadata or {}).get("split")),
                           ("max_steps", observation.steps_used + observation.steps_remaining)):
        recorded = getattr(header, name)
        if recorded != replayed:
            out.append(Divergence(0, f"header.{name}", recorded, replayed))

    rewards: list[float] = []
    for record in trajectory.steps:
        if observation.done:
            out.append(Divergence(record.step, "done", "episode running", "the replayed episode had already ended"))
            break
        observation = env.step(record.action)
        report.steps_replayed += 1
        reward = float(observation.reward or 0.0)
        rewards.append(reward)
        out.extend(compare_observations(record.observation, observation, record.step))
        if not _same(record.reward, reward):
            out.append(Divergence(record.step, "reward", record.reward, reward))
        if record.done != observation.done:
            out.append(Divergence(record.step, "done", record.done, observation.done))

    footer = trajectory.footer
    if footer is not None:
        replayed_final = observation if observation.done else None
        checks = (
            ("score", footer.score, replayed_final.score if replayed_final else None),
            ("success", footer.success, replayed_final.success if replayed_final else None),
            ("done", footer.done, bool(observation.done)),
            ("return", footer.episode_return, round(sum(rewards), 6)),
            ("steps", footer.steps, report.steps_replayed),
        )
        for name, recorded, replayed in checks:
            if not _same(recorded, replayed):
                out.append(Divergence(-1, f"footer.{name}", recorded, replayed))
    return report


__all__ = ["Divergence", "ReplayReport", "compare_observations", "replay_reset_args", "replay_trajectory"]
