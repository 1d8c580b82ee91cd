"""``TraceFixToolEnv``: TraceFix as a tool environment for TRL's ``GRPOTrainer(environment_factory=...)``.

TRL builds the class with no arguments (once per concurrent rollout, then reuses the instances),
calls ``reset(**row)`` with the columns of a dataset row, exposes every other public method except
``get_reward`` as a tool, feeds an exception raised in a tool back to the model as the tool's
answer, and adds ``get_reward()`` as a reward.  So this class has exactly six public tool methods
(from :class:`~tracefix.adapters.tools.ActionTools`), ``reset`` and ``get_reward``; everything else
is private or a property.

Two back ends, chosen when the instance is built:

* in-process (default): its own :class:`~tracefix.core.environment.TraceFixRLGym`, running code in
  the process-wide sandbox;
* a server, when ``base_url`` is given or ``TRACEFIX_URLS`` / ``TRACEFIX_URL`` is set: one
  WebSocket session per instance (the server's ``TRACEFIX_MAX_CONCURRENT_ENVS`` must be at least
  the generation batch size), closed when the instance is closed or garbage-collected.  With
  several servers (``TRACEFIX_URLS="http://a:7860,http://b:7860"``, or a comma-separated
  ``base_url``) the instances' sessions are spread over them, and a session whose server dies
  moves to another one mid-episode (:mod:`tracefix.failover`).

Use ``functools.partial(TraceFixToolEnv, reward_mode="binary")`` (or a ``reward_mode`` dataset
column) to pick a reward mode.  With ``record_dir`` (or ``TRACEFIX_RECORD_DIR``) every episode is
recorded as a trajectory file (``tracefix show`` / ``replay`` / ``export sft`` read them).
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any, Optional

from tracefix.adapters.tools import ActionTools
from tracefix.agents.prompting import TOOL_REPLY_HINT, render_observation
from tracefix.core.constants import DEFAULT_REWARD_MODE
from tracefix.core.environment import TraceFixRLGym
from tracefix.core.scoring import check_reward_mode
from tracefix.models import CodeAction, CodeObservation

TRACEFIX_URL_ENV = "TRACEFIX_URL"
_SERVERS: dict[str, Any] = {}
"""One :class:`~tracefix.failover.ServerSet` per list of URLs, shared by the instances of a process
(so their sessions are dealt round robin, and a dead server is skipped by all of them)."""

RESET_ARGUMENTS = ("task_id", "split", "index", "seed", "difficulty", "training_step", "max_steps", "reward_mode")
"""Reset arguments passed on to the environment (see the README's reset arguments)."""
PROMPT_COLUMN = "prompt"
"""The dataset's chat prompt: read (to avoid repeating the task description) and not passed on."""
SELECTORS = ("task_id", "index", "seed")
"""One of these must be set: GRPO compares the rollouts of one row, so they must play the same task."""


def _server_set(urls: list[str]) -> Any:
    from tracefix.failover import ServerSet

    key = ",".join(urls)
    if key not in _SERVERS:
        _SERVERS[key] = ServerSet(urls)
    return _SERVERS[key]


class _RecordedSession:
    """A session whose episodes are recorded; closing it finishes the recording, then the session."""

    def __init__(self, recording: Any) -> None:
        self._recording = recording

    def reset(self, **kwargs: Any) -> CodeObservation:
        return self._recording.reset(**kwargs)

    def step(self, action: CodeAction) -> CodeObservation:
        return self._recording.step(action)

    def close(self) -> None:
        self._recording.close()
        inner = self._recording.session
        if hasattr(inner, "close") and not isinstance(inner, TraceFixRLGym):
            inner.close()


def _close_session(holder: dict[str, Any]) -> None:
    session = holder.pop("session", None)
    if session is not None and hasattr(session, "close"):
        try:
            session.close()
        except Exception:  # closing at exit or in GC: the server drops the session on disconnect anyway
            pass


def _last_user_text(prompt: Any) -> str:
    """The text of the last user message of a chat prompt (or the prompt itself if it is a string)."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, (list, tuple)):
        for message in reversed(prompt):
            if isinstance(message, dict) and message.get("role") == "user":
                content = message.get("content")
                return content if isinstance(content, str) else ""
    return ""


class TraceFixToolEnv(ActionTools):
    """TraceFix episodes driven by tool calls; ``reset`` returns the opening text, tools return the next."""

    def __init__(
        self,
        *,
        base_url: Optional[str] = None,
        reward_mode: Optional[str] = None,
        max_steps: Optional[int] = None,
        gym: Optional[TraceFixRLGym] = None,
        record_dir: Optional[Path | str] = None,
    ) -> None:
        from tracefix.failover import server_urls

        self._urls = server_urls(base_url)
        self._base_url = ",".join(self._urls) or None
        self._reward_mode = check_reward_mode(reward_mode or DEFAULT_REWARD_MODE)
        self._max_steps = max_steps
        self._gym = gym if gym is not None or self._base_url else TraceFixRLGym()
        self._remote: dict[str, Any] = {}
        self._finalizer = weakref.finalize(self, _close_session, self._remote)
        from tracefix.trajectory.recorder import recording_dir_from_env

        self._record_dir = Path(record_dir) if record_dir is not None else recording_dir_from_env()
        self._last: Optional[CodeObservation] = None
        self._rewards: list[float] = []
        self.resets = 0
        """Episodes started by this instance (TRL reuses instances across batches)."""

    # -- configuration and episode state (properties: TRL only turns functions into tools) ----------
    @property
    def reward_mode(self) -> str:
        return self._reward_mode

    @property
    def base_url(self) -> Optional[str]:
        """The server URL (comma-separated when there are several), or ``None`` in-process."""
        return self._base_url

    @property
    def observation(self) -> Optional[CodeObservation]:
        """The latest observation (``None`` before the first reset)."""
        return self._last

    @property
    def done(self) -> bool:
        return bool(self._last is not None and self._last.done)

    @property
    def rewards(self) -> list[float]:
        """This episode's step rewards so far, in the episode's reward mode."""
        return list(self._rewards)

    # -- TRL's interface ------------------------------------------------------------------------------
    def reset(self, **kwargs: Any) -> str:
        """Start an episode from a dataset row; returns the text appended to the row's last user message.

        Accepted: ``task_id``; or ``split`` + ``index``; or ``seed`` (with ``split``/``difficulty``/
        ``training_step``), plus ``reward_mode`` and ``max_steps``, and the exported dataset's
        ``prompt`` column.  ``None`` values count as absent.  Anything else is refused.
        """
        unknown = sorted(set(kwargs) - set(RESET_ARGUMENTS) - {PROMPT_COLUMN})
        if unknown:
            raise ValueError(
                f"TraceFixToolEnv.reset got unknown column(s) {', '.join(unknown)}; accepted: "
                f"{', '.join(RESET_ARGUMENTS)} and {PROMPT_COLUMN}"
            )
        prompt = kwargs.pop(PROMPT_COLUMN, None)
        arguments = {name: value for name, value in kwargs.items() if value is not None}
        if not any(name in arguments for name in SELECTORS):
            raise ValueError(
                "TraceFixToolEnv.reset needs task_id, split + index, or seed: GRPO compares the rollouts of one "
                "dataset row, so every rollout of a row must play the same task (export one with "
                "`tracefix export dataset`)"
            )
        arguments["reward_mode"] = check_reward_mode(arguments.get("reward_mode", self._reward_mode))
        if self._max_steps is not None:
            arguments.setdefault("max_steps", self._max_steps)
        observation = self._session().reset(**arguments)
        self._last, self._rewards = observation, []
        self.resets += 1
        described = bool(observation.description.strip()) and observation.description.strip() in _last_user_text(prompt)
        return "\n\n" + render_observation(observation, include_description=not described, reply_hint=TOOL_REPLY_HINT)

    def get_reward(self) -> float:
        """The episode's return in its reward mode.

        An episode the model left unfinished (no submit, budget not used up) gets its penalties so
        far and nothing else: the shaping advances are taken back, as the terminal step would.
        """
        if self._last is None:
            raise RuntimeError("get_reward() was called before reset()")
        outstanding = float(self._last.metadata.get("shaping_outstanding", 0.0) or 0.0)
        return round(sum(self._rewards) - outstanding, 6)

    # -- ActionTools ----------------------------------------------------------------------------------
    def _step(self, action: CodeAction) -> CodeObservation:
        if self._last is None:
            raise RuntimeError("no episode is running: reset() must be called before any tool")
        if self._last.done:
            score = self._last.score if self._last.score is not None else 0.0
            raise RuntimeError(
                f"the episode is over (score {score:.2f}, success {bool(self._last.success)}): "
                "no more tool calls are accepted"
            )
        observation = self._session().step(action)
        self._last = observation
        self._rewards.append(float(observation.reward or 0.0))
        return observation

    # -- lifecycle (private or dunder, so they never become tools) ------------------------------------
    def _session(self) -> Any:
        if "session" not in self._remote:
            if self._gym is not None:
                session: Any = self._gym
            else:
                from tracefix.failover import FailoverSession

                assert self._urls
                session = FailoverSession(_server_set(self._urls))
            if self._record_dir is not None:
                from tracefix.trajectory.recorder import RecordingSession

                session = _RecordedSession(RecordingSession.wrap(session, self._record_dir, source="trl", agent_name="trl"))
            self._remote["session"] = session
        return self._remote["session"]

    def _close(self) -> None:
        """Close the server session and any recording (also done when the instance is collected)."""
        _close_session(self._remote)

    def __enter__(self) -> "TraceFixToolEnv":
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()


__all__ = ["RESET_ARGUMENTS", "TRACEFIX_URL_ENV", "TraceFixToolEnv"]
