"""Seed quality (format bar, kill rate), structural features, calibration rules and the shared
reference runs of verification -- on small programs, in the real sandbox where code runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.corpus.conftest import ABS_REFERENCE, ABS_TESTS, _eval, _test, seed_line, write_jsonl
from tracefix.corpus.calibrate import (
    EASY_SOLVED,
    EASY_STEPS,
    MEDIUM_SOLVED,
    MIN_CELL,
    Measurement,
    calibration_report,
    calibration_sample,
    cell_bands,
    difficulty_from,
    estimated_band,
    encode_measurements,
    load_measurements,
    measure_task,
)
from tracefix.corpus.domains import DOMAINS, domain_of
from tracefix.corpus.features import Features, interacting, scope_at, symptom_of
from tracefix.corpus.generate import load_seeds
from tracefix.corpus.seed_quality import assess, format_problems, single_mutants
from tracefix.tasks.schema import parse_task


def _seed(tmp_path: Path, reference: str, tests: list[dict], **extra):
    path = write_jsonl(tmp_path / "seeds.jsonl", [seed_line("seed/q", reference, tests, **extra)])
    loaded = load_seeds([path])
    assert not loaded.errors, loaded.errors
    return loaded.seeds[0]


# -- format bar -------------------------------------------------------------------------------------


def test_format_bar_counts_tests_and_refuses_asserts_in_exec_steps(tmp_path):
    weak = _seed(tmp_path, ABS_REFERENCE, ABS_TESTS + [_test("asserting", {"exec": "assert magnitude(-1) == 1"},
                                                              _eval("magnitude(1)", 1))])
    problems = format_problems(weak)
    hidden = sum(not test["visible"] for test in ABS_TESTS)
    assert f"{len(ABS_TESTS) + 1} tests (at least 8)" in problems
    assert f"{hidden} hidden tests (at least 4)" in problems
    assert any("asserts inside an exec step" in p for p in problems)
    visible = [_test(f"v{i}", _eval(f"magnitude({-i})", i)) for i in range(1, 4)]
    hidden = [_test(f"h{i}", _eval(f"magnitude({i})", i), visible=False) for i in range(5)]
    good = _seed(tmp_path, ABS_REFERENCE, visible + hidden)
    assert format_problems(good) == []


def test_kill_rate_finds_the_hole_in_weak_tests(tmp_path, sandbox):
    only_negative = [_test(f"n{i}", _eval(f"magnitude({-i})", i)) for i in range(1, 4)]
    only_negative += [_test(f"h{i}", _eval(f"magnitude({-i})", i), visible=False) for i in range(4, 9)]
    weak = _seed(tmp_path, ABS_REFERENCE, only_negative)
    both = only_negative + [_test("positive", _eval("magnitude(4)", 4)), _test("zero", _eval("magnitude(0)", 0), visible=False)]
    strong = _seed(tmp_path, ABS_REFERENCE, both)
    [weak_q] = assess([weak], sandbox=sandbox, jobs=2)
    [strong_q] = assess([strong], sandbox=sandbox, jobs=2)
    assert weak_q.mutants == strong_q.mutants == len(single_mutants(ABS_REFERENCE)) > 5
    assert weak_q.kill_rate < strong_q.kill_rate
    # ``return x`` -> ``return -x`` style survivors: a positive input was never tried
    assert any(s.operator in ("ROR", "CONST_OBO", "RETURN_DEL", "GUARD_DEL") for s in weak_q.survivors)
    assert strong_q.killed + len(strong_q.survivors) == strong_q.mutants


def test_every_packaged_seed_has_a_known_domain():
    seeds = load_seeds().seeds
    assert len(seeds) >= 200
    domains = {domain_of(s.task.tags) for s in seeds}
    assert "other" not in domains and domains <= set(DOMAINS)
    assert len(domains) >= 11


def test_every_packaged_seed_meets_the_format_bar():
    loaded = load_seeds()
    assert loaded.errors == []
    assert {s.id: format_problems(s) for s in loaded.seeds if format_problems(s)} == {}


# -- structural features ------------------------------------------------------------------------------

TWO_FUNCTIONS = "def helper(x):\n    return x[0]\n\n\ndef caller(x):\n    value = helper(x)\n    return value + 1\n"


def test_symptom_far_near_or_value():
    assert scope_at(__import__("ast").parse(TWO_FUNCTIONS), 2) == "helper"
    assert symptom_of(TWO_FUNCTIONS, [2], ["caller"]) == "far"  # the traceback ends in helper; the bug is in caller
    assert symptom_of(TWO_FUNCTIONS, [7, 2], ["helper"]) == "near"
    assert symptom_of(TWO_FUNCTIONS, [None], ["helper"]) == "value"


def test_interacting_bugs_share_or_mask_a_symptom():
    assert interacting(["t1", "t2"], [["t1"], ["t1", "t2"]])  # t1 fails because of both
    assert interacting(["t1"], [["t1"], ["t2"]])  # together they fail fewer tests: one masks the other
    assert not interacting(["t1", "t2"], [["t1"], ["t2"]])  # independent bugs


def test_feature_tags():
    features = Features(bugs=2, scopes=2, lines=80, visible_failed=1, visible_total=3, symptom="far", interacting=True)
    assert features.tags() == ["bugs:2", "cross-function", "interacting", "symptom:far", "exposed:some", "long-program"]
    single = Features(bugs=1, scopes=1, lines=10, visible_failed=3, visible_total=3, symptom="value")
    assert single.tags() == ["bugs:1", "symptom:value", "exposed:all"]


# -- calibration --------------------------------------------------------------------------------------


def _m(solved: bool, steps: int, random_solved: int = 0) -> Measurement:
    return Measurement("t", solved, steps, 1.0 if solved else 0.2, random_solved, 4)


@pytest.mark.parametrize(
    "measurement, band",
    [
        (_m(True, 4), "easy"),
        (_m(True, EASY_STEPS), "easy"),
        (_m(True, EASY_STEPS + 2), "medium"),
        (_m(True, 50), "medium"),
        (_m(False, 50), "hard"),
        (_m(False, 50, random_solved=1), "easy"),  # even chance solves it
    ],
)
def test_difficulty_from_measurement(measurement, band):
    assert difficulty_from(measurement) == band


EASY_TASK = {
    "id": "cal/absval", "difficulty": "hard", "description": "absolute value",
    "buggy_code": "def absval(x):\n    if x > 0:\n        return -x\n    return x\n",
    "reference_code": "def absval(x):\n    if x < 0:\n        return -x\n    return x\n",
    "tests": [{"name": "neg", "steps": [{"eval": "absval(-3)", "expect": 3}]},
              {"name": "pos", "steps": [{"eval": "absval(2)", "expect": 2}]},
              {"name": "hidden", "visible": False, "steps": [{"eval": "absval(-7)", "expect": 7}]}],
    "tags": ["split:train"],
}


def test_measuring_a_task_plays_both_baselines_and_is_repeatable(tmp_path):
    task = parse_task(EASY_TASK)
    first = measure_task(task, random_episodes=2)
    again = measure_task(task, random_episodes=2)
    assert first == again
    assert first.search_solved and 4 <= first.search_steps <= 50 and first.search_score > 0.5
    assert first.random_episodes == 2 and 0 <= first.random_solved <= 2
    assert difficulty_from(first) in ("easy", "medium")
    report = calibration_report([task], {task.id: first})
    assert report["by_split"]["train"]["all"]["search_solved"] == 1.0
    path = tmp_path / "m.jsonl.gz"
    path.write_bytes(encode_measurements({task.id: first}))
    assert load_measurements(path) == {task.id: first}
    assert encode_measurements({task.id: first}) == path.read_bytes()


# -- verification shares the reference run of a seed's tasks --------------------------------------------


class CountingSandbox:
    """Delegates to the real sandbox and counts the programs it was given (a spy, not a stand-in)."""

    def __init__(self, inner, reference: str) -> None:
        self.inner = inner
        self.reference = reference
        self.references = 0

    def execute(self, program, *args, **kwargs):
        if program.code == self.reference:
            self.references += 1
        return self.inner.execute(program, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_verification_runs_each_shared_reference_once(sandbox):
    from tracefix.tasks.verify import verify_tasks

    from tracefix.tasks.grading import run_tests

    tasks = [parse_task({**EASY_TASK, "id": f"cal/absval{i}", "buggy_code": EASY_TASK["buggy_code"] + "#" * i}) for i in range(1, 6)]
    once = CountingSandbox(sandbox, tasks[0].reference_code)
    run_tests(tasks[0].reference_code, tasks[0], include_hidden=True, sandbox=once)  # type: ignore[arg-type]
    spy = CountingSandbox(sandbox, tasks[0].reference_code)
    verdicts = verify_tasks(tasks, sandbox=spy, workers=3)  # type: ignore[arg-type]
    assert all(v.valid for v in verdicts), [v.problems for v in verdicts]
    assert once.references >= 1 and spy.references == once.references  # five tasks, one reference run


def test_seed_report_cli_flags_a_weak_seed(tmp_path):
    from typer.testing import CliRunner

    from tracefix.cli.main import app

    tests = [_test(f"n{i}", _eval(f"magnitude({-i})", i)) for i in range(1, 4)]
    tests += [_test(f"h{i}", _eval(f"magnitude({-i})", i), visible=False) for i in range(4, 9)]
    path = write_jsonl(tmp_path / "weak.jsonl", [seed_line("seed/weak", ABS_REFERENCE, tests, tags=["numeric"])])
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["tasks", "seeds-report", "--seeds", str(path), "--json", str(out)])
    assert result.exit_code == 1, result.output
    assert "BELOW THE BAR seed/weak" in result.output
    row = json.loads(out.read_text())["seeds"][0]
    assert row["seed"] == "seed/weak" and row["domain"] == "numeric" and row["kill_rate"] < 0.95 and row["survivors"]


# -- calibration on a sample: measured bands and feature-cell bands -------------------------------------


def _record(task_id: str, seed: str, split: str, bugs: int, exposed: str = "all", symptom: str = "value") -> dict:
    return {"id": task_id, "difficulty": "hard",
            "tags": ["generated", f"bugs:{bugs}", f"symptom:{symptom}", f"exposed:{exposed}", f"split:{split}", f"seed:{seed}"]}


def _measured(task_id: str, solved: bool, steps: int = 8) -> Measurement:
    return Measurement(task_id, solved, steps if solved else 50, 1.0 if solved else 0.0, 0, 4)


def test_calibration_sample_takes_the_first_tasks_of_each_seed():
    records = [_record(f"t{i}", f"seed/{i % 3}", "train", 1) for i in range(12)]
    sample = calibration_sample(records, per_seed=2)
    assert [r["id"] for r in sample] == ["t0", "t1", "t2", "t3", "t4", "t5"]
    assert calibration_sample(records, per_seed=2) == sample


def test_feature_cells_set_the_band_of_unmeasured_tasks_from_train_only():
    single = [_record(f"one{i}", "seed/a", "train", 1) for i in range(MIN_CELL)]
    triple = [_record(f"three{i}", "seed/b", "train", 3, "some", "far") for i in range(MIN_CELL)]
    # test tasks measured all solved: they must not move any cell
    held_out = [_record(f"test{i}", "seed/c", "test", 3, "some", "far") for i in range(MIN_CELL)]
    measurements = {r["id"]: _measured(r["id"], True) for r in single + held_out}
    measurements.update({r["id"]: _measured(r["id"], i < 2) for i, r in enumerate(triple)})
    cells = cell_bands(single + triple + held_out, measurements)
    assert cells["bugs:1 exposed:all symptom:value"]["band"] == "easy"  # all solved
    assert cells["bugs:1 exposed:all symptom:value"]["easy_share"] == 1.0  # ... within EASY_STEPS
    assert cells["bugs:3 exposed:some symptom:far"]["tasks"] == MIN_CELL
    assert cells["bugs:3 exposed:some symptom:far"]["band"] == "medium"  # 2 of 12 solved: MEDIUM_SOLVED <= 1/6 < EASY_SOLVED
    assert estimated_band(_record("x", "seed/z", "test", 1)["tags"], cells) == "easy"
    assert estimated_band(_record("y", "seed/z", "test", 3, "some", "far")["tags"], cells) == "medium"
    # a cell with too few measured tasks falls back to the cell of its number of bugs
    assert estimated_band(_record("z", "seed/z", "test", 1, "some", "near")["tags"], cells) == "easy"
    hard = {r["id"]: _measured(r["id"], i == 0) for i, r in enumerate(triple)}
    assert cell_bands(triple, hard)["bugs:3 exposed:some symptom:far"]["band"] == "hard"  # 1/12 < MEDIUM_SOLVED
    easy = {r["id"]: _measured(r["id"], i % 2 == 0, steps=30) for i, r in enumerate(triple)}
    row = cell_bands(triple, easy)["bugs:3 exposed:some symptom:far"]
    assert row["band"] == "easy" and row["easy_share"] == 0.0  # 6/12 solved, each in more than EASY_STEPS
    assert EASY_SOLVED > MEDIUM_SOLVED > 1 / 12
