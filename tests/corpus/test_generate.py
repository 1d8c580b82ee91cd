"""The generator end to end (real sandbox): determinism, operator tags, validity, difficulty, splits."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from typer.testing import CliRunner

from tracefix.cli.main import app
from tracefix.corpus.generate import (
    DifficultySignal,
    GenerateConfig,
    difficulty_of,
    encode_tasks,
    generate,
    load_seeds,
)
from tracefix.corpus.families import family_of, family_tag
from tracefix.corpus.mutators import OPERATORS
from tracefix.corpus.splits import SPLITS, CorpusError, assign_splits, corpus_splits, group_by_split, task_seed, task_split
from tracefix.tasks.verify import verify_tasks

runner = CliRunner()


@pytest.fixture(scope="module")
def small_run():
    """A small corpus from the packaged seeds (shared by several tests)."""
    return generate(GenerateConfig(seed=7, count=24, jobs=2))


def test_same_seed_gives_byte_identical_files_serial_or_parallel(small_run):
    serial = generate(GenerateConfig(seed=7, count=24, jobs=1))
    assert encode_tasks(serial.records, compress=True) == encode_tasks(small_run.records, compress=True)
    other = generate(GenerateConfig(seed=8, count=24, jobs=1))
    assert encode_tasks(other.records, compress=False) != encode_tasks(serial.records, compress=False)


def test_cli_generate_is_deterministic(tmp_path):
    paths = [tmp_path / "a" / "small.jsonl.gz", tmp_path / "b" / "small.jsonl.gz"]
    for path in paths:
        result = runner.invoke(app, ["tasks", "generate", "--seed", "3", "--count", "10", "--out", str(path), "--jobs", "2"])
        assert result.exit_code == 0, result.output
        assert "dropped" in result.output
    assert paths[0].read_bytes() == paths[1].read_bytes()
    report = json.loads((tmp_path / "a" / "small.report.json").read_text())
    assert report["produced"] == 10 and set(report["drops"]) <= set(report["drop_reasons"])
    lines = gzip.decompress(paths[0].read_bytes()).decode().splitlines()
    assert len(lines) == 10


def test_generated_tasks_are_valid_and_well_formed(small_run, sandbox):
    tasks = small_run.tasks
    assert len(tasks) == 24 and len({t.id for t in tasks}) == 24
    seeds = {s.id: s for s in load_seeds().seeds}
    for task in tasks:
        assert re.fullmatch(r"gen/[a-z0-9_.-]+/[0-9a-f]{8,}", task.id)
        assert task.tags[0] == "generated"
        assert any(t.startswith("mutation:") and t[9:] in OPERATORS for t in task.tags)
        seed = seeds[task_seed(task)]
        assert task.description == seed.task.description and task.reference_code == seed.task.reference_code
        assert task.tests == seed.task.tests and task.buggy_code != task.reference_code
        assert task.source == "tracefix-generator" and task.license == "MIT" and task.timeout_s == 2.0
        assert task_split(task) in SPLITS
    verdicts = verify_tasks(tasks, sandbox=sandbox, workers=2)
    assert [v.problems for v in verdicts if not v.valid] == []


@pytest.mark.parametrize("op", list(OPERATORS))
def test_each_operator_yields_a_verified_task_tagged_with_it(op, toy_seed_file, sandbox):
    result = generate(GenerateConfig(seed=0, count=1, jobs=1, operators=(op,)), [toy_seed_file], sandbox=sandbox)
    assert len(result.tasks) == 1, result.report["drops"]
    task = result.tasks[0]
    assert task.tags[1] == family_tag(family_of(op))  # the family first, then the operator
    assert [tag for tag in task.tags if tag.startswith(("mutation:", "family:"))] == [task.tags[1], f"mutation:{op}"]
    verdicts = verify_tasks([task], sandbox=sandbox, workers=1)
    assert verdicts[0].valid, verdicts[0].problems


@pytest.mark.parametrize(
    "signal, expected",
    [
        (DifficultySignal(mutations=1, scopes=1, lines=20, visible_failed=1, visible_total=2), "easy"),
        (DifficultySignal(mutations=1, scopes=1, lines=80, visible_failed=1, visible_total=4), "medium"),
        (DifficultySignal(mutations=2, scopes=1, lines=20, visible_failed=1, visible_total=2), "medium"),
        (DifficultySignal(mutations=2, scopes=1, lines=20, visible_failed=3, visible_total=3), "easy"),
        (DifficultySignal(mutations=2, scopes=2, lines=20, visible_failed=1, visible_total=2), "hard"),
        (DifficultySignal(mutations=3, scopes=1, lines=20, visible_failed=1, visible_total=2), "hard"),
        (DifficultySignal(mutations=3, scopes=1, lines=20, visible_failed=2, visible_total=2), "medium"),
    ],
)
def test_difficulty_from_measured_properties(signal, expected):
    assert difficulty_of(signal) == expected


def test_difficulty_counts_mutations_in_the_corpus(small_run):
    for task, info in zip(small_run.tasks, small_run.report["tasks"].values()):
        n = len(info["mutations"])
        if n >= 3 and info["scopes"] > 1:
            assert task.difficulty == "hard"
        if n == 1 and info["lines"] <= 60:
            assert task.difficulty == "easy"


# -- splits ------------------------------------------------------------------------------------------


def test_splits_are_assigned_per_seed_with_the_intended_ratios():
    ids = [f"seed/s{i:03d}" for i in range(600)]
    first = assign_splits(ids)
    assert first == assign_splits(list(reversed(ids)))
    counts = {name: sum(1 for v in first.values() if v == name) for name in SPLITS}
    assert 390 <= counts["train"] <= 450 and 60 <= counts["validation"] <= 120 and 60 <= counts["test"] <= 120


def test_adding_seeds_never_moves_an_existing_seed_to_another_split():
    """Held-out seeds stay held out as the collection grows (nothing tuned on train has seen them)."""
    few = assign_splits(f"seed/s{i:03d}" for i in range(50))
    many = assign_splits(f"seed/s{i:03d}" for i in range(400))
    assert all(many[seed] == split for seed, split in few.items())
    assert set(few.values()) == set(SPLITS)


def test_generated_splits_share_no_seed(small_run, tmp_path):
    groups = group_by_split(small_run.tasks)
    seeds_of = {name: {task_seed(t) for t in tasks} for name, tasks in groups.items()}
    names = list(seeds_of)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not seeds_of[a] & seeds_of[b]
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(encode_tasks(small_run.records, compress=True))
    assert {k: len(v) for k, v in corpus_splits(path).items()} == {k: len(v) for k, v in groups.items()}


def test_corpus_with_a_seed_in_two_splits_is_refused(small_run, tmp_path):
    records = [dict(r) for r in small_run.records[:2]]
    seed_tag = next(t for t in records[0]["tags"] if t.startswith("seed:"))
    for record, split in zip(records, ("train", "test")):
        record["tags"] = ["generated", f"split:{split}", seed_tag]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(encode_tasks(records, compress=False))
    with pytest.raises(CorpusError, match="appears in splits"):
        corpus_splits(path)
    records[1]["tags"] = ["generated"]
    path.write_bytes(encode_tasks(records, compress=False))
    with pytest.raises(CorpusError, match="split:NAME"):
        corpus_splits(path)


# -- `tracefix tasks verify --split all` ---------------------------------------------------------------


@pytest.fixture()
def small_registry(small_run, monkeypatch):
    """The process-wide registry replaced by: curated + the small generated corpus's splits."""
    import tracefix.tasks.registry as registry_module
    from tracefix.tasks.registry import CURATED_FILE, CURATED_SPLIT, TaskRegistry
    from tracefix.tasks.schema import load_task_file

    registry = TaskRegistry()
    registry.add_split(CURATED_SPLIT, load_task_file(CURATED_FILE)[0])
    for name, tasks in group_by_split(small_run.tasks).items():
        registry.add_split(name, tasks)
    monkeypatch.setattr(registry_module, "_default", registry)
    return registry


def _row(output: str, name: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.strip("│┃ ").startswith(name + " "))
    return [cell.strip() for cell in line.strip("│┃").split("│") if cell.strip()]


def test_cli_verify_all_reports_counts_per_split_and_difficulty(small_registry):
    result = runner.invoke(app, ["tasks", "verify", "--split", "all", "--workers", "2"])
    assert result.exit_code == 0, result.output
    total = sum(len(small_registry.tasks(n)) for n in small_registry.split_names())
    assert f"{total} valid, 0 invalid" in result.output
    for name in small_registry.split_names():
        tasks = small_registry.tasks(name)
        row = _row(result.output, name)
        counts = [str(sum(t.difficulty == d for t in tasks)) for d in ("easy", "medium", "hard")]
        assert row == [name, str(len(tasks)), "0", *counts]


def test_cli_verify_all_fails_on_an_invalid_task(small_registry):
    broken = small_registry.tasks("train")[0].model_copy(update={"id": "gen/broken/00000000"})
    broken = broken.model_copy(update={"buggy_code": broken.reference_code + "\n# harmless\n"})
    small_registry.add_split("broken", [broken])
    result = runner.invoke(app, ["tasks", "verify", "--split", "all", "--workers", "2"])
    assert result.exit_code == 1
    assert "INVALID gen/broken/00000000" in result.output and "passes every visible test" in result.output
    assert _row(result.output, "broken")[:3] == ["broken", "0", "1"]


def test_calibrated_build_is_rebuilt_identically_from_its_measurements(tmp_path, toy_seed_file):
    """`--calibrate` plays a sample per seed; `--measurements` reuses those plays: same bytes, same bands."""
    first = tmp_path / "a" / "cal.jsonl.gz"
    args = ["tasks", "generate", "--seed", "1", "--count", "6", "--jobs", "1", "--calibrate", "--seeds", str(toy_seed_file)]
    result = runner.invoke(app, [*args, "--out", str(first)])
    assert result.exit_code == 0, result.output
    measurements = first.with_name("cal.calibration.jsonl.gz")
    measured = gzip.decompress(measurements.read_bytes()).decode().splitlines()
    assert len(measured) == 5  # MEASURED_PER_SEED tasks of the only seed
    second = tmp_path / "b" / "cal.jsonl.gz"
    result = runner.invoke(app, [*args, "--measurements", str(measurements), "--out", str(second)])
    assert result.exit_code == 0, result.output
    assert second.read_bytes() == first.read_bytes()
    assert second.with_name("cal.calibration.jsonl.gz").read_bytes() == measurements.read_bytes()
    records = [json.loads(line) for line in gzip.decompress(first.read_bytes()).decode().splitlines()]
    tags = [r["tags"] for r in records]
    assert sum("difficulty:measured" in t for t in tags) == 5 and sum("difficulty:estimated" in t for t in tags) == 1
    report = json.loads(first.with_name("cal.report.json").read_text())
    assert report["calibration"]["measured"] == 5
    # the toy seed is a `test` seed: its measurements set no feature cell, so the unmeasured task is `hard`
    assert report["calibration"]["cells"] == {}
    assert [r["difficulty"] for r in records if "difficulty:estimated" in r["tags"]] == ["hard"]
