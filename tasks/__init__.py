"""Tasks: the format, the registry of verified tasks, and grading of runs against them.

``TASKS_BY_DIFFICULTY`` and ``ALL_TASKS`` are the curated split, as the earlier implementation
exported them; they are loaded on first access.
"""

from __future__ import annotations

from typing import Any

from tracefix.tasks.grading import RunReport, TestVerdict, grade, run_tests
from tracefix.tasks.registry import CURATED_SPLIT, TaskRegistry, UnknownTaskError, default_registry
from tracefix.tasks.schema import Task, TaskFileError, TaskTest, load_task_file, parse_task

__all__ = [
    "ALL_TASKS",
    "CURATED_SPLIT",
    "RunReport",
    "TASKS_BY_DIFFICULTY",
    "Task",
    "TaskFileError",
    "TaskRegistry",
    "TaskTest",
    "TestVerdict",
    "UnknownTaskError",
    "default_registry",
    "grade",
    "load_task_file",
    "parse_task",
    "run_tests",
]


def __getattr__(name: str) -> Any:
    if name == "ALL_TASKS":
        return list(default_registry().tasks(CURATED_SPLIT))
    if name == "TASKS_BY_DIFFICULTY":
        return default_registry().by_difficulty(CURATED_SPLIT)
    raise AttributeError(f"module 'tracefix.tasks' has no attribute {name!r}")
