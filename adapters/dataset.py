"""Training datasets from the task registry: one row per task, ready for ``GRPOTrainer(train_dataset=...)``.

A row is ``prompt`` (chat messages: the tool-calling system prompt, then the task's header and
description as the user message), ``task_id``, ``split``, ``index`` and ``difficulty``, plus
``reward_mode`` when one is chosen.  TRL passes every column to
:meth:`tracefix.adapters.trl_env.TraceFixToolEnv.reset`, which accepts exactly these, starts that
task and appends the numbered code to the user message.  Nothing privileged is exported: no
reference code, no hidden tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from tracefix.core.prompts import TOOL_SYSTEM_PROMPT
from tracefix.core.scoring import check_reward_mode
from tracefix.tasks.registry import TaskRegistry
from tracefix.tasks.schema import Task

TRAIN_EXTRA_HINT = "install the training extra first: uv sync --extra train (or pip install 'tracefix[train]')"


def task_message(task: Task) -> str:
    """The user message that introduces a task (the same header the ``llm`` agent's rendering uses)."""
    return f"Task {task.id} ({task.difficulty})\n{task.description.strip()}"


def task_prompt(task: Task) -> list[dict[str, str]]:
    return [{"role": "system", "content": TOOL_SYSTEM_PROMPT}, {"role": "user", "content": task_message(task)}]


def dataset_rows(
    registry: TaskRegistry, split: str, *, limit: Optional[int] = None, reward_mode: Optional[str] = None
) -> list[dict[str, Any]]:
    """The rows of ``split`` in registry order (``index`` is the task's position, as in reset)."""
    mode = check_reward_mode(reward_mode) if reward_mode is not None else None
    tasks = registry.tasks(split)
    if limit is not None:
        tasks = tasks[: max(0, limit)]
    rows = []
    for index, task in enumerate(tasks):
        row: dict[str, Any] = {
            "prompt": task_prompt(task), "task_id": task.id, "split": split, "index": index, "difficulty": task.difficulty,
        }
        if mode is not None:
            row["reward_mode"] = mode
        rows.append(row)
    return rows


def write_dataset(rows: list[dict[str, Any]], out: Path, *, jsonl_name: str) -> tuple[Path, Path]:
    """Save ``rows`` with ``datasets`` (``load_from_disk(out)`` reads it) plus a JSONL copy inside ``out``."""
    try:
        from datasets import Dataset
    except ImportError as exc:
        raise RuntimeError(f"writing a Hugging Face dataset needs the `datasets` package: {TRAIN_EXTRA_HINT}") from exc
    if not rows:
        raise ValueError("no rows to write")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty directory; choose another --out")
    Dataset.from_list(rows).save_to_disk(str(out))
    jsonl = out / jsonl_name
    with jsonl.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out, jsonl


__all__ = ["dataset_rows", "task_message", "task_prompt", "write_dataset"]
