"""The trajectory file format (version 1): one JSON Lines file per episode.

A file holds, one JSON object per line and in this order:

* a :class:`TrajectoryHeader` (``"kind": "header"``): what was played, by whom, with which reset
  arguments, and the observation ``reset`` returned;
* one :class:`TrajectoryStep` per step (``"kind": "step"``): the action, the full observation, the
  reward and ``done``;
* a :class:`TrajectoryFooter` (``"kind": "footer"``): score, success and return.  A file without a
  footer is an episode whose recorder never got to close it (a crash); readers accept it.

The format is documented for people in ``docs/trajectory-format.md``; these models are the
authority.  ``SCHEMA_VERSION`` changes whenever a reader of the previous version could misread a
new file.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from tracefix import __version__
from tracefix.core.constants import ENV_NAME
from tracefix.models import CodeAction, CodeObservation

FORMAT_NAME = "tracefix-trajectory"
SCHEMA_VERSION = 1
DEFAULT_REWARD_MODE = "shaped"
"""The reward mode of an episode whose reset arguments do not name one."""

IGNORED_BY_REPLAY = {
    "header": ("started_at", "agent", "model", "source"),
    "step": ("wall_ms", "agent_error"),
    "footer": ("finished_at", "wall_s", "ended", "error"),
}
"""Fields that legitimately differ between two runs of the same episode (wall times, who played
it); replay never compares them.  Everything else it compares."""


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dump_action(action: CodeAction) -> dict[str, Any]:
    """An action as the ``llm`` agent emits it: the action type, and the edit fields only when set."""
    return action.model_dump(mode="json", exclude={"metadata"}, exclude_none=True)


def dump_observation(observation: CodeObservation) -> dict[str, Any]:
    """Every field of an observation, ``reward``, ``done`` and ``metadata`` included."""
    return observation.model_dump(mode="json")


class _Line(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TrajectoryHeader(_Line):
    """First line: the episode's identity and how to reproduce it."""

    kind: Literal["header"] = "header"
    format: Literal["tracefix-trajectory"] = FORMAT_NAME
    schema_version: int = SCHEMA_VERSION
    env_name: str = ENV_NAME
    env_version: str = __version__
    episode_id: str
    task_id: str
    split: Optional[str] = None
    difficulty: str = ""
    seed: Optional[int] = None
    reward_mode: str = DEFAULT_REWARD_MODE
    max_steps: int = Field(ge=1, description="The episode's step budget")
    agent: Optional[str] = Field(default=None, description="Who chose the actions (None when unknown, e.g. a server session)")
    model: Optional[str] = Field(default=None, description="The model behind an llm agent")
    source: str = Field(default="python", description="What recorded it: play, eval, inference, server, web, python")
    reset_args: dict[str, Any] = Field(default_factory=dict, description="The keyword arguments reset() was called with")
    started_at: str = Field(default_factory=utc_now)
    observation: CodeObservation = Field(description="What reset() returned")

    @field_serializer("observation")
    def _observation(self, observation: CodeObservation) -> dict[str, Any]:
        return dump_observation(observation)


class TrajectoryStep(_Line):
    """One step: what the agent did and everything the environment answered."""

    kind: Literal["step"] = "step"
    step: int = Field(ge=1, description="1 for the first action after reset")
    action: CodeAction
    observation: CodeObservation
    reward: float
    done: bool
    agent_error: Optional[str] = Field(default=None, description="The agent's own trouble this step (e.g. an unusable model reply)")
    wall_ms: Optional[float] = Field(default=None, description="Time the environment took for this step")

    @field_serializer("action")
    def _action(self, action: CodeAction) -> dict[str, Any]:
        return dump_action(action)

    @field_serializer("observation")
    def _observation(self, observation: CodeObservation) -> dict[str, Any]:
        return dump_observation(observation)


class TrajectoryFooter(_Line):
    """Last line: how the episode ended."""

    kind: Literal["footer"] = "footer"
    steps: int = Field(ge=0)
    done: bool
    score: Optional[float] = None
    success: Optional[bool] = None
    episode_return: float = Field(alias="return", description="Sum of the step rewards")
    ended: Literal["done", "closed", "error"] = Field(
        description="done: the environment ended it; closed: the session ended first; error: the player failed"
    )
    error: Optional[str] = None
    finished_at: str = Field(default_factory=utc_now)
    wall_s: Optional[float] = None


class Trajectory(BaseModel):
    """A whole file in memory (not a line of it)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    header: TrajectoryHeader
    steps: list[TrajectoryStep] = Field(default_factory=list)
    footer: Optional[TrajectoryFooter] = None
    path: Optional[str] = None

    @property
    def rewards(self) -> list[float]:
        return [step.reward for step in self.steps]

    @property
    def episode_return(self) -> float:
        return round(sum(self.rewards), 6)

    @property
    def final_observation(self) -> CodeObservation:
        return self.steps[-1].observation if self.steps else self.header.observation

    @property
    def done(self) -> bool:
        return bool(self.steps) and self.steps[-1].done

    @property
    def score(self) -> Optional[float]:
        return self.final_observation.score if self.done else None

    @property
    def success(self) -> bool:
        return bool(self.done and self.final_observation.success)

    def observations(self) -> list[CodeObservation]:
        """The reset observation, then one per step."""
        return [self.header.observation, *(step.observation for step in self.steps)]


__all__ = [
    "DEFAULT_REWARD_MODE",
    "FORMAT_NAME",
    "IGNORED_BY_REPLAY",
    "SCHEMA_VERSION",
    "Trajectory",
    "TrajectoryFooter",
    "TrajectoryHeader",
    "TrajectoryStep",
    "dump_action",
    "dump_observation",
]
