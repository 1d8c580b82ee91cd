"""The shipped corpus (tasks/data/corpus.jsonl.gz): present, large, split by seed, current, valid."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from tracefix.corpus.calibrate import (
    ESTIMATED_TAG,
    MEASURED_TAG,
    difficulty_from,
    estimated_band,
    load_measurements,
    measurements_path,
)
from tracefix.corpus.families import FAMILIES, family_tag
from tracefix.corpus.features import GENERATOR_TAG
from tracefix.corpus.generate import load_seeds, report_path
from tracefix.corpus.mutators import normalised_ast_hash
from tracefix.corpus.splits import SPLITS, corpus_splits, task_seed, task_split
from tracefix.tasks.registry import CORPUS_FILE, default_registry
from tracefix.tasks.verify import verify_tasks

REGENERATE = (
    "tracefix tasks generate --seed 0 --count 10000 --calibrate "
    "--measurements tasks/data/corpus.calibration.jsonl.gz --out tasks/data/corpus.jsonl.gz"
)


@pytest.fixture(scope="module")
def corpus():
    assert CORPUS_FILE.exists(), f"the corpus is missing; build it with `{REGENERATE}`"
    return corpus_splits(CORPUS_FILE)


def test_corpus_is_large_split_by_seed_and_commit_sized(corpus):
    assert list(corpus) == list(SPLITS)
    tasks = [t for split in corpus.values() for t in split]
    assert len(tasks) >= 10_000 and len({t.id for t in tasks}) == len(tasks)
    assert CORPUS_FILE.stat().st_size < 3_000_000
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


def test_every_task_carries_its_provenance(corpus):
    families = {family_tag(f.name) for f in FAMILIES}
    for split in corpus.values():
        for task in split:
            tags = set(task.tags)
            assert GENERATOR_TAG in tags and task_seed(task) and task_split(task)
            assert tags & families, task.id
            assert any(tag.startswith("mutation:") for tag in tags), task.id
            assert any(tag.startswith("bugs:") for tag in tags), task.id


def test_no_two_buggy_programs_and_no_buggy_program_and_reference_share_a_normalised_ast(corpus):
    tasks = [t for split in corpus.values() for t in split]
    references = {normalised_ast_hash(code) for code in {t.reference_code for t in tasks}}
    buggy = [normalised_ast_hash(t.buggy_code) for t in tasks]
    assert len(set(buggy)) == len(buggy)
    assert not references & set(buggy)


def test_difficulty_follows_the_measurements_and_the_documented_cells(corpus):
    measurements = load_measurements(measurements_path(CORPUS_FILE))
    cells = json.loads(report_path(CORPUS_FILE).read_text())["calibration"]["cells"]
    tasks = [t for split in corpus.values() for t in split]
    measured = [t for t in tasks if MEASURED_TAG in t.tags]
    assert {t.id for t in measured} == set(measurements)
    assert len({task_seed(t) for t in measured}) == len({task_seed(t) for t in tasks})  # every seed measured
    for task in tasks:
        if MEASURED_TAG in task.tags:
            assert task.difficulty == difficulty_from(measurements[task.id]), task.id
        else:
            assert ESTIMATED_TAG in task.tags
            assert task.difficulty == estimated_band(task.tags, cells), task.id
