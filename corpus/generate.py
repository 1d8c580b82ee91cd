"""The mutation-based task generator: seeds -> mutants -> verified, deduplicated, split tasks.

``tracefix tasks generate --seed S --count N --out FILE.jsonl[.gz]`` calls :func:`generate` and
:func:`write_tasks`.  The same seed files, ``S`` and ``N`` give a byte-identical file:

* candidate ``i`` is a pure function of ``(S, i)`` (see :mod:`tracefix.corpus.candidates`);
* candidates are made in parallel (a process pool) and screened in parallel (threads over the
  sandbox's worker pool), but every decision (dedup, per-seed cap, the first ``N`` kept) is taken
  afterwards in candidate order;
* the output is sorted (split, seed, candidate) and gzip is written without a timestamp or name.

The one outside influence is time.  Each screening run has a time limit (``--budget``, 0.25 s) and
a mutant is kept only if its fastest of up to three runs takes at most half of it; runs take ~10 ms
(99 % under 40 ms), infinite loops hit the limit, so only a finite mutant whose fastest run is near
0.125 s could be decided differently on another machine -- rare enough that the same inputs give
the same file in practice (and CI checks a small count).

Difficulty comes from measured properties (:func:`difficulty_of`): the number of mutations, whether
they sit in different functions/classes, the program's length, and how many visible tests fail.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import multiprocessing
import os
import re
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Sequence

from tracefix.corpus.candidates import MUTATION_WEIGHTS, Candidate, CandidateMaker, init_worker, make_batch
from tracefix.corpus.families import FAMILIES, families_of, family_of, family_tag
from tracefix.corpus.features import GENERATOR_TAG, GENERATOR_VERSION, LONG_PROGRAM_LINES, Features, count_lines, interacting, symptom_of
from tracefix.corpus.filters import DROP_REASONS, SEED_REJECTIONS, Deduplicator, Screening, check_reference, screen_mutant
from tracefix.corpus.mutators import OPERATORS, MutationError, apply_sites, normalised_ast_hash
from tracefix.corpus.splits import SEED_TAG, SPLIT_TAG, SPLITS, assign_splits
from tracefix.tasks.schema import Task, TaskFileError, parse_task

if TYPE_CHECKING:
    from tracefix.sandbox import Sandbox

SEEDS_DIR = Path(str(resources.files("tracefix.corpus") / "seeds"))
GENERATED_SOURCE = "tracefix-generator"
GENERATED_LICENSE = "MIT"
DEFAULT_TIMEOUT_S = 2.0
"""``timeout_s`` written into every generated task (16x the slowest run a kept mutant may have)."""
DEFAULT_BUDGET_S = 0.25
"""Time limit of the screening run of every mutant (and of every seed's reference): references run
in ~10 ms (the slowest seed in ~70 ms), so only runaway mutants (infinite loops) reach it."""
DEFAULT_SEED_SHARE = 1.5
"""No seed contributes more than ``share * count / seeds`` tasks, so splits keep their ratios."""

ProgressCallback = Callable[[str, int, Optional[int]], None]
"""``(phase, advance, total)``: phases are ``seeds``, ``candidates`` and ``accepted``."""


# ------------------------------------------------------------------------------------------------
# Seeds
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    """A correct program with its tests (a task line without ``buggy_code`` and ``difficulty``)."""

    task: Task
    raw: dict[str, Any]
    path: str
    line: int

    @property
    def id(self) -> str:
        return self.task.id

    @property
    def name(self) -> str:
        name = self.id.split("/", 1)[1] if self.id.startswith("seed/") else self.id
        return re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-.") or "seed"


@dataclass
class SeedLoad:
    seeds: list[Seed] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    """``"file:line"`` or seed id -> reason."""
    errors: list[str] = field(default_factory=list)


def default_seed_files() -> list[Path]:
    return sorted(SEEDS_DIR.glob("*.jsonl"))


def load_seeds(paths: Optional[Iterable[str | Path]] = None) -> SeedLoad:
    """Read seed files; a bad line or a repeated id is rejected (and reported), never fatal."""
    result = SeedLoad()
    first: dict[str, str] = {}
    for path in [Path(p) for p in (paths if paths is not None else default_seed_files())]:
        with path.open("r", encoding="utf-8") as handle:
            for number, raw_line in enumerate(handle, start=1):
                if not raw_line.strip():
                    continue
                where = f"{path.name}:{number}"
                try:
                    data = json.loads(raw_line)
                except json.JSONDecodeError as exc:
                    result.rejected[where] = "invalid"
                    result.errors.append(f"{path}:{number}: (seed): invalid JSON ({exc.msg})")
                    continue
                if not isinstance(data, dict):
                    result.rejected[where] = "invalid"
                    result.errors.append(f"{path}:{number}: (seed): expected a JSON object")
                    continue
                probe = {**data, "difficulty": "easy", "buggy_code": data.get("reference_code") or "pass\n"}
                try:
                    task = parse_task(probe, path=str(path), line=number)
                except TaskFileError as exc:
                    result.rejected[where] = "invalid"
                    result.errors.extend(str(exc).splitlines())
                    continue
                if task.id in first:
                    result.rejected[where] = "duplicate_seed"
                    result.errors.append(f"{path}:{number}: id: duplicate seed id {task.id!r} (first at {first[task.id]})")
                    continue
                first[task.id] = where
                result.seeds.append(Seed(task, data, str(path), number))
    return result


# ------------------------------------------------------------------------------------------------
# Difficulty
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DifficultySignal:
    mutations: int
    scopes: int
    lines: int
    visible_failed: int
    visible_total: int

    @property
    def score(self) -> float:
        score = float(self.mutations)
        if self.scopes > 1:
            score += 1.0  # bugs in different functions/classes: the agent must localise twice
        if self.lines > LONG_PROGRAM_LINES:
            score += 0.5  # more code to read
        if self.visible_failed == self.visible_total:
            score -= 0.5  # every visible test fails: a loud bug
        elif self.visible_failed == 1 and self.visible_total >= 3:
            score += 0.5  # a single visible symptom: a quiet bug
        return score


def difficulty_of(signal: DifficultySignal) -> str:
    """1 mutation -> easy, 2 -> medium, 3+ or across functions -> hard, shifted by length and visibility.

    The score is the number of mutations (+1 across functions/classes, +0.5 for a long program,
    +0.5 for a single visible symptom, -0.5 when every visible test fails); the buckets are
    ``< 1.75`` easy, ``< 2.75`` medium, else hard.  So a loud bug (every visible test fails) drops
    one bucket, while a quiet symptom or a long program raises one only together (a single quiet bug
    in a long program is medium).  On the shipped corpus this gives roughly 40/30/30 easy/medium/hard.
    """
    score = signal.score
    if score < 1.75:
        return "easy"
    if score < 2.75:
        return "medium"
    return "hard"


# ------------------------------------------------------------------------------------------------
# Generation
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerateConfig:
    seed: int = 0
    count: int = 1500
    jobs: int = max(1, os.cpu_count() or 1)
    timeout_s: float = DEFAULT_TIMEOUT_S
    budget_s: float = DEFAULT_BUDGET_S
    seed_share: float = DEFAULT_SEED_SHARE
    operators: tuple[str, ...] = tuple(OPERATORS)
    weights: tuple[float, ...] = MUTATION_WEIGHTS
    max_candidates: Optional[int] = None
    """Give up after this many candidates (default: ``40 * count + 1000``)."""
    calibrate: bool = False
    """Measure each task's difficulty by playing the ``search`` and ``random`` baselines on it
    (:mod:`tracefix.corpus.calibrate`); otherwise the difficulty is the structural estimate of
    :func:`difficulty_of`."""
    calibration_jobs: Optional[int] = None
    """Worker processes for the calibration (default: ``jobs``)."""
    measured_per_seed: Optional[int] = None
    """Tasks of each seed played by the baselines (default :data:`tracefix.corpus.calibrate.MEASURED_PER_SEED`)."""
    reuse_measurements: Optional[str] = None
    """A ``.calibration.jsonl.gz`` file whose measurements of the same tasks are reused, not replayed."""


@dataclass
class GenerationResult:
    tasks: list[Task]
    records: list[dict[str, Any]]
    """The tasks exactly as written (JSON objects), in output order."""
    report: dict[str, Any]
    measurements: Optional[dict[str, Any]] = None
    """Per task id, what the baselines achieved (:class:`tracefix.corpus.calibrate.Measurement`), when calibrated."""


@dataclass
class _Kept:
    candidate: Candidate
    screening: Screening
    seed: Seed
    signal: Optional["DifficultySignal"] = None
    alone: Optional[list[tuple[str, ...]]] = None
    """For a task with several bugs: the tests each bug alone fails (in site order)."""
    features: Optional[Features] = None


def _emit(progress: Optional[ProgressCallback], phase: str, advance: int, total: Optional[int] = None) -> None:
    if progress is not None:
        progress(phase, advance, total)


def _features(kept: _Kept) -> Features:
    candidate, screening = kept.candidate, kept.screening
    code = candidate.code or ""
    scopes = {s.scope for s in candidate.sites}
    return Features(
        bugs=len(candidate.sites),
        scopes=len(scopes),
        lines=count_lines(code),
        visible_failed=screening.visible_failed,
        visible_total=screening.visible_total,
        symptom=symptom_of(code, screening.visible_frames, scopes),
        interacting=interacting(screening.failed, kept.alone) if kept.alone is not None else None,
    )


def _task_record(kept: _Kept, split: str, digest_ids: dict[str, str], timeout_s: float) -> dict[str, Any]:
    seed, candidate, screening = kept.seed, kept.candidate, kept.screening
    code = candidate.code or ""
    features = kept.features or _features(kept)
    kept.features = features
    signal = DifficultySignal(
        mutations=len(candidate.sites),
        scopes=features.scopes,
        lines=features.lines,
        visible_failed=screening.visible_failed,
        visible_total=screening.visible_total,
    )
    short = candidate.digest[:8]
    task_id = f"gen/{seed.name}/{short}"
    width = 8
    while task_id in digest_ids and digest_ids[task_id] != candidate.digest:
        width += 2
        task_id = f"gen/{seed.name}/{candidate.digest[:width]}"
    digest_ids[task_id] = candidate.digest
    kept.signal = signal  # kept for the in-memory report
    record: dict[str, Any] = {
        "id": task_id,
        "difficulty": difficulty_of(signal),
        "title": seed.task.title,
        "description": seed.task.description,
        "buggy_code": code,
        "reference_code": seed.task.reference_code,
    }
    if seed.task.setup_code:
        record["setup_code"] = seed.task.setup_code
    record["tests"] = seed.raw["tests"]
    record["tags"] = [
        "generated",
        *(family_tag(name) for name in families_of(candidate.operators)),
        *(f"mutation:{op}" for op in candidate.operators),
        *features.tags(),
        GENERATOR_TAG,
        f"{SPLIT_TAG}{split}",
        f"{SEED_TAG}{seed.id}",
    ]
    record["timeout_s"] = timeout_s
    record["source"] = GENERATED_SOURCE
    record["license"] = GENERATED_LICENSE
    return record


def generate(
    config: GenerateConfig,
    seed_files: Optional[Sequence[str | Path]] = None,
    *,
    sandbox: "Optional[Sandbox]" = None,
    progress: Optional[ProgressCallback] = None,
) -> GenerationResult:
    """Generate ``config.count`` verified tasks (fewer only if the candidates run out).

    With ``jobs > 1`` mutants are made in 'spawn' worker processes, which import the main module:
    call this under ``if __name__ == "__main__":`` in a script (the CLI does).  Without the guard the
    workers stop at once and the candidates are made in this process instead (same result, slower).
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError(
            "generate() was called while a worker process was importing the main module; "
            'call it under `if __name__ == "__main__":`'
        )
    started = time.perf_counter()
    if sandbox is None:
        from tracefix.sandbox import get_sandbox

        sandbox = get_sandbox()
    loaded = load_seeds(seed_files)
    seed_rejections: dict[str, str] = dict(loaded.rejected)

    # 1. the references must pass their own tests, fast
    _emit(progress, "seeds", 0, len(loaded.seeds))

    def check(seed: Seed) -> Optional[str]:
        verdict = check_reference(seed.task, budget_s=config.budget_s, sandbox=sandbox)
        _emit(progress, "seeds", 1)
        return verdict

    with ThreadPoolExecutor(max_workers=config.jobs) as threads:
        verdicts = list(threads.map(check, loaded.seeds))
    usable: list[Seed] = []
    for seed, verdict in zip(loaded.seeds, verdicts):
        if verdict is None:
            usable.append(seed)
        else:
            seed_rejections[seed.id] = verdict
    usable.sort(key=lambda s: s.id)
    maker = CandidateMaker(config.seed, [s.task.reference_code for s in usable], config.operators, config.weights)
    without_sites = [s for i, s in enumerate(usable) if not maker.sites(i)]
    for seed in without_sites:
        seed_rejections[seed.id] = "no_sites"
    if without_sites:
        usable = [s for s in usable if s not in without_sites]
        maker = CandidateMaker(config.seed, [s.task.reference_code for s in usable], config.operators, config.weights)
    if not usable:
        raise RuntimeError("no usable seed program: " + "; ".join(loaded.errors or [f"{k}: {v}" for k, v in seed_rejections.items()]))
    splits = assign_splits(s.id for s in usable)

    # 2. candidates in rounds, decisions in candidate order
    cap = max(1, math.ceil(config.seed_share * config.count / len(usable)))
    max_candidates = config.max_candidates or 40 * config.count + 1000
    dedup = Deduplicator({normalised_ast_hash(s.task.reference_code): s.id for s in usable})
    drops: Counter[str] = Counter()
    tried_ops: Counter[str] = Counter()
    kept_ops: Counter[str] = Counter()
    per_seed: Counter[str] = Counter()
    kept: list[_Kept] = []
    considered = 0
    next_index = 0
    _emit(progress, "accepted", 0, config.count)
    pool: Optional[ProcessPoolExecutor] = None
    sources_file: Optional[str] = None
    if config.jobs > 1:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as handle:
            json.dump(maker.sources, handle)
            sources_file = handle.name
        pool = ProcessPoolExecutor(
            max_workers=config.jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(config.seed, sources_file, maker.operators, maker.weights),
        )

    def screen(candidate: Candidate) -> Screening:
        result = screen_mutant(candidate.code or "", usable[candidate.seed_index].task, budget_s=config.budget_s, sandbox=sandbox)
        _emit(progress, "candidates", 1)
        return result

    try:
        with ThreadPoolExecutor(max_workers=config.jobs) as threads:
            while len(kept) < config.count and next_index < max_candidates:
                rate = len(kept) / considered if considered else 0.7
                remaining = config.count - len(kept)
                size = min(max(32, math.ceil(remaining / max(rate, 0.05) * 1.15) + 8), 2048, max_candidates - next_index)
                indices = [
                    i for i in range(next_index, next_index + size)
                    if per_seed[usable[i % len(usable)].id] < cap
                ]
                next_index += size
                if not indices:
                    if all(per_seed[s.id] >= cap for s in usable):
                        break
                    continue
                try:
                    candidates = _make_candidates(maker, pool, indices, config.jobs)
                except (BrokenProcessPool, OSError):
                    # e.g. a script without an ``if __name__ == "__main__":`` guard under 'spawn':
                    # candidates are pure functions of their index, so making them here is equivalent
                    assert pool is not None
                    pool.shutdown(cancel_futures=True)
                    pool = None
                    candidates = _make_candidates(maker, None, indices, config.jobs)
                # screen in ordered batches, deciding after each, so nothing is screened in vain
                batch_size = max(32, 16 * config.jobs)
                for offset in range(0, len(candidates), batch_size):
                    if len(kept) >= config.count:
                        break
                    batch = candidates[offset : offset + batch_size]
                    pending: dict[str, Candidate] = {}
                    for candidate in batch:
                        if candidate.reason is None and candidate.digest not in dedup and candidate.digest not in pending:
                            pending[candidate.digest] = candidate
                    _emit(progress, "candidates", len(batch) - len(pending))
                    screenings = dict(zip((c.index for c in pending.values()), threads.map(screen, pending.values())))
                    for candidate in batch:
                        if len(kept) >= config.count:
                            break
                        considered += 1
                        for op in candidate.operators:
                            tried_ops[op] += 1
                        seed = usable[candidate.seed_index]
                        reason = candidate.reason
                        if reason is None and dedup.offer(candidate.digest, str(candidate.index)) is not None:
                            reason = "duplicate"
                        screening = screenings.get(candidate.index)
                        if reason is None and screening is not None:
                            reason = screening.reason
                        if reason is None and per_seed[seed.id] >= cap:
                            reason = "seed_cap"
                        if reason is not None:
                            drops[reason] += 1
                            continue
                        assert screening is not None
                        per_seed[seed.id] += 1
                        for op in candidate.operators:
                            kept_ops[op] += 1
                        kept.append(_Kept(candidate, screening, seed))
                        _emit(progress, "accepted", 1)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        if sources_file is not None:
            os.unlink(sources_file)

    # 3. for tasks with several bugs: what each bug alone fails (does one mask or share the other's symptom?)
    def alone(kept_task: _Kept) -> list[tuple[str, ...]]:
        results = []
        for site in kept_task.candidate.sites:
            try:
                code = apply_sites(kept_task.seed.task.reference_code, [site])
            except MutationError:
                results.append(())
                continue
            screening = screen_mutant(code, kept_task.seed.task, budget_s=config.budget_s, sandbox=sandbox)
            results.append(screening.failed)
        return results

    multi = [k for k in kept if len(k.candidate.sites) > 1]
    with ThreadPoolExecutor(max_workers=config.jobs) as threads:
        for k, result in zip(multi, threads.map(alone, multi)):
            k.alone = result

    # 4. records, in a fixed order
    order = {name: i for i, name in enumerate(SPLITS)}
    kept.sort(key=lambda k: (order.get(splits[k.seed.id], len(order)), k.seed.id, k.candidate.index))
    digest_ids: dict[str, str] = {}
    records = [_task_record(k, splits[k.seed.id], digest_ids, config.timeout_s) for k in kept]
    tasks = [parse_task(record, path="<generated>", line=i + 1) for i, record in enumerate(records)]
    elapsed = time.perf_counter() - started
    report = _report(config, usable, seed_rejections, splits, tasks, drops, tried_ops, kept_ops, considered, maker, elapsed)
    report["seed_errors"] = loaded.errors
    report["tasks"] = {
        record["id"]: {
            "difficulty": record["difficulty"],
            "mutations": [f"{s.op} {s.note}" for s in k.candidate.sites],
            "scopes": k.signal.scopes if k.signal else 0,
            "lines": k.signal.lines if k.signal else 0,
            "visible_failed": f"{k.screening.visible_failed}/{k.screening.visible_total}",
            "hidden_failed": f"{k.screening.hidden_failed}/{k.screening.hidden_total}",
        }
        for record, k in zip(records, kept)
    }
    report.update(_family_report(kept, tasks))
    result = GenerationResult(tasks, records, report)
    if config.calibrate:
        from tracefix.corpus.calibrate import MEASURED_PER_SEED, calibrate_result, load_measurements

        reuse = None
        if config.reuse_measurements and Path(config.reuse_measurements).exists():
            reuse = load_measurements(config.reuse_measurements)
        calibrate_result(result, jobs=config.calibration_jobs or config.jobs, progress=progress,
                         per_seed=config.measured_per_seed or MEASURED_PER_SEED, reuse=reuse)
    report["elapsed_s"] = round(time.perf_counter() - started, 2)
    return result


def _family_report(kept: list[_Kept], tasks: list[Task]) -> dict[str, Any]:
    """Bugs per family (each mutation counted once: shares add up to 100 %), tasks per family and
    per structural feature."""
    bugs: Counter[str] = Counter()
    with_family: Counter[str] = Counter()
    for k in kept:
        for site in k.candidate.sites:
            bugs[family_of(site.op)] += 1
        for name in families_of(k.candidate.operators):
            with_family[name] += 1
    total = sum(bugs.values()) or 1
    features: Counter[str] = Counter()
    for task in tasks:
        for tag in task.tags:
            if tag.startswith(("bugs:", "symptom:", "exposed:")) or tag in ("cross-function", "interacting", "long-program"):
                features[tag] += 1
    return {
        "generator_version": GENERATOR_VERSION,
        "families": {
            family.name: {
                "title": family.title,
                "bugs": bugs.get(family.name, 0),
                "share": round(bugs.get(family.name, 0) / total, 4),
                "tasks": with_family.get(family.name, 0),
            }
            for family in FAMILIES
        },
        "features": dict(sorted(features.items())),
    }


def _make_candidates(maker: CandidateMaker, pool: Optional[ProcessPoolExecutor], indices: list[int], jobs: int) -> list[Candidate]:
    if pool is None:
        return [maker.make(i) for i in indices]
    chunk = max(8, math.ceil(len(indices) / (jobs * 4)))
    batches = [indices[i : i + chunk] for i in range(0, len(indices), chunk)]
    results: list[Candidate] = []
    for batch in pool.map(make_batch, batches):
        results.extend(batch)
    return results


def _report(
    config: GenerateConfig,
    usable: list[Seed],
    seed_rejections: dict[str, str],
    splits: dict[str, str],
    tasks: list[Task],
    drops: Counter[str],
    tried_ops: Counter[str],
    kept_ops: Counter[str],
    considered: int,
    maker: CandidateMaker,
    elapsed: float,
) -> dict[str, Any]:
    from tracefix.corpus.splits import task_split

    per_split: dict[str, dict[str, int]] = {}
    for name in SPLITS:
        per_split[name] = {"seeds": sum(1 for s in usable if splits[s.id] == name), "tasks": 0, "easy": 0, "medium": 0, "hard": 0}
    for task in tasks:
        row = per_split[task_split(task) or "train"]
        row["tasks"] += 1
        row[task.difficulty] += 1
    sites = Counter()
    for i in range(len(usable)):
        for op, found in maker.sites(i).items():
            sites[op] += len(found)
    return {
        "generator_seed": config.seed,
        "requested": config.count,
        "produced": len(tasks),
        "candidates_considered": considered,
        "acceptance_rate": round(len(tasks) / considered, 4) if considered else 0.0,
        "elapsed_s": round(elapsed, 2),
        "jobs": config.jobs,
        "budget_s": config.budget_s,
        "timeout_s": config.timeout_s,
        "seed_cap": max(1, math.ceil(config.seed_share * config.count / len(usable))),
        "seeds": {
            "usable": len(usable),
            "rejected": dict(sorted(seed_rejections.items())),
            "split_of": dict(sorted(splits.items())),
        },
        "splits": per_split,
        "difficulty": dict(Counter(t.difficulty for t in tasks)),
        "drops": dict(drops.most_common()),
        "drop_reasons": {k: DROP_REASONS[k] for k in drops},
        "seed_rejection_reasons": {k: v for k, v in SEED_REJECTIONS.items() if any(r.startswith(k) for r in seed_rejections.values())},
        "operators": {
            op: {"sites": sites.get(op, 0), "tried": tried_ops.get(op, 0), "kept": kept_ops.get(op, 0)}
            for op in config.operators
        },
    }


# ------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------


def task_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def encode_tasks(records: Iterable[dict[str, Any]], *, compress: bool) -> bytes:
    """The exact bytes of a task file: JSON Lines, gzip without timestamp or name when compressed."""
    text = "".join(task_line(r) + "\n" for r in records).encode("utf-8")
    if not compress:
        return text
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as handle:
        handle.write(text)
    return buffer.getvalue()


def report_path(out: Path) -> Path:
    name = out.name
    for suffix in (".gz", ".jsonl", ".json"):
        name = name.removesuffix(suffix)
    return out.with_name(name + ".report.json")


def write_tasks(records: Sequence[dict[str, Any]], out: str | Path, report: Optional[dict[str, Any]] = None,
                measurements: Optional[dict[str, Any]] = None) -> tuple[Path, Optional[Path]]:
    """Write the task file (gzip when it ends in ``.gz``) and, if given, the report and the baselines'
    measurements (``FILE.calibration.jsonl.gz``) next to it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = encode_tasks(records, compress=out.suffix == ".gz")
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    if measurements is not None:
        from tracefix.corpus.calibrate import encode_measurements, measurements_path

        measurements_path(out).write_bytes(encode_measurements(measurements))
    written_report = None
    if report is not None:
        written_report = report_path(out)
        # per-task details (which mutation where) stay in memory: the file is for counts and reasons
        report = {**{k: v for k, v in report.items() if k != "tasks"}, "output": out.name, "output_bytes": len(data)}
        written_report.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return out, written_report
