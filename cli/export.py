"""``tracefix export``: data for trainers.  Each export is one command of this sub-app.

``tracefix export dataset --split train --out DIR`` writes the GRPO prompt dataset (see
:mod:`tracefix.adapters.dataset`).  Register further exports with ``@export_app.command("NAME")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from tracefix.cli.console import console, fail

export_app = typer.Typer(help="Export training data (Hugging Face datasets) from the task registry.", no_args_is_help=True)
@export_app.command("dataset")
def export_dataset(
    split: str = typer.Option("train", help="Split to export (curated, train, validation, test, or one from --tasks-file)."),
    out: Path = typer.Option(..., "--out", help="Output directory (must not exist or be empty)."),
    limit: Optional[int] = typer.Option(None, min=1, help="Export only the first N tasks of the split."),
    reward_mode: Optional[str] = typer.Option(None, help="Add a reward_mode column (shaped, score or binary)."),
    tasks_file: Optional[Path] = typer.Option(None, help="Also load the tasks of this JSONL file as a split (named after the file)."),
) -> None:
    """One row per task: prompt (system prompt + task description), task_id, split, index, difficulty."""
    from tracefix.adapters.dataset import dataset_rows, write_dataset
    from tracefix.tasks.registry import UnknownTaskError, default_registry
    from tracefix.tasks.schema import TaskFileError

    registry = default_registry()
    try:
        if tasks_file is not None:
            registry.add_file(tasks_file)
        rows = dataset_rows(registry, split, limit=limit, reward_mode=reward_mode)
        directory, jsonl = write_dataset(rows, out, jsonl_name=f"{split}.jsonl")
    except (UnknownTaskError, TaskFileError, ValueError, OSError, RuntimeError) as exc:
        raise fail(str(exc).strip("'\""))
    console.print(
        f"wrote {len(rows)} rows ({split}) to {directory} (datasets.load_from_disk) and {jsonl}", soft_wrap=True
    )
