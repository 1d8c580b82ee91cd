"""Where tasks come from: named splits of verified tasks, loaded once per process.

The built-in split is ``curated`` (16 hand-written tasks).  The generated corpus adds ``train``,
``validation`` and ``test`` when its file is present, and ``tracefix tasks import`` / the server's
``--tasks-file`` add a split of their own.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path
from typing import Iterable, Optional

from tracefix.core.constants import DIFFICULTIES
from tracefix.tasks.schema import Task, load_task_file

CURATED_SPLIT = "curated"
DATA_DIR = Path(str(resources.files("tracefix.tasks") / "data"))
CURATED_FILE = DATA_DIR / "curated.jsonl"
CORPUS_FILE = DATA_DIR / "corpus.jsonl.gz"
"""The generated corpus: one task per line, each with a ``split`` recorded in its tags (split:NAME)."""


def split_name_for(path: str | Path) -> str:
    """The split a task file is served as: its file name up to the first dot."""
    return Path(path).name.split(".")[0]


class UnknownTaskError(LookupError):
    """A task id, split, index or difficulty that the registry does not have."""


class TaskRegistry:
    """An ordered, immutable-per-split collection of tasks, addressable by split, index and id."""

    def __init__(self) -> None:
        self._splits: dict[str, list[Task]] = {}
        self._by_id: dict[str, Task] = {}
        self._split_by_id: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- building -----------------------------------------------------------------------------------
    def add_split(self, name: str, tasks: Iterable[Task], *, replace: bool = False) -> None:
        """Register a split; its task ids must not clash with tasks of other splits."""
        tasks = list(tasks)
        with self._lock:
            if name in self._splits and not replace:
                raise ValueError(f"split {name!r} already exists")
            old = {t.id for t in self._splits.get(name, [])}
            for task in tasks:
                owner = self._by_id.get(task.id)
                if owner is not None and task.id not in old and owner is not task:
                    raise ValueError(f"task id {task.id!r} is already registered in another split")
            for task_id in old:
                self._by_id.pop(task_id, None)
                self._split_by_id.pop(task_id, None)
            self._splits[name] = tasks
            for task in tasks:
                self._by_id[task.id] = task
                self._split_by_id[task.id] = name

    def add_file(self, path: str | Path, split: Optional[str] = None) -> str:
        """Load a task file as its own split (named after the file unless given) and return the name."""
        path = Path(path)
        tasks, _ = load_task_file(path)
        name = split or split_name_for(path)
        self.add_split(name, tasks, replace=True)
        return name

    # -- queries ------------------------------------------------------------------------------------
    def split_names(self) -> list[str]:
        return list(self._splits)

    def tasks(self, split: str = CURATED_SPLIT) -> list[Task]:
        try:
            return self._splits[split]
        except KeyError:
            raise UnknownTaskError(f"unknown split {split!r}; available: {', '.join(self._splits)}") from None

    def all_tasks(self) -> list[Task]:
        return [task for tasks in self._splits.values() for task in tasks]

    def get(self, task_id: str) -> Task:
        try:
            return self._by_id[task_id]
        except KeyError:
            raise UnknownTaskError(f"unknown task id {task_id!r}") from None

    def split_of(self, task_id: str) -> str:
        try:
            return self._split_by_id[task_id]
        except KeyError:
            raise UnknownTaskError(f"unknown task id {task_id!r}") from None

    def at(self, split: str, index: int) -> Task:
        tasks = self.tasks(split)
        if not 0 <= index < len(tasks):
            raise UnknownTaskError(f"index {index} is out of range for split {split!r} ({len(tasks)} tasks)")
        return tasks[index]

    def by_difficulty(self, split: str = CURATED_SPLIT) -> dict[str, list[Task]]:
        buckets: dict[str, list[Task]] = {d: [] for d in DIFFICULTIES}
        for task in self.tasks(split):
            buckets[task.difficulty].append(task)
        return buckets


_default: Optional[TaskRegistry] = None
_default_lock = threading.Lock()


def default_registry() -> TaskRegistry:
    """The process-wide registry: curated tasks, plus the generated corpus when it is installed."""
    global _default
    with _default_lock:
        if _default is None:
            registry = TaskRegistry()
            registry.add_split(CURATED_SPLIT, load_task_file(CURATED_FILE)[0])
            if CORPUS_FILE.exists():
                from tracefix.corpus.splits import corpus_splits

                for name, tasks in corpus_splits(CORPUS_FILE).items():
                    registry.add_split(name, tasks)
            _default = registry
        return _default
