"""Fixed train / validation / test splits of the generated corpus, assigned per *seed program*.

Every task generated from one seed lands in the same split, so no reference program is shared
between splits and evaluation measures generalisation to unseen programs, not memorisation.

Assignment: the seeds are ordered by a salted SHA-256 of their id (a fixed pseudo-random order that
does not depend on file order), and the first 70 % go to ``train``, the next 15 % to ``validation``
and the rest to ``test`` (rounded so every split gets at least one seed when there are three or more).
Ranking by hash rather than thresholding each hash keeps the split sizes at their intended ratios
even with only ~60 seeds.  The split of each task is stored in its tags (``split:train``), next to
its seed (``seed:seed/word_wrap``), so the corpus file alone says which task belongs where.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable, Optional, Sequence

from tracefix.tasks.schema import Task, load_task_file

SPLITS: tuple[str, ...] = ("train", "validation", "test")
RATIOS: tuple[float, ...] = (0.70, 0.15, 0.15)
SPLIT_SALT = "tracefix-split-v1"
SPLIT_TAG = "split:"
SEED_TAG = "seed:"


def seed_rank_key(seed_id: str) -> str:
    return hashlib.sha256(f"{SPLIT_SALT}/{seed_id}".encode("utf-8")).hexdigest()


def assign_splits(seed_ids: Iterable[str], ratios: Sequence[float] = RATIOS) -> dict[str, str]:
    """Map every seed id to ``train``, ``validation`` or ``test`` (see the module docstring)."""
    ordered = sorted(set(seed_ids), key=lambda s: (seed_rank_key(s), s))
    n = len(ordered)
    if n == 0:
        return {}
    total = sum(ratios)
    sizes = [int(n * r / total) for r in ratios]
    # largest remainders first, then make sure no split is empty when there are enough seeds
    remainders = sorted(range(len(ratios)), key=lambda i: -(n * ratios[i] / total - sizes[i]))
    for i in remainders[: n - sum(sizes)]:
        sizes[i] += 1
    if n >= len(ratios):
        for i in range(len(sizes)):
            if sizes[i] == 0:
                donor = max(range(len(sizes)), key=lambda j: sizes[j])
                sizes[donor] -= 1
                sizes[i] += 1
    assignment: dict[str, str] = {}
    cursor = 0
    for name, size in zip(SPLITS, sizes):
        for seed_id in ordered[cursor : cursor + size]:
            assignment[seed_id] = name
        cursor += size
    return assignment


def tag_value(task: Task, prefix: str) -> Optional[str]:
    values = [tag[len(prefix) :] for tag in task.tags if tag.startswith(prefix)]
    return values[0] if len(values) == 1 else None


def task_split(task: Task) -> Optional[str]:
    return tag_value(task, SPLIT_TAG)


def task_seed(task: Task) -> Optional[str]:
    return tag_value(task, SEED_TAG)


class CorpusError(ValueError):
    """The corpus file breaks the split contract (missing split tag, seed shared between splits)."""


def group_by_split(tasks: Iterable[Task], *, source: str = "<corpus>") -> dict[str, list[Task]]:
    """Group tasks by their ``split:`` tag, in the order train, validation, test (then any other)."""
    groups: dict[str, list[Task]] = {}
    seed_home: dict[str, str] = {}
    for task in tasks:
        split = task_split(task)
        if split is None:
            raise CorpusError(f"{source}: task {task.id!r} needs exactly one 'split:NAME' tag")
        seed = task_seed(task)
        if seed is not None:
            home = seed_home.setdefault(seed, split)
            if home != split:
                raise CorpusError(f"{source}: seed {seed!r} appears in splits {home!r} and {split!r}")
        groups.setdefault(split, []).append(task)
    ordered = {name: groups.pop(name) for name in SPLITS if name in groups}
    ordered.update(sorted(groups.items()))
    return ordered


def corpus_splits(path: str | Path) -> dict[str, list[Task]]:
    """Read the generated corpus (``.jsonl`` or ``.jsonl.gz``) as ``{split name: tasks}``.

    Raises :class:`~tracefix.tasks.schema.TaskFileError` for a malformed line and
    :class:`CorpusError` when the splits are not disjoint by seed.
    """
    tasks, _ = load_task_file(path)
    return group_by_split(tasks, source=str(path))
