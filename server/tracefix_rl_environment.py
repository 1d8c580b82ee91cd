"""OpenEnv adapter: the ``Environment`` interface (and the Task API) over :class:`TraceFixRLGym`.

This layer only translates: reset keyword arguments, observations and state pass through unchanged,
and the task-discovery methods return the public view of tasks (no reference code, no hidden tests).
Every session gets its own gym; the task registry and the sandbox are shared per process.  Each
session also answers OpenEnv's ``/mcp`` route with the six tools (:mod:`tracefix.adapters.mcp`),
acting on the same episode as the session's ``/ws`` reset and steps.
"""

from __future__ import annotations

import functools
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any, Optional

from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import EnvironmentMetadata

from tracefix import __version__
from tracefix.adapters.tools import ActionTools
from tracefix.core.constants import ENV_NAME, MAX_RESET_TEXT_CHARS
from tracefix.core.environment import ResetError, TraceFixRLGym
from tracefix.models import CodeAction, CodeObservation, TraceFixState
from tracefix.tasks.registry import TaskRegistry, default_registry

_RESET_PARAMETERS = ("task_id", "difficulty", "split", "index", "training_step", "max_steps", "reward_mode")
_SPLIT_TYPES = {"train": "train", "validation": "validation", "test": "test"}

AUTHOR = "TraceFix contributors"
DOCUMENTATION_URL = "/docs"
"""The server's own interactive API reference (relative to the server's base URL); the README,
which is the project's documentation, is served in ``/metadata`` as ``readme_content``."""

_registry_lock = threading.Lock()
_registry_override: Optional[TaskRegistry] = None
_recording_dir: Optional[Path] = None


@functools.lru_cache(maxsize=1)
def readme_text() -> Optional[str]:
    """The project's README (shipped as package data next to ``openenv.yaml``), or ``None`` if absent."""
    try:
        return resources.files("tracefix").joinpath("README.md").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None


def configure_registry(registry: TaskRegistry) -> None:
    """Serve ``registry`` instead of the default one (used by ``--tasks-file`` and tests)."""
    global _registry_override
    with _registry_lock:
        _registry_override = registry


def served_registry() -> TaskRegistry:
    with _registry_lock:
        return _registry_override or default_registry()


def _shown(value: Any) -> str:
    """A bad value as an error message quotes it: short scalars verbatim, anything else by its type."""
    if isinstance(value, (bool, int, float)) or value is None:
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else f"a string of {len(value):,} characters"
    return f"a JSON {'array' if isinstance(value, (list, tuple)) else 'object' if isinstance(value, dict) else type(value).__name__}"


def check_reset_arguments(**arguments: Any) -> None:
    """Type-check ``reset`` arguments, raising :class:`ResetError` with the reason.

    HTTP validates ``seed`` and ``episode_id`` with OpenEnv's ``ResetRequest`` before calling
    ``reset``, but a WebSocket reset message reaches ``reset`` unchecked; this function is the one
    place both transports share, so they accept exactly the same arguments.
    """
    unknown = sorted(set(arguments) - {"seed", "episode_id", *_RESET_PARAMETERS})
    if unknown:
        names = ", ".join(repr(name) if len(name) <= 40 else f"{name[:40]!r}..." for name in unknown[:5])
        raise ResetError(f"unknown reset parameter(s) {names}; accepted: seed, episode_id, " + ", ".join(_RESET_PARAMETERS))
    for name in ("seed", "index", "training_step", "max_steps"):
        value = arguments.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ResetError(f"{name} must be an integer, got {_shown(value)}")
    seed = arguments.get("seed")
    if seed is not None and seed < 0:
        raise ResetError(f"seed must be >= 0, got {seed}")
    for name in ("episode_id", "task_id", "split", "difficulty", "reward_mode"):
        value = arguments.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ResetError(f"{name} must be a string, got {_shown(value)}")
        if len(value) > MAX_RESET_TEXT_CHARS:
            raise ResetError(f"{name} is too long ({len(value):,} characters; at most {MAX_RESET_TEXT_CHARS})")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ResetError(f"{name} is not valid Unicode text (it holds a lone surrogate)") from None


class _SessionTools(ActionTools):
    """The six tools acting on one session's gym (for the ``/mcp`` route)."""

    def __init__(self, environment: "TraceFixRLEnvironment") -> None:
        self._environment = environment

    def _step(self, action: CodeAction) -> CodeObservation:
        return self._environment.step(action)


def configure_recording(directory: Optional[Path | str]) -> None:
    """Record every session's episodes into ``directory`` from now on (``None`` stops recording)."""
    global _recording_dir
    with _registry_lock:
        _recording_dir = Path(directory) if directory is not None else None


def recording_directory() -> Optional[Path]:
    with _registry_lock:
        return _recording_dir


_open_lock = threading.Lock()
_open_sessions = 0


def open_sessions() -> int:
    """Environments created and not yet closed in this process (for the server's ``/capacity``)."""
    with _open_lock:
        return _open_sessions


class TraceFixRLEnvironment(Environment[CodeAction, CodeObservation, TraceFixState]):
    """One TraceFix session.  Sessions share nothing mutable, so they can run concurrently."""

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self, recording_source: str = "server", recording_agent: Optional[str] = None) -> None:
        global _open_sessions
        super().__init__()
        self._counted = False
        self._gym = TraceFixRLGym(registry=served_registry())
        self._lock = threading.Lock()  # /ws steps and /mcp tool calls may arrive on different threads
        self._mcp_server: Any = None
        directory = recording_directory()
        self._recorder = None
        if directory is not None:  # `tracefix serve --record DIR`: every episode of this session is recorded
            from tracefix.trajectory.recorder import EpisodeRecorder

            self._recorder = EpisodeRecorder(directory, source=recording_source, agent=recording_agent)
        with _open_lock:
            _open_sessions += 1
            self._counted = True

    @property
    def mcp_server(self) -> Any:
        """The FastMCP server OpenEnv's ``/mcp`` route uses (built on first use: most sessions never need it)."""
        if self._mcp_server is None:
            from tracefix.adapters.mcp import build_mcp_server

            self._mcp_server = build_mcp_server(_SessionTools(self))
        return self._mcp_server

    # -- Environment --------------------------------------------------------------------------------
    def reset(self, seed: Optional[int] = None, episode_id: Optional[str] = None, **kwargs: Any) -> CodeObservation:
        check_reset_arguments(seed=seed, episode_id=episode_id, **kwargs)
        with self._lock:
            observation = self._gym.reset(seed=seed, episode_id=episode_id, **kwargs)
            if self._recorder is not None:
                self._recorder.start({"seed": seed, "episode_id": episode_id, **kwargs}, observation)
            return observation

    def step(self, action: CodeAction, timeout_s: Optional[float] = None, **kwargs: Any) -> CodeObservation:
        with self._lock:
            started = time.perf_counter()
            observation = self._gym.step(action)
            if self._recorder is not None:
                self._recorder.step(action, observation, wall_ms=(time.perf_counter() - started) * 1000)
            return observation

    def close(self) -> None:
        """The session ended: an unfinished recorded episode gets its footer."""
        global _open_sessions
        with self._lock:
            if self._recorder is not None:
                self._recorder.close()
            if self._counted:
                self._counted = False
                with _open_lock:
                    _open_sessions -= 1
        super().close()

    @property
    def state(self) -> TraceFixState:
        return self._gym.state

    def get_metadata(self) -> EnvironmentMetadata:
        return EnvironmentMetadata(
            name=ENV_NAME,
            description="Debug broken Python programs: view, run tests, edit lines, undo, submit.",
            version=__version__,
            readme_content=readme_text(),
            author=AUTHOR,
            documentation_url=DOCUMENTATION_URL,
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
