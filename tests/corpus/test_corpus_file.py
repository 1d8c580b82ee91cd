"""The shipped corpus (tasks/data/corpus.jsonl.gz): present, large, split by seed, current, valid."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from tracefix.corpus.generate import load_seeds, report_path
from tracefix.corpus.splits import SPLITS, corpus_splits, task_seed, task_split
from tracefix.tasks.registry import CORPUS_FILE, default_registry
from tracefix.tasks.verify import verify_tasks

REGENERATE = "tracefix tasks generate --seed 0 --count 1500 --out tasks/data/corpus.jsonl.gz"


@pytest.fixture(scope="module")
def corpus():
    assert CORPUS_FILE.exists(), f"the corpus is missing; build it with `{REGENERATE}`"
    return corpus_splits(CORPUS_FILE)


def test_corpus_is_large_split_by_seed_and_commit_sized(corpus):
    assert list(corpus) == list(SPLITS)
    tasks = [t for split in corpus.values() for t in split]
    assert len(tasks) >= 1000 and len({t.id for t in tasks}) == len(tasks)
    assert CORPUS_FILE.stat().st_size < 1_000_000
    seeds_by_split = {name: {task_seed(t) for t in split} for name, split in corpus.items()}
    assert not seeds_by_split["train"] & seeds_by_split["validation"]
    assert not seeds_by_split["train"] & seeds_by_split["test"]
    assert not seeds_by_split["validation"] & seeds_by_split["test"]
    for name, split in corpus.items():
        assert len(seeds_by_split[name]) >= 5
        assert set(Counter(t.difficulty for t in split)) == {"easy", "medium", "hard"}
        assert all(task_split(t) == name for t in split)
        assert all(any(tag.startswith("mutation:") for tag in t.tags) for t in split)


def test_corpus_matches_the_current_seed_programs(corpus):
    seeds = {s.id: s.task for s in load_seeds().seeds}
    stale = []
    for split in corpus.values():
        for task in split:
            seed = seeds.get(task_seed(task) or "")
            if seed is None or (seed.reference_code, seed.tests, seed.description, seed.setup_code) != (
                task.reference_code, task.tests, task.description, task.setup_code,
            ):
                stale.append(task.id)
    assert not stale, f"{len(stale)} tasks were built from seeds that changed; rebuild with `{REGENERATE}`"


def test_report_lists_drop_reasons(corpus):
    report = json.loads(report_path(CORPUS_FILE).read_text())
    assert report["produced"] == sum(len(s) for s in corpus.values())
    assert {"duplicate", "equivalent", "passes_visible"} <= set(report["drops"])
    assert report["splits"]["test"]["tasks"] == len(corpus["test"])


def test_default_registry_serves_the_corpus_splits(corpus):
    registry = default_registry()
    for name, tasks in corpus.items():
        assert [t.id for t in registry.tasks(name)] == [t.id for t in tasks]
    assert "curated" in registry.split_names()


def test_a_sample_of_the_corpus_verifies_in_the_sandbox(corpus, sandbox):
    tasks = [t for split in corpus.values() for t in split]
    sample = random.Random(0).sample(tasks, 40)
    verdicts = verify_tasks(sample, sandbox=sandbox, workers=2)
    assert [(v.task_id, v.problems) for v in verdicts if not v.valid] == []
