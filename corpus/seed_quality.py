"""Seed quality: the format bar every seed must meet and its tests' mutation kill rate.

``tracefix tasks seeds-report`` runs both on every seed program:

* **format bar** (:func:`format_problems`): at least :data:`MIN_TESTS` tests, :data:`MIN_VISIBLE`
  visible and :data:`MIN_HIDDEN` hidden ones; every test has an ``eval`` step (an expectation in an
  ``expect`` or ``raises`` field); no ``assert`` inside an ``exec`` step (a failed assert says
  nothing about what was expected, and the grader could not show it);
* **kill rate** (:func:`kill_rate`): every single-site mutant the generator's operators can make
  (all sites of all operators, duplicates and mutants equal to the reference removed) is run
  against the seed's tests in the real sandbox; a mutant is *killed* when some test fails (a
  timeout, a crash or runaway recursion counts as killed).  The kill rate is killed / mutants and
  must be at least :data:`MIN_KILL_RATE`.  Survivors are either equivalent mutants or holes in the
  tests; the report lists them so a seed author can tell which.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Optional, Sequence

from tracefix.corpus.domains import domain_of
from tracefix.corpus.families import family_of
from tracefix.corpus.filters import check_reference, screen_mutant
from tracefix.corpus.mutators import OPERATORS, MutationError, apply_sites, find_sites, normalised_ast_hash
from tracefix.tasks.schema import EvalStep, ExecStep

if TYPE_CHECKING:
    from tracefix.corpus.generate import Seed
    from tracefix.sandbox import Sandbox

MIN_TESTS = 8
MIN_VISIBLE = 3
MIN_HIDDEN = 4
MIN_KILL_RATE = 0.95
BUDGET_S = 0.25
_ASSERT = re.compile(r"(^|[\s;:])assert\b")


@dataclass(frozen=True)
class Survivor:
    operator: str
    note: str
    code: str


@dataclass
class SeedQuality:
    seed_id: str
    domain: str
    path: str
    tests: int
    visible: int
    hidden: int
    problems: list[str] = field(default_factory=list)
    mutants: int = 0
    killed: int = 0
    survivors: list[Survivor] = field(default_factory=list)

    @property
    def kill_rate(self) -> float:
        return self.killed / self.mutants if self.mutants else 0.0

    @property
    def passes(self) -> bool:
        return not self.problems and self.kill_rate >= MIN_KILL_RATE

    def row(self) -> dict[str, object]:
        return {
            "seed": self.seed_id, "domain": self.domain, "file": Path(self.path).name, "tests": self.tests,
            "visible": self.visible, "hidden": self.hidden, "mutants": self.mutants, "killed": self.killed,
            "kill_rate": round(self.kill_rate, 4), "problems": self.problems,
            "survivors": [f"{s.operator} {s.note}" for s in self.survivors],
        }


def format_problems(seed: "Seed") -> list[str]:
    """What keeps a seed below the format bar (empty when it meets it)."""
    task = seed.task
    problems = []
    visible, hidden = len(task.visible_tests), len(task.hidden_tests)
    if len(task.tests) < MIN_TESTS:
        problems.append(f"{len(task.tests)} tests (at least {MIN_TESTS})")
    if visible < MIN_VISIBLE:
        problems.append(f"{visible} visible tests (at least {MIN_VISIBLE})")
    if hidden < MIN_HIDDEN:
        problems.append(f"{hidden} hidden tests (at least {MIN_HIDDEN})")
    for test in task.tests:
        if not any(isinstance(step, EvalStep) for step in test.steps):
            problems.append(f"test {test.name!r} has no eval step (no expectation)")
        for step in test.steps:
            if isinstance(step, ExecStep) and _ASSERT.search(step.exec):
                problems.append(f"test {test.name!r} asserts inside an exec step: {step.exec[:60]!r}")
    return problems


def single_mutants(source: str, operators: Optional[Iterable[str]] = None) -> list[tuple[str, str, str]]:
    """``(operator, note, code)`` of every distinct single-site mutant of ``source``, in site order."""
    reference = normalised_ast_hash(source)
    seen = {reference}
    mutants = []
    for op, sites in find_sites(source, operators).items():
        for site in sites:
            try:
                code = apply_sites(source, [site])
            except MutationError:
                continue
            digest = normalised_ast_hash(code)
            if digest in seen:
                continue
            seen.add(digest)
            mutants.append((op, site.note, code))
    return mutants


def kill_rate(seed: "Seed", *, sandbox: "Optional[Sandbox]" = None, jobs: int = 2,
              operators: Optional[Iterable[str]] = None, on_mutant: Optional[Callable[[], None]] = None) -> tuple[int, int, list[Survivor]]:
    """``(mutants, killed, survivors)`` for one seed (see the module docstring)."""
    mutants = single_mutants(seed.task.reference_code, operators)

    def killed(mutant: tuple[str, str, str]) -> bool:
        screening = screen_mutant(mutant[2], seed.task, budget_s=BUDGET_S, sandbox=sandbox, retries=0)
        if on_mutant is not None:
            on_mutant()
        return screening.reason != "equivalent"

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as threads:
        verdicts = list(threads.map(killed, mutants))
    survivors = [Survivor(op, note, code) for (op, note, code), dead in zip(mutants, verdicts) if not dead]
    return len(mutants), sum(verdicts), survivors


def assess(seeds: Sequence["Seed"], *, sandbox: "Optional[Sandbox]" = None, jobs: int = 2,
           operators: Optional[Iterable[str]] = None, on_mutant: Optional[Callable[[], None]] = None,
           on_seed: Optional[Callable[[SeedQuality], None]] = None) -> list[SeedQuality]:
    """The format bar and the kill rate of every seed (a seed whose reference fails gets no mutants)."""
    results = []
    for seed in seeds:
        task = seed.task
        quality = SeedQuality(seed.id, domain_of(seed.task.tags), seed.path, len(task.tests), len(task.visible_tests),
                              len(task.hidden_tests), format_problems(seed))
        verdict = check_reference(task, budget_s=BUDGET_S, sandbox=sandbox)
        if verdict is not None:
            quality.problems.append(f"reference: {verdict}")
        else:
            quality.mutants, quality.killed, quality.survivors = kill_rate(
                seed, sandbox=sandbox, jobs=jobs, operators=operators, on_mutant=on_mutant)
        results.append(quality)
        if on_seed is not None:
            on_seed(quality)
    return results


def survivors_by_family(results: Iterable[SeedQuality]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for quality in results:
        for survivor in quality.survivors:
            name = family_of(survivor.operator)
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def markdown(results: Sequence[SeedQuality]) -> str:
    """The per-seed table (``corpus/SEEDS.md``)."""
    lines = [
        "| seed | domain | file | tests (visible + hidden) | mutants | killed | kill rate |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for q in sorted(results, key=lambda q: (q.domain, q.seed_id)):
        flag = "" if q.passes else " **(below the bar)**"
        lines.append(f"| `{q.seed_id}` | {q.domain} | {Path(q.path).name} | {q.tests} ({q.visible} + {q.hidden}) | "
                     f"{q.mutants} | {q.killed} | {100 * q.kill_rate:.1f} %{flag} |")
    return "\n".join(lines) + "\n"


__all__ = [
    "MIN_HIDDEN", "MIN_KILL_RATE", "MIN_TESTS", "MIN_VISIBLE", "SeedQuality", "Survivor", "assess", "format_problems",
    "kill_rate", "markdown", "single_mutants", "survivors_by_family", "OPERATORS",
]
