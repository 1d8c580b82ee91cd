"""Playing one episode with an agent against any TraceFix session (remote client or local gym).

``play_episode`` is shared by ``tracefix play``, ``tracefix eval`` and ``inference.py`` so that every
front end counts steps, rewards and errors the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol

from tracefix.agents.base import Agent
from tracefix.models import CodeAction, CodeObservation


class Session(Protocol):
    """What an episode needs: ``reset(**kwargs)`` and ``step(action)``, each returning an observation."""

    def reset(self, **kwargs: Any) -> CodeObservation: ...

    def step(self, action: CodeAction) -> CodeObservation: ...


@dataclass
class StepRecord:
    step: int
    action: CodeAction
    observation: CodeObservation
    reward: float
    agent_error: Optional[str] = None

    @property
    def error(self) -> Optional[str]:
        """The environment's error for this step, else the agent's (e.g. an unparsable reply)."""
        return self.observation.error or self.agent_error


@dataclass
class EpisodeResult:
    task_id: str
    difficulty: str
    agent: str
    steps: list[StepRecord] = field(default_factory=list)
    score: float = 0.0
    success: bool = False
    done: bool = False
    error: Optional[str] = None
    wall_s: float = 0.0

    @property
    def rewards(self) -> list[float]:
        return [record.reward for record in self.steps]

    @property
    def total_reward(self) -> float:
        return round(sum(self.rewards), 6)


def play_episode(
    session: Session,
    agent: Agent,
    reset_kwargs: Optional[dict[str, Any]] = None,
    *,
    on_start: Optional[Callable[[CodeObservation], None]] = None,
    on_step: Optional[Callable[[StepRecord], None]] = None,
    max_steps: int = 10_000,
) -> EpisodeResult:
    """Reset, then let ``agent`` act until the environment says done (or ``max_steps`` safety stop)."""
    started = time.perf_counter()
    observation = session.reset(**(reset_kwargs or {}))
    result = EpisodeResult(task_id=observation.task_id, difficulty=observation.difficulty, agent=agent.name)
    if on_start is not None:
        on_start(observation)
    agent.reset(observation)
    try:
        while not observation.done and len(result.steps) < max_steps:
            action = agent.act(observation)
            agent_error = getattr(agent, "last_error", None)
            observation = session.step(action)
            record = StepRecord(len(result.steps) + 1, action, observation, float(observation.reward or 0.0), agent_error)
            result.steps.append(record)
            if on_step is not None:
                on_step(record)
    finally:
        result.done = observation.done
        result.score = float(observation.score or 0.0)
        result.success = bool(observation.success)
        result.wall_s = time.perf_counter() - started
    return result


class ClientSession:
    """Adapts a synchronous OpenEnv client (``TraceFixEnv(...).sync()``) to :class:`Session`."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def reset(self, **kwargs: Any) -> CodeObservation:
        return self._client.reset(**kwargs).observation

    def step(self, action: CodeAction) -> CodeObservation:
        return self._client.step(action).observation
