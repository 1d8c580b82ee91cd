"""The TraceFix state machine: one buggy program, six actions, shaped rewards, a final score.

Pure Python: no HTTP and no process management.  Code is executed only through the injected
:class:`TestRunner` (by default the sandbox, see :class:`tracefix.tasks.grading.SandboxRunner`).
The OpenEnv server, and any other adapter, is a thin layer over :class:`TraceFixRLGym`.

Invariants the tests hold this class to:

* a failed action (bad lines, nothing to undo, episode over) never changes the program;
* ``step`` never raises: a step the sandbox could not serve (busy) is refused and not counted; an
  internal error is reported in the observation, and during a submission (the automatic one at
  the step limit included) it ends the episode with score 0, so a SUBMIT is never retried for free;
* any sequence of k edits followed by k UNDO_EDITs restores the program exactly;
* the return of an episode is ``score + penalties`` (see :mod:`tracefix.core.scoring`), so it is
  never positive unless the submitted program passes more tests than the original.
"""

from __future__ import annotations

import hashlib
import logging
import random
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

from pydantic import ValidationError

from tracefix.core import constants as C
from tracefix.core.context import CodeView, block_lines, join_lines, render, split_lines, window
from tracefix.core.curriculum import difficulty_for_step, sample_task
from tracefix.core.prompts import SYSTEM_PROMPT
from tracefix.core.scoring import check_reward_mode, evaluate_submission, mode_reward
from tracefix.models import ActionType, CodeAction, CodeObservation, TestResult, TraceFixState
from tracefix.tasks.baseline import BaselineUnavailable, Baselines, default_baselines
from tracefix.tasks.grading import Evaluation, RunReport, SandboxBusy
from tracefix.tasks.registry import CURATED_SPLIT, TaskRegistry, UnknownTaskError, default_registry
from tracefix.tasks.schema import Task


logger = logging.getLogger("tracefix.core")


class TestRunner(Protocol):
    """Runs code against a task's tests; the only way the environment executes anything.

    Each method may raise :class:`~tracefix.tasks.grading.SandboxBusy` when nothing could run.
    """

    __test__ = False

    def run(self, code: str, task: Task) -> RunReport:
        """The visible tests (RUN_TESTS)."""
        ...

    def evaluate(self, code: str, task: Task) -> Evaluation:
        """Every test, the hidden ones in a run of their own (SUBMIT)."""
        ...

    def syntax_error(self, code: str) -> Optional[str]: ...


_NOT_SERVED = (SandboxBusy, BaselineUnavailable)
"""Failures in which nothing of the candidate ran: the step is refused and not counted."""


class ResetError(ValueError):
    """``reset`` was asked for something that does not exist; the current episode is untouched."""


@dataclass
class _Snapshot:
    lines: list[str]
    anchor: Optional[int]
    compiles: bool = True
    """Whether ``lines`` compile, known when the snapshot is taken: restoring needs no sandbox run."""


@dataclass
class _Episode:
    """Everything that changes during one episode (replaced wholesale by ``reset``)."""

    task: Task
    split: str
    episode_id: str
    lines: list[str]
    original_lines: list[str]
    history: list[_Snapshot] = field(default_factory=list)
    anchor: Optional[int] = None
    steps: int = 0
    step_cost: float = 0.0
    total_reward: float = 0.0
    shaping_advances: float = 0.0
    best_visible_passed: int = 0
    tested_versions: set[str] = field(default_factory=set)
    recent_actions: deque = field(default_factory=lambda: deque(maxlen=C.ANTI_LOOP_WINDOW))
    last_action: Optional[CodeAction] = None
    compiles: bool = True
    done: bool = False
    score: Optional[float] = None
    success: Optional[bool] = None
    reward_mode: str = C.DEFAULT_REWARD_MODE

    @property
    def code(self) -> str:
        return join_lines(self.lines)


@dataclass(frozen=True)
class _Checkpoint:
    """The parts of an episode a step may change, so a step that fails internally leaves no trace."""

    lines: tuple[str, ...]
    history: tuple["_Snapshot", ...]
    anchor: Optional[int]
    steps: int
    step_cost: float
    shaping_advances: float
    best_visible_passed: int
    tested_versions: frozenset[str]
    compiles: bool
    recent_actions: tuple[ActionType, ...]
    last_action: Optional[CodeAction]

    @classmethod
    def of(cls, episode: "_Episode") -> "_Checkpoint":
        return cls(
            tuple(episode.lines), tuple(episode.history), episode.anchor, episode.steps, episode.step_cost,
            episode.shaping_advances, episode.best_visible_passed, frozenset(episode.tested_versions), episode.compiles,
            tuple(episode.recent_actions), episode.last_action,
        )

    def restore(self, episode: "_Episode") -> None:
        episode.lines = list(self.lines)
        episode.history = list(self.history)
        episode.anchor = self.anchor
        episode.steps = self.steps
        episode.step_cost = self.step_cost
        episode.shaping_advances = self.shaping_advances
        episode.best_visible_passed = self.best_visible_passed
        episode.tested_versions = set(self.tested_versions)
        episode.compiles = self.compiles
        episode.recent_actions.clear()
        episode.recent_actions.extend(self.recent_actions)
        episode.last_action = self.last_action
        episode.done = False
        episode.score = episode.success = None


@dataclass
class _Outcome:
    """What one action produced, before it is turned into an observation."""

    reward: float = 0.0
    message: str = ""
    error: Optional[str] = None
    view: Optional[CodeView] = None
    report: Optional[RunReport] = None
    final: Optional[dict[str, Any]] = None


def _version(lines: list[str]) -> str:
    return hashlib.blake2b("\n".join(lines).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _nonblank(lines: list[str]) -> int:
    return sum(1 for line in lines if line.strip())


class TraceFixRLGym:
    """Gym-style environment: ``reset(...) -> CodeObservation``, ``step(action) -> CodeObservation``."""

    def __init__(
        self,
        registry: Optional[TaskRegistry] = None,
        runner: Optional[TestRunner] = None,
        max_steps: int = C.MAX_STEPS,
        default_split: str = CURATED_SPLIT,
        baselines: Optional[Baselines] = None,
    ) -> None:
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self._registry = registry
        self._runner = runner
        self._baselines = baselines
        self.max_steps = self._configured_max_steps = max_steps
        self.default_split = default_split
        self._episode: Optional[_Episode] = None

    # -- collaborators (created lazily so that constructing an environment is cheap) ---------------
    @property
    def registry(self) -> TaskRegistry:
        if self._registry is None:
            self._registry = default_registry()
        return self._registry

    @property
    def baselines(self) -> Baselines:
        if self._baselines is None:
            self._baselines = default_baselines()
        return self._baselines

    @property
    def runner(self) -> TestRunner:
        if self._runner is None:
            from tracefix.tasks.grading import SandboxRunner

            self._runner = SandboxRunner()
        return self._runner

    # -- reset ------------------------------------------------------------------------------------
    def choose_task(
        self,
        rng: random.Random,
        *,
        task_id: Optional[str] = None,
        split: Optional[str] = None,
        index: Optional[int] = None,
        difficulty: Optional[str] = None,
        training_step: int = 0,
    ) -> tuple[Task, str]:
        """Resolve reset arguments to a task: ``task_id`` > ``split`` + ``index`` > difficulty > curriculum."""
        try:
            if task_id is not None:
                return self.registry.get(task_id), self.registry.split_of(task_id)
            split = split or self.default_split
            if index is not None:
                return self.registry.at(split, int(index)), split
            tasks = self.registry.tasks(split)
            if difficulty is not None:
                difficulty = str(difficulty).strip().lower()
                if difficulty not in C.DIFFICULTIES:
                    raise ResetError(f"unknown difficulty {difficulty!r}; use one of {', '.join(C.DIFFICULTIES)}")
                bucket = [t for t in tasks if t.difficulty == difficulty]
                if not bucket:
                    raise ResetError(f"split {split!r} has no {difficulty} task")
                return rng.choice(bucket), split
            if training_step < 0:
                raise ResetError("training_step must be >= 0")
            return sample_task(tasks, rng, difficulty_for_step(training_step)), split
        except UnknownTaskError as exc:
            raise ResetError(str(exc)) from None

    def reset(
        self,
        seed: Optional[int] = None,
        episode_id: Optional[str] = None,
        *,
        task_id: Optional[str] = None,
        difficulty: Optional[str] = None,
        split: Optional[str] = None,
        index: Optional[int] = None,
        training_step: int = 0,
        max_steps: Optional[int] = None,
        reward_mode: Optional[str] = None,
    ) -> CodeObservation:
        """Start an episode.  Deterministic for a given ``seed``; raises :class:`ResetError` on bad input.

        ``max_steps`` shortens (or lengthens) this episode's budget.  Trainers that want shorter
        episodes should use it rather than cutting episodes off: the terminal step is what takes the
        shaping advances back (see :mod:`tracefix.core.scoring`).  ``reward_mode`` is one of
        ``C.REWARD_MODES`` (see :func:`tracefix.core.scoring.mode_reward`).
        """
        if max_steps is not None and not 1 <= int(max_steps) <= 10 * C.MAX_STEPS:
            raise ResetError(f"max_steps must be between 1 and {10 * C.MAX_STEPS}")
        try:
            mode = check_reward_mode(C.DEFAULT_REWARD_MODE if reward_mode is None else reward_mode)
        except ValueError as exc:
            raise ResetError(str(exc)) from None
        rng = random.Random(seed)
        task, split = self.choose_task(
            rng, task_id=task_id, split=split, index=index, difficulty=difficulty, training_step=training_step
        )
        if episode_id is None:
            episode_id = str(uuid.UUID(int=rng.getrandbits(128), version=4)) if seed is not None else str(uuid.uuid4())
        self.max_steps = int(max_steps) if max_steps is not None else self._configured_max_steps
        lines = split_lines(task.buggy_code)
        self._episode = _Episode(
            task=task, split=split, episode_id=episode_id, lines=list(lines), original_lines=list(lines),
            reward_mode=mode,
        )
        self._episode.compiles = not task.expects_syntax_error
        message = (
            f"New episode: task {task.id} ({task.difficulty}). The program has {len(lines)} lines and "
            f"{len(task.visible_tests)} visible tests. Find and fix the bug."
        )
        return self._observe(_Outcome(message=message, view=render(lines)), action_label="RESET")

    # -- step -------------------------------------------------------------------------------------
    def step(self, action: CodeAction | dict[str, Any]) -> CodeObservation:
        """Apply one action.  Never raises for bad input: errors come back in the observation."""
        if not isinstance(action, CodeAction):
            try:
                action = CodeAction.model_validate(action)
            except ValidationError as exc:
                return self._rejected(f"invalid action: {exc.errors()[0]['msg']}", "INVALID")
        episode = self._episode
        if episode is None:
            return self._rejected("no episode is running: call reset() first", action.short())
        if episode.done:
            return self._rejected("the episode is over: call reset() to start a new one", action.short())

        checkpoint = _Checkpoint.of(episode)
        episode.steps += 1
        episode.step_cost += -C.R_STEP_COST
        outcome = _Outcome(reward=C.R_STEP_COST)
        outcome.reward += self._loop_penalty(episode, action)
        handler = {
            ActionType.VIEW_CODE: self._view_code,
            ActionType.RUN_TESTS: self._run_tests,
            ActionType.REPLACE_LINES: self._replace_lines,
            ActionType.UNDO_EDIT: self._undo,
            ActionType.RESET_TO_ORIGINAL: self._reset_to_original,
            ActionType.SUBMIT: self._submit,
        }[action.action_type]
        label = action.short()
        try:
            handler(episode, action, outcome)
        except _NOT_SERVED as exc:
            checkpoint.restore(episode)
            return self._rejected(f"{exc}; the step was not counted, send it again", label)
        except Exception as exc:  # a bug or an infrastructure failure, never the agent's doing
            if action.action_type is not ActionType.SUBMIT:
                logger.exception("internal error while handling %s", label)
                checkpoint.restore(episode)
                return self._rejected(f"internal error, the step was not counted: {type(exc).__name__}: {exc}", label)
            self._submission_failed(episode, outcome, exc)
        episode.recent_actions.append(action.action_type)
        episode.last_action = action

        if not episode.done and episode.steps >= self.max_steps:
            try:
                self._submit(episode, action, outcome, reason="step limit reached: the code was evaluated as if submitted")
            except _NOT_SERVED as exc:
                checkpoint.restore(episode)
                return self._rejected(f"{exc}; the step was not counted, send it again", label)
            except Exception as exc:
                self._submission_failed(episode, outcome, exc)
        outcome.reward = round(
            mode_reward(episode.reward_mode, outcome.reward, done=episode.done, score=episode.score, success=episode.success), 6
        )
        episode.total_reward = round(episode.total_reward + outcome.reward, 6)
        return self._observe(outcome, action_label=label)

    def _submission_failed(self, episode: _Episode, outcome: _Outcome, exc: Exception) -> None:
        """An internal error while evaluating a submission ends the episode with score 0: a SUBMIT
        that could be retried after an error would let a policy probe the hidden tests for free."""
        logger.error("internal error while evaluating a submission of %s", episode.task.id, exc_info=exc)
        episode.done = True
        episode.score = 0.0
        episode.success = False
        outcome.reward += -episode.shaping_advances
        outcome.report = None
        outcome.final = None
        outcome.error = f"internal error while evaluating the submission ({type(exc).__name__}: {exc}); the episode ended with score 0"
        outcome.message = "The submission could not be evaluated."
        outcome.view = render(episode.lines)

    def _loop_penalty(self, episode: _Episode, action: CodeAction) -> float:
        """Anti-loop: an edit identical to the previous action, or the same non-edit action type
        ``ANTI_LOOP_WINDOW`` times in a row."""
        if action.action_type is ActionType.REPLACE_LINES:
            return C.R_REPEAT_ACTION if action == episode.last_action else 0.0
        recent = list(episode.recent_actions)[-(C.ANTI_LOOP_WINDOW - 1) :]
        if len(recent) == C.ANTI_LOOP_WINDOW - 1 and all(kind is action.action_type for kind in recent):
            return C.R_REPEAT_ACTION
        return 0.0

    # -- actions ----------------------------------------------------------------------------------
    def _view_code(self, episode: _Episode, action: CodeAction, outcome: _Outcome) -> None:
        outcome.view = render(episode.lines)
        outcome.message = f"Showing all {len(episode.lines)} lines."

    def _run_tests(self, episode: _Episode, action: CodeAction, outcome: _Outcome) -> None:
        report = self.runner.run(episode.code, episode.task)
        outcome.report = report
        version = _version(episode.lines)
        if version not in episode.tested_versions:
            episode.tested_versions.add(version)
            self._advance(episode, outcome, C.R_RUN_TESTS)
        if not report.had_syntax_error and report.visible_passed > episode.best_visible_passed:
            gained = report.visible_passed - episode.best_visible_passed
            episode.best_visible_passed = report.visible_passed
            self._advance(episode, outcome, C.R_PER_NEW_PASS * gained)
        if report.had_syntax_error:
            outcome.message = f"The code does not compile: {report.syntax_error}"
        else:
            outcome.message = f"{report.visible_passed}/{report.visible_total} visible tests pass."
            if report.detail and report.status.value != "ok":
                outcome.message += f" Run ended early: {report.detail}."
        outcome.view = window(episode.lines, episode.anchor) if episode.anchor is not None else render(episode.lines)

    @staticmethod
    def _advance(episode: _Episode, outcome: _Outcome, amount: float) -> None:
        """Pay a shaping bonus now; the terminal step takes every advance back (see core.scoring)."""
        outcome.reward += amount
        episode.shaping_advances += amount

    def _replace_lines(self, episode: _Episode, action: CodeAction, outcome: _Outcome) -> None:
        assert action.start_line is not None and action.end_line is not None and action.new_code_block is not None
        start, end, total = action.start_line, action.end_line, len(episode.lines)
        if end > total or start > total:
            outcome.reward += C.R_INVALID_LINE
            outcome.error = (
                f"lines {start}-{end} are outside the program, which has {total} lines; "
                "lines are 1-indexed and inclusive"
            )
            outcome.view = render(episode.lines)
            return
        new_lines = block_lines(action.new_code_block)
        candidate = episode.lines[: start - 1] + new_lines + episode.lines[end:]
        if not candidate:
            candidate = [""]
        code = join_lines(candidate)
        if len(code) > C.MAX_CODE_CHARS or len(candidate) > C.MAX_CODE_LINES:
            outcome.reward += C.R_INVALID_ACTION
            outcome.error = (
                f"edit rejected: the program would have {len(candidate)} lines / {len(code)} characters "
                f"(limits: {C.MAX_CODE_LINES} lines, {C.MAX_CODE_CHARS} characters)"
            )
            outcome.view = window(episode.lines, start, end)
            return
        before = _nonblank(episode.lines)
        removed = before - _nonblank(candidate)
        episode.history.append(_Snapshot(list(episode.lines), episode.anchor, episode.compiles))
        if len(episode.history) > C.MAX_EDIT_HISTORY:
            del episode.history[0]
        episode.lines = candidate
        episode.anchor = start
        parts = [f"Replaced lines {start}-{end} with {len(new_lines)} line(s)."]
        if before and removed > C.DESTRUCTIVE_FRACTION * before:
            outcome.reward += C.R_DESTRUCTIVE_PENALTY
            parts.append(f"Warning: this edit deleted {removed} of {before} non-blank lines.")
        syntax = self.runner.syntax_error(code)
        if syntax is not None:
            if episode.compiles:
                outcome.reward += C.R_SYNTAX_ERROR
            outcome.error = f"the edit left the code unable to compile: {syntax}"
        episode.compiles = syntax is None
        outcome.message = " ".join(parts)
        outcome.view = window(episode.lines, start, start + max(len(new_lines), 1) - 1)

    @staticmethod
    def _restore(episode: _Episode, snapshot: _Snapshot) -> None:
        episode.lines = list(snapshot.lines)
        episode.anchor = snapshot.anchor
        episode.compiles = snapshot.compiles

    def _undo(self, episode: _Episode, action: CodeAction, outcome: _Outcome) -> None:
        outcome.reward += C.R_UNDO_RESET
        if not episode.history:
            outcome.error = "nothing to undo: the program has no edits"
            outcome.view = render(episode.lines)
            return
        self._restore(episode, episode.history.pop())
        outcome.message = f"Undid the last edit ({len(episode.history)} edit(s) left to undo)."
        outcome.view = window(episode.lines, episode.anchor) if episode.anchor else render(episode.lines)

    def _reset_to_original(self, episode: _Episode, action: CodeAction, outcome: _Outcome) -> None:
        outcome.reward += C.R_UNDO_RESET
        outcome.view = render(episode.original_lines)
        if episode.lines == episode.original_lines:
            outcome.message = "The program is already the original."
            return
        episode.history.append(_Snapshot(list(episode.lines), episode.anchor, episode.compiles))
        self._restore(episode, _Snapshot(episode.original_lines, None, not episode.task.expects_syntax_error))
        outcome.message = "Restored the original program (UNDO_EDIT brings your version back)."

    def _submit(self, episode: _Episode, action: CodeAction, outcome: _Outcome, reason: str = "") -> None:
        baseline = self.baselines.get(episode.task)  # before running anything: may refuse the step
        evaluation = self.runner.evaluate(episode.code, episode.task)
        passing = {v.name for v in evaluation.hidden.verdicts if v.passed}
        strict = bool(baseline.decisive)
        if not strict:
            logger.warning("task %s has no decisive hidden test (the verifier rejects it): scored on the total only, "
                           "so hard-coded answers cannot be told from a fix", episode.task.id)
        final = evaluate_submission(
            passed=evaluation.passed,
            total=evaluation.total,
            syntax_error=evaluation.had_syntax_error,
            original_passed=baseline.passed,
            accumulated_step_cost=episode.step_cost,
            shaping_advances=episode.shaping_advances,
            hidden_passed=evaluation.hidden.passed if strict else None,
            original_hidden_passed=baseline.hidden_passed if strict else None,
            decisive_passed=sum(name in passing for name in baseline.decisive) if strict else None,
        )
        outcome.reward += final.terminal_reward
        episode.done = True
        episode.score = final.score
        episode.success = final.success
        # Shown: the visible run only.  Of the hidden run (its own process) nothing but counts.
        outcome.report = evaluation.visible
        hidden_passed, hidden_total = evaluation.hidden.passed, len(episode.task.hidden_tests)
        outcome.final = {"hidden_passed": hidden_passed, "hidden_total": hidden_total}
        visible = evaluation.visible
        summary = (
            f"{evaluation.passed}/{evaluation.total} tests pass ({visible.visible_passed}/{visible.visible_total} visible, "
            f"{hidden_passed}/{hidden_total} hidden). Score {final.score:.2f}."
        )
        if evaluation.had_syntax_error:
            summary = f"The submitted code does not compile ({evaluation.syntax_error}). Score 0.00."
        elif not final.improved:
            summary += (" The program does not do better than the original on the hidden tests (it must pass one the "
                        "original fails on a computed value), so the score is 0.")
        outcome.message = (reason + ". " if reason else "Submitted. ") + summary
        outcome.view = render(episode.lines)

    # -- observations -----------------------------------------------------------------------------
    def _rejected(self, error: str, label: str) -> CodeObservation:
        """An action that could not be carried out: reward 0, nothing changes."""
        return self._observe(_Outcome(error=error), action_label=label, count_reward=False)

    def _observe(self, outcome: _Outcome, *, action_label: str, count_reward: bool = True) -> CodeObservation:
        episode = self._episode
        metadata: dict[str, Any] = {"system_prompt": SYSTEM_PROMPT}
        if episode is None:
            return CodeObservation(
                error=outcome.error, message=outcome.message, last_action=action_label, reward=0.0, metadata=metadata
            )
        task = episode.task
        view = outcome.view
        metadata.update(
            episode_id=episode.episode_id,
            split=episode.split,
            edit_depth=len(episode.history),
            shaping_outstanding=round(0.0 if episode.done or episode.reward_mode != C.REWARD_SHAPED else episode.shaping_advances, 6),
            reward_mode=episode.reward_mode,
        )
        if episode.done:
            metadata["total_reward"] = episode.total_reward
        observation = CodeObservation(
            task_id=task.id,
            difficulty=task.difficulty,
            description=task.description,
            code_view=view.text if view else "",
            view_start=view.start if view else 0,
            view_end=view.end if view else 0,
            total_lines=len(episode.lines),
            tests_total=len(task.visible_tests),
            last_action=action_label,
            message=outcome.message,
            error=outcome.error,
            steps_used=episode.steps,
            steps_remaining=max(0, self.max_steps - episode.steps),
            done=episode.done,
            reward=outcome.reward if count_reward else 0.0,
            score=episode.score,
            success=episode.success,
            metadata=metadata,
        )
        report = outcome.report
        if report is not None:
            observation.test_results = [
                TestResult(name=v.name, passed=v.passed, message=v.message) for v in report.verdicts if v.visible
            ]
            observation.tests_passed = report.visible_passed
            observation.output = report.output
        if outcome.final is not None:
            observation.hidden_passed = outcome.final["hidden_passed"]
            observation.hidden_total = outcome.final["hidden_total"]
        return observation

    # -- state ------------------------------------------------------------------------------------
    @property
    def state(self) -> TraceFixState:
        episode = self._episode
        if episode is None:
            return TraceFixState(max_steps=self.max_steps)
        return TraceFixState(
            episode_id=episode.episode_id,
            step_count=episode.steps,
            task_id=episode.task.id,
            difficulty=episode.task.difficulty,
            split=episode.split,
            code=episode.code,
            edit_depth=len(episode.history),
            last_edited_line=episode.anchor,
            accumulated_step_cost=round(episode.step_cost, 6),
            total_reward=episode.total_reward,
            best_visible_passed=episode.best_visible_passed,
            done=episode.done,
            score=episode.score,
            success=episode.success,
            max_steps=self.max_steps,
        )

    @property
    def task(self) -> Optional[Task]:
        """The current task (trusted callers only: it includes the reference and hidden tests)."""
        return self._episode.task if self._episode else None
