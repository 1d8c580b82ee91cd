"""Running a program against a task's tests, and deciding outside the sandbox what passed.

:func:`run_tests` (visible tests, or any chosen set) and :func:`evaluate` (a whole submission) are
the interfaces the environment, the verifier and the agents use.  They build the
:class:`~tracefix.sandbox.types.Program` (expressions only: expectations stay here), hand it to the
sandbox, and grade the :class:`~tracefix.sandbox.types.Execution` that comes back with :func:`grade`,
on plain built-in values compared with ``==``.

Two rules hold here whatever a candidate returns:

* **Grading never raises.**  Any exception while checking a step (a value too large or too deep
  to compare, an undecodable value) fails that step with a message; messages are bounded.
* **Hidden tests run in a child of their own.**  :func:`evaluate` runs the visible tests and the
  hidden tests in two separate sandbox runs, so code running alongside hidden tests never shares a
  process with anything whose output, messages or errors are shown; of the hidden run only pass
  counts may be shown.
"""

from __future__ import annotations

import ast
import functools
import reprlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Optional

from tracefix.core.constants import DEFAULT_TIMEOUT_S, MAX_MESSAGE_CHARS, SYNTAX_CHECK_TIMEOUT_S
from tracefix.sandbox.types import Execution, Program, RunStatus, StepOutcome, StepSpec, TestSpec
from tracefix.tasks.codec import ValueDecodeError, decode_value, find_unsupported, values_equal
from tracefix.tasks.schema import EvalStep, ExecStep, Task, TaskTest

if TYPE_CHECKING:
    from tracefix.sandbox import Sandbox


@dataclass(frozen=True)
class TestVerdict:
    """Whether one test passed, and a message saying why not."""

    __test__ = False

    name: str
    visible: bool
    passed: bool
    message: str = ""
    """Why the first failing step failed."""
    decisive_failure: bool = False
    """The test failed on a step whose expected value a program must compute (not a guessable
    outcome such as "no exception", True or 0): see ``EvalStep.guessable``."""


@dataclass
class RunReport:
    """The graded result of one run of a program against some of a task's tests."""

    verdicts: list[TestVerdict] = field(default_factory=list)
    status: RunStatus = RunStatus.OK
    detail: str = ""
    output: str = ""
    syntax_error: Optional[str] = None
    """A message like ``line 3: invalid syntax`` when the code does not compile."""
    wall_s: float = 0.0
    tier: str = ""
    definitive: bool = True
    """False when the sandbox, not the program, decided the outcome (busy, failed, refused)."""

    @property
    def had_syntax_error(self) -> bool:
        return self.syntax_error is not None

    def _count(self, visible: Optional[bool]) -> tuple[int, int]:
        chosen = [v for v in self.verdicts if visible is None or v.visible == visible]
        return sum(v.passed for v in chosen), len(chosen)

    @property
    def passed(self) -> int:
        return self._count(None)[0]

    @property
    def total(self) -> int:
        return self._count(None)[1]

    @property
    def visible_passed(self) -> int:
        return self._count(True)[0]

    @property
    def visible_total(self) -> int:
        return self._count(True)[1]

    @property
    def hidden_passed(self) -> int:
        return self._count(False)[0]

    @property
    def hidden_total(self) -> int:
        return self._count(False)[1]

    @property
    def pass_fraction(self) -> float:
        """Passing tests over tests run; 0 on a syntax error (as the notes define the proportion)."""
        if self.had_syntax_error or not self.verdicts:
            return 0.0
        return self.passed / self.total

    @property
    def all_passed(self) -> bool:
        return bool(self.verdicts) and not self.had_syntax_error and self.passed == self.total


def to_test_spec(test: TaskTest) -> TestSpec:
    """The part of a test that may enter the sandbox: names and expressions, never expectations."""
    steps = tuple(
        StepSpec("exec", step.exec) if isinstance(step, ExecStep) else StepSpec("eval", step.eval)
        for step in test.steps
    )
    return TestSpec(test.name, steps)


def build_program(code: str, task: Task, tests: Iterable[TaskTest]) -> Program:
    return Program(
        code=code,
        tests=tuple(to_test_spec(test) for test in tests),
        setup_code=task.setup_code,
        timeout_s=task.timeout_s or DEFAULT_TIMEOUT_S,
        names=module_names(task.reference_code),
    )


@functools.lru_cache(maxsize=8192)
def module_names(source: str) -> Optional[tuple[str, ...]]:
    """The names a module defines at top level and exports (its ``__all__`` when it lists them, else
    those without a leading underscore), read from its syntax tree; ``None`` when that cannot be
    known (it does not parse, or it star-imports).

    Tests run in a namespace holding the candidate's values of exactly the reference's names: a
    candidate cannot add a name of its own (an ``all`` that always says True) to the test
    expressions.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    found: dict[str, None] = {}
    exported: Optional[list[str]] = None

    def targets(node: ast.AST) -> Iterable[str]:
        if isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                yield from targets(element)
        elif isinstance(node, ast.Starred):
            yield from targets(node.value)

    def visit(body: list[ast.stmt]) -> bool:
        nonlocal exported
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found[node.name] = None
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    for name in targets(target):
                        found[name] = None
                        if name == "__all__" and isinstance(node, ast.Assign) and isinstance(node.value, (ast.List, ast.Tuple)):
                            values = [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
                            if all(isinstance(v, str) for v in values):
                                exported = values
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name == "*":
                        return False
                    found[alias.asname or alias.name.split(".")[0]] = None
            else:
                for field_name in ("body", "orelse", "finalbody", "handlers"):
                    nested = getattr(node, field_name, None)
                    if isinstance(nested, list):
                        inner = [n.body if isinstance(n, ast.ExceptHandler) else n for n in nested]
                        flat = [stmt for item in inner for stmt in (item if isinstance(item, list) else [item])]
                        if not visit([n for n in flat if isinstance(n, ast.stmt)]):
                            return False
        return True

    if not visit(tree.body):
        return None
    if exported is not None:
        return tuple(n for n in exported if n in found)
    return tuple(n for n in found if not n.startswith("_"))


def _clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """At most ``limit`` characters, keeping both ends: the start says which step failed, the end of
    a traceback says what was raised."""
    if len(text) <= limit:
        return text
    head = limit // 3
    return text[:head] + " ... " + text[-(limit - head - 5):]


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 160
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdict = 12
_REPR.maxlevel = 4


def _show(value: Any) -> str:
    """A bounded repr: never expensive, never raising, whatever the candidate returned."""
    try:
        return _REPR.repr(value)
    except Exception:
        return "<%s>" % type(value).__name__


def _describe_error(outcome: StepOutcome) -> str:
    head = f"{outcome.error_type}: {outcome.error_message}" if outcome.error_message else str(outcome.error_type)
    if outcome.traceback:
        return outcome.traceback.rstrip()
    return head


def _check_step(step: ExecStep | EvalStep, outcome: Optional[StepOutcome], missing_reason: str) -> Optional[str]:
    """Return ``None`` when the step passed, else a message explaining the failure.  Never raises."""
    try:
        return _check_step_unguarded(step, outcome, missing_reason)
    except Exception as exc:  # whatever the candidate sent, it is a failure with a reason, not a crash
        source = step.exec if isinstance(step, ExecStep) else step.eval
        return f"`{source}`: the result could not be checked ({type(exc).__name__})"


def _check_step_unguarded(step: ExecStep | EvalStep, outcome: Optional[StepOutcome], missing_reason: str) -> Optional[str]:
    if outcome is None:
        return missing_reason
    if isinstance(step, ExecStep):
        return None if outcome.ok else f"`{step.exec}` raised {_describe_error(outcome)}"
    if step.raises is not None:
        if outcome.ok:
            return f"`{step.eval}` should raise {step.raises} but returned normally"
        if outcome.error_type == step.raises or step.raises in outcome.error_bases:
            return None
        return f"`{step.eval}` should raise {step.raises}, raised {_describe_error(outcome)}"
    if not outcome.ok:
        return f"`{step.eval}` raised {_describe_error(outcome)}"
    unsupported = find_unsupported(outcome.value)
    if unsupported is not None:
        return (
            f"`{step.eval}` returned a value of type {unsupported}; only plain built-in values "
            "(None, bool, int, float, str, list, tuple, dict, set, bytes) can be compared"
        )
    try:
        got = decode_value(outcome.value)
    except ValueDecodeError as exc:
        return f"`{step.eval}` returned an undecodable value ({exc})"
    expected = step.expected_value
    if values_equal(got, expected, step.approx):
        return None
    tolerance = f" (relative tolerance {step.approx})" if step.approx else ""
    return f"`{step.eval}`: expected {_show(expected)}{tolerance}, got {_show(got)}"


def describe_syntax_error(execution: Execution) -> str:
    """``SyntaxError at line 3: invalid syntax`` plus the offending line, as the agent numbers it."""
    info = execution.syntax_error
    where = f"line {info.line}" if info and info.line else "unknown line"
    text = f"\n    {info.text.rstrip()}" if info and info.text else ""
    return f"SyntaxError at {where}: {info.message if info else execution.detail}{text}"


def _missing_reason(execution: Execution) -> str:
    if execution.status is RunStatus.OK:
        return "no result was reported for this step"
    return f"no result: {execution.detail or execution.status.value}"


def grade(task: Task, tests: list[TaskTest], execution: Execution) -> RunReport:
    """Decide, outside the sandbox, which of ``tests`` passed in ``execution``."""
    report = RunReport(
        status=execution.status,
        detail=execution.detail,
        output=execution.output,
        wall_s=execution.wall_s,
        tier=execution.tier,
        definitive=execution.definitive,
    )
    if execution.status is RunStatus.SYNTAX_ERROR:
        report.syntax_error = describe_syntax_error(execution)
        report.verdicts = [TestVerdict(t.name, t.visible, False, report.syntax_error) for t in tests]
        return report
    outcomes = {o.name: o for o in execution.tests if isinstance(o.name, str)}
    missing = _missing_reason(execution)
    for test in tests:
        outcome = outcomes.get(test.name)
        steps = outcome.steps if outcome else []
        first: Optional[str] = None
        decisive = False
        for index, step in enumerate(test.steps):  # every step: which failures are decisive matters
            failure = _check_step(step, steps[index] if index < len(steps) else None, missing)
            if failure is not None:
                first = first or failure
                decisive = decisive or not step.guessable
        report.verdicts.append(TestVerdict(test.name, test.visible, first is None, _clip(first or ""), decisive))
    return report


class SandboxBusy(RuntimeError):
    """The sandbox had no free worker within its wait limit: nothing ran, try again later."""


def _execute(code: str, task: Task, tests: list[TaskTest], sandbox: "Optional[Sandbox]") -> RunReport:
    if sandbox is None:
        from tracefix.sandbox import get_sandbox

        sandbox = get_sandbox()
    return grade(task, tests, sandbox.execute(build_program(code, task, tests)))


def run_tests(
    code: str,
    task: Task,
    *,
    include_hidden: bool = False,
    sandbox: "Optional[Sandbox]" = None,
) -> RunReport:
    """Run ``code`` against the task's visible tests (and hidden ones when asked) and grade it.

    With ``include_hidden`` the result is :meth:`Evaluation.combined` (two runs, trusted callers
    only: the verifier and the corpus generator, whose messages go to task authors).
    """
    if include_hidden:
        return evaluate(code, task, sandbox=sandbox).combined()
    return _execute(code, task, task.visible_tests, sandbox)


@dataclass
class Evaluation:
    """A program run against all of a task's tests: the visible and the hidden ones in two runs.

    ``hidden`` is for trusted callers: its messages, output and detail come from a process that saw
    the hidden test expressions and must never reach an agent (use the counts).
    """

    visible: RunReport
    hidden: RunReport

    @property
    def syntax_error(self) -> Optional[str]:
        return self.visible.syntax_error or self.hidden.syntax_error

    @property
    def had_syntax_error(self) -> bool:
        return self.syntax_error is not None

    @property
    def passed(self) -> int:
        return self.visible.passed + self.hidden.passed

    @property
    def total(self) -> int:
        return self.visible.total + self.hidden.total

    @property
    def definitive(self) -> bool:
        return self.visible.definitive and self.hidden.definitive

    @property
    def busy(self) -> bool:
        return RunStatus.BUSY in (self.visible.status, self.hidden.status)

    def combined(self) -> RunReport:
        """One report over every test (trusted callers only), in the task's test order."""
        by_name = {v.name: v for v in self.visible.verdicts + self.hidden.verdicts}
        first_bad = next((r for r in (self.visible, self.hidden) if r.status is not RunStatus.OK), self.visible)
        return RunReport(
            verdicts=list(by_name.values()),
            status=first_bad.status,
            detail=first_bad.detail,
            output=self.visible.output,
            syntax_error=self.syntax_error,
            wall_s=self.visible.wall_s + self.hidden.wall_s,
            tier=self.visible.tier,
            definitive=self.definitive,
        )


def evaluate(code: str, task: Task, *, sandbox: "Optional[Sandbox]" = None) -> Evaluation:
    """Run ``code`` against every test of the task, visible and hidden tests in separate runs."""
    visible = _execute(code, task, task.visible_tests, sandbox)
    if not task.hidden_tests or visible.status is RunStatus.BUSY:
        hidden = RunReport(status=visible.status, detail=visible.detail, syntax_error=visible.syntax_error,
                           definitive=visible.definitive)
        if task.hidden_tests:
            hidden.verdicts = [TestVerdict(t.name, False, False, visible.detail) for t in task.hidden_tests]
        return Evaluation(visible, hidden)
    return Evaluation(visible, _execute(code, task, task.hidden_tests, sandbox))


class SandboxRunner:
    """The environment's default test runner: the shared sandbox, used for runs and syntax checks.

    Raises :class:`SandboxBusy` when the sandbox had no worker for a run (nothing ran), so the
    environment can refuse the step instead of charging for it.
    """

    def __init__(self, sandbox: "Optional[Sandbox]" = None, syntax_sandbox: "Optional[Sandbox]" = None) -> None:
        self._sandbox = sandbox
        self._syntax_sandbox = syntax_sandbox

    @property
    def sandbox(self) -> "Sandbox":
        if self._sandbox is None:
            from tracefix.sandbox import get_sandbox

            self._sandbox = get_sandbox()
        return self._sandbox

    def run(self, code: str, task: Task) -> RunReport:
        """The visible tests (RUN_TESTS)."""
        report = run_tests(code, task, sandbox=self.sandbox)
        if report.status is RunStatus.BUSY:
            raise SandboxBusy(report.detail)
        return report

    def evaluate(self, code: str, task: Task) -> Evaluation:
        """Every test, hidden ones in a run of their own (SUBMIT, baselines)."""
        evaluation = evaluate(code, task, sandbox=self.sandbox)
        if evaluation.busy:
            raise SandboxBusy(evaluation.visible.detail if evaluation.visible.status is RunStatus.BUSY
                              else evaluation.hidden.detail)
        return evaluation

    def syntax_error(self, code: str) -> Optional[str]:
        """Compile ``code`` inside the sandbox (never in this process) and describe any SyntaxError.

        The check runs on a pool of its own (:mod:`tracefix.tasks.syntax_lane`), so an edit does not
        wait behind queued test runs; a given ``sandbox`` without a ``syntax_sandbox`` serves both.
        """
        if self._syntax_sandbox is None:
            if self._sandbox is not None:
                self._syntax_sandbox = self._sandbox
            else:
                from tracefix.tasks.syntax_lane import syntax_sandbox

                self._syntax_sandbox = syntax_sandbox()
        execution = self._syntax_sandbox.execute(Program(code=code, tests=(), timeout_s=SYNTAX_CHECK_TIMEOUT_S))
        if execution.status is RunStatus.BUSY:
            raise SandboxBusy(execution.detail)
        if execution.status is not RunStatus.SYNTAX_ERROR:
            return None
        return describe_syntax_error(execution)
