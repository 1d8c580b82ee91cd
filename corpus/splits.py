"""Fixed train / validation / test splits of the generated corpus, assigned per *seed program*.

Every task generated from one seed lands in the same split, so no reference program is shared
between splits and evaluation measures generalisation to unseen programs, not memorisation.

Assignment: each seed id is hashed (salted SHA-256) to a number in [0, 1); below 0.70 is ``train``,
below 0.85 ``validation``, the rest ``test``.  A seed's split therefore depends on its id alone:
adding seed programs never moves an existing seed to another split, so a seed that was held out
(``validation``/``test``) stays held out however the seed collection grows, and nothing tuned on
``train`` earlier can have seen it.  (The split sizes follow the ratios only on average: with ~200
seeds they come within a few seeds of 70/15/15.)  The split of each task is stored in its tags
(``split:train``), next to its seed (``seed:seed/word_wrap``), so the corpus file alone says which
task belongs where.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable, Optional, Sequence

from tracefix.tasks.schema import Task, load_task_file

SPLITS: tuple[str, ...] = ("train", "validation", "test")
RATIOS: tuple[float, ...] = (0.70, 0.15, 0.15)
SPLIT_SALT = "tracefix-split-v2"
SPLIT_TAG = "split:"
SEED_TAG = "seed:"


def seed_position(seed_id: str) -> float:
    """The seed's fixed place in [0, 1) (salted SHA-256 of its id): it alone decides the split."""
    digest = hashlib.sha256(f"{SPLIT_SALT}/{seed_id}".encode("utf-8")).hexdigest()
    return int(digest[:15], 16) / float(16**15)


def split_of_seed(seed_id: str, ratios: Sequence[float] = RATIOS) -> str:
    position = seed_position(seed_id) * sum(ratios)
    bound = 0.0
    for name, ratio in zip(SPLITS, ratios):
        bound += ratio
        if position < bound:
            return name
    return SPLITS[-1]


def assign_splits(seed_ids: Iterable[str], ratios: Sequence[float] = RATIOS) -> dict[str, str]:
    """Map every seed id to ``train``, ``validation`` or ``test`` (see the module docstring)."""
    return {seed_id: split_of_seed(seed_id, ratios) for seed_id in sorted(set(seed_ids))}


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
