"""The generator's verifier: which seeds and which mutants are kept, checked in the real sandbox.

A seed is usable when its reference passes every test (visible and hidden), well within the time
budget, and it has at least one visible test.  A mutant is kept when it

* differs from the reference (its normalised AST is not the reference's),
* is not a duplicate of an earlier mutant (normalised AST hash),
* runs to completion within the budget (no timeout, memory or crash: the reference never does),
* does not recurse without end (a RecursionError: such runs are slow and their time varies),
* fails at least one test (else it is an *equivalent mutant*),
* fails at least one *visible* test (else the agent could never see the bug), and
* fails at least one hidden test on a step whose expected value must be computed (a *decisive*
  test; else hard-coded or claimed answers could not be told from a fix, see
  ``tracefix.tasks.baseline``).

Every rejection has a reason code from :data:`DROP_REASONS`; the generator counts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from tracefix.sandbox.types import RunStatus
from tracefix.tasks.grading import RunReport, build_program, grade
from tracefix.tasks.schema import Task

if TYPE_CHECKING:
    from tracefix.sandbox import Sandbox

DROP_REASONS: dict[str, str] = {
    "no_site": "the chosen operators found no site in the seed",
    "splice_rejected": "the spliced source did not reproduce the mutated tree (never written out)",
    "same_as_reference": "the mutant's normalised AST equals the reference's",
    "duplicate": "same normalised AST hash as an earlier mutant",
    "does_not_compile": "the mutant does not compile",
    "timeout": "the mutant's test run hit the time budget (usually an infinite loop)",
    "over_budget": "the mutant's test run finished, but its fastest of 3 runs took over half the budget",
    "memory_limit": "the mutant's test run hit the memory limit",
    "recursion": "the mutant recurses without end (RecursionError): slow, and its time varies from run to run",
    "crashed": "the mutant's test run crashed the sandbox worker",
    "output_limit": "the mutant's test run wrote more output than the sandbox accepts",
    "equivalent": "equivalent mutant: passes every test, visible and hidden",
    "passes_visible": "fails only hidden tests, so the agent could never see the bug",
    "no_decisive_hidden": "fails no hidden test on a computed value (only on guessable outcomes), so claimed or "
                          "hard-coded answers could not be told from a fix",
    "seed_cap": "its seed already has its share of the requested tasks",
}

SEED_REJECTIONS: dict[str, str] = {
    "invalid": "the seed line does not follow the seed format",
    "duplicate_seed": "another seed has the same id",
    "no_visible_tests": "the seed has no visible test",
    "reference_failing": "the reference fails one of its own tests",
    "reference_timeout": "the reference's test run timed out",
    "reference_over_budget": "the reference's fastest test run took over half the budget",
    "no_sites": "no operator found a site in the reference",
}

_STATUS_REASONS = {
    RunStatus.TIMEOUT: "timeout",
    RunStatus.MEMORY: "memory_limit",
    RunStatus.CRASHED: "crashed",
    RunStatus.OUTPUT_LIMIT: "output_limit",
}


class SandboxUnavailable(RuntimeError):
    """The sandbox refused to run code: nothing can be verified on this host."""


@dataclass(frozen=True)
class Screening:
    """What one run of a mutant against all of its seed's tests showed."""

    reason: Optional[str]
    """``None`` when the mutant is kept, else a key of :data:`DROP_REASONS`."""
    visible_failed: int = 0
    visible_total: int = 0
    hidden_failed: int = 0
    hidden_total: int = 0
    wall_s: float = 0.0
    detail: str = ""
    failed: tuple[str, ...] = ()
    """Names of the failing tests (visible and hidden), in test order."""
    visible_frames: tuple[Optional[int], ...] = ()
    """For each failing visible test, the line of the deepest ``solution.py`` frame its message shows
    (what an agent reading the traceback is pointed at), or ``None`` when it shows no traceback."""

    @property
    def kept(self) -> bool:
        return self.reason is None


def _run_once(code: str, task: Task, sandbox: "Optional[Sandbox]") -> tuple[RunReport, bool]:
    """One graded run of every test; also says whether any step raised RecursionError."""
    if sandbox is None:
        from tracefix.sandbox import get_sandbox

        sandbox = get_sandbox()
    execution = sandbox.execute(build_program(code, task, task.tests))
    if execution.status is RunStatus.REFUSED:
        raise SandboxUnavailable(execution.detail or "the sandbox refused to run code")
    recursion = any(step.error_type == "RecursionError" for test in execution.tests for step in test.steps)
    return grade(task, list(task.tests), execution), recursion


def _timed_run(code: str, seed_task: Task, budget_s: float, sandbox: "Optional[Sandbox]", retries: int) -> tuple[RunReport, bool]:
    """Run with ``budget_s`` as the time limit; a run that times out, or finishes but uses over a
    quarter of the budget, is repeated (up to ``retries`` times) and the fastest finished run kept,
    so load on the machine does not decide.

    Outcomes are then stable in practice: runs take ~10 ms (a loaded machine can stall one past the
    limit, hence the repeat of time-outs: a build with four jobs on two cores dropped a few 10 ms
    mutants as time-outs before), infinite loops hit the limit every time, runaway recursion is
    recognised by its RecursionError (not by its time), and only a finite mutant whose *fastest*
    run is close to ``budget_s / 2`` could go either way.
    """
    task = seed_task.model_copy(update={"timeout_s": budget_s})
    report, recursion = _run_once(code, task, sandbox)
    for _ in range(retries):
        if recursion or report.status not in (RunStatus.OK, RunStatus.TIMEOUT):
            break
        if report.status is RunStatus.OK and report.wall_s <= budget_s / 4:
            break
        again, again_recursion = _run_once(code, task, sandbox)
        if again.status is RunStatus.OK and (report.status is not RunStatus.OK or again.wall_s < report.wall_s):
            report, recursion = again, again_recursion
        elif again_recursion and report.status is not RunStatus.OK:
            report, recursion = again, again_recursion
    return report, recursion


def screen_mutant(
    code: str, seed_task: Task, *, budget_s: float, sandbox: "Optional[Sandbox]" = None, retries: int = 2
) -> Screening:
    """Run ``code`` against every test of the seed and judge it.

    ``budget_s`` is the run's time limit; a mutant must finish (its fastest run) within half of it.
    """
    report, recursion = _timed_run(code, seed_task, budget_s, sandbox, retries)
    counts = dict(
        visible_failed=report.visible_total - report.visible_passed,
        visible_total=report.visible_total,
        hidden_failed=report.hidden_total - report.hidden_passed,
        hidden_total=report.hidden_total,
        wall_s=report.wall_s,
        detail=report.detail,
        failed=tuple(v.name for v in report.verdicts if not v.passed),
        visible_frames=tuple(deepest_frame(v.message) for v in report.verdicts if v.visible and not v.passed),
    )
    if report.had_syntax_error:
        return Screening("does_not_compile", **counts)
    if report.status in _STATUS_REASONS:
        return Screening(_STATUS_REASONS[report.status], **counts)
    if recursion:
        return Screening("recursion", **counts)
    if report.all_passed:
        return Screening("equivalent", **counts)
    if counts["visible_failed"] == 0:
        return Screening("passes_visible", **counts)
    if not any(not v.visible and not v.passed and v.decisive_failure for v in report.verdicts):
        return Screening("no_decisive_hidden", **counts)
    if report.wall_s > budget_s / 2:
        return Screening("over_budget", **counts)
    return Screening(None, **counts)


_FRAME = re.compile(r'File "solution\.py", line (\d+)')


def deepest_frame(message: str) -> Optional[int]:
    """The line of the last ``File "solution.py", line N`` a failure message shows, if any."""
    lines = _FRAME.findall(message)
    return int(lines[-1]) if lines else None


def check_reference(seed_task: Task, *, budget_s: float, sandbox: "Optional[Sandbox]" = None) -> Optional[str]:
    """``None`` when the seed's reference is usable, else a key of :data:`SEED_REJECTIONS` plus detail."""
    if not seed_task.visible_tests:
        return "no_visible_tests"
    report, _ = _timed_run(seed_task.reference_code, seed_task, budget_s, sandbox, retries=2)
    if report.status is RunStatus.TIMEOUT:
        return "reference_timeout"
    if not report.all_passed:
        failing = next((v for v in report.verdicts if not v.passed), None)
        return "reference_failing" + (f": {failing.name}: {failing.message}" if failing else f": {report.detail}")
    if report.wall_s > budget_s / 2:
        return "reference_over_budget"
    return None


class Deduplicator:
    """Remembers normalised AST hashes in the order they were offered; the first of each wins."""

    def __init__(self, reserved: Optional[dict[str, str]] = None) -> None:
        self._seen: dict[str, str] = dict(reserved or {})

    def offer(self, digest: str, owner: str) -> Optional[str]:
        """Register ``digest`` for ``owner``; return the earlier owner when it is a duplicate."""
        earlier = self._seen.get(digest)
        if earlier is not None:
            return earlier
        self._seen[digest] = owner
        return None

    def __contains__(self, digest: str) -> bool:
        return digest in self._seen

    def __len__(self) -> int:
        return len(self._seen)
