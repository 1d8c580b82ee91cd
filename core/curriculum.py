"""Curriculum: which difficulty a training step draws from, and task sampling (deterministic per seed)."""

from __future__ import annotations

import random
from typing import Optional, Sequence

from tracefix.core.constants import CURRICULUM_EASY_UNTIL, CURRICULUM_MEDIUM_UNTIL, DIFFICULTIES
from tracefix.tasks.schema import Task


def difficulty_for_step(training_step: int) -> Optional[str]:
    """``None`` (any task) at step 0, then easy, medium and hard as training progresses."""
    if training_step <= 0:
        return None
    if training_step < CURRICULUM_EASY_UNTIL:
        return "easy"
    if training_step < CURRICULUM_MEDIUM_UNTIL:
        return "medium"
    return "hard"


def sample_task(tasks: Sequence[Task], rng: random.Random, difficulty: Optional[str]) -> Task:
    """Draw a task of ``difficulty`` (any if ``None``).

    When the split has no task of that difficulty, fall back to the first non-empty bucket in
    easy → medium → hard order, as the notes specify.
    """
    if not tasks:
        raise ValueError("cannot sample from an empty split")
    if difficulty is None:
        return rng.choice(list(tasks))
    buckets = {d: [t for t in tasks if t.difficulty == d] for d in DIFFICULTIES}
    chosen = buckets.get(difficulty) or next(bucket for bucket in buckets.values() if bucket)
    return rng.choice(chosen)
