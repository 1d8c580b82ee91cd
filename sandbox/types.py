"""What crosses the sandbox boundary, in both directions.

The parent (trusted) sends a :class:`Program`: the candidate code, the task's trusted setup code and
the *expressions* of the tests to run.  It never sends expected values, ``raises`` clauses, the
reference code, or anything about tests it does not want run.  The child (untrusted) answers with an
:class:`Execution`: for each step only the encoded value it computed or the exception it raised.
Whether that is a pass is decided outside, by :mod:`tracefix.tasks.grading`.

Values are encoded as in ``TASK_FORMAT.md`` ("Values"), plus ``{"$unsupported": "<type name>"}`` for
anything that is not a plain built-in value (user classes, functions, subclasses of built-ins,
objects that are too large or too deeply nested).  An unsupported value can never pass a step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Optional

CANDIDATE_FILENAME = "solution.py"
"""Name the candidate code is compiled under, so tracebacks say ``solution.py, line N``."""


@dataclass(frozen=True)
class StepSpec:
    """One step of a test: ``exec`` a statement or ``eval`` an expression."""

    kind: Literal["exec", "eval"]
    source: str


@dataclass(frozen=True)
class TestSpec:
    """The steps of one test, run in order in one fresh namespace."""

    __test__ = False

    name: str
    steps: tuple[StepSpec, ...]


@dataclass(frozen=True)
class Program:
    """One run request.

    For every test the child executes ``code`` afresh as a module compiled under
    :data:`CANDIDATE_FILENAME`, then ``setup_code`` in a new namespace into which the module's public
    names were imported, then the test's steps in that namespace.
    """

    code: str
    tests: tuple[TestSpec, ...]
    setup_code: str = ""
    timeout_s: float = 5.0
    names: Optional[tuple[str, ...]] = None
    """The names the test namespace takes from the module (those the task's reference defines);
    ``None``: the module's public names."""


@dataclass
class StepOutcome:
    """What one step did inside the sandbox."""

    ok: bool
    """True when the step completed without raising."""
    value: Any = None
    """Encoded value of an ``eval`` step (JSON-compatible, tagged as in TASK_FORMAT.md)."""
    error_type: Optional[str] = None
    """Class name of the exception raised, if any."""
    error_bases: tuple[str, ...] = ()
    """Names of the *built-in* exception classes in the exception's MRO (for ``raises`` checks)."""
    error_message: Optional[str] = None
    traceback: Optional[str] = None
    """Traceback restricted to frames of the candidate code, line numbers as the agent sees them."""


@dataclass
class TestOutcome:
    """The steps of one test that produced a result (fewer than requested if the run was cut)."""

    __test__ = False

    name: str
    steps: list[StepOutcome] = field(default_factory=list)


class RunStatus(str, Enum):
    OK = "ok"
    """The child ran every test and exited normally."""
    SYNTAX_ERROR = "syntax_error"
    """The candidate code does not compile; no test ran."""
    TIMEOUT = "timeout"
    """Wall-clock or CPU limit reached; results so far are kept."""
    MEMORY = "memory"
    """The address-space limit was hit."""
    CRASHED = "crashed"
    """The child died (signal, early exit, broken protocol) before reporting every step."""
    OUTPUT_LIMIT = "output_limit"
    """The child wrote more than the sandbox accepts on its result channel."""
    REFUSED = "refused"
    """The sandbox refused to run (no isolation available and unsandboxed runs not allowed)."""
    BUSY = "busy"
    """No worker became free within the configured wait; nothing ran (try again later)."""
    SANDBOX_ERROR = "sandbox_error"
    """The sandbox itself failed (a worker died or did not answer, a run could not be confined);
    not the program's doing.  Steps without a result count as failed."""


@dataclass
class SyntaxErrorInfo:
    line: Optional[int]
    offset: Optional[int]
    message: str
    text: Optional[str] = None


@dataclass
class Execution:
    """Everything the sandbox reports about one :class:`Program` run."""

    status: RunStatus
    tests: list[TestOutcome] = field(default_factory=list)
    output: str = ""
    """Tail of stdout+stderr (at most MAX_OUTPUT_CHARS, with a truncation marker when cut)."""
    detail: str = ""
    """Human-readable reason for a non-OK status (e.g. 'killed by SIGSEGV', 'timed out after 5.0 s')."""
    syntax_error: Optional[SyntaxErrorInfo] = None
    wall_s: float = 0.0
    tier: str = ""
    """Isolation tier the run used ('full', 'reduced' or 'none')."""

    @property
    def definitive(self) -> bool:
        """Whether the outcome is the program's own (anything but a refusal, a full pool or a
        sandbox failure), so that it may be cached, e.g. as a task's baseline."""
        return self.status not in (RunStatus.REFUSED, RunStatus.BUSY, RunStatus.SANDBOX_ERROR)
