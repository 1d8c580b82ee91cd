"""Recording episodes as they are played: one JSON Lines file per episode, written as it happens.

Two ways to attach recording to anything that plays TraceFix:

* :class:`RecordingSession` wraps any session with ``reset(**kwargs)`` and ``step(action)`` that
  return observations (the in-process :class:`~tracefix.core.environment.TraceFixRLGym`, the
  client's :class:`~tracefix.agents.episode.ClientSession`, a tool environment's session...);
* :class:`EpisodeRecorder` is the recorder itself, for loops that are easier to hook by hand
  (``recorder.start(reset_args, observation)`` after a reset, ``recorder.step(action, observation)``
  after each step, ``recorder.close()`` when the session ends): the server uses it this way.

Each line is flushed when written, so a crash loses at most the line being written, and a file
without a footer is still readable.  An episode that ends before its first step leaves no file
(stateless HTTP ``/reset`` calls would otherwise litter the directory).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import IO, Any, Mapping, Optional

from tracefix.models import CodeAction, CodeObservation
from tracefix.trajectory.schema import DEFAULT_REWARD_MODE, TrajectoryFooter, TrajectoryHeader, TrajectoryStep

logger = logging.getLogger("tracefix.trajectory")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _slug(text: str, limit: int = 60) -> str:
    return _UNSAFE.sub("_", text).strip("._")[:limit] or "x"


def trajectory_file_name(header: TrajectoryHeader) -> str:
    """``<agent>-<task>-seed<seed>-<episode id prefix>.jsonl``; the task's ``/`` becomes ``__``."""
    agent = _slug(header.agent or header.source)
    task = _slug(header.task_id.replace("/", "__"))
    seed = f"seed{header.seed}" if header.seed is not None else "noseed"
    return f"{agent}-{task}-{seed}-{_slug(header.episode_id, 8)}.jsonl"


def _open_exclusive(directory: Path, name: str) -> tuple[Path, IO[str]]:
    """Create a new file named ``name`` (or ``name`` with ``-2``, ``-3``... before the suffix)."""
    directory.mkdir(parents=True, exist_ok=True)
    stem, suffix = name[: -len(".jsonl")], ".jsonl"
    for attempt in range(1, 10_000):
        path = directory / (name if attempt == 1 else f"{stem}-{attempt}{suffix}")
        try:
            return path, path.open("x", encoding="utf-8")
        except FileExistsError:
            continue
    raise OSError(f"could not find a free file name for {name} in {directory}")


class EpisodeRecorder:
    """Writes one session's episodes into ``directory``, one file per episode.

    ``source`` says what recorded the episode (``play``, ``eval``, ``server``...), ``agent`` who
    played it (``None`` when unknown).  The recorder never raises into the loop it observes: a
    failure to write is logged and recording stops for that episode.
    """

    def __init__(
        self, directory: Path | str, *, source: str = "python", agent: Optional[str] = None, model: Optional[str] = None
    ) -> None:
        self.directory = Path(directory)
        self.source = source
        self.agent = agent
        self.model = model
        self._lock = threading.Lock()
        self._header: Optional[TrajectoryHeader] = None
        self._file: Optional[IO[str]] = None
        self._steps = 0
        self._rewards: list[float] = []
        self._started = 0.0
        self.path: Optional[Path] = None
        """The file of the current (or last) episode; ``None`` until its first step is written."""
        self.paths: list[Path] = []
        """Every file this recorder wrote, in order."""

    # -- the hooks ----------------------------------------------------------------------------------
    def start(self, reset_args: Mapping[str, Any], observation: CodeObservation) -> None:
        """A new episode began with ``reset(**reset_args)`` returning ``observation``."""
        with self._lock:
            self._finish(ended="closed", error="a new episode was started before this one ended")
            args = {key: value for key, value in dict(reset_args).items() if value is not None}
            metadata = observation.metadata or {}
            self._header = TrajectoryHeader(
                episode_id=str(metadata.get("episode_id") or args.get("episode_id") or ""),
                task_id=observation.task_id,
                split=metadata.get("split"),
                difficulty=observation.difficulty,
                seed=args.get("seed"),
                reward_mode=str(args.get("reward_mode") or metadata.get("reward_mode") or DEFAULT_REWARD_MODE),
                max_steps=max(1, observation.steps_used + observation.steps_remaining),
                agent=self.agent,
                model=self.model,
                source=self.source,
                reset_args=args,
                observation=observation,
            )
            self.path = None
            self._steps = 0
            self._rewards = []
            self._started = time.perf_counter()

    def step(
        self,
        action: CodeAction,
        observation: CodeObservation,
        *,
        agent_error: Optional[str] = None,
        wall_ms: Optional[float] = None,
    ) -> None:
        """The running episode took ``action`` and got ``observation``; steps outside an episode are ignored."""
        with self._lock:
            if self._header is None:
                return
            reward = float(observation.reward or 0.0)
            self._steps += 1
            self._rewards.append(reward)
            record = TrajectoryStep(
                step=self._steps, action=action, observation=observation, reward=reward, done=bool(observation.done),
                agent_error=agent_error, wall_ms=None if wall_ms is None else round(wall_ms, 3),
            )
            if self._file is None and not self._open():
                return
            self._write(record.model_dump_json(by_alias=True))
            if observation.done:
                self._finish(ended="done", final=observation)

    def close(self, error: Optional[str] = None) -> Optional[Path]:
        """The session is over: write the footer of an unfinished episode.  Returns its file, if any."""
        with self._lock:
            path = self.path
            self._finish(ended="error" if error else "closed", error=error)
            return path

    # -- internals ------------------------------------------------------------------------------------
    def _open(self) -> bool:
        assert self._header is not None
        try:
            self.path, self._file = _open_exclusive(self.directory, trajectory_file_name(self._header))
        except OSError as exc:
            logger.error("cannot record trajectory in %s: %s", self.directory, exc)
            self._header = None
            return False
        self.paths.append(self.path)
        self._write(self._header.model_dump_json(by_alias=True))
        return True

    def _write(self, line: str) -> None:
        if self._file is None:
            return
        try:
            self._file.write(line + "\n")
            self._file.flush()
        except OSError as exc:
            logger.error("cannot write trajectory %s: %s", self.path, exc)
            self._close_file()
            self._header = None

    def _finish(self, *, ended: str, error: Optional[str] = None, final: Optional[CodeObservation] = None) -> None:
        """Write the footer (when a file was started) and forget the episode."""
        if self._header is not None and self._file is not None:
            footer = TrajectoryFooter(
                steps=self._steps,
                done=final is not None,
                score=final.score if final is not None else None,
                success=final.success if final is not None else None,
                episode_return=round(sum(self._rewards), 6),
                ended=ended,  # type: ignore[arg-type]
                error=None if ended == "done" else error,
                wall_s=round(time.perf_counter() - self._started, 3),
            )
            self._write(footer.model_dump_json(by_alias=True))
        self._close_file()
        self._header = None

    def _close_file(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None

    def __enter__(self) -> "EpisodeRecorder":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close(error=f"{exc_type.__name__}: {exc}" if exc_type is not None else None)


class RecordingSession:
    """Wraps a session (``reset(**kwargs)`` / ``step(action)`` -> observation) and records every episode.

    ``agent``, when given, is asked for ``last_error`` after each action (the built-in agents set it
    when they had to fall back), which is recorded as the step's ``agent_error``.
    """

    def __init__(self, session: Any, recorder: EpisodeRecorder, agent: Any = None) -> None:
        self.session = session
        self.recorder = recorder
        self.agent = agent

    def reset(self, **kwargs: Any) -> CodeObservation:
        observation = self.session.reset(**kwargs)
        self.recorder.start(kwargs, observation)
        return observation

    def step(self, action: CodeAction) -> CodeObservation:
        started = time.perf_counter()
        observation = self.session.step(action)
        wall_ms = (time.perf_counter() - started) * 1000
        agent_error = getattr(self.agent, "last_error", None) if self.agent is not None else None
        self.recorder.step(action, observation, agent_error=agent_error, wall_ms=wall_ms)
        return observation

    @classmethod
    def wrap(
        cls, session: Any, directory: Optional[Path | str], *, source: str, agent: Any = None,
        agent_name: Optional[str] = None, model: Optional[str] = None,
    ) -> Any:
        """``session`` itself when ``directory`` is ``None``, else a recording wrapper around it.

        ``agent`` is the agent object (its ``name`` is recorded unless ``agent_name`` is given).
        """
        if directory is None:
            return session
        name = agent_name or getattr(agent, "name", None)
        return cls(session, EpisodeRecorder(directory, source=source, agent=name, model=model), agent)

    @property
    def path(self) -> Optional[Path]:
        return self.recorder.path

    def close(self, error: Optional[str] = None) -> Optional[Path]:
        return self.recorder.close(error)

    def __enter__(self) -> "RecordingSession":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.recorder.__exit__(exc_type, exc, tb)


def recording_dir_from_env() -> Optional[Path]:
    """``TRACEFIX_RECORD_DIR``, the directory a server records into when ``--record`` is not given."""
    value = os.environ.get("TRACEFIX_RECORD_DIR", "").strip()
    return Path(value) if value else None


__all__ = ["EpisodeRecorder", "RecordingSession", "recording_dir_from_env", "trajectory_file_name"]
