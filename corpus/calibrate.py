"""Difficulty by measurement: play the ``search`` and ``random`` baselines on every task.

Each task is played in-process (:class:`~tracefix.core.environment.TraceFixRLGym`, the real
sandbox, the default step budget of 50) by

* the ``search`` agent once (it is deterministic): solved or not, in how many steps, final score;
* the ``random`` agent :data:`RANDOM_EPISODES` times (seeds 0, 1, ...): how many episodes it solved.

The difficulty is then a documented function of those numbers (:func:`difficulty_from`):

==========  =======================================================================================
``easy``    ``search`` solves it within :data:`EASY_STEPS` steps, or ``random`` solves it at least once
``medium``  ``search`` solves it, but needs more than :data:`EASY_STEPS` steps
``hard``    ``search`` does not solve it within the budget
==========  =======================================================================================

Playing both baselines costs about 1.5 s of a 2-core machine per task, so a 10,000-task corpus
is not measured whole: :func:`calibration_sample` picks :data:`MEASURED_PER_SEED` tasks of every
seed program (the first ones in corpus order, a pure function of the generated corpus), those are
played, and each keeps the band of its own measurement (tag ``difficulty:measured``).  Every other
task gets the band its **feature cell** earned in the measured ``train`` tasks (tag
``difficulty:estimated``): the cell is the task's number of bugs, whether every visible test or
only some show the bug, and where the symptom shows (``bugs:N``, ``exposed:*``, ``symptom:*``
tags); over the measured ``train`` tasks of the cell (at least :data:`MIN_CELL` of them, else
the cell of the number of bugs alone, else all of them; ``hard`` when no ``train`` task was measured),

==========  =======================================================================================
``easy``    ``search`` solved at least :data:`EASY_SOLVED` of them
``medium``  ``search`` solved at least :data:`MEDIUM_SOLVED` of them
``hard``    otherwise
==========  =======================================================================================

A measured band says what happened on that very task (``search`` is deterministic); an estimated
band says how often ``search`` solves tasks like it.  ``search`` solves about a fifth of the
measured tasks, so by their own outcome most tasks are ``hard``; the cell thresholds split the
feature cells into the ones it mostly solves, sometimes solves and nearly never solves.

Only ``train`` measurements set the cells: ``validation`` and ``test`` tasks are measured (their
solve rates are published) but never tune anything.

:data:`EASY_STEPS` was chosen on the ``train`` split only (see ``corpus/README.md``).  Nothing here
reads the clock: an episode's outcome depends only on the task, the agent and what the sandbox
reports, so the same corpus gives the same measurements and the same difficulties (episodes the
sandbox could not serve are replayed from the start).  Work is spread over worker processes, each
with its own sandbox, and results are put back in task order.
"""

from __future__ import annotations

import gzip
import io
import json
import multiprocessing
import os
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Sequence

from tracefix.tasks.schema import Task, parse_task

if TYPE_CHECKING:
    from tracefix.corpus.generate import GenerationResult

RANDOM_EPISODES = 4
EASY_STEPS = 12
"""A ``search`` solve in at most this many steps is ``easy``: about four candidate edits (an edit
and a test run each) after reading the program and running the tests once."""
MEASURED_PER_SEED = 5
"""Tasks of each seed program played by both baselines (see the module docstring)."""
EASY_SOLVED = 0.40
MEDIUM_SOLVED = 0.12
MIN_CELL = 12
"""Thresholds of the estimated bands (module docstring), chosen on the ``train`` split only."""
CELL_PREFIXES = ("bugs:", "exposed:", "symptom:")
MEASURED_TAG = "difficulty:measured"
ESTIMATED_TAG = "difficulty:estimated"
REPLAYS = 3
"""An episode in which the sandbox refused a step is replayed up to this many times."""

ProgressCallback = Callable[[str, int, Optional[int]], None]


@dataclass(frozen=True)
class Measurement:
    """What the baselines achieved on one task."""

    task_id: str
    search_solved: bool
    search_steps: int
    search_score: float
    random_solved: int
    random_episodes: int

    def line(self) -> dict[str, Any]:
        return asdict(self)


def difficulty_from(m: Measurement, easy_steps: int = EASY_STEPS) -> str:
    """The band of a task from its measurement (see the module docstring)."""
    if m.random_solved > 0 or (m.search_solved and m.search_steps <= easy_steps):
        return "easy"
    if m.search_solved:
        return "medium"
    return "hard"


# ------------------------------------------------------------------------------------------------
# Playing episodes (in worker processes)
# ------------------------------------------------------------------------------------------------

_records: dict[str, str] = {}
_search_factory: Optional[Callable[[], Any]] = None
_random_episodes = RANDOM_EPISODES
_baselines: Optional[Any] = None


def _init_worker(records_file: str, search_factory: Optional[Callable[[], Any]], random_episodes: int) -> None:
    """Worker initialiser: the task lines come through a file (JSON Lines), which keeps the pipe small."""
    global _search_factory, _random_episodes
    with open(records_file, "r", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                _records[json.loads(line)["id"]] = line
    _search_factory = search_factory
    _random_episodes = random_episodes


def _play(env: Any, agent: Any, task_id: str, seed: int) -> Any:
    from tracefix.agents.episode import play_episode

    for _ in range(REPLAYS):
        result = play_episode(env, agent, {"task_id": task_id, "seed": seed})
        refused = any(r.observation.error and "not counted" in r.observation.error for r in result.steps)
        if not refused:
            return result
    raise RuntimeError(f"the sandbox kept refusing steps of {task_id}; calibration needs a quiet sandbox")


def measure_task(task: Task, search_factory: Optional[Callable[[], Any]] = None,
                 random_episodes: int = RANDOM_EPISODES) -> Measurement:
    """Play the baselines on one task (in this process, with its shared sandbox)."""
    from tracefix.agents.random_agent import RandomAgent
    from tracefix.agents.search import SearchAgent
    from tracefix.core.environment import TraceFixRLGym
    from tracefix.tasks.baseline import Baselines
    from tracefix.tasks.registry import TaskRegistry

    global _baselines
    registry = TaskRegistry()
    registry.add_split("calibration", [task])
    if _baselines is None:
        _baselines = Baselines()  # one private sandbox per process for every task's baseline
    env = TraceFixRLGym(registry=registry, baselines=_baselines, default_split="calibration")
    search = _play(env, (search_factory or SearchAgent)(), task.id, 0)
    random_solved = 0
    for episode in range(random_episodes):
        # a fresh agent per episode: its choices then depend on (seed, task) only, not on what it played before
        random_solved += bool(_play(env, RandomAgent(seed=episode), task.id, episode).success)
    return Measurement(
        task_id=task.id,
        search_solved=bool(search.success),
        search_steps=len(search.steps),
        search_score=round(float(search.score), 4),
        random_solved=random_solved,
        random_episodes=random_episodes,
    )


def _measure_batch(task_ids: Sequence[str]) -> list[Measurement]:
    results = []
    for task_id in task_ids:
        task = parse_task(json.loads(_records[task_id]), path="<calibration>")
        results.append(measure_task(task, _search_factory, _random_episodes))
    return results


def measure_tasks(
    records: Sequence[dict[str, Any]],
    *,
    jobs: int = 1,
    progress: Optional[ProgressCallback] = None,
    search_factory: Optional[Callable[[], Any]] = None,
    random_episodes: int = RANDOM_EPISODES,
) -> dict[str, Measurement]:
    """Measure every task (records as JSON objects); the result does not depend on ``jobs``.

    ``search_factory`` (a picklable callable) replaces the default ``SearchAgent()``, e.g. to compare
    versions of the agent.
    """
    ids = [r["id"] for r in records]
    if progress is not None:
        progress("calibration", 0, len(ids))
    results: dict[str, Measurement] = {}
    if jobs <= 1:
        for record in records:
            results[record["id"]] = measure_task(parse_task(record, path="<calibration>"), search_factory, random_episodes)
            if progress is not None:
                progress("calibration", 1, None)
        return results
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        records_file = handle.name
    chunk = 8
    batches = [ids[i : i + chunk] for i in range(0, len(ids), chunk)]
    try:
        with ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(records_file, search_factory, random_episodes),
        ) as pool:
            for batch in pool.map(_measure_batch, batches):
                for m in batch:
                    results[m.task_id] = m
                if progress is not None:
                    progress("calibration", len(batch), None)
    finally:
        os.unlink(records_file)
    return results


# ------------------------------------------------------------------------------------------------
# Applying and reporting
# ------------------------------------------------------------------------------------------------


def calibration_sample(records: Sequence[dict[str, Any]], per_seed: int = MEASURED_PER_SEED) -> list[dict[str, Any]]:
    """The tasks to play: the first ``per_seed`` of every seed program, in corpus order."""
    taken: Counter[str] = Counter()
    sample = []
    for record in records:
        seed = _seed_of(record)
        if taken[seed] < per_seed:
            taken[seed] += 1
            sample.append(record)
    return sample


def _seed_of(record: dict[str, Any]) -> str:
    return next((t for t in record.get("tags", []) if t.startswith("seed:")), "seed:?")


def _split_of(record: dict[str, Any]) -> str:
    return next((t[len("split:"):] for t in record.get("tags", []) if t.startswith("split:")), "train")


def feature_cell(tags: Iterable[str], coarse: bool = False) -> str:
    """The task's feature cell (``bugs:2 exposed:some symptom:far``), or with ``coarse`` its bugs only."""
    prefixes = CELL_PREFIXES[:1] if coarse else CELL_PREFIXES
    return " ".join(sorted(t for t in tags if t.startswith(prefixes)))


def cell_bands(records: Sequence[dict[str, Any]], measurements: dict[str, Measurement]) -> dict[str, dict[str, float]]:
    """Per feature cell (fine and coarse, plus ``*`` for all): measured ``train`` tasks, their share
    measured ``easy``, their share solved by ``search``, and the band that gives."""
    groups: dict[str, list[Measurement]] = {}
    for record in records:
        m = measurements.get(record["id"])
        if m is None or _split_of(record) != "train":
            continue
        for cell in (feature_cell(record["tags"]), feature_cell(record["tags"], coarse=True), "*"):
            groups.setdefault(cell, []).append(m)
    cells: dict[str, dict[str, float]] = {}
    for cell, ms in sorted(groups.items()):
        n = len(ms)
        easy = sum(difficulty_from(m) == "easy" for m in ms) / n
        solved = sum(m.search_solved for m in ms) / n
        band = "easy" if solved >= EASY_SOLVED else "medium" if solved >= MEDIUM_SOLVED else "hard"
        cells[cell] = {"tasks": n, "easy_share": round(easy, 4), "search_solved": round(solved, 4), "band": band}
    return cells


def estimated_band(tags: Sequence[str], cells: dict[str, dict[str, float]]) -> str:
    for cell in (feature_cell(tags), feature_cell(tags, coarse=True), "*"):
        row = cells.get(cell)
        if row is not None and (row["tasks"] >= MIN_CELL or cell == "*"):
            return str(row["band"])
    return "hard"


def calibrate_result(result: "GenerationResult", *, jobs: int = 1, progress: Optional[ProgressCallback] = None,
                     per_seed: int = MEASURED_PER_SEED, reuse: Optional[dict[str, Measurement]] = None) -> None:
    """Measure a sample of the generated tasks and set every task's difficulty (in place).

    ``reuse``: measurements already made of these very tasks (a task id names its buggy code), e.g.
    the ``.calibration.jsonl.gz`` file of an earlier build with the same agents; only the rest is played."""
    sample = calibration_sample(result.records, per_seed)
    known = {r["id"]: reuse[r["id"]] for r in sample if reuse and r["id"] in reuse}
    todo = [r for r in sample if r["id"] not in known]
    def shifted(phase: str, advance: int, total: Optional[int]) -> None:  # totals count the reused ones too
        if progress is not None:
            progress(phase, advance, None if total is None else total + len(known))

    if progress is not None:
        progress("calibration", len(known), len(sample))
    measurements = {**known, **measure_tasks(todo, jobs=jobs, progress=shifted if progress is not None else None)}
    apply_measurements(result, {r["id"]: measurements[r["id"]] for r in sample})


def apply_measurements(result: "GenerationResult", measurements: dict[str, Measurement]) -> None:
    """Bands from the measurements where there is one, from the feature cells elsewhere."""
    cells = cell_bands(result.records, measurements)
    for i, record in enumerate(result.records):
        m = measurements.get(record["id"])
        record["difficulty"] = difficulty_from(m) if m is not None else estimated_band(record["tags"], cells)
        tags = [t for t in record["tags"] if t not in (MEASURED_TAG, ESTIMATED_TAG)]
        tags.append(MEASURED_TAG if m is not None else ESTIMATED_TAG)
        record["tags"] = tags
        result.tasks[i] = result.tasks[i].model_copy(update={"difficulty": record["difficulty"], "tags": tags})
    result.measurements = measurements
    result.report["calibration"] = calibration_report(result.tasks, measurements)
    result.report["calibration"]["cells"] = cells
    result.report["calibration"]["measured"] = len(measurements)
    from tracefix.corpus.splits import task_split

    for row in result.report["splits"].values():
        for band in ("easy", "medium", "hard"):
            row[band] = 0
    for task in result.tasks:
        result.report["splits"][task_split(task) or "train"][task.difficulty] += 1
    result.report["difficulty"] = dict(Counter(t.difficulty for t in result.tasks))


def calibration_report(tasks: Iterable[Task], measurements: dict[str, Measurement]) -> dict[str, Any]:
    """Solve rates and steps of both baselines per split and band (the corpus README's tables)."""
    from tracefix.corpus.splits import task_split

    rows: dict[str, dict[str, dict[str, float]]] = {}
    groups: dict[tuple[str, str], list[Measurement]] = {}
    for task in tasks:
        m = measurements.get(task.id)
        if m is None:
            continue
        for split in (task_split(task) or "train", "all"):
            for band in (task.difficulty, "all"):
                groups.setdefault((split, band), []).append(m)
    for (split, band), ms in sorted(groups.items()):
        n = len(ms)
        solved = [m for m in ms if m.search_solved]
        rows.setdefault(split, {})[band] = {
            "tasks": n,
            "search_solved": round(len(solved) / n, 4),
            "search_steps_when_solved": round(sum(m.search_steps for m in solved) / len(solved), 2) if solved else 0.0,
            "search_score": round(sum(m.search_score for m in ms) / n, 4),
            "random_solved": round(sum(m.random_solved for m in ms) / sum(m.random_episodes for m in ms), 4),
        }
    return {"easy_steps": EASY_STEPS, "random_episodes": RANDOM_EPISODES, "easy_solved": EASY_SOLVED,
            "medium_solved": MEDIUM_SOLVED, "min_cell": MIN_CELL, "measured_per_seed": MEASURED_PER_SEED, "by_split": rows}


def encode_measurements(measurements: dict[str, Measurement]) -> bytes:
    """The measurements file: one JSON object per task, sorted by id, gzip without timestamp."""
    text = "".join(json.dumps(measurements[k].line(), separators=(",", ":")) + "\n" for k in sorted(measurements))
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as handle:
        handle.write(text.encode("utf-8"))
    return buffer.getvalue()


def load_measurements(path: str | Path) -> dict[str, Measurement]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return {m.task_id: m for m in (Measurement(**json.loads(line)) for line in handle if line.strip())}


def measurements_path(corpus: Path) -> Path:
    name = corpus.name
    for suffix in (".gz", ".jsonl", ".json"):
        name = name.removesuffix(suffix)
    return corpus.with_name(name + ".calibration.jsonl.gz")


__all__ = [
    "EASY_SOLVED", "EASY_STEPS", "ESTIMATED_TAG", "MEASURED_PER_SEED", "MEASURED_TAG", "MIN_CELL", "Measurement",
    "MEDIUM_SOLVED", "RANDOM_EPISODES", "apply_measurements", "calibrate_result", "calibration_report",
    "calibration_sample", "cell_bands", "difficulty_from", "estimated_band", "feature_cell", "encode_measurements", "load_measurements", "measure_task", "measure_tasks",
    "measurements_path",
]
