"""Gymnasium view of TraceFix: text observations in, JSON action text out.

Observations are the same rendering the ``llm`` agent reads (``agents.prompting``), actions are the
JSON objects the system prompt asks for (parsed like the ``llm`` agent parses replies), so a text
policy trained here sees exactly what it would see through the OpenEnv server.  ``terminated`` means
the agent submitted; ``truncated`` means the step budget ran out (the environment then evaluates the
code as a submission, so the final reward is still paid).  Requires the ``gym`` extra
(``uv sync --extra gym`` in a checkout, or ``pip install '.[gym]'`` from it).  Registered with
Gymnasium as ``TraceFix-v0`` (see :mod:`tracefix.adapters`): ``gymnasium.make("TraceFix-v0",
task_id=...)`` passes its keyword arguments to this class.
"""

from __future__ import annotations

import string
from typing import Any, Optional, SupportsFloat

import gymnasium
from gymnasium import spaces

from tracefix.agents.parsing import ActionParseError, parse_action
from tracefix.agents.prompting import render_observation
from tracefix.core.constants import MAX_CODE_CHARS, MAX_NEW_CODE_CHARS
from tracefix.core.environment import TraceFixRLGym
from tracefix.models import CodeAction, CodeObservation

TEXT_CHARSET = frozenset(string.printable)
"""Nominal charset of the text spaces (programs may hold other characters; the core accepts them)."""
MAX_OBSERVATION_CHARS = 4 * MAX_CODE_CHARS


class TraceFixGymnasiumEnv(gymnasium.Env):
    """``gymnasium.Env`` over one :class:`TraceFixRLGym`; ``reset(options=...)`` takes the core's reset arguments."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, env: Optional[TraceFixRLGym] = None, render_mode: Optional[str] = None, **reset_defaults: Any):
        if render_mode not in (None, "ansi"):
            raise ValueError(f"unsupported render_mode {render_mode!r}; use 'ansi'")
        self.env = env or TraceFixRLGym()
        self.render_mode = render_mode
        self.reset_defaults = reset_defaults
        self.observation_space = spaces.Text(max_length=MAX_OBSERVATION_CHARS, min_length=0, charset=TEXT_CHARSET)
        self.action_space = spaces.Text(max_length=MAX_NEW_CODE_CHARS + 512, min_length=1, charset=TEXT_CHARSET)
        self._last: Optional[CodeObservation] = None

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        observation = self.env.reset(seed=seed, **{**self.reset_defaults, **(options or {})})
        self._last = observation
        return render_observation(observation), self._info(observation)

    def step(self, action: str | dict[str, Any] | CodeAction) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Apply one action given as JSON text, a dict or a :class:`CodeAction`.

        Unparsable text is not guessed at: it gets an error, reward 0 and changes nothing, as an
        invalid action does on the server.
        """
        if self._last is None:
            raise gymnasium.error.ResetNeeded("call reset() before step()")
        if isinstance(action, str):
            try:
                action = parse_action(action)
            except ActionParseError as exc:
                rejected = self._last.model_copy(update={"error": f"unparsable action: {exc}", "message": "", "reward": 0.0})
                return render_observation(rejected), 0.0, False, False, self._info(rejected)
        observation = self.env.step(action)
        self._last = observation
        # The budget ran out when the episode ended on anything but SUBMIT (it was then evaluated).
        truncated = observation.done and observation.last_action != "SUBMIT"
        terminated = observation.done and not truncated
        return render_observation(observation), float(observation.reward or 0.0), terminated, truncated, self._info(observation)

    def render(self) -> Optional[str]:
        if self.render_mode == "ansi" and self._last is not None:
            return render_observation(self._last)
        return None

    @staticmethod
    def _info(observation: CodeObservation) -> dict[str, Any]:
        return {
            "task_id": observation.task_id,
            "error": observation.error,
            "score": observation.score,
            "success": observation.success,
            "steps_remaining": observation.steps_remaining,
            "observation": observation,
        }
