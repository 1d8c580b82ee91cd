"""Baselines: how many tests each task's buggy program passes, the bar a submission must clear.

A submission scores only if it does better than the original buggy program on the hidden tests, so
a wrong baseline is a wrong score: too low, and submitting the untouched bug earns points.  A
baseline records how many tests (and hidden tests) the buggy program passes, and its **decisive**
tests: the hidden tests it fails on a step whose expected value must be computed (not guessed, see
``EvalStep.guessable``).  A submission counts as an improvement only if it passes one of them (and
more hidden tests than the original): hard-coding the visible answers, or claiming "True" or "no
error" for steps it cannot compute, never turns a decisive test into a pass.

Baselines are never taken from the environment's shared sandbox, where other sessions' runs live:

* ``tracefix tasks verify --baselines-out FILE`` computes them when tasks are verified, and the
  built-in corpus ships them (``tasks/data/baselines.json``, keyed by task id, each with a
  fingerprint of the task's buggy code, setup and tests so that an edited task is recomputed);
* a task without a shipped baseline (an imported file) gets one computed on first use in a private
  sandbox of its own, with the same two-run evaluation as a submission, and it is cached only
  when that run's outcome is the program's own (not busy, not a sandbox failure).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Optional

from tracefix.tasks.schema import Task

if TYPE_CHECKING:
    from tracefix.sandbox import Sandbox
    from tracefix.tasks.grading import Evaluation

log = logging.getLogger("tracefix.tasks")

BASELINES_FILE = Path(__file__).resolve().parent / "data" / "baselines.json"
ATTEMPTS = 3


class BaselineUnavailable(RuntimeError):
    """The baseline could not be computed (the sandbox kept failing); nothing was scored."""


@dataclass(frozen=True)
class Baseline:
    """What the task's buggy program achieves, evaluated exactly like a submission."""

    passed: int
    """Tests passed, visible and hidden (0 when it does not compile)."""
    hidden_passed: int
    decisive: tuple[str, ...]
    """Hidden tests the buggy program fails on a step whose expected value must be computed."""

    def entry(self, fingerprint: str) -> Dict[str, object]:
        return {"fingerprint": fingerprint, "passed": self.passed, "hidden_passed": self.hidden_passed,
                "decisive": list(self.decisive)}

    @classmethod
    def from_entry(cls, entry: Dict[str, object]) -> "Baseline":
        return cls(int(entry["passed"]), int(entry["hidden_passed"]), tuple(entry["decisive"]))  # type: ignore[arg-type]


def fingerprint(task: Task) -> str:
    """What a baseline depends on: the buggy code, the setup code, the tests, the time limit and the
    names the tests take from the module (those the reference defines)."""
    from tracefix.tasks.grading import module_names

    payload = {
        "names": module_names(task.reference_code),
        "buggy_code": task.buggy_code,
        "setup_code": task.setup_code,
        "tests": [t.model_dump(mode="json") for t in task.tests],
        "timeout_s": task.timeout_s,
    }
    return hashlib.blake2b(json.dumps(payload, sort_keys=True).encode("utf-8"), digest_size=12).hexdigest()


def compute(task: Task, sandbox: "Sandbox") -> tuple[Baseline, bool]:
    """``(baseline, definitive)`` for the task's buggy code, evaluated exactly like a submission."""
    from tracefix.tasks.grading import evaluate

    evaluation = evaluate(task.buggy_code, task, sandbox=sandbox)
    return of_evaluation(evaluation), evaluation.definitive


def of_evaluation(evaluation: "Evaluation") -> Baseline:
    if evaluation.had_syntax_error:
        return Baseline(0, 0, tuple(v.name for v in evaluation.hidden.verdicts))
    decisive = tuple(v.name for v in evaluation.hidden.verdicts if not v.passed and v.decisive_failure)
    return Baseline(evaluation.passed, evaluation.hidden.passed, decisive)


def load(path: Path) -> Dict[str, Dict[str, object]]:
    """``{task_id: {"fingerprint", "passed", "hidden_passed", "decisive"}}`` from a baselines file."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("baselines"), dict):
        raise ValueError(f"{path}: not a baselines file (expected an object with 'baselines')")
    if data.get("version") != 2:
        log.warning("%s: baselines of an older format are ignored (they will be computed on first use); "
                    "rebuild it with `tracefix tasks verify --split all --baselines-out FILE`", path)
        return {}
    return data["baselines"]


def dump(baselines: Dict[str, Dict[str, object]], path: Path) -> None:
    """Write a baselines file deterministically (sorted ids), so a rebuild is byte-identical."""
    body = {"version": 2, "baselines": {k: baselines[k] for k in sorted(baselines)}}
    path.write_text(json.dumps(body, indent=0, sort_keys=True) + "\n", encoding="utf-8")


class Baselines:
    """Baseline lookup: shipped values first, then values computed in a private sandbox."""

    def __init__(self, shipped: Optional[Dict[str, Dict[str, object]]] = None,
                 sandbox_factory: Optional[Callable[[], "Sandbox"]] = None) -> None:
        self._known: Dict[str, Baseline] = {}
        for task_id, entry in (shipped or {}).items():
            self._known[f"{task_id}\0{entry['fingerprint']}"] = Baseline.from_entry(entry)
        self._sandbox_factory = sandbox_factory
        self._sandbox: Optional["Sandbox"] = None
        self._lock = threading.Lock()
        self._computing: Dict[str, threading.Lock] = {}

    @staticmethod
    def _key(task: Task) -> str:
        return f"{task.id}\0{fingerprint(task)}"

    def known(self, task: Task) -> Optional[Baseline]:
        return self._known.get(self._key(task))

    def get(self, task: Task) -> Baseline:
        """The task's baseline; computed once per process (per task version) when not shipped."""
        key = self._key(task)
        if key in self._known:
            return self._known[key]
        with self._lock:
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:  # one computation per task, however many sessions submit it at once
            if key in self._known:
                return self._known[key]
            for attempt in range(ATTEMPTS):
                baseline, definitive = compute(task, self._private_sandbox())
                if definitive:
                    self._known[key] = baseline
                    return baseline
                log.warning("baseline of %s: the sandbox did not give a definitive result (attempt %d)", task.id, attempt + 1)
        raise BaselineUnavailable(f"the baseline of task {task.id} could not be computed (sandbox unavailable)")

    def _private_sandbox(self) -> "Sandbox":
        with self._lock:
            if self._sandbox is None or self._sandbox.closed:
                if self._sandbox_factory is not None:
                    self._sandbox = self._sandbox_factory()
                else:
                    import atexit

                    from tracefix.sandbox import Sandbox, SandboxConfig

                    self._sandbox = Sandbox(SandboxConfig(pool_size=1))
                    atexit.register(self._sandbox.close)
            return self._sandbox


_default: Optional[Baselines] = None
_default_lock = threading.Lock()


def default_baselines() -> Baselines:
    """The process-wide baselines: the shipped file plus whatever this process computes."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Baselines(load(BASELINES_FILE))
        return _default
