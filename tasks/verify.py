"""Task verification: the validity rules of docs/task-format.md, checked in the real sandbox.

1. the reference passes every test, visible and hidden;
2. the buggy code fails at least one visible test;
3. the buggy code is not the reference (whitespace-normalised) and compiles unless tagged as a
   syntax-error bug;
4. ids are unique and every field has its type (the schema enforces types when a file is read);
5. the buggy code fails at least one hidden test on a step whose expected value must be computed
   (a *decisive* test, see ``EvalStep.guessable``): otherwise a program that hard-codes the
   visible answers, or claims "True" or "no error" where it cannot compute, could not be told
   from a fix, and the task could not be scored.

Verification also measures the task's **baseline** (how many tests the buggy code passes, evaluated
exactly like a submission, in the verifier's own sandbox): ``tracefix tasks verify
--baselines-out FILE`` stores it, and the built-in tasks ship theirs (see ``tasks/baseline.py``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Optional

from tracefix.tasks.baseline import Baseline, fingerprint, of_evaluation
from tracefix.tasks.grading import RunReport, evaluate, run_tests
from tracefix.tasks.schema import Task, normalise_source

if TYPE_CHECKING:
    from tracefix.sandbox import Sandbox


@dataclass
class TaskVerdict:
    """Whether one task is valid, and every reason it is not."""

    task_id: str
    difficulty: str
    problems: list[str] = field(default_factory=list)
    buggy_visible_failures: int = 0
    buggy_hidden_failures: int = 0
    baseline: Baseline = Baseline(0, 0, ())
    """What the buggy code achieves: the bar a submission must clear."""
    fingerprint: str = ""

    @property
    def valid(self) -> bool:
        return not self.problems

    def baseline_entry(self) -> dict[str, object]:
        return self.baseline.entry(self.fingerprint)


class ReferenceRuns:
    """The reference's run, shared by every task with the same reference, setup, tests and time limit.

    A generated corpus has tens of tasks per seed program, all with the seed's reference and tests:
    running that reference once per seed instead of once per task saves a third of the verification.
    Thread-safe; each distinct reference runs once even when several threads ask at the same time.
    """

    def __init__(self) -> None:
        self._results: dict[str, RunReport] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(task: Task) -> str:
        payload = [task.reference_code, task.setup_code, [t.model_dump(mode="json") for t in task.tests], task.timeout_s]
        return hashlib.blake2b(json.dumps(payload, sort_keys=True).encode("utf-8"), digest_size=16).hexdigest()

    def get(self, task: Task, sandbox: "Optional[Sandbox]") -> RunReport:
        key = self.key(task)
        with self._lock:
            gate = self._locks.setdefault(key, threading.Lock())
        with gate:
            if key not in self._results:
                report = run_tests(task.reference_code, task, include_hidden=True, sandbox=sandbox)
                if not report.definitive:
                    return report  # not the program's own outcome: do not share it
                self._results[key] = report
            return self._results[key]


def verify_task(task: Task, sandbox: "Optional[Sandbox]" = None, references: Optional[ReferenceRuns] = None) -> TaskVerdict:
    """Check rules 1-3 and 5 for one task (rule 4 is the schema's and the collection's job)."""
    verdict = TaskVerdict(task.id, task.difficulty)
    if normalise_source(task.buggy_code) == normalise_source(task.reference_code):
        verdict.problems.append("buggy_code is the reference (after normalising whitespace)")
    if references is not None:
        reference = references.get(task, sandbox)
    else:
        reference = run_tests(task.reference_code, task, include_hidden=True, sandbox=sandbox)
    if reference.had_syntax_error:
        verdict.problems.append(f"reference_code does not compile: {reference.syntax_error}")
    else:
        for failure in (v for v in reference.verdicts if not v.passed):
            kind = "visible" if failure.visible else "hidden"
            verdict.problems.append(f"reference fails {kind} test {failure.name!r}: {failure.message}")
    buggy_evaluation = evaluate(task.buggy_code, task, sandbox=sandbox)
    buggy = buggy_evaluation.combined()
    if not buggy_evaluation.definitive:
        verdict.problems.append(f"the sandbox could not run the buggy code ({buggy.detail}); verify again")
    verdict.fingerprint = fingerprint(task)
    verdict.baseline = of_evaluation(buggy_evaluation)
    if buggy.had_syntax_error and not task.expects_syntax_error:
        verdict.problems.append(
            f"buggy_code does not compile ({buggy.syntax_error}); tag the task 'syntax-error' if that is the bug"
        )
    verdict.buggy_visible_failures = buggy.visible_total - buggy.visible_passed
    verdict.buggy_hidden_failures = buggy.hidden_total - buggy.hidden_passed
    if verdict.buggy_visible_failures == 0:
        verdict.problems.append("buggy_code passes every visible test, so the agent cannot see the bug")
    if not verdict.baseline.decisive and not buggy.had_syntax_error:
        verdict.problems.append(
            "no decisive hidden test: the buggy code fails no hidden test on a step whose expected value must "
            "be computed (only on steps expecting no exception, an exception, True/False/None, 0, 1, -1 or an "
            "empty value), so hard-coded or claimed answers could not be told from a fix; add a hidden test "
            "that checks a computed value the bug gets wrong")
    return verdict


def duplicate_ids(tasks: Iterable[Task]) -> list[str]:
    counts = Counter(task.id for task in tasks)
    return sorted(task_id for task_id, count in counts.items() if count > 1)


def verify_tasks(
    tasks: list[Task],
    *,
    sandbox: "Optional[Sandbox]" = None,
    workers: int = 4,
    on_result: Optional[Callable[[TaskVerdict], None]] = None,
) -> list[TaskVerdict]:
    """Verify many tasks in parallel (the sandbox is thread-safe); results keep the input order.
    Tasks sharing a reference program and tests (a seed's tasks) share one run of that reference."""
    duplicates = set(duplicate_ids(tasks))
    references = ReferenceRuns()

    def check(task: Task) -> TaskVerdict:
        verdict = verify_task(task, sandbox, references)
        if task.id in duplicates:
            verdict.problems.append(f"duplicate id {task.id!r}")
        if on_result is not None:
            on_result(verdict)
        return verdict

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(check, tasks))
