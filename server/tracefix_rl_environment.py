"""OpenEnv adapter: the ``Environment`` interface (and the Task API) over :class:`TraceFixRLGym`.

This layer only translates: reset keyword arguments, observations and state pass through unchanged,
and the task-discovery methods return the public view of tasks (no reference code, no hidden tests).
Every session gets its own gym; the task registry and the sandbox are shared per process.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Optional

from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import EnvironmentMetadata

from tracefix import __version__
from tracefix.core.constants import ENV_NAME
from tracefix.core.environment import ResetError, TraceFixRLGym
from tracefix.models import CodeAction, CodeObservation, TraceFixState
from tracefix.tasks.registry import TaskRegistry, default_registry

_RESET_PARAMETERS = ("task_id", "difficulty", "split", "index", "training_step", "max_steps")
_SPLIT_TYPES = {"train": "train", "validation": "validation", "test": "test"}

_registry_lock = threading.Lock()
_registry_override: Optional[TaskRegistry] = None
_recording_dir: Optional[Path] = None


def configure_registry(registry: TaskRegistry) -> None:
    """Serve ``registry`` instead of the default one (used by ``--tasks-file`` and tests)."""
    global _registry_override
    with _registry_lock:
        _registry_override = registry


def served_registry() -> TaskRegistry:
    with _registry_lock:
        return _registry_override or default_registry()


def configure_recording(directory: Optional[Path | str]) -> None:
    """Record every session's episodes into ``directory`` from now on (``None`` stops recording)."""
    global _recording_dir
    with _registry_lock:
        _recording_dir = Path(directory) if directory is not None else None


def recording_directory() -> Optional[Path]:
    with _registry_lock:
        return _recording_dir


class TraceFixRLEnvironment(Environment[CodeAction, CodeObservation, TraceFixState]):
    """One TraceFix session.  Sessions share nothing mutable, so they can run concurrently."""

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self, recording_source: str = "server", recording_agent: Optional[str] = None) -> None:
        super().__init__()
        self._gym = TraceFixRLGym(registry=served_registry())
        directory = recording_directory()
        self._recorder = None
        if directory is not None:  # `tracefix serve --record DIR`: every episode of this session is recorded
            from tracefix.trajectory.recorder import EpisodeRecorder

            self._recorder = EpisodeRecorder(directory, source=recording_source, agent=recording_agent)

    # -- Environment --------------------------------------------------------------------------------
    def reset(self, seed: Optional[int] = None, episode_id: Optional[str] = None, **kwargs: Any) -> CodeObservation:
        unknown = sorted(set(kwargs) - set(_RESET_PARAMETERS))
        if unknown:
            raise ResetError(
                f"unknown reset parameter(s) {', '.join(unknown)}; accepted: seed, episode_id, "
                + ", ".join(_RESET_PARAMETERS)
            )
        for name in ("index", "training_step", "max_steps"):
            value = kwargs.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ResetError(f"{name} must be an integer, got {value!r}")
        observation = self._gym.reset(seed=seed, episode_id=episode_id, **kwargs)
        if self._recorder is not None:
            self._recorder.start({"seed": seed, "episode_id": episode_id, **kwargs}, observation)
        return observation

    def step(self, action: CodeAction, timeout_s: Optional[float] = None, **kwargs: Any) -> CodeObservation:
        started = time.perf_counter()
        observation = self._gym.step(action)
        if self._recorder is not None:
            self._recorder.step(action, observation, wall_ms=(time.perf_counter() - started) * 1000)
        return observation

    def close(self) -> None:
        """The session ended: an unfinished recorded episode gets its footer."""
        if self._recorder is not None:
            self._recorder.close()
        super().close()

    @property
    def state(self) -> TraceFixState:
        return self._gym.state

    def get_metadata(self) -> EnvironmentMetadata:
        return EnvironmentMetadata(
            name=ENV_NAME,
            description="Debug broken Python programs: view, run tests, edit lines, undo, submit.",
            version=__version__,
        )

    # -- Task API (structural TaskProvider) ----------------------------------------------------------
    def list_splits(self) -> list[dict[str, Any]]:
        registry = self._gym.registry
        return [
            {"name": name, "type": _SPLIT_TYPES.get(name, "validation"), "num_tasks": len(registry.tasks(name))}
            for name in registry.split_names()
        ]

    def list_tasks(self, split: str) -> list[dict[str, Any]]:
        return [
            {"index": i, "id": t.id, "difficulty": t.difficulty, "title": t.title, "tags": list(t.tags)}
            for i, t in enumerate(self._gym.registry.tasks(split))
        ]

    def num_tasks(self, split: str) -> int:
        return len(self._gym.registry.tasks(split))

    def get_task(self, split: str, index: int) -> dict[str, Any]:
        tasks = self._gym.registry.tasks(split)
        if not 0 <= index < len(tasks):
            raise IndexError(f"index {index} is out of range for split {split!r}")
        return {"index": index, "split": split, **tasks[index].public_view()}

    def get_task_range(self, split: str, start: Optional[int] = None, stop: Optional[int] = None) -> list[dict[str, Any]]:
        tasks = self._gym.registry.tasks(split)
        first, last, _ = slice(start, stop).indices(len(tasks))
        return [{"index": i, "split": split, **tasks[i].public_view()} for i in range(first, last)]
