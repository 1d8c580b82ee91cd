"""The generator's verifier in the real sandbox: what it rejects, and why."""

from __future__ import annotations

import time

from tests.corpus.conftest import ABS_REFERENCE, ABS_TESTS, TOY_SEED, seed_line, write_jsonl
from tracefix.corpus.filters import Deduplicator, check_reference, screen_mutant
from tracefix.corpus.generate import GenerateConfig, generate, load_seeds
from tracefix.corpus.mutators import normalised_ast_hash
from tracefix.tasks.schema import parse_task
from tracefix.tasks.verify import verify_task


def abs_task(buggy: str = ABS_REFERENCE, reference: str = ABS_REFERENCE):
    return parse_task(
        {"id": "t/abs", "difficulty": "easy", "description": "absolute value", "buggy_code": buggy,
         "reference_code": reference, "tests": ABS_TESTS}
    )


def test_equivalent_mutant_is_rejected(sandbox):
    equivalent = "def magnitude(x):\n    return abs(x)\n"
    screening = screen_mutant(equivalent, abs_task(), budget_s=1.0, sandbox=sandbox)
    assert screening.reason == "equivalent"
    assert screening.visible_failed == screening.hidden_failed == 0
    # and the task-level verifier says the same thing about such a task
    verdict = verify_task(abs_task(buggy=equivalent), sandbox)
    assert any("passes every visible test" in p for p in verdict.problems)


def test_mutant_failing_only_hidden_tests_is_rejected(sandbox):
    hidden_only = "def magnitude(x):\n    if x <= 0:\n        return 1 - x if x == 0 else -x\n    return x\n"
    screening = screen_mutant(hidden_only, abs_task(), budget_s=1.0, sandbox=sandbox)
    assert screening.reason == "passes_visible"
    assert (screening.visible_failed, screening.hidden_failed) == (0, 1)


def test_real_bug_is_kept(sandbox):
    buggy = ABS_REFERENCE.replace("x < 0", "x > 0")
    screening = screen_mutant(buggy, abs_task(), budget_s=1.0, sandbox=sandbox)
    assert screening.kept and screening.visible_failed == 2


def test_infinite_loop_is_dropped_quickly_as_timeout(sandbox):
    looping = "def magnitude(x):\n    while x < 0:\n        pass\n    return x\n"
    started = time.monotonic()
    screening = screen_mutant(looping, abs_task(), budget_s=0.3, sandbox=sandbox)
    assert screening.reason == "timeout"
    assert time.monotonic() - started < 3


def test_seed_whose_reference_fails_is_rejected(sandbox, tmp_path):
    wrong = ABS_REFERENCE.replace("return -x", "return x")
    reason = check_reference(abs_task(reference=wrong), budget_s=1.0, sandbox=sandbox)
    assert reason is not None and reason.startswith("reference_failing: negative")
    assert check_reference(abs_task(), budget_s=1.0, sandbox=sandbox) is None
    # in the generator, the bad seed is reported and contributes nothing
    seeds = write_jsonl(tmp_path / "seeds.jsonl", [seed_line("seed/bad_abs", wrong, ABS_TESTS), TOY_SEED])
    result = generate(GenerateConfig(seed=1, count=3, jobs=1), [seeds], sandbox=sandbox)
    assert result.report["seeds"]["rejected"]["seed/bad_abs"].startswith("reference_failing")
    assert len(result.tasks) == 3
    assert all("seed:seed/toy" in t.tags for t in result.tasks)


def test_duplicates_are_dropped(sandbox, tmp_path):
    # dedup is on the normalised AST: comments, whitespace and docstrings do not make a new task
    dedup = Deduplicator()
    first = normalised_ast_hash("def f(x):\n    return x + 1\n")
    again = normalised_ast_hash('def f(x):\n    """Add one."""\n    return x+1  # same\n')
    assert dedup.offer(first, "a") is None
    assert dedup.offer(again, "b") == "a"
    # a tiny seed has fewer distinct mutants than asked for, so the generator meets duplicates and drops them
    seeds = write_jsonl(tmp_path / "seeds.jsonl", [seed_line("seed/abs", ABS_REFERENCE, ABS_TESTS)])
    result = generate(GenerateConfig(seed=0, count=60, jobs=1, max_candidates=200), [seeds], sandbox=sandbox)
    assert result.report["drops"].get("duplicate", 0) > 0
    hashes = [normalised_ast_hash(t.buggy_code) for t in result.tasks]
    assert len(set(hashes)) == len(hashes) and result.tasks
    assert normalised_ast_hash(ABS_REFERENCE) not in hashes


def test_bad_seed_lines_are_reported_with_line_numbers(tmp_path):
    path = tmp_path / "seeds.jsonl"
    good = seed_line("seed/abs", ABS_REFERENCE, ABS_TESTS)
    path.write_text(
        "\n".join(
            [
                '{"id": "seed/x"',  # line 1: not JSON
                '{"id": "seed/y", "title": "y", "description": "d", "tests": []}',  # line 2: no reference, no tests
                __import__("json").dumps(good),  # line 3: fine
                __import__("json").dumps(good),  # line 4: same id again
            ]
        )
        + "\n"
    )
    loaded = load_seeds([path])
    assert [s.id for s in loaded.seeds] == ["seed/abs"]
    text = "\n".join(loaded.errors)
    assert f"{path}:1: (seed): invalid JSON" in text
    assert f"{path}:2: reference_code" in text and f"{path}:2: tests" in text
    assert f"{path}:4: id: duplicate seed id 'seed/abs'" in text


def test_runaway_recursion_is_dropped(sandbox):
    recursive = "def magnitude(x):\n    if x < 0:\n        return magnitude(x)\n    return x\n"
    assert screen_mutant(recursive, abs_task(), budget_s=1.0, sandbox=sandbox).reason == "recursion"
