"""The agent interface: an agent sees observations and answers with actions, nothing else.

Agents talk to the environment through the same observations every client gets.  Only the
``oracle`` agent is privileged (it reads the reference fix from the task registry); it exists to
validate tasks and plumbing, and is labelled as such everywhere it is used.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from tracefix.models import CodeAction, CodeObservation


class Agent(ABC):
    """Base class of every built-in agent."""

    name: ClassVar[str] = "agent"
    privileged: ClassVar[bool] = False
    """True when the agent reads information an ordinary agent never sees (the reference fix)."""

    def reset(self, observation: CodeObservation) -> None:
        """Called with the first observation of an episode; agents keep per-episode state here."""

    @abstractmethod
    def act(self, observation: CodeObservation) -> CodeAction:
        """Choose the next action from the latest observation."""
