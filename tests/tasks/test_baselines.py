"""Baselines (tests each buggy program passes) are shipped from verification and match a fresh run."""

from __future__ import annotations

import threading

import pytest

from tracefix.sandbox import Sandbox, SandboxConfig
from tracefix.tasks.baseline import BASELINES_FILE, Baseline, Baselines, compute, fingerprint, load
from tracefix.tasks.schema import parse_task


def _shipped_tasks():
    """The built-in tasks, read from their files (other tests may add splits to the registry)."""
    from tracefix.corpus.splits import corpus_splits
    from tracefix.tasks.registry import CORPUS_FILE, CURATED_FILE
    from tracefix.tasks.schema import load_task_file

    tasks = list(load_task_file(CURATED_FILE)[0])
    for split in corpus_splits(CORPUS_FILE).values():
        tasks += split
    return tasks


def test_every_shipped_task_has_a_current_baseline() -> None:
    shipped = load(BASELINES_FILE)
    for task in _shipped_tasks():
        entry = shipped.get(task.id)
        assert entry is not None, f"{task.id} has no shipped baseline: run tracefix tasks verify --split all --baselines-out"
        assert entry["fingerprint"] == fingerprint(task), f"{task.id} changed since its baseline was computed"


def test_shipped_baselines_match_a_fresh_sandbox(curated) -> None:
    shipped = load(BASELINES_FILE)
    with Sandbox(SandboxConfig(pool_size=1)) as fresh:
        for task in curated:
            baseline, definitive = compute(task, fresh)
            assert definitive and baseline.entry(fingerprint(task)) == shipped[task.id], task.id
            assert baseline.decisive, f"{task.id} has no decisive hidden test"


def test_an_unshipped_task_is_computed_once_and_only_from_a_definitive_run() -> None:
    task = parse_task({
        "id": "baseline/absval", "difficulty": "easy", "description": "absolute value",
        "buggy_code": "def absval(x):\n    return x\n", "reference_code": "def absval(x):\n    return abs(x)\n",
        "tests": [{"name": "p", "steps": [{"eval": "absval(3)", "expect": 3}]},
                  {"name": "n", "steps": [{"eval": "absval(-3)", "expect": 3}]},
                  {"name": "h", "visible": False, "steps": [{"eval": "absval(0)", "expect": 0}]},
                  {"name": "hv", "visible": False, "steps": [{"eval": "absval(-9)", "expect": 9}]}],
    })
    made = []

    def factory() -> Sandbox:
        made.append(Sandbox(SandboxConfig(pool_size=1)))
        return made[-1]

    baselines = Baselines(sandbox_factory=factory)
    assert baselines.known(task) is None
    results = []
    threads = [threading.Thread(target=lambda: results.append(baselines.get(task))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = Baseline(passed=2, hidden_passed=1, decisive=("hv",))  # h expects 0: guessable, not decisive
    assert results == [expected] * 4 and baselines.known(task) == expected and len(made) == 1
    for sandbox in made:
        sandbox.close()

    refused = Baselines(sandbox_factory=lambda: Sandbox(SandboxConfig(tier="none", allow_unsandboxed=False)))
    from tracefix.tasks.baseline import BaselineUnavailable

    with pytest.raises(BaselineUnavailable):
        refused.get(task)
    assert refused.known(task) is None  # a refused run is never cached as "passes 0 tests"
